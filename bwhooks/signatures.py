"""Signed bodies: an HMAC of the body's bytes in a header, as Bandwidth signs toll-free
verification results and Subscriptions v2 notifications (:class:`HmacSignature`).

.. code-block:: python

    receiver = Receiver(
        auth=BasicAuth(("bandwidth", "s3cret")),
        signature=HmacSignature.toll_free(os.environ["TFV_SECRET"]),
    )

What is verified: the HMAC-SHA256 of the body exactly as it was received (after the bounded
read, before anything is decoded), with each configured secret, compared in constant time
with the one signature header the request carries. A request without that header, with it
twice, or with a value that is not a digest of the expected encoding is refused (``403``).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from base64 import b64decode, b64encode

from bwhooks.http import Headers

__all__ = ["HmacSignature", "SignatureEncoding"]

#: The header of a toll-free verification result's signature (lowercase hex).
TOLL_FREE_HEADER = "x-bandwidth-signature-hmac-sha256"
#: The header of a Subscriptions v2 notification's signature (base64).
SUBSCRIPTIONS_HEADER = "X-Bandwidth-Signature-SHA-256"
#: What Bandwidth accepts as a toll-free verification webhook's ``sharedSecretKey``.
TOLL_FREE_SECRET_LENGTHS = range(16, 65)


class SignatureEncoding(enum.Enum):
    """How the digest is written in the header."""

    HEX = "hex"
    """Hexadecimal (lowercase when written; either case is read)."""
    BASE64 = "base64"
    """Standard base64 with its padding (RFC 4648 §4)."""


class HmacSignature:
    """Verify a body's HMAC in one header: a :class:`~bwhooks.auth.BodyVerifier` for
    ``Receiver(signature=...)``.

    Give several secrets to rotate them without downtime: a body signed with any of them is
    accepted (every secret is tried, in constant time). :meth:`toll_free` and
    :meth:`subscriptions` are Bandwidth's two signed families; the constructor takes any
    ``header``, ``encoding`` and ``hashlib`` digest name.
    """

    __slots__ = ("_keys", "digest", "encoding", "header")

    def __init__(
        self,
        *secrets: str | bytes,
        header: str,
        encoding: SignatureEncoding | str = SignatureEncoding.HEX,
        digest: str = "sha256",
    ) -> None:
        if not secrets:
            raise ValueError("HmacSignature needs at least one secret")
        keys = []
        for secret in secrets:
            key = secret.encode() if isinstance(secret, str) else secret
            if not isinstance(key, bytes):
                raise TypeError("a secret is str or bytes")
            if not key:
                raise ValueError("a secret must not be empty")
            keys.append(key)
        if not header or not header.isascii() or any(c in header for c in " :\t\r\n"):
            raise ValueError(f"not a header name: {header!r}")
        hashlib.new(digest)  # ValueError for a digest hashlib does not know
        self._keys: tuple[bytes, ...] = tuple(keys)
        self.header = header
        self.encoding = SignatureEncoding(encoding)
        self.digest = digest

    @classmethod
    def toll_free(cls, *secrets: str) -> HmacSignature:
        """Toll-free verification results: HMAC-SHA256 of the body, lowercase hex, in
        ``x-bandwidth-signature-hmac-sha256``; each secret is the webhook subscription's
        ``sharedSecretKey`` (16 to 64 printable ASCII characters, as Bandwidth accepts)."""
        for secret in secrets:
            if not (
                isinstance(secret, str)
                and len(secret) in TOLL_FREE_SECRET_LENGTHS
                and secret.isascii()
                and secret.isprintable()
            ):
                raise ValueError(
                    "a toll-free verification sharedSecretKey is 16 to 64 printable ASCII "
                    "characters (Bandwidth accepts no other)"
                )
        return cls(*secrets, header=TOLL_FREE_HEADER, encoding=SignatureEncoding.HEX)

    @classmethod
    def subscriptions(cls, *secrets: str | bytes) -> HmacSignature:
        """Subscriptions v2 notifications: HMAC-SHA256 of the exact body bytes, base64, in
        ``X-Bandwidth-Signature-SHA-256``; each secret is the subscription's."""
        return cls(*secrets, header=SUBSCRIPTIONS_HEADER, encoding=SignatureEncoding.BASE64)

    def _digests(self, body: bytes) -> list[bytes]:
        return [hmac.new(key, body, self.digest).digest() for key in self._keys]

    def verify(self, headers: Headers, body: bytes) -> bool:
        """Whether the request carries exactly one :attr:`header` whose value is the HMAC of
        ``body`` with one of the secrets."""
        values = headers.getlist(self.header)
        if len(values) != 1:  # none, or two that could disagree: refused
            return False
        given = self._decode(values[0].strip())
        if given is None:
            return False
        matched = False
        for expected in self._digests(body):  # every secret, no early exit
            matched |= hmac.compare_digest(given, expected)
        return matched

    def _decode(self, value: str) -> bytes | None:
        """The digest a header value writes, or ``None`` when it writes none in
        :attr:`encoding` (hex of exactly two digits a byte; base64 of its alphabet)."""
        size = hashlib.new(self.digest).digest_size
        try:
            if self.encoding is SignatureEncoding.HEX:
                if len(value) != 2 * size:  # no spaces between the digits
                    return None
                digest = bytes.fromhex(value)
            else:
                digest = b64decode(value.encode("ascii"), validate=True)
        except ValueError:  # not hex, not base64, not ASCII (binascii.Error is a ValueError)
            return None
        return digest  # of another size: equal to no digest (compare_digest)

    def sign(self, body: bytes) -> str:
        """The header value for ``body`` with the first secret (what Bandwidth sends: for
        tests, the testing kit and replays)."""
        digest = hmac.new(self._keys[0], body, self.digest).digest()
        if self.encoding is SignatureEncoding.HEX:
            return digest.hex()
        return b64encode(digest).decode("ascii")

    def headers_for(self, body: bytes) -> tuple[tuple[str, str], ...]:
        """``((header, value),)`` signing ``body``: the headers to send with it."""
        return ((self.header, self.sign(body)),)

    def __repr__(self) -> str:
        return (
            f"HmacSignature(<{len(self._keys)} secret(s)>, header={self.header!r}, "
            f"encoding={self.encoding.value!r}, digest={self.digest!r})"
        )
