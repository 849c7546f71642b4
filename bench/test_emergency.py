"""5. The Emergency Calling API's routing query (a 911 call's GET, answered with a route as
JSON within Bandwidth's 450 ms): the receiver's own overhead on that path.

Through the core (``Receiver.handle``) against what any endpoint does for it (read the
query, build the route's JSON), and through the raw WSGI and ASGI middleware against a raw
function doing the same plus the Basic check: the ratios of the other groups, on a GET.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from payloads import AUTHORIZATION, CREDENTIALS
from test_core import run

from bwhooks import BasicAuth, CallbackRequest, EmergencyCallEvent, EmergencyRoute, Receiver
from bwhooks.adapters import asgi, wsgi

QUERY = b"to=911&from=%2B19195551234"
ROUTE = {"aeui": "myaeui", "location_id": "mylocationid", "lat": 35.67426, "lon": -105.95283}
EXPECTED = AUTHORIZATION.encode()


def receiver(*, async_handler: bool = False) -> Receiver:
    """A receiver whose handler routes every call to the same place."""
    made = Receiver(auth=BasicAuth(CREDENTIALS))
    route = EmergencyRoute(**ROUTE)
    if async_handler:

        @made.on(EmergencyCallEvent)
        async def routed(event: EmergencyCallEvent) -> EmergencyRoute:
            return route

    else:
        made.on(EmergencyCallEvent)(lambda event: route)
    return made


def same_work(authorization: str, query: bytes) -> tuple[int, bytes]:
    """What a bare endpoint does: check the credentials, read the query, answer the route."""
    if not hmac.compare_digest(authorization.encode(), EXPECTED):
        return 401, b""
    dict(parse_qsl(query.decode()))
    return 200, json.dumps(ROUTE, separators=(",", ":")).encode()


def baseline_core() -> bytes:
    dict(parse_qsl(QUERY.decode()))
    return json.dumps(ROUTE, separators=(",", ":")).encode()


@pytest.mark.parametrize("role", ["baseline", "bwhooks"])
def test_emergency_core(benchmark: Any, role: str) -> None:
    if role == "baseline":
        run(benchmark, "emergency:core", role, baseline_core)
        return
    handler = receiver()
    sent = CallbackRequest("GET", "/callbacks", {"Authorization": AUTHORIZATION}, b"", QUERY)
    answer = handler.handle(sent)
    assert (answer.status, json.loads(answer.body)) == (200, ROUTE)
    run(benchmark, "emergency:core", role, lambda: handler.handle(sent), baseline_core)


# -- raw WSGI --------------------------------------------------------------------------


def bare_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    query = environ["QUERY_STRING"].encode("latin-1")
    status, body = same_work(environ.get("HTTP_AUTHORIZATION", ""), query)
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    start_response(f"{status} OK", headers)
    return [body]


def wsgi_call(app: Any) -> Any:
    base = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/callbacks",
        "QUERY_STRING": QUERY.decode(),
        "HTTP_AUTHORIZATION": AUTHORIZATION,
        "HTTP_HOST": "localhost",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "5000",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    answers: list[tuple[str, bytes]] = []

    def call() -> None:
        environ = dict(base, **{"wsgi.input": io.BytesIO(b"")})
        statuses: list[str] = []
        body = b"".join(app(environ, lambda status, headers: statuses.append(status)))
        answers.append((statuses[0], body))

    call()
    status, body = answers.pop()
    assert (status[:3], json.loads(body)) == ("200", ROUTE)
    return call


@pytest.mark.parametrize("role", ["baseline", "bwhooks"])
def test_emergency_raw_wsgi(benchmark: Any, role: str) -> None:
    app = bare_wsgi if role == "baseline" else wsgi.make_app(receiver())
    run(benchmark, "emergency:raw wsgi", role, wsgi_call(app), wsgi_call(bare_wsgi))


# -- raw ASGI --------------------------------------------------------------------------


async def bare_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    status, body = same_work(authorization, scope["query_string"])
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def asgi_call(app: Any, loop: asyncio.AbstractEventLoop) -> Any:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/callbacks",
        "root_path": "",
        "query_string": QUERY,
        "client": ("127.0.0.1", 5000),
        "headers": [(b"host", b"localhost"), (b"authorization", AUTHORIZATION.encode())],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    def call() -> None:
        sent.clear()
        loop.run_until_complete(app(scope, receive, send))

    call()
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert (sent[0]["status"], json.loads(body)) == (200, ROUTE)
    return call


@pytest.mark.parametrize("role", ["baseline", "bwhooks", "bwhooks, def handler"])
def test_emergency_raw_asgi(benchmark: Any, role: str, loop: asyncio.AbstractEventLoop) -> None:
    """An ASGI app's handlers are ``async def``; a ``def`` one costs a worker-thread hop."""
    if role == "baseline":
        app: Any = bare_asgi
    else:
        app = asgi.make_app(receiver(async_handler=role == "bwhooks"))
    run(benchmark, "emergency:raw asgi", role, asgi_call(app, loop), asgi_call(bare_asgi, loop))
