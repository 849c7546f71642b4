"""The local inspector: a page that shows recorded deliveries live, and replays them.

``bwhooks listen`` serves it on its own port, bound to loopback, and prints its address with
a per-run token. Requests whose ``Host`` is not the inspector's own loopback address are
refused (``403``): a tunnel (or a web page using DNS rebinding) never reaches it. Anything
that acts (a replay) needs the token as well. Deliveries appear as they arrive (server-sent
events, ``Last-Event-ID`` resumes); the page is one HTML document with its script inline:
no build step, nothing fetched from the internet.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from http import HTTPStatus
from importlib import resources
from typing import TYPE_CHECKING, Any

from bwhooks.recording import Delivery, Recorder

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["Inspector", "delivery_json", "start_inspector"]

#: The largest replay request the page sends (``{"id": ..., "url": ...}``), in bytes.
MAX_REQUEST = 4096
#: How often the live stream looks for new deliveries (seconds).
POLL_INTERVAL = 0.2
#: How often an idle stream sends a comment, so a closed page is noticed (seconds).
KEEPALIVE = 10.0


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    """A recorded delivery as the page reads it (bodies as text, invalid UTF-8 replaced)."""
    return {
        "id": delivery.id,
        "received_at": delivery.received_at.isoformat(),
        "kind": delivery.kind,
        "method": delivery.method,
        "path": delivery.path,
        "query": delivery.query,
        "headers": delivery.headers,
        "body": delivery.body.decode("utf-8", "replace"),
        "events": delivery.events,
        "refused": delivery.refused,
        "status": delivery.status,
        "response_headers": delivery.response_headers,
        "response_body": delivery.response_body.decode("utf-8", "replace"),
        "duration_ms": round(delivery.duration_ms, 3),
        "challenge_id": delivery.challenge_id,
        "replay_of": delivery.replay_of,
    }


class Inspector:
    """The inspector's WSGI app over ``recorder``; ``replay(id, url)`` sends a delivery
    again (to ``url``, or the forward target when ``url`` is empty) and returns the
    statuses of the exchange."""

    def __init__(
        self,
        recorder: Recorder,
        replay: Callable[[int, str], tuple[int, ...]],
        *,
        token: str | None = None,
    ) -> None:
        self.recorder = recorder
        self.replay = replay
        self.token = token or secrets.token_urlsafe(18)
        self.allowed_hosts: frozenset[str] = frozenset()
        self.stopping = threading.Event()

    def serve_on(self, port: int) -> None:
        """Accept only the loopback names of ``port`` as ``Host``."""
        names = ("127.0.0.1", "localhost", "[::1]")
        self.allowed_hosts = frozenset(f"{name}:{port}" for name in names)

    def address(self, port: int) -> str:
        """The page's address, token included (what ``listen`` prints)."""
        return f"http://127.0.0.1:{port}/?token={self.token}"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
        if environ.get("HTTP_HOST", "") not in self.allowed_hosts:
            return _answer(start_response, 403, {"error": "this page answers its own address only"})
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if method == "GET" and path == "/":
            return _page(start_response)
        if method == "GET" and path == "/api/deliveries":
            after = _int(_query(environ).get("after", "0"))
            found = [delivery_json(d) for d in self.recorder.deliveries(after=after)]
            return _answer(start_response, 200, found)
        if method == "GET" and path == "/events":
            after = _int(environ.get("HTTP_LAST_EVENT_ID") or _query(environ).get("after", "0"))
            start_response(
                "200 OK",
                [
                    ("Content-Type", "text/event-stream; charset=utf-8"),
                    ("Cache-Control", "no-store"),
                    ("X-Accel-Buffering", "no"),
                ],
            )
            return self._stream(after)
        if method == "POST" and path == "/api/replay":
            if not secrets.compare_digest(environ.get("HTTP_X_BWHOOKS_TOKEN", ""), self.token):
                return _answer(start_response, 403, {"error": "the token of this run is needed"})
            length = environ.get("CONTENT_LENGTH") or "0"
            if not length.isdigit() or int(length) > MAX_REQUEST:
                return _answer(start_response, 400, {"error": "a replay request is small JSON"})
            try:
                asked = json.loads(environ["wsgi.input"].read(int(length)))
                exchange = self.replay(int(asked["id"]), str(asked.get("url") or ""))
            except (ValueError, KeyError, TypeError) as exc:
                return _answer(start_response, 400, {"error": str(exc)})
            except OSError as exc:
                return _answer(start_response, 502, {"error": f"cannot reach the target: {exc}"})
            return _answer(start_response, 200, {"exchange": exchange})
        return _answer(start_response, 404, {"error": "not found"})

    def _stream(self, after: int) -> Iterator[bytes]:
        yield b"retry: 1000\n\n"
        quiet_since = time.monotonic()
        while not self.stopping.is_set():
            fresh = self.recorder.deliveries(after=after, limit=100)
            for delivery in fresh:
                after = delivery.id
                data = json.dumps(delivery_json(delivery))
                yield f"id: {delivery.id}\nevent: delivery\ndata: {data}\n\n".encode()
            if fresh:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > KEEPALIVE:
                quiet_since = time.monotonic()
                yield b": still here\n\n"
            self.stopping.wait(POLL_INTERVAL)


def _answer(start_response: StartResponse, status: int, value: Any) -> Iterator[bytes]:
    body = json.dumps(value).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ],
    )
    return iter([body])


def _page(start_response: StartResponse) -> Iterator[bytes]:
    page = resources.files("bwhooks").joinpath("inspector.html").read_bytes()
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(page))),
            ("Cache-Control", "no-store"),
            (
                "Content-Security-Policy",
                "default-src 'self'; script-src 'unsafe-inline' 'self'; "
                "style-src 'unsafe-inline' 'self'; frame-ancestors 'none'",
            ),
            ("X-Frame-Options", "DENY"),
        ],
    )
    return iter([page])


def _query(environ: WSGIEnvironment) -> dict[str, str]:
    from urllib.parse import parse_qsl

    return dict(parse_qsl(environ.get("QUERY_STRING", "")))


def _int(text: str) -> int:
    return int(text) if text.isdigit() else 0


class _Running:
    """The inspector's server thread, stopped with :meth:`shutdown`."""

    def __init__(self, inspector: Inspector, server: Any) -> None:
        self.inspector = inspector
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.thread.start()

    def shutdown(self) -> None:
        self.inspector.stopping.set()  # live streams end
        self.server.shutdown()
        self.server.server_close()


def start_inspector(
    recorder: Recorder,
    port: int = 0,
    *,
    default_url: str,
    credentials: Callable[[], tuple[str, str] | None],
) -> tuple[_Running, str]:
    """Serve the inspector on ``127.0.0.1:port`` (0: a free port) in a thread; returns it
    and the page's address. A replay goes to the URL given on the page, else
    ``default_url``, answering the challenge with ``credentials()``."""
    from werkzeug.serving import make_server

    from bwhooks.replaying import replay
    from bwhooks.testing import HttpSender

    def replay_one(delivery_id: int, url: str) -> tuple[int, ...]:
        delivery = recorder.get(delivery_id)
        if delivery is None:
            raise KeyError(f"no delivery {delivery_id}")
        return replay(delivery, HttpSender(url or default_url, credentials())).exchange

    inspector = Inspector(recorder, replay_one)
    server = make_server("127.0.0.1", port, inspector, threaded=True)
    inspector.serve_on(server.server_port)
    return _Running(inspector, server), inspector.address(server.server_port)
