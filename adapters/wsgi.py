"""WSGI (PEP 3333): middleware that wraps any WSGI app, and a standalone app.

Requests to ``path`` go to the receiver; every other request passes to the wrapped app
untouched. The request is read straight from ``environ``: method and headers first (a
wrong method, bad credentials or an oversized ``Content-Length`` are answered without
reading the body), then at most ``receiver.max_body_size`` bytes of body.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bwhooks.http import CallbackRequest, CallbackResponse, Headers
from bwhooks.receiver import Receiver

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["CallbackMiddleware", "make_app", "serve"]

_CHUNK = 65536


class CallbackMiddleware:
    """Wrap ``app`` so that requests to ``path`` are Bandwidth callbacks for ``receiver``."""

    def __init__(self, app: WSGIApplication, receiver: Receiver, path: str = "/callbacks") -> None:
        self.app = app
        self.receiver = receiver
        self.path = path

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") != self.path:
            return self.app(environ, start_response)
        return serve(self.receiver, environ, start_response)


def make_app(receiver: Receiver, path: str = "/callbacks") -> CallbackMiddleware:
    """A standalone WSGI app: callbacks at ``path``, a JSON ``404`` everywhere else."""
    return CallbackMiddleware(_not_found, receiver, path)


def serve(
    receiver: Receiver, environ: WSGIEnvironment, start_response: StartResponse
) -> list[bytes]:
    """Answer one WSGI request with ``receiver`` (whatever its path)."""
    headers = _headers(environ)
    method = environ.get("REQUEST_METHOD", "GET")
    response = receiver.early_response(method, headers)
    if response is None:
        body = _read_body(environ, receiver.max_body_size)
        if body is None:
            response = CallbackResponse.error(413, f"body over {receiver.max_body_size} bytes")
        else:
            remote = environ.get("REMOTE_ADDR")
            client = (remote, int(environ.get("REMOTE_PORT") or 0)) if remote else None
            request = CallbackRequest(
                method,
                environ.get("PATH_INFO", ""),
                headers,
                body,
                environ.get("QUERY_STRING", "").encode("latin-1"),
                client,
            )
            response = receiver.handle(request)
    return _respond(response, start_response, head=method == "HEAD")


def _headers(environ: WSGIEnvironment) -> Headers:
    pairs = [
        (key[5:].replace("_", "-").title(), value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    if "CONTENT_TYPE" in environ:
        pairs.append(("Content-Type", environ["CONTENT_TYPE"]))
    if environ.get("CONTENT_LENGTH"):
        pairs.append(("Content-Length", environ["CONTENT_LENGTH"]))
    return Headers(pairs)


def _read_body(environ: WSGIEnvironment, limit: int) -> bytes | None:
    """The body, or ``None`` when it is longer than ``limit`` (reading stops there)."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:  # already checked against the limit by early_response
        return bytes(stream.read(int(length)))
    if not environ.get("wsgi.input_terminated"):
        return b""  # PEP 3333: without Content-Length, there is no body to read
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return None if size > limit else b"".join(chunks)


def _respond(
    response: CallbackResponse, start_response: StartResponse, *, head: bool
) -> list[bytes]:
    headers = [p for p in response.headers.pairs() if p[0].lower() != "content-length"]
    headers.append(("Content-Length", str(len(response.body))))
    start_response(response.status_line, headers)
    return [] if head else [response.body]


def _not_found(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    return _respond(CallbackResponse.error(404, "not found"), start_response, head=False)
