"""WSGI (PEP 3333): middleware that wraps any WSGI app, and a standalone app.

Requests to ``path`` go to the receiver; every other request passes to the wrapped app
untouched. The request is read straight from ``environ``: method and headers first (a
wrong method, bad credentials or an oversized ``Content-Length`` are answered without
reading the body), then at most ``receiver.max_body_size`` bytes of body.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from bwhooks.body import Read
from bwhooks.http import CallbackResponse, Headers
from bwhooks.receiver import GONE, UNREADABLE, Receiver, unreadable

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from bwhooks.recording import Recorder

__all__ = [
    "CallbackMiddleware",
    "RecordingMiddleware",
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


class RecordingMiddleware:
    """Wrap ``app`` so that every request it answers is recorded with ``recorder``
    (:class:`bwhooks.recording.Recorder`): the request as received, what bwhooks makes of
    its body, and the answer, as ``kind`` (``live``, ``forwarded``). Bodies are kept whole up
    to ``max_body_size`` bytes (the recorder cuts a refused one shorter); the app always
    receives the body as sent. With the
    ``receiver`` that serves the app, each event also names the handlers registered for it."""

    def __init__(
        self,
        app: WSGIApplication,
        recorder: Recorder,
        *,
        kind: str = "live",
        max_body_size: int = 1_000_000,
        receiver: Receiver | None = None,
    ) -> None:
        self.app = app
        self.recorder = recorder
        self.kind = kind
        self.max_body_size = max_body_size
        self.receiver = receiver

    def _handlers(self, event: Any) -> list[str]:
        assert self.receiver is not None
        return [r.name for r in self.receiver.registry.handlers_for(type(event))]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        from bwhooks.recording import Delivery, typed

        received, started = datetime.now(timezone.utc), time.perf_counter()
        read = _reader(environ)
        body, failed = b"", None
        try:
            body = read(self.max_body_size + 1)
            while len(body) <= self.max_body_size and (
                chunk := read(self.max_body_size + 1 - len(body))
            ):
                body += chunk
        except GONE:
            raise
        except UNREADABLE:  # the app is not called: the body it would read is lost
            failed = unreadable()
        whole = len(body) <= self.max_body_size
        environ["wsgi.input"] = io.BytesIO(body) if whole else _Chained(body, read)
        answer: list[Any] = [500, []]

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer[:] = [int(status.split(" ", 1)[0]), list(headers)]
            return start_response(status, headers, exc_info)

        chunks: list[bytes] = []
        try:
            if failed is not None:
                head = environ.get("REQUEST_METHOD") == "HEAD"
                chunks.extend(_respond(failed, capture, head=head))
            else:
                result = self.app(environ, capture)
                try:
                    chunks.extend(result)
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
        finally:
            method, query = environ.get("REQUEST_METHOD", "GET"), environ.get("QUERY_STRING", "")
            headers = environ_headers(environ).pairs()
            path = environ.get("PATH_INFO", "")
            handlers = self._handlers if self.receiver is not None else None
            events, refused = (
                typed(method, path, query, headers, body, handlers=handlers)
                if whole and failed is None
                else (None, None)
            )
            if failed is not None:
                refused = "unreadable body"
            elif not whole:
                refused = f"body over {self.max_body_size} bytes"
            replay_of = _number(environ.get("HTTP_X_BWHOOKS_REPLAY_OF", ""))
            self.recorder.record(
                Delivery(
                    received_at=received,
                    method=method,
                    path=path,
                    query=query,
                    headers=headers,
                    body=body[: self.max_body_size],
                    body_size=len(body) if whole else _declared(environ, len(body)),
                    truncated=not whole or failed is not None,
                    events=events,
                    refused=refused,
                    status=answer[0],
                    response_headers=tuple(answer[1]),
                    response_body=b"".join(chunks),
                    duration_ms=(time.perf_counter() - started) * 1000,
                    kind=self.kind if replay_of is None else "replayed",
                    replay_of=replay_of,
                )
            )
        return chunks


def _declared(environ: WSGIEnvironment, read: int) -> int:
    """The body's length as the request declares it, else (chunked) at least ``read``."""
    length = _number(environ.get("CONTENT_LENGTH") or "")
    return read if length is None else length


def _number(text: str) -> int | None:
    """``text`` as a count, if it is one (ASCII digits: ``str.isdigit`` takes ``²``)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


class _Chained:
    """A ``wsgi.input`` that gives ``head`` first, then the rest of the original stream."""

    def __init__(self, head: bytes, rest: Read) -> None:
        self._head = io.BytesIO(head)
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        chunk = self._head.read(size)
        if size < 0:
            return chunk + b"".join(iter(lambda: self._rest(65536), b""))
        while len(chunk) < size:  # as a file reads: all that is asked, unless the end comes
            more = self._rest(size - len(chunk))
            if not more:
                break
            chunk += more
        return chunk


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
