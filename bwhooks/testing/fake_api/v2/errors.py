"""The v2 APIs' error answers: each API its own body (voice ``{type, description, id}``,
messaging ``{type, description}`` with ``fieldErrors``), and its own words for the errors
every route can meet."""

from __future__ import annotations

from typing import Any, Protocol

from bwhooks.testing.ids import iso_now

__all__ = ["MESSAGING", "VOICE", "Errors", "V2ApiError", "messaging_error", "voice_error"]


class V2ApiError(Exception):
    """An error answer of the v2 APIs: the status and the API's own error body."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(body.get("description", ""))
        self.status, self.body, self.headers = status, body, headers or {}


def voice_error(
    status: int, kind: str, description: str, error_id: str | None = None
) -> V2ApiError:
    """A Voice v2 error: ``{type, description, id}``."""
    return V2ApiError(status, {"type": kind, "description": description, "id": error_id})


def messaging_error(
    status: int, kind: str, description: str, field_errors: list[dict[str, str]] | None = None
) -> V2ApiError:
    """A Messaging v2 error: ``{type, description}``, ``fieldErrors`` when there are some."""
    body: dict[str, Any] = {"type": kind, "description": description}
    if field_errors:
        body["fieldErrors"] = field_errors
    return V2ApiError(status, body)


class Errors(Protocol):
    """How one API words the errors that any of its routes can meet."""

    def unauthorized(self) -> V2ApiError:
        """``401``: the credentials are wrong (checked before anything else)."""

    def forbidden(self) -> V2ApiError:
        """``403``: another account's resources."""

    def not_allowed(self) -> V2ApiError:
        """``405``: a path the API serves, with another method."""

    def not_found(self, path: str) -> V2ApiError:
        """``404``: a path the API does not serve."""

    def unsupported(self, content_type: str) -> V2ApiError:
        """``415``: a body that is not JSON."""

    def invalid(self) -> V2ApiError:
        """``400``: a JSON body that is not an object."""


class _VoiceErrors:
    def unauthorized(self) -> V2ApiError:
        return voice_error(401, "authentication-error", "The credentials provided were invalid")

    def forbidden(self) -> V2ApiError:
        return voice_error(403, "authorization-error", "Access is denied")

    def not_allowed(self) -> V2ApiError:
        return voice_error(405, "validation", "Method Not Allowed")

    def not_found(self, path: str) -> V2ApiError:
        return voice_error(404, "validation", "Not Found")

    def unsupported(self, content_type: str) -> V2ApiError:
        return voice_error(415, "validation", f"Content type '{content_type}' not supported")

    def invalid(self) -> V2ApiError:
        return voice_error(400, "validation", "There is something wrong with the request")


class _MessagingErrors:
    def unauthorized(self) -> V2ApiError:
        return messaging_error(401, "unauthorized", "Authentication Failed")

    def forbidden(self) -> V2ApiError:
        return messaging_error(403, "forbidden", "Access Denied")

    def not_allowed(self) -> V2ApiError:
        return messaging_error(405, "method-not-allowed", "Method Not Allowed")

    def not_found(self, path: str) -> V2ApiError:
        body = {  # a framework-style body, not {type, description}
            "timestamp": iso_now(),
            "status": 404,
            "error": "Not Found",
            "message": "Not Found",
            "path": path,
        }
        return V2ApiError(404, body)

    def unsupported(self, content_type: str) -> V2ApiError:
        return messaging_error(
            415,
            "unsupported-content-type",
            f"Content type '{content_type}' not supported. Please use 'application/json'",
        )

    def invalid(self) -> V2ApiError:
        return messaging_error(400, "request-validation", "Your request could not be accepted")


VOICE: Errors = _VoiceErrors()
MESSAGING: Errors = _MessagingErrors()
