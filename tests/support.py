"""Shared test helpers: example files, and one way to send a request per transport."""

from __future__ import annotations

import asyncio
import http.client
import json
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import attrs

from bwhooks import CallbackRequest, CallbackResponse, Receiver
from bwhooks.adapters import asgi, wsgi
from bwhooks.auth import basic_authorization
from bwhooks.devtools.demo import serving

EXAMPLES = Path(__file__).parent / "examples" / "v1"
EXAMPLES_V2 = Path(__file__).parent / "examples" / "v2"
USER, PASSWORD = "bw-user", "s3cret-pässword"
AUTH = basic_authorization(USER, PASSWORD)
JSON = "application/json; charset=utf-8"

# Documentation typos in GET examples, corrected here (the files stay verbatim):
# hangup-1.txt has spaces around "=", timeout-1.txt misses a "&" after `from` and sends
# unencoded "+" (a space in a query string), answer-1.txt and incomingcall-1.txt leave the
# `diversion` JSON without its closing brace.
_GET_CORRECTIONS: dict[str, Callable[[str], str]] = {
    "hangup-1.txt": lambda q: q.replace(" ", ""),
    "timeout-1.txt": lambda q: q.replace("19105553333time", "19105553333&time").replace(
        "=+", "=%2B"
    ),
    "answer-1.txt": lambda q: q.replace('"{number}"&', '"{number}"%7D&'),
    "incomingcall-1.txt": lambda q: q.replace('"{number}"&', '"{number}"%7D&'),
}


