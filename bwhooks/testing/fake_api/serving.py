"""What every fake REST API shares: the request log, the route table and JSON answers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Protocol

import attrs
from werkzeug.wrappers import Request, Response

__all__ = [
    "JSON",
    "Handler",
    "RecordedRequest",
    "RequestLog",
    "Routes",
    "json_response",
    "read_json",
]

JSON = "application/json"

#: A route's handler: called with the path's groups, ``payload=`` and ``request=``.
Handler = Callable[..., Response]


@attrs.frozen
class RecordedRequest:
    """A request the fake received: method, path under the user, parsed JSON body."""

    method: str
    path: str
    json: Any
    body: bytes
    headers: dict[str, str]
    status: int


class Logged(Protocol):
    """A fake that keeps the requests it answered (in its ``requests``)."""

    requests: list[RecordedRequest]


class RequestLog:
    """Records what a fake answered, in its owner's ``requests``, and finds it again."""

    def __init__(self, owner: Logged) -> None:
        self._owner = owner

    def record(self, request: Request, path: str, payload: Any, body: bytes, status: int) -> None:
        """Keep one answered request (its ``Authorization`` header never)."""
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        recorded = RecordedRequest(request.method, path, payload, body, headers, status)
        self._owner.requests.append(recorded)

    def matching(self, method: str, path: str) -> list[RecordedRequest]:
        """The recorded requests with this method whose path fully matches the regex ``path``."""
        pattern = re.compile(path)
        return [r for r in self._owner.requests if r.method == method and pattern.fullmatch(r.path)]


class Routes:
    """A route table: ``(method, path regex, handler)``, the first that matches both answers."""

    def __init__(self, *routes: tuple[str, str, Handler]) -> None:
        self._routes = [
            (method, re.compile(pattern), handler) for method, pattern, handler in routes
        ]

    def answer(self, method: str, path: str, payload: Any, request: Request) -> Response | None:
        """The answer of the route for this method and path, or None when there is none."""
        for route_method, pattern, handler in self._routes:
            found = pattern.fullmatch(path)
            if found is not None and route_method == method:
                return handler(*found.groups(), payload=payload, request=request)
        return None

    def serves(self, path: str) -> bool:
        """Whether some route serves this path (with any method)."""
        return any(pattern.fullmatch(path) for _, pattern, _ in self._routes)


def read_json(body: bytes, is_json: bool) -> Any:
    """A request body's JSON, or None: no body, not JSON, or not parseable."""
    if not body or not is_json:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``body`` as a JSON answer."""
    return Response(json.dumps(body), status, headers, content_type=JSON)
