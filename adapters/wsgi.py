"""WSGI (PEP 3333): middleware that wraps any WSGI app, and a standalone app.

Requests to ``path`` go to the receiver; every other request passes to the wrapped app
untouched. The request is read straight from ``environ``: method and headers first (a
wrong method, bad credentials or an oversized ``Content-Length`` are answered without
reading the body), then at most ``receiver.max_body_size`` bytes of body.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from bwhooks.body import Read
from bwhooks.http import CallbackResponse, Headers
from bwhooks.receiver import Receiver

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "CallbackMiddleware",
    "environ_headers",
    "handle_environ",
    "make_app",
    "query_bytes",
    "serve",
]


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


def _number(text: str) -> int | None:
    """``text`` as a count, if it is one (ASCII digits: ``str.isdigit`` takes ``²``)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


def make_app(receiver: Receiver, path: str = "/callbacks") -> CallbackMiddleware:
    """A standalone WSGI app: callbacks at ``path``, a JSON ``404`` everywhere else."""
    return CallbackMiddleware(_not_found, receiver, path)


def serve(
    receiver: Receiver, environ: WSGIEnvironment, start_response: StartResponse
) -> list[bytes]:
    """Answer one WSGI request with ``receiver`` (whatever its path)."""
    response = handle_environ(receiver, environ)
    return _respond(response, start_response, head=environ.get("REQUEST_METHOD") == "HEAD")


def handle_environ(receiver: Receiver, environ: Mapping[str, Any]) -> CallbackResponse:
    """The receiver's answer to the request a WSGI environ describes (Flask reuses this)."""
    remote = environ.get("REMOTE_ADDR")
    return receiver.handle_stream(
        environ.get("REQUEST_METHOD", "GET"),
        environ.get("PATH_INFO", ""),
        environ_headers(environ),
        _reader(environ),
        query_string=query_bytes(environ.get("QUERY_STRING", "")),
        client=(remote, int(environ.get("REMOTE_PORT") or 0)) if remote else None,
    )


def query_bytes(query: str) -> bytes:
    """The raw query string: PEP 3333 carries it as latin-1; some servers (and Django's
    test client, and ASGI-to-WSGI bridges) hand over text decoded as UTF-8 instead."""
    try:
        return query.encode("latin-1")
    except UnicodeEncodeError:
        return query.encode("utf-8", "surrogateescape")


def environ_headers(environ: Mapping[str, Any]) -> Headers:
    """The request headers of a WSGI environ (or Django's ``META``), in one pass."""
    names = _HEADER_NAMES
    pairs = []
    for key, value in environ.items():
        name = names.get(key)
        if name is None:
            name = _header_name(key)
            if len(names) < _MAX_HEADER_NAMES:  # clients choose names: a bounded cache
                names[key] = name
        if name and (value or name != "content-length"):  # CONTENT_LENGTH may be empty
            pairs.append((name, value))
    return Headers.from_server(pairs)


def _header_name(key: str) -> str:
    """The header name an environ key carries (``HTTP_USER_AGENT``: ``user-agent``), or
    ``""`` for a key that is no header (``wsgi.input``, ``SERVER_NAME``, ...)."""
    if key[:5] == "HTTP_":
        return key[5:].replace("_", "-").lower()
    return _CONTENT.get(key, "")


_CONTENT = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


# The environ keys seen, with the header each carries ("" for none).
_HEADER_NAMES: dict[str, str] = {}
_MAX_HEADER_NAMES = 512


def _reader(environ: Mapping[str, Any]) -> Read:
    """``read(n)`` over ``wsgi.input`` that never reads past ``Content-Length`` (PEP 3333)."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if not length:
        # Without Content-Length there is a body only if the server says it ends (chunked).
        return stream.read if environ.get("wsgi.input_terminated") else _nothing
    found = _number(length.strip())
    if found is None:  # no number: refused by the receiver; a recorder in front reads nothing
        return _nothing
    remaining = found

    def read(size: int) -> bytes:
        nonlocal remaining
        chunk = bytes(stream.read(min(size, remaining))) if remaining > 0 else b""
        remaining -= len(chunk)
        return chunk

    return read


def _nothing(size: int) -> bytes:
    return b""


def _respond(
    response: CallbackResponse, start_response: StartResponse, *, head: bool
) -> list[bytes]:
    pairs = response.headers.pairs()
    headers = [p for p in pairs if p[0].lower() != "content-length"] if pairs else []
    headers.append(("Content-Length", str(len(response.body))))
    start_response(response.status_line, headers)
    return [] if head else [response.body]


def _not_found(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    return _respond(CallbackResponse.error(404, "not found"), start_response, head=False)