def load_json_example(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return payload


def load_get_example(name: str) -> bytes:
    """The query string of a GET example (one line, corrected where the docs have typos)."""
    lines = (EXAMPLES / name).read_text().splitlines()
    query = "".join(line.strip() for line in lines[1:])
    correct = _GET_CORRECTIONS.get(name)
    return (correct(query) if correct else query).encode()


def json_example_names() -> list[str]:
    return sorted(p.name for p in EXAMPLES.glob("*.json"))


def get_example_names() -> list[str]:
    return sorted(p.name for p in EXAMPLES.glob("*.txt"))


def check_declared_types(value: Any) -> None:
    """Every non-None attribute, nested ones included, has its declared type."""
    hints = typing.get_type_hints(type(value))
    for field in attrs.fields(type(value)):
        item = getattr(value, field.name)
        if item is None or field.name == "raw":
            continue
        declared = [t for t in typing.get_args(hints[field.name]) if t is not type(None)]
        declared = declared or [hints[field.name]]
        origin = typing.get_origin(declared[0]) or declared[0]
        assert isinstance(item, origin), (field.name, item, declared)
        if isinstance(item, datetime):
            assert item.utcoffset() is not None, field.name
        if isinstance(item, tuple):
            assert all(isinstance(element, str) for element in item), field.name
        if attrs.has(type(item)):
            check_declared_types(item)


def load_v2_example(name: str) -> Any:
    """A Voice v2 example (one object) or Messaging v2 example (an array), as decoded."""
    return json.loads((EXAMPLES_V2 / name).read_text())


def v2_example_names() -> list[str]:
    return sorted(p.name for p in EXAMPLES_V2.glob("*.json"))


# -- transports: the same request through Receiver.handle, handle_async, WSGI, ASGI --------


@attrs.frozen
class Req:
    """One request to send; headers default to JSON with the right credentials."""

    method: str
    body: bytes
    headers: dict[str, str]
    query: bytes
    path: str
    chunked: bool


class Send(Protocol):
    def __call__(
        self,
        method: str = "POST",
        *,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        query: bytes = b"",
        path: str = "/callbacks",
        chunked: bool = False,
    ) -> CallbackResponse: ...


def sender(deliver: Callable[[Req], CallbackResponse]) -> Send:
    def send(
        method: str = "POST",
        *,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        query: bytes = b"",
        path: str = "/callbacks",
        chunked: bool = False,
    ) -> CallbackResponse:
        sent = dict({"Content-Type": JSON, "Authorization": AUTH} if headers is None else headers)
        return deliver(Req(method, body, sent, query, path, chunked))

    return send


@contextmanager
def direct(receiver: Receiver) -> Iterator[Send]:
    def deliver(r: Req) -> CallbackResponse:
        return receiver.handle(CallbackRequest(r.method, r.path, r.headers, r.body, r.query))

    yield sender(deliver)


@contextmanager
def direct_async(receiver: Receiver) -> Iterator[Send]:
    def deliver(r: Req) -> CallbackResponse:
        request = CallbackRequest(r.method, r.path, r.headers, r.body, r.query)
        return asyncio.run(receiver.handle_async(request))

    yield sender(deliver)


def passthrough_wsgi(environ: Any, start_response: Any) -> list[bytes]:
    """The user's own WSGI app: echoes what it received, byte for byte."""
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("299 Mine", [("Content-Type", "application/octet-stream"), ("X-App", "user")])
    return [environ["PATH_INFO"].encode("latin-1"), b"|", body]


def http_request(
    base_url: str,
    method: str,
    target: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    chunked: bool = False,
) -> CallbackResponse:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        if chunked:
            connection.putrequest(method, target)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.putheader("Transfer-Encoding", "chunked")
            connection.endheaders()
            for start in range(0, len(body), 4096):
                piece = body[start : start + 4096]
                connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            connection.send(b"0\r\n\r\n")
        else:
            connection.request(method, target, body=body, headers=dict(headers))
        response = connection.getresponse()
        return CallbackResponse(response.status, response.getheaders(), response.read())
    finally:
        connection.close()


@contextmanager
def wsgi_server(receiver: Receiver) -> Iterator[Send]:
    """The WSGI middleware, wrapping a user app, on werkzeug's real server."""
    with serving(wsgi.CallbackMiddleware(passthrough_wsgi, receiver)) as base_url:

        def deliver(r: Req) -> CallbackResponse:
            target = r.path + ("?" + r.query.decode() if r.query else "")
            return http_request(base_url, r.method, target, r.body, r.headers, chunked=r.chunked)

        yield sender(deliver)


class AsgiCall:
    """Drives an ASGI app in-process, recording what it received and sent."""

    def __init__(self, app: asgi.ASGIApp) -> None:
        self.app = app
        self.receive_calls = 0
        self.sent: list[dict[str, Any]] = []

    async def run(self, scope: dict[str, Any], chunks: list[bytes]) -> None:
        pending = list(chunks) or [b""]

        async def receive() -> dict[str, Any]:
            self.receive_calls += 1
            if not pending:
                return {"type": "http.disconnect"}
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

        async def send(message: Any) -> None:
            self.sent.append(dict(message))

        await self.app(scope, receive, send)

    def response(self) -> CallbackResponse:
        start = next(m for m in self.sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in self.sent if m["type"] == "http.response.body")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
        return CallbackResponse(start["status"], headers, body)


def asgi_scope(
    method: str, path: str, headers: Mapping[str, str], query: bytes = b"", root_path: str = ""
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": root_path + path,
        "raw_path": (root_path + path).encode(),
        "root_path": root_path,
        "query_string": query,
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


async def passthrough_asgi(scope: Any, receive: Any, send: Any) -> None:
    """The user's own ASGI app: echoes what it received, byte for byte."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 299, "headers": [(b"x-app", b"user")]})
    await send({"type": "http.response.body", "body": scope["path"].encode() + b"|" + body})


@contextmanager
def asgi_app(receiver: Receiver) -> Iterator[Send]:
    """The ASGI middleware, wrapping a user app, called in-process."""
    app = asgi.CallbackMiddleware(passthrough_asgi, receiver)

    def deliver(r: Req) -> CallbackResponse:
        headers = dict(r.headers)
        if not r.chunked and r.body and "Content-Length" not in headers:
            headers["Content-Length"] = str(len(r.body))
        size = 4096 if r.chunked else max(len(r.body), 1)
        chunks = [r.body[i : i + size] for i in range(0, len(r.body), size)]
        call = AsgiCall(app)
        asyncio.run(call.run(asgi_scope(r.method, r.path, headers, r.query), chunks))
        return call.response()

    yield sender(deliver)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def uvicorn_serving(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread; yields its base URL."""
    import threading
    import time

    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
