"""The checks of a request: first those that need no body (method, client, credentials,
size, content type), then the body's read within the limit, then the checks that need the
body (a signature over it).

What a :class:`~bwhooks.Receiver` answers before it reads a body, the one-step test of the
common request (a POST with the exact credentials header, a content type some family reads,
within the limit) that lets it skip them, and the body's verification. Every refusal is one
WARNING with its status and reason.
"""

from __future__ import annotations

import hmac
import logging
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bwhooks.answers import OK
from bwhooks.auth import Authenticator, AuthResult, BasicAuth, BodyVerifier
from bwhooks.body import (
    GONE,
    UNREADABLE,
    ASGIBody,
    AsyncRead,
    Read,
    read_limited,
    read_limited_async,
)
from bwhooks.errors import InsecureReceiverWarning
from bwhooks.events import Event
from bwhooks.families import DEFAULT, Families
from bwhooks.http import CallbackRequest, CallbackResponse, Headers

if TYPE_CHECKING:  # imported when used: `import bwhooks` stays light
    from bwhooks.network import AllowList

__all__ = ["UNREADABLE_ANSWER", "Checks", "warn_unsigned"]

_ALLOWED = (("Allow", "GET, HEAD, POST"),)
#: The answer to a request whose body could not be read.
UNREADABLE_ANSWER = (400, "unreadable body")


