"""Recording around any WSGI app: every request it answers is kept by a
:class:`~bwhooks.devtools.recording.Recorder` (``bwhooks listen --record``)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from bwhooks.adapters.wsgi import _number, _reader, _respond, environ_headers
from bwhooks.body import Read
from bwhooks.receiver import GONE, UNREADABLE, Receiver, unreadable

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from bwhooks.devtools.recording import Recorder

__all__ = ["RecordingMiddleware"]


class RecordingMiddleware:
    """Wrap ``app`` so that every request it answers is recorded with ``recorder``
    (:class:`bwhooks.devtools.recording.Recorder`): the request as received, what bwhooks makes of
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
        from bwhooks.devtools.recording import Delivery, typed

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
