"""2. Adapters in-process: each against the same framework's bare route doing json.loads +
the Basic Auth check, and the raw WSGI/ASGI middleware against a raw function doing the same."""

from __future__ import annotations

import asyncio
import hmac
import io
import json
import sys
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from payloads import AUTHORIZATION, CREDENTIALS, HEADERS, V1
from test_core import run

from bwhooks import BasicAuth, Event, Receiver
from bwhooks.adapters import asgi, wsgi

BODY = V1["answer"]
EXPECTED = AUTHORIZATION.encode()


def receiver(*, async_handler: bool = False) -> Receiver:
    made = Receiver(auth=BasicAuth(CREDENTIALS))
    if async_handler:

        @made.on(Event)
        async def handled(event: Event) -> None: ...

    else:
        made.on(Event)(lambda event: None)
    return made


def same_work(authorization: str, body: bytes) -> int:
    """What a bare endpoint does: check the credentials, decode the JSON."""
    if not hmac.compare_digest(authorization.encode(), EXPECTED):
        return 401
    json.loads(body)
    return 200


# -- raw WSGI --------------------------------------------------------------------------


def bare_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
    status = same_work(environ.get("HTTP_AUTHORIZATION", ""), body)
    start_response(f"{status} OK", [("Content-Length", "0")])
    return [b""]


def wsgi_call(app: Any, path: str = "/callbacks") -> Any:
    base = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_TYPE": HEADERS["Content-Type"],
        "CONTENT_LENGTH": str(len(BODY)),
        "HTTP_AUTHORIZATION": AUTHORIZATION,
        "HTTP_HOST": "localhost",
        "HTTP_USER_AGENT": "BandwidthAPI/v1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "5000",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
    }
    statuses: list[str] = []

    def call() -> None:
        environ = dict(base, **{"wsgi.input": io.BytesIO(BODY)})
        b"".join(app(environ, lambda status, headers: statuses.append(status)))

    call()
    assert statuses[0].startswith("200"), statuses
    return call


@pytest.mark.parametrize("role", ["baseline", "bwhooks"])
def test_raw_wsgi(benchmark: Any, role: str) -> None:
    app = bare_wsgi if role == "baseline" else wsgi.make_app(receiver())
    run(benchmark, "raw:wsgi", role, wsgi_call(app), wsgi_call(bare_wsgi))


# -- raw ASGI --------------------------------------------------------------------------


async def bare_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    authorization = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
    status = same_work(authorization, body)
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]}
    )
    await send({"type": "http.response.body", "body": b""})


def asgi_call(app: Any, loop: asyncio.AbstractEventLoop, path: str = "/callbacks") -> Any:
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "root_path": "",
        "query_string": b"",
        "client": ("127.0.0.1", 5000),
        "headers": [
            (b"host", b"localhost"),
            (b"content-type", HEADERS["Content-Type"].encode()),
            (b"content-length", str(len(BODY)).encode()),
            (b"authorization", AUTHORIZATION.encode()),
        ],
    }
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": BODY, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    def call() -> None:
        loop.run_until_complete(app(scope, receive, send))

    call()
    assert statuses == [200], statuses
    return call


@pytest.mark.parametrize("role", ["baseline", "bwhooks", "bwhooks, def handler"])
def test_raw_asgi(benchmark: Any, role: str, loop: asyncio.AbstractEventLoop) -> None:
    """An ASGI app's handlers are ``async def``; a ``def`` one costs a worker-thread hop."""
    if role == "baseline":
        app: Any = bare_asgi
    else:
        app = asgi.make_app(receiver(async_handler=role == "bwhooks"))
    run(benchmark, "raw:asgi", role, asgi_call(app, loop), asgi_call(bare_asgi, loop))


# -- frameworks: one app with the bare route at /bare and bwhooks at /callbacks ---------


def flask_app() -> Any:
    import flask

    from bwhooks.adapters.flask import BandwidthCallbacks

    app = flask.Flask("bench")

    @app.post("/bare")
    def bare() -> tuple[str, int]:
        request = flask.request
        return "", same_work(request.headers.get("Authorization", ""), request.get_data())

    BandwidthCallbacks(receiver(), app)
    return app


def fastapi_apps(*, bare_in_router: bool = True) -> tuple[Any, Any]:
    """Two apps, each with its one route: FastAPI's route matching is linear, so sharing an
    app would charge one of them for skipping the other's routes.

    ``router()`` gives an ``APIRouter``, and FastAPI charges every request that goes through
    an included router (some 9 us in FastAPI 0.165); like for like, the bare route is in an
    included router too. ``bare_in_router=False`` puts it on the app instead."""
    from fastapi import APIRouter

    from bwhooks.adapters.fastapi import router

    bare_app, ours = FastAPI(), FastAPI()

    async def bare(request: Request) -> Response:
        body = await request.body()
        return Response(status_code=same_work(request.headers.get("authorization", ""), body))

    if bare_in_router:
        bare_router = APIRouter()
        bare_router.add_api_route("/bare", bare, methods=["POST"])
        bare_app.include_router(bare_router)
    else:
        bare_app.add_api_route("/bare", bare, methods=["POST"])
    ours.include_router(router(receiver(async_handler=True)))
    return bare_app, ours


def django_app() -> Any:
    import types

    import django
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.http import HttpRequest, HttpResponse
    from django.urls import path
    from django.views.decorators.csrf import csrf_exempt

    from bwhooks.adapters.django import callback_view

    @csrf_exempt
    def bare(request: HttpRequest) -> HttpResponse:
        status = same_work(request.headers.get("Authorization", ""), request.body)
        return HttpResponse(status=status)

    urls = types.ModuleType("bench_urls")
    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("bare", bare),
        path("callbacks", callback_view(receiver())),
    ]
    sys.modules["bench_urls"] = urls
    if not settings.configured:
        settings.configure(
            SECRET_KEY="bench",
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF="bench_urls",
            MIDDLEWARE=[
                "django.middleware.common.CommonMiddleware",
                "django.middleware.csrf.CsrfViewMiddleware",
            ],
        )
        django.setup()
    return WSGIHandler()


@pytest.mark.parametrize("role", ["baseline", "bwhooks"])
@pytest.mark.parametrize("framework", ["flask", "django", "fastapi"])
def test_framework(
    benchmark: Any, framework: str, role: str, loop: asyncio.AbstractEventLoop
) -> None:
    if framework == "fastapi":
        bare_app, our_app = fastapi_apps()
        bare, ours = asgi_call(bare_app, loop, "/bare"), asgi_call(our_app, loop, "/callbacks")
    else:
        app = flask_app() if framework == "flask" else django_app()
        bare, ours = wsgi_call(app, "/bare"), wsgi_call(app, "/callbacks")
    if role == "baseline":
        run(benchmark, f"framework:{framework}", role, bare)
    else:
        run(benchmark, f"framework:{framework}", role, ours, bare)


@pytest.mark.parametrize("role", ["baseline", "bwhooks router"])
def test_fastapi_against_a_route_on_the_app(
    benchmark: Any, role: str, loop: asyncio.AbstractEventLoop
) -> None:
    """For the record: ``router()`` included, against a bare route added to the app itself
    (the difference is mostly FastAPI's cost of an included router)."""
    bare_app, our_app = fastapi_apps(bare_in_router=False)
    bare, ours = asgi_call(bare_app, loop, "/bare"), asgi_call(our_app, loop, "/callbacks")
    group = "info:fastapi, bare route on the app"
    if role == "baseline":
        run(benchmark, group, role, bare)
    else:
        run(benchmark, group, role, ours, bare)