class Checks:
    """A receiver's checks: before the body ``auth`` (``None`` accepts anyone), the
    ``allow`` list of client networks, ``max_body_size`` by ``Content-Length``, the content
    types the ``families`` read; on the body, the ``signature`` (``None``: none is
    checked). Refusals are logged on ``logger``."""

    def __init__(
        self,
        auth: Authenticator | None,
        max_body_size: int,
        logger: logging.Logger,
        allow: AllowList | None = None,
        *,
        families: Families = DEFAULT,
        signature: BodyVerifier | None = None,
    ) -> None:
        self.auth = auth
        self.max_body_size = max_body_size
        self.logger = logger
        self.allow = allow
        self.families = families
        self.signature = signature
        *others, last = families.media_types
        self._media_types = f"{', '.join(others)} or {last}" if others else last
        self._content_types = families.content_types
        # The one-step path for the common request needs to know the credentials exactly:
        # () without auth, the exact headers with BasicAuth, None (never) for other verifiers.
        self._exact_auth: tuple[str, ...] | None = (
            ()
            if auth is None
            else tuple(h.decode("ascii") for h in auth.exact_headers())
            if type(auth) is BasicAuth
            else None
        )
        if allow is not None or signature is not None:
            self._exact_auth = None  # every request takes the general path and its checks
        # Whether an event of a family Bandwidth signs may arrive unverified (logged once).
        self._unverified = signature is None and any(f.SIGNED for f in families.members)

    def unverified(self, events: tuple[Event, ...]) -> tuple[Event, ...]:
        """``events``, after one WARNING, the first time only, when one is of a family
        Bandwidth signs and no ``signature`` verified it."""
        if self._unverified:
            for event in events:
                family = self.families.of(type(event))
                if family is not None and family.SIGNED:
                    self._unverified = False  # once per receiver
                    self.logger.warning(
                        "a %s body's signature was not verified: pass signature=... to the "
                        "receiver (logged once)",
                        family.NAME,
                    )
                    break
        return events

    def early_response(
        self, method: str, headers: Headers, client: tuple[str, int] | None = None
    ) -> CallbackResponse | None:
        """The answer to a request that can be given before reading its body, else ``None``:
        a wrong method (405), a client outside the allow-list (403), missing or bad
        credentials (401), a GET to a receiver that verifies signatures (403: the signature
        covers a body, never a query), a ``Content-Length`` over the limit (413), a POST whose
        content type no family reads (415); ``HEAD`` is answered ``200``."""
        if method != "POST" and method != "GET":  # noqa: PLR1714  (the common case first)
            method = method.upper()
        if method == "HEAD":
            return OK
        if method not in ("POST", "GET"):
            return self.refuse(405, "method not allowed", _ALLOWED)
        if self.allow is not None and not self.allow.allows(client, headers):
            return self.refuse(403, "forbidden", why="client address not allowed")
        if self.auth is not None:
            result = self.auth.check(headers)
            if result is AuthResult.INVALID:
                return self.refuse(
                    401, "unauthorized", self.auth.challenge(), why="invalid credentials"
                )
            if result is not AuthResult.OK:  # none sent: the challenge, Basic Auth's first step
                return CallbackResponse.error(401, "unauthorized", self.auth.challenge())
        if method == "GET" and self.signature is not None:  # a query: no body to sign
            return self.refuse(403, "forbidden", why="a query is not covered by the signature")
        length = headers.get("Content-Length")
        if length is not None:
            if not _is_length(length):
                length = length.strip()
                if not _is_length(length):
                    return self.refuse(400, "invalid Content-Length")
            if _over(length, self.max_body_size):
                return self.too_large()
        if method == "POST" and not self.families.reads(headers.get("Content-Type")):
            return self.refuse(415, f"content type must be {self._media_types}")
        return None

    def read_body(
        self, method: str, headers: Headers, read: Read, client: tuple[str, int] | None = None
    ) -> bytes | CallbackResponse:
        """The body, read with ``read(n)`` once the checks that need none let the request
        through (else their answer), never past ``max_body_size + 1`` bytes (``413``); a
        read that fails is a ``400`` (a client that is gone is the server's: re-raised)."""
        if not self.quick(method, headers):  # the common request needs no more
            early = self.early_response(method, headers, client)
            if early is not None:
                return early
        try:
            body = read_limited(read, self.max_body_size)
        except GONE:
            raise
        except UNREADABLE:
            return self.refuse(*UNREADABLE_ANSWER)
        return self.too_large() if body is None else body

    async def read_body_async(
        self, method: str, headers: Headers, read: AsyncRead, client: tuple[str, int] | None
    ) -> bytes | CallbackResponse:
        """The ``async`` twin of :meth:`read_body`."""
        if not self.quick(method, headers):  # the common request needs no more
            early = self.early_response(method, headers, client)
            if early is not None:
                return early
        try:
            body = await (  # the ASGI messages, read without a read(n) per chunk
                read.read_limited(self.max_body_size)
                if read.__class__ is ASGIBody
                else read_limited_async(read, self.max_body_size)
            )
        except GONE:
            raise
        except UNREADABLE:
            return self.refuse(*UNREADABLE_ANSWER)
        return self.too_large() if body is None else body

    def body_response(self, request: CallbackRequest) -> CallbackResponse | None:
        """The answer to a request whose body fails the checks that need it, else ``None``:
        over the limit (413), a missing or wrong signature (403, no challenge)."""
        if len(request.body) > self.max_body_size:
            return self.too_large()
        signature = self.signature
        if signature is not None and not signature.verify(request.headers, request.body):
            return self.refuse(403, "forbidden", why="missing or invalid signature")
        return None

    def quick(self, method: str, headers: Headers) -> bool:
        """Whether the method and headers are those of the common request, which
        :meth:`early_response` would let through: a POST, the exact credentials header
        (compared in constant time), a content type some family reads, a
        ``Content-Length`` within the limit, and no signature to check on the body.
        ``False`` only means: take the general path."""
        exact = self._exact_auth
        if exact is None or method != "POST":
            return False
        first = headers.first_values()
        if exact:
            found = first.get("authorization")
            if found is None or not found[1].isascii():  # compare_digest takes ASCII text
                return False
            sent = found[1]
            matched = False
            for expected in exact:  # every pair, in constant time
                matched |= hmac.compare_digest(sent, expected)
            if not matched:
                return False
        found = first.get("content-type")
        if found is None or found[1] not in self._content_types:
            return False
        found = first.get("content-length")
        return found is None or (_is_length(found[1]) and not _over(found[1], self.max_body_size))

    def refuse(
        self,
        status: int,
        reason: str,
        headers: Iterable[tuple[str, str]] = (),
        *,
        why: str | None = None,
    ) -> CallbackResponse:
        """The ``status`` answer refusing a request, with ``reason`` for the caller, logged as
        one WARNING with its status and ``why`` (the reason by default): every refusal of
        the receiver's, never a body or credentials."""
        self.logger.warning("callback refused: %d %s", status, why or reason)
        return CallbackResponse.error(status, reason, headers)

    def too_large(self) -> CallbackResponse:
        """The ``413`` refusing a body over ``max_body_size``."""
        return self.refuse(413, f"body over {self.max_body_size} bytes")


def _is_length(text: str) -> bool:
    """Whether a ``Content-Length`` is a number: ASCII digits only (``"²"`` and ``"٣"`` are
    digits to ``str.isdigit``, and ``int("²")`` raises)."""
    return text.isdigit() and text.isascii()


def _over(length: str, limit: int) -> bool:
    """Whether the ``Content-Length`` digits ``length`` count more than ``limit`` bytes (a
    number of 19 digits or more always does: ``int()`` refuses thousands of digits)."""
    digits = length.lstrip("0")
    return len(digits) > 18 or int(digits or "0") > limit


def warn_unsigned(
    families: Families, signature: BodyVerifier | None, *, stacklevel: int = 3
) -> None:
    """Warn (:class:`~bwhooks.InsecureReceiverWarning`) when ``families``, given
    explicitly, include one Bandwidth always signs and no ``signature`` verifies it (the
    default families, read by most receivers, log at the first unverified body instead:
    :meth:`Checks.unverified`)."""
    signed = [family.NAME for family in families.members if family.SIGNED]
    if signed and signature is None:
        warnings.warn(
            f"{', '.join(signed)} bodies are signed by Bandwidth; pass signature=... "
            "to verify them (without it, anyone with the credentials is believed)",
            InsecureReceiverWarning,
            stacklevel=stacklevel,
        )
