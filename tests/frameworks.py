"""Transports through each framework's real app and its own test client.

Every app mounts the receiver with the adapter and also has a route of the user's own, at
every other path, which echoes ``path|body`` with status 299: pass-through is visible.
"""

from __future__ import annotations

import asyncio
import io
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
from fastapi import FastAPI, Request, Response
from support import Req, Send, asgi_app, direct, direct_async, sender, wsgi_server

from bwhooks import BasicAuth, CallbackResponse, Receiver

ALL_METHODS = ["GET", "POST", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"]


def flask_app(receiver: Receiver, *, use_async: bool = False) -> Any:
    import flask

    from bwhooks.adapters.flask import BandwidthCallbacks

    app = flask.Flask("contract")

    @app.route("/", defaults={"rest": ""}, methods=ALL_METHODS)
    @app.route("/<path:rest>", methods=ALL_METHODS)
    def mine(rest: str) -> flask.Response:
        echo = flask.request.path.encode() + b"|" + flask.request.get_data()
        return flask.Response(echo, 299, {"X-App": "user"})

    BandwidthCallbacks(receiver, app, use_async=use_async)
    return app


@contextmanager
def flask_client(receiver: Receiver, *, use_async: bool = False) -> Iterator[Send]:
    client = flask_app(receiver, use_async=use_async).test_client()

    def deliver(r: Req) -> CallbackResponse:
        options: dict[str, Any] = {"headers": r.headers, "query_string": r.query.decode()}
        if r.chunked:  # no Content-Length: the server says where the body ends
            options["input_stream"] = io.BytesIO(r.body)
            options["environ_overrides"] = {"wsgi.input_terminated": True}
        else:
            options["data"] = r.body
        response = client.open(r.path, method=r.method, **options)
        return CallbackResponse(response.status_code, response.headers.items(), response.data)

    yield sender(deliver)


@contextmanager
def flask_async_client(receiver: Receiver) -> Iterator[Send]:
    with flask_client(receiver, use_async=True) as send:
        yield send


def fastapi_app(receiver: Receiver) -> Any:
    from bwhooks.adapters.fastapi import router

    app = FastAPI()
    app.include_router(router(receiver))

    @app.api_route("/{rest:path}", methods=ALL_METHODS)
    async def mine(rest: str, request: Request) -> Response:
        echo = request.url.path.encode() + b"|" + await request.body()
        return Response(echo, 299, {"X-App": "user"})

    return app


@contextmanager
def fastapi_client(receiver: Receiver) -> Iterator[Send]:
    from fastapi.testclient import TestClient

    with TestClient(fastapi_app(receiver)) as client:

        def deliver(r: Req) -> CallbackResponse:
            body: Any = iter([r.body[i : i + 4096] for i in range(0, len(r.body), 4096)])
            url = r.path + ("?" + r.query.decode() if r.query else "")
            headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in r.headers.items()]
            response = client.request(
                r.method, url, content=body if r.chunked else r.body, headers=headers
            )
            answer_headers = response.headers.items()
            return CallbackResponse(response.status_code, answer_headers, response.content)

        yield sender(deliver)


def django_urlconf(receiver: Receiver, *, asynchronous: bool) -> types.ModuleType:
    from django.http import HttpRequest, HttpResponse
    from django.urls import path, re_path
    from django.views.decorators.csrf import csrf_exempt

    from bwhooks.adapters.django import callback_view
    from bwhooks.adapters.django.views import login_not_required

    @csrf_exempt
    def mine(request: HttpRequest) -> HttpResponse:
        response = HttpResponse(request.path.encode() + b"|" + request.body, status=299)
        response["X-App"] = "user"
        return response

    urlconf = types.ModuleType("contract_urls")
    urlconf.urlpatterns = [  # type: ignore[attr-defined]
        path("callbacks", callback_view(receiver, asynchronous=asynchronous)),
        re_path(r"^.*$", login_not_required(mine)),
    ]
    return urlconf


@contextmanager
def django_client(receiver: Receiver, *, asynchronous: bool = False) -> Iterator[Send]:
    from django.test import AsyncClient, Client, override_settings

    with override_settings(ROOT_URLCONF=django_urlconf(receiver, asynchronous=asynchronous)):

        def deliver(r: Req) -> CallbackResponse:
            headers = dict(r.headers)
            content_type = headers.pop("Content-Type", "")
            headers.pop("Content-Length", None)  # Django's clients state the body's length
            extra: dict[str, Any] = {"QUERY_STRING": r.query.decode("latin-1")}  # PEP 3333
            if not r.body:  # Django's clients send Content-Type only with a body
                extra["CONTENT_TYPE"] = content_type
            response: Any
            if asynchronous:
                call = AsyncClient().generic(
                    r.method, r.path, r.body, content_type, headers=headers, **extra
                )
                response = asyncio.run(call)  # type: ignore[arg-type]
            else:
                response = Client().generic(
                    r.method, r.path, r.body, content_type, headers=headers, **extra
                )
            return CallbackResponse(response.status_code, response.items(), response.content)

        yield sender(deliver)


@contextmanager
def django_async_client(receiver: Receiver) -> Iterator[Send]:
    with django_client(receiver, asynchronous=True) as send:
        yield send


def configure_django() -> None:
    """Settings for the Django transports: a project with CSRF and a small upload limit."""
    import django
    from django.conf import settings

    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="contract-tests-only",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="frameworks",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            "bwhooks.adapters.django",
        ],
        SESSION_ENGINE="django.contrib.sessions.backends.signed_cookies",
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ]
        + (
            ["django.contrib.auth.middleware.LoginRequiredMiddleware"]
            if django.VERSION >= (5, 1)
            else []
        ),
        DATA_UPLOAD_MAX_MEMORY_SIZE=2_500,  # ours (1 MB) must win: Django never sees the body
        DATABASES={},
        BWHOOKS={"RECEIVER": "frameworks.SETTINGS_RECEIVER"},
        USE_TZ=True,
    )
    django.setup()


urlpatterns: list[Any] = []  # ROOT_URLCONF until a test overrides it


@attrs.frozen
class Transport:
    """How to reach a receiver, and what that way can do."""

    open: Callable[[Receiver], Any]
    adapter: bool = True  # a real app in front: other paths pass through to the user's app
    chunked: bool = True  # a body without Content-Length reaches the receiver


def transports() -> dict[str, Transport]:
    configure_django()
    return {
        "handle": Transport(direct, adapter=False),
        "handle_async": Transport(direct_async, adapter=False),
        "wsgi": Transport(wsgi_server),
        "asgi": Transport(asgi_app),
        "flask": Transport(flask_client),
        "flask-async": Transport(flask_async_client),
        "fastapi": Transport(fastapi_client),
        # Django reads no body without Content-Length (its WSGIRequest, by design)
        "django": Transport(django_client, chunked=False),
        "django-async": Transport(django_async_client, chunked=False),
    }


TRANSPORTS = transports()


SETTINGS_RECEIVER = Receiver(auth=BasicAuth(("bw-user", "s3cret-pässword")))
"""The receiver the test project names in ``settings.BWHOOKS["RECEIVER"]``."""
