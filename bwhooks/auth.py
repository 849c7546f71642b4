"""Verifying callbacks: HTTP Basic credentials, with rotation, per RFC 7617."""

from __future__ import annotations

import binascii
import enum
import hmac
import os
from base64 import b64decode, b64encode
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import unquote, urlsplit

from bwhooks.http import Headers

__all__ = ["AuthResult", "Authenticator", "BasicAuth", "BodyVerifier", "basic_authorization"]


class AuthResult(enum.Enum):
    """The outcome of checking a request's credentials."""

    OK = "ok"
    MISSING = "missing"  # no credentials: answer with the challenge
    INVALID = "invalid"  # wrong or malformed credentials


class Authenticator(Protocol):
    """What a :class:`~bwhooks.Receiver` needs from a verifier."""

    def check(self, headers: Headers) -> AuthResult:
        """Check the credentials of a request from its headers."""
        ...

    def challenge(self) -> tuple[tuple[str, str], ...]:
        """The headers that go with a ``401`` answer (``WWW-Authenticate``)."""
        ...


class BodyVerifier(Protocol):
    """What a :class:`~bwhooks.Receiver` needs to verify a request by its body (a
    signature over the bytes as received): checked after the credentials and the bounded
    read, before anything is decoded."""

    def verify(self, headers: Headers, body: bytes) -> bool:
        """Whether the request's signature headers match ``body`` (compare in constant time)."""
        ...


def basic_authorization(user: str, password: str) -> str:
    """The ``Authorization`` header value for Basic credentials (UTF-8, RFC 7617)."""
    return "Basic " + b64encode(f"{user}:{password}".encode()).decode("ascii")


def parse_basic(header: str) -> tuple[str, str] | None:
    """``(user, password)`` of a Basic ``Authorization`` value, or ``None`` if it is none."""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = b64decode(token.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


class BasicAuth:
    """HTTP Basic credentials that callbacks must carry.

    Give several ``(user, password)`` pairs to rotate credentials without downtime: a
    request matching any pair is accepted. User names and passwords are compared in
    constant time, as UTF-8 bytes. A request without credentials is answered with the
    ``WWW-Authenticate: Basic realm="..."`` challenge, which Bandwidth needs before it
    sends them.
    """

    __slots__ = ("_credentials", "_headers", "realm")

    def __init__(self, *credentials: tuple[str, str], realm: str = "bwhooks") -> None:
        if not credentials:
            raise ValueError("BasicAuth needs at least one (user, password) pair")
        pairs = []
        for pair in credentials:
            if not (
                isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
            ):
                raise TypeError("credentials are (user, password) tuples of str")
            user, password = pair
            if not user or ":" in user:
                raise ValueError("a Basic Auth user name must be non-empty and contain no ':'")
            if not password:
                raise ValueError(f"the password of user {user!r} is empty")
            pairs.append((user.encode(), password.encode()))
        if '"' in realm or "\\" in realm or any(ord(c) < 32 for c in realm):
            raise ValueError("realm must not contain quotes, backslashes or control characters")
        self._credentials: tuple[tuple[bytes, bytes], ...] = tuple(pairs)
        # The exact headers a client sends for each pair: the common case is one
        # constant-time comparison per pair, with no base64 decoding.
        self._headers = tuple(
            basic_authorization(u.decode(), p.decode()).encode("ascii") for u, p in pairs
        )
        self.realm = realm

    @classmethod
    def from_url(cls, url: str, *, realm: str = "bwhooks") -> BasicAuth:
        """Credentials from a callback URL such as ``https://user:pass@host/path``.

        User and password are percent-decoded, as URLs carry them.
        """
        parts = urlsplit(url)
        if parts.username is None or parts.password is None:
            raise ValueError("the URL carries no user:password@ credentials")
        return cls((unquote(parts.username), unquote(parts.password)), realm=realm)

    @classmethod
    def from_env(
        cls, variable: str = "BWHOOKS_CREDENTIALS", *, realm: str = "bwhooks"
    ) -> BasicAuth:
        """Credentials from an environment variable: ``user:pass[,user2:pass2]``.

        Each pair splits at its first ``:``; pairs are separated by ``,``.
        """
        value = os.environ.get(variable, "").strip()
        if not value:
            raise ValueError(f"environment variable {variable} is not set")
        pairs: list[tuple[str, str]] = []
        for item in value.split(","):
            user, sep, password = item.strip().partition(":")
            if not sep:
                raise ValueError(f"{variable} must read user:password[,user2:password2]")
            pairs.append((user, password))
        return cls(*pairs, realm=realm)

    @property
    def users(self) -> Sequence[str]:
        """The accepted user names (never the passwords)."""
        return [user.decode() for user, _ in self._credentials]

    def check(self, headers: Headers) -> AuthResult:
        """Check the ``Authorization`` header; every pair is compared, in constant time."""
        header = headers.get("Authorization")
        if header is None:
            return AuthResult.MISSING
        try:
            raw = header.encode("ascii")
        except UnicodeEncodeError:
            return AuthResult.INVALID
        matched = False
        for expected in self._headers:  # every pair, no early exit
            matched |= hmac.compare_digest(raw, expected)
        if matched:
            return AuthResult.OK
        return self._check_decoded(header)

    def _check_decoded(self, header: str) -> AuthResult:
        """The general case: any scheme case, extra spaces, then user and password."""
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return AuthResult.INVALID
        try:
            decoded = b64decode(token.strip().encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error):
            return AuthResult.INVALID
        user, sep, password = decoded.partition(b":")
        if not sep:
            return AuthResult.INVALID
        matched = False
        for expected_user, expected_password in self._credentials:
            user_ok = hmac.compare_digest(user, expected_user)
            password_ok = hmac.compare_digest(password, expected_password)
            matched |= user_ok & password_ok
        return AuthResult.OK if matched else AuthResult.INVALID

    def exact_headers(self) -> tuple[bytes, ...]:
        """The ``Authorization`` values a client sends for each pair, to compare in constant
        time (what :class:`~bwhooks.Receiver`'s fast path uses)."""
        return self._headers

    def challenge(self) -> tuple[tuple[str, str], ...]:
        """``WWW-Authenticate: Basic realm="<realm>"``."""
        return (("WWW-Authenticate", f'Basic realm="{self.realm}"'),)

    def authorization(self) -> str:
        """The ``Authorization`` value for the first pair (for tests and the demo)."""
        user, password = self._credentials[0]
        return basic_authorization(user.decode(), password.decode())

    def __repr__(self) -> str:
        return f"BasicAuth(users={list(self.users)!r}, realm={self.realm!r})"
