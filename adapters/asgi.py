"""ASGI 3: middleware that wraps any ASGI app (Starlette, FastAPI, ...), and a standalone app.

HTTP requests to ``path`` (relative to ``root_path``) go to the receiver; every other
request, and every lifespan or websocket scope, passes to the wrapped app untouched. Method
and headers are checked first; the body is received up to ``receiver.max_body_size`` bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bwhooks.body import ASGIBody
from bwhooks.http import CallbackResponse, Headers
from bwhooks.receiver import Receiver

__all__ = ["ASGIApp", "CallbackMiddleware", "make_app", "scope_client", "scope_headers", "serve"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class CallbackMiddleware:
    """Wrap ``app`` so that HTTP requests to ``path`` are callbacks for ``receiver``."""

    def __init__(self, app: ASGIApp, receiver: Receiver, path: str = "/callbacks") -> None:
        self.app = app
        self.receiver = receiver
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = _route_path(scope)
            if path == self.path:
                await _serve(self.receiver, path, scope, receive, send)
                return
        await self.app(scope, receive, send)


def make_app(receiver: Receiver, path: str = "/callbacks") -> CallbackMiddleware:
    """A standalone ASGI app: callbacks at ``path``, a JSON ``404`` elsewhere, lifespan handled."""
    return CallbackMiddleware(_not_found, receiver, path)


async def serve(receiver: Receiver, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one ASGI HTTP request with ``receiver`` (whatever its path)."""
    await _serve(receiver, _route_path(scope), scope, receive, send)


async def _serve(receiver: Receiver, path: str, scope: Scope, receive: Receive, send: Send) -> None:
    method = scope["method"]
    response = await receiver.handle_stream_async(
        method,
        path,
        scope_headers(scope),
        ASGIBody(receive),
        query_string=scope.get("query_string", b""),
        client=scope_client(scope),
    )
    start, body = _messages(response, head=method == "HEAD")
    await send(start)
    await send(body)


def scope_headers(scope: Scope) -> Headers:
    """The request headers of an HTTP scope (latin-1, as the ASGI spec has them)."""
    names = _HEADER_NAMES
    pairs = []
    for raw_name, value in scope["headers"]:
        name = names.get(raw_name)
        if name is None:
            name = raw_name.decode("latin-1").lower()
            if len(names) < _MAX_HEADER_NAMES:  # clients choose names: a bounded cache
                names[raw_name] = name
        pairs.append((name, value.decode("latin-1")))
    return Headers.from_server(pairs)


_HEADER_NAMES: dict[bytes, str] = {}  # b"User-Agent": "user-agent", the names seen
_MAX_HEADER_NAMES = 512


def scope_client(scope: Scope) -> tuple[str, int] | None:
    """The peer address of an HTTP scope, when the server gives it."""
    client = scope.get("client")
    return (client[0], client[1]) if client else None


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):  # servers put root_path in path (ASGI spec, 2022)
        return path[len(root) :]
    return path


_ENCODED: dict[tuple[tuple[str, str], ...], tuple[tuple[bytes, bytes], ...]] = {}
_MAX_ENCODED = 64


def _messages(response: CallbackResponse, *, head: bool) -> tuple[Message, Message]:
    """The ``http.response.start`` and ``http.response.body`` messages of ``response``."""
    pairs = response.headers.pairs()
    encoded = _ENCODED.get(pairs) if pairs else ()  # an acknowledgement has no headers
    if encoded is None:
        encoded = tuple(
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in pairs
            if name.lower() != "content-length"
        )
        if len(_ENCODED) < _MAX_ENCODED:  # the few header sets answers carry, bounded
            _ENCODED[pairs] = encoded
    headers = [*encoded, (b"content-length", b"%d" % len(response.body))]
    return (
        {"type": "http.response.start", "status": response.status, "headers": headers},
        {"type": "http.response.body", "body": b"" if head else response.body},
    )


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        for message in _messages(CallbackResponse.error(404, "not found"), head=False):
            await send(message)
