"""The embedded server of ``bwhooks listen``: werkzeug's threaded server, bounded.

A listener reached through a tunnel faces the Internet, so unlike werkzeug's development
server (a thread per connection, without limit, waiting on each for ever) it

- handles at most ``max_connections`` connections at once, one thread each; the next ones
  wait in the listening socket's backlog until a thread is free;
- gives each client ``request_timeout`` seconds to send its whole request (line, headers and
  body), and ``first_byte_timeout`` of them to send its first byte: every read waits at most
  what is left of that time, so a client that sends nothing (dropped after 2 s), or a byte
  now and then (slowloris), is dropped and frees its thread;
- refuses, before the app sees it, a request whose body length is ambiguous
  (:func:`bwhooks.http.framing_error`: ``Content-Length`` with ``Transfer-Encoding``, ...),
  whose method is no token, or whose ``Host`` is missing, repeated or invalid
  (:func:`bwhooks.http.request_error`) with a JSON ``400`` (or ``501``), and closes the connection
  (RFC 9112 §6.3).
"""

from __future__ import annotations

import io
import json
import selectors
import socket
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from bwhooks.http import framing_error, request_error

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer
    from _typeshed.wsgi import WSGIApplication

__all__ = [
    "DEFAULT_FIRST_BYTE_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_REQUEST_TIMEOUT",
    "ListenServer",
]

#: How many connections a listener handles at once.
DEFAULT_MAX_CONNECTIONS = 64
#: Seconds a client has to send its whole request before its connection is closed.
DEFAULT_REQUEST_TIMEOUT = 10.0
#: Seconds a new connection has to send its first byte (an idle one frees its thread sooner).
DEFAULT_FIRST_BYTE_TIMEOUT = 2.0


class ListenServer(ThreadedWSGIServer):
    """Serve ``app`` on ``host:port``, bounded as the module says (``port`` 0: a free one).
    Run it with ``serve_forever()``; ``connections`` and ``peak_connections`` tell how
    many connections are being handled and the most there were at once."""

    def __init__(
        self,
        host: str,
        port: int,
        app: WSGIApplication,
        *,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        first_byte_timeout: float = DEFAULT_FIRST_BYTE_TIMEOUT,
        handler: type[WSGIRequestHandler] | None = None,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        if request_timeout <= 0 or first_byte_timeout <= 0:
            raise ValueError("request_timeout and first_byte_timeout must be positive")
        self.max_connections = max_connections
        self.request_timeout = request_timeout
        self.first_byte_timeout = first_byte_timeout
        self.connections = 0
        self.peak_connections = 0
        self._slots = threading.BoundedSemaphore(max_connections)
        self._count = threading.Lock()
        super().__init__(host, port, app, handler or BoundedRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        """Wait for a free slot (the next connections stay in the backlog), then start the
        connection's thread."""
        self._slots.acquire()
        with self._count:
            self.connections += 1
            self.peak_connections = max(self.peak_connections, self.connections)
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        with self._count:
            self.connections -= 1
        self._slots.release()


def _status(code: object) -> object:
    """A status as its number: an ``HTTPStatus`` prints as ``HTTPStatus.BAD_REQUEST`` with
    ``%s`` before Python 3.11."""
    return int(code) if isinstance(code, int) else code


class BoundedRequestHandler(WSGIRequestHandler):
    """werkzeug's request handler, reading within the server's ``request_timeout``,
    refusing ambiguous framing, and logging each request by its method and path only: never
    its query string (a GET callback's carries phone numbers, the inspector's address its
    token), nor a malformed request line."""

    server: ListenServer

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        command, path = getattr(self, "command", None), getattr(self, "path", None)
        if not command or not path:
            line = "(a malformed request)"
        else:
            kept = quote(urlsplit(path).path, safe="/%:@!$&'()*+,;=-._~")
            line = f"{quote(command)} {kept} {self.request_version}"
        self.log("info", '"%s" %s %s', line, _status(code), size)

    def log_error(self, format: str, *args: Any) -> None:
        if format.startswith("code "):  # send_error: its message may quote the request
            self.log("error", "code %s", _status(args[0]) if args else "-")
        else:
            self.log("error", format, *args)

    def setup(self) -> None:
        super().setup()
        timeout = self.server.request_timeout
        self.connection.settimeout(timeout)  # also bounds each write
        self.rfile.close()  # the socket's own reader, replaced by one with a deadline
        now = time.monotonic()
        first = now + min(self.server.first_byte_timeout, timeout)
        reader = _DeadlineReader(self.connection, now + timeout, timeout, first=first)
        self.rfile = io.BufferedReader(reader)

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        refused = request_error(
            self.command, self.headers.get_all("Host") or [], self.request_version
        ) or framing_error(self.headers.items(), self.request_version)
        if refused is None:
            return True
        status, reason = refused
        body = json.dumps({"error": reason}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self._discard()
        return False

    def handle_expect_100(self) -> bool:
        return True  # werkzeug's run_wsgi sends the 100 Continue, once the request is valid

    def _discard(self) -> None:
        """Read what the client already sent, so that closing does not reset the
        connection before it has read the answer."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.connection, selectors.EVENT_READ)
            try:
                for _ in range(64):  # at most 4 MiB: a client that keeps sending is cut off
                    if not selector.select(timeout=0.01) or not self.connection.recv(65536):
                        break
            except OSError:
                pass


class _DeadlineReader(io.RawIOBase):
    """A socket's bytes, each read waiting at most until ``deadline``, and until ``first``
    for the first byte (then ``TimeoutError``, which werkzeug and ``http.server`` take as
    a dropped connection)."""

    def __init__(
        self, connection: socket.socket, deadline: float, timeout: float, *, first: float
    ) -> None:
        self._connection = connection
        self._deadline = deadline
        self._timeout = timeout
        self._first: float | None = first  # None once a byte came

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        deadline = self._deadline if self._first is None else self._first
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the request did not arrive in time")
        self._connection.settimeout(left)
        try:
            read = self._connection.recv_into(buffer)
        finally:
            self._connection.settimeout(self._timeout)
        if read:
            self._first = None
        return read
