"""The checks that need no body: method, client, credentials, size, content type.

What a :class:`~bwhooks.Receiver` answers before it reads a body, and the one-step test of
the common request (a POST with the exact credentials header, JSON, within the limit) that
lets it skip them. Every refusal is one WARNING with its status and reason.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from bwhooks.answers import OK
from bwhooks.auth import Authenticator, AuthResult, BasicAuth
from bwhooks.http import CallbackResponse, Headers

if TYPE_CHECKING:  # imported when used: `import bwhooks` stays light
    from bwhooks.network import AllowList

__all__ = ["Checks"]

_ALLOWED = (("Allow", "GET, HEAD, POST"),)


class Checks:
    """A receiver's checks before the body: ``auth`` (``None`` accepts anyone), the
    ``allow`` list of client networks, ``max_body_size`` by ``Content-Length``; refusals
    logged on ``logger``."""

    def __init__(
        self,
        auth: Authenticator | None,
        max_body_size: int,
        logger: logging.Logger,
        allow: AllowList | None = None,
    ) -> None:
        self.auth = auth
        self.max_body_size = max_body_size
        self.logger = logger
        self.allow = allow
        # The one-step path for the common request needs to know the credentials exactly:
        # () without auth, the exact headers with BasicAuth, None (never) for other verifiers.
        self._exact_auth: tuple[str, ...] | None = (
            ()
            if auth is None
            else tuple(h.decode("ascii") for h in auth.exact_headers())
            if type(auth) is BasicAuth
            else None
        )
        if allow is not None:
            self._exact_auth = None  # every request takes the general path and its checks

    def early_response(
        self, method: str, headers: Headers, client: tuple[str, int] | None = None
    ) -> CallbackResponse | None:
        """The answer to a request that can be given before reading its body, else ``None``:
        a wrong method (405), a client outside the allow-list (403), missing or bad
        credentials (401), a ``Content-Length`` over the limit (413), a POST that is not
        JSON (415); ``HEAD`` is answered ``200``."""
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
        length = headers.get("Content-Length")
        if length is not None:
            if not _is_length(length):
                length = length.strip()
                if not _is_length(length):
                    return self.refuse(400, "invalid Content-Length")
            if _over(length, self.max_body_size):
                return self.too_large()
        if method == "POST" and not _is_json(headers.get("Content-Type")):
            return self.refuse(415, "content type must be application/json")
        return None

    def quick(self, method: str, headers: Headers) -> bool:
        """Whether the method and headers are those of the common request, which
        :meth:`early_response` would let through: a POST, the exact credentials header
        (compared in constant time), a JSON content type, a ``Content-Length`` within the
        limit. ``False`` only means: take the general path."""
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
        if found is None or found[1] not in _JSON_TYPES:
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


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return False
    if content_type in _JSON_TYPES:
        return True
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


_JSON_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})
