"""ASGI 3: middleware that wraps any ASGI app (Starlette, FastAPI, ...), and a standalone app.

HTTP requests to ``path`` (relative to ``root_path``) go to the receiver; every other
request, and every lifespan or websocket scope, passes to the wrapped app untouched. Method
and headers are checked first; the body is received up to ``receiver.max_body_size`` bytes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bwhooks.http import CallbackRequest, CallbackResponse, Headers
from bwhooks.receiver import Receiver

__all__ = ["ASGIApp", "CallbackMiddleware", "make_app", "serve"]

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
        if scope["type"] != "http" or _route_path(scope) != self.path:
            await self.app(scope, receive, send)
            return
        await serve(self.receiver, scope, receive, send)


def make_app(receiver: Receiver, path: str = "/callbacks") -> CallbackMiddleware:
    """A standalone ASGI app: callbacks at ``path``, a JSON ``404`` elsewhere, lifespan handled."""
    return CallbackMiddleware(_not_found, receiver, path)


async def serve(receiver: Receiver, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer one ASGI HTTP request with ``receiver`` (whatever its path)."""
    headers = Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]])
    method = scope["method"]
    response = receiver.early_response(method, headers)
    if response is None:
        body = await _receive_body(receive, receiver.max_body_size)
        if body is None:
            response = CallbackResponse.error(413, f"body over {receiver.max_body_size} bytes")
        else:
            client = scope.get("client")
            request = CallbackRequest(
                method,
                _route_path(scope),
                headers,
                body,
                scope.get("query_string", b""),
                tuple(client) if client else None,
            )
            response = await receiver.handle_async(request)
    await _send(response, send, head=method == "HEAD")


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):  # servers put root_path in path (ASGI spec, 2022)
        return path[len(root) :]
    return path


async def _receive_body(receive: Receive, limit: int) -> bytes | None:
    """The body, or ``None`` once more than ``limit`` bytes arrive (receiving stops there)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(response: CallbackResponse, send: Send, *, head: bool) -> None:
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.headers.pairs()
        if name.lower() != "content-length"
    ]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else response.body})


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
        await _send(CallbackResponse.error(404, "not found"), send, head=False)
