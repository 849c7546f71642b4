"""How the v1 API answers: its error (:class:`ApiError`), the checks that raise it, and its
success shapes (``200``, ``201`` with ``Location``)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from bwhooks.testing.fake_api.serving import json_response

__all__ = ["ApiError", "created", "flag", "found", "json_object", "ok", "require"]


class ApiError(Exception):
    """A Bandwidth error answer: HTTP status and the documented error body."""

    def __init__(self, status: int, category: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.category, self.code, self.message = status, category, code, message

    def as_body(self, details: list[dict[str, str]]) -> dict[str, Any]:
        """The error body, with these ``details``."""
        return {
            "category": self.category,
            "code": self.code,
            "message": self.message,
            "details": details,
        }


def require(body: dict[str, Any], resource: str, *names: str) -> None:
    """Refuse a body missing one of these properties (or holding only blanks)."""
    for name in names:
        if not str(body.get(name, "")).strip():
            raise ApiError(
                400,
                "bad-request",
                "missing-property",
                f"The '{resource}' resource property '{name}' is required but was not specified",
            )


def found(resources: dict[str, Any], key: str, code: str, message: str) -> Any:
    """``resources[key]``, or the API's ``404`` with this error code and message."""
    if key not in resources:
        raise ApiError(404, "not-found", code, message)
    return resources[key]


def json_object(payload: Any) -> dict[str, Any]:
    """The request's JSON object, or the API's ``400`` when it is none."""
    if not isinstance(payload, dict):
        raise ApiError(400, "bad-request", "validation-error", "Bad parameters")
    return payload


def flag(value: Any) -> bool:
    """A v1 boolean: ``true``, as JSON or as a string."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def ok(body: Any = None) -> Response:
    """``200``, empty or with a JSON body."""
    if body is None:
        return Response(status=200)
    return json_response(body)


def created(user_id: str, path: str) -> Response:
    """``201`` with the new resource's ``Location`` (``path`` under the user)."""
    return Response(status=201, headers={"Location": f"/v1/users/{user_id}{path}"})
