"""What each framework adapter adds to the shared contract: its conventions and options.

No ``from __future__ import annotations`` here: FastAPI resolves the routes' annotations,
and those name dependencies built inside the tests.
"""

import json
import subprocess
import sys
import threading
from typing import Annotated, Any

import flask
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from support import AUTH, JSON, PASSWORD, USER, load_json_example

from bwhooks import BasicAuth, InsecureReceiverWarning, Receiver
from bwhooks.adapters.fastapi import router, verified_event
from bwhooks.adapters.flask import BandwidthCallbacks
from bwhooks.auth import basic_authorization
from bwhooks.events import AnswerEvent, Event

ANSWER = json.dumps(load_json_example("answer-3.json")).encode()
GOOD = {"Content-Type": JSON, "Authorization": AUTH}


@pytest.mark.parametrize(
    ("adapter", "extra"), [("flask", "flask"), ("fastapi", "fastapi"), ("django", "django")]
)
def test_missing_framework_names_the_extra_to_install(adapter: str, extra: str) -> None:
    blocked = {"flask": ["flask"], "fastapi": ["fastapi", "starlette"], "django": ["django"]}
    code = (
        "import sys\n"
        f"for name in {blocked[adapter]!r}: sys.modules[name] = None\n"
        "from bwhooks.extras import MissingDependency\n"
        "try:\n"
        f"    import bwhooks.adapters.{adapter}\n"
        "except MissingDependency as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert f'pip install "bwhooks[{extra}]"' in result.stdout, result.stderr


class TestFlask:
    def test_app_factory_and_extension_state(self, receiver: Receiver) -> None:
        callbacks = BandwidthCallbacks(receiver)
        app = flask.Flask("factory")
        callbacks.init_app(app)
        assert app.extensions["bwhooks"]["/callbacks"] is callbacks
        assert app.test_client().post("/callbacks", data=ANSWER, headers=GOOD).status_code == 200

    def test_config_key_moves_the_path(self, receiver: Receiver) -> None:
        app = flask.Flask("configured")
        app.config["BWHOOKS_PATH"] = "/bandwidth/events"
        BandwidthCallbacks(receiver, app)
        client = app.test_client()
        assert client.post("/bandwidth/events", data=ANSWER, headers=GOOD).status_code == 200
        assert client.post("/callbacks", data=ANSWER, headers=GOOD).status_code == 404

    def test_two_receivers_with_their_own_credentials(self) -> None:
        voice = Receiver(auth=BasicAuth(("voice", "v-pass")))
        messaging = Receiver(auth=BasicAuth(("sms", "s-pass")))
        app = flask.Flask("two")
        BandwidthCallbacks(voice, app, path="/voice")
        BandwidthCallbacks(messaging, app, path="/messaging")
        client = app.test_client()
        voice_auth = {"Content-Type": JSON, "Authorization": basic_authorization("voice", "v-pass")}
        assert client.post("/voice", data=ANSWER, headers=voice_auth).status_code == 200
        assert client.post("/messaging", data=ANSWER, headers=voice_auth).status_code == 401

    def test_async_handlers_under_the_async_view(self, receiver: Receiver) -> None:
        @receiver.on(AnswerEvent)
        async def answer(event: AnswerEvent) -> str:
            return "<Response/>"

        app = flask.Flask("async")
        BandwidthCallbacks(receiver, app, use_async=True)
        response = app.test_client().post("/callbacks", data=ANSWER, headers=GOOD)
        assert (response.status_code, response.data) == (200, b"<Response/>")


class TestFastAPI:
    def test_openapi_documents_post_and_get_only(self, receiver: Receiver) -> None:
        app = FastAPI()
        app.include_router(router(receiver, prefix="/bandwidth"))
        paths = app.openapi()["paths"]
        assert set(paths["/bandwidth/callbacks"]) == {"post", "get"}
        post = paths["/bandwidth/callbacks"]["post"]
        schema = post["requestBody"]["content"]["application/json"]["schema"]
        assert schema["anyOf"][0]["required"] == ["eventType"]  # v1 and Voice v2
        assert schema["anyOf"][1]["type"] == "array"  # Messaging v2
        assert {"200", "400", "401", "413", "415", "500"} <= set(post["responses"])
        assert "application/xml" in post["responses"]["200"]["content"]
        get = paths["/bandwidth/callbacks"]["get"]
        assert get["parameters"][0]["name"] == "eventType"

    def test_verified_event_dependency(self, receiver: Receiver) -> None:
        ran: list[Event] = []
        receiver.on(Event)(ran.append)
        app = FastAPI()

        @app.post("/mine")
        async def mine(
            event: Annotated[Event, Depends(verified_event(receiver))],
        ) -> dict[str, Any]:
            return {"type": type(event).__name__, "call": getattr(event, "call_id", None)}

        client = TestClient(app)
        ok = client.post("/mine", content=ANSWER, headers=GOOD)
        assert ok.json() == {"type": "AnswerEvent", "call": "c-jjm3aiicnpngixjjelyomda"}
        challenge = client.post("/mine", content=ANSWER, headers={"Content-Type": JSON})
        assert challenge.status_code == 401
        assert challenge.headers["WWW-Authenticate"] == 'Basic realm="bwhooks"'
        bad = client.post("/mine", content=b'{"eventType": "answer", "time": "x"}', headers=GOOD)
        assert (bad.status_code, bad.json()["detail"]) == (
            400,
            "invalid time: not an ISO-8601 date-time",
        )
        assert (
            client.post(
                "/mine", content=b"<xml/>", headers={**GOOD, "Content-Type": "text/plain"}
            ).status_code
            == 415
        )
        assert ran == []  # the dependency verifies and parses; it runs no handler

    def test_verified_event_stops_reading_at_the_limit(self) -> None:
        receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), max_body_size=100)
        app = FastAPI()

        @app.post("/mine")
        async def mine(event: Annotated[Event, Depends(verified_event(receiver))]) -> None: ...

        chunks = iter([b"x" * 80] * 5)
        response = TestClient(app).post("/mine", content=chunks, headers=GOOD)
        assert response.status_code == 413


class TestDjango:
    def test_include_urls_serves_the_settings_receiver(self) -> None:
        import frameworks
        from django.test import Client, override_settings
        from django.urls import include, path

        urlconf = type(sys)("included_urls")
        urlconf.urlpatterns = [path("hooks/", include("bwhooks.adapters.django.urls"))]  # type: ignore[attr-defined]
        seen: list[Event] = []
        frameworks.SETTINGS_RECEIVER.on(Event)(seen.append)
        with override_settings(ROOT_URLCONF=urlconf):
            response = Client().post(
                "/hooks/", ANSWER, content_type=JSON, headers={"Authorization": AUTH}
            )
        assert response.status_code == 200
        assert isinstance(seen[0], AnswerEvent)

    def test_async_view_runs_sync_handlers_thread_sensitively(self, receiver: Receiver) -> None:
        import asyncio

        import frameworks
        from asgiref.sync import sync_to_async
        from django.test import AsyncClient, override_settings

        threads: dict[str, int] = {}

        @receiver.on(Event)
        def handler(event: Event) -> None:
            threads["handler"] = threading.get_ident()

        async def main() -> None:
            with override_settings(
                ROOT_URLCONF=frameworks.django_urlconf(receiver, asynchronous=True)
            ):
                response = await AsyncClient().post(
                    "/callbacks", ANSWER, content_type=JSON, headers={"Authorization": AUTH}
                )
                assert response.status_code == 200
            threads["sensitive"] = await sync_to_async(threading.get_ident, thread_sensitive=True)()

        asyncio.run(main())
        assert threads["handler"] == threads["sensitive"]

    def test_checks(self, receiver: Receiver) -> None:
        from django.test import override_settings

        from bwhooks.adapters.django import callback_view
        from bwhooks.adapters.django.checks import check_bwhooks

        with pytest.warns(InsecureReceiverWarning):
            open_receiver = Receiver(auth=None)
        view = callback_view(open_receiver)

        def ids(**settings: Any) -> set[str]:
            with override_settings(**settings):
                messages = check_bwhooks()
            return {m.id or "" for m in messages if m.obj in (None, open_receiver)}

        assert ids(DEBUG=False) == {"bwhooks.E002"}
        assert ids(DEBUG=True) == {"bwhooks.W001"}
        assert "bwhooks.E001" in ids(BWHOOKS=["not", "a", "dict"])
        assert "bwhooks.E001" in ids(BWHOOKS={"RECEIVER": "no.such.module.receiver"})
        assert "bwhooks.E001" in ids(BWHOOKS={"RECEIVER": "frameworks.TRANSPORTS"})
        assert "bwhooks.E001" in ids(
            BWHOOKS={"RECEIVER": "frameworks.SETTINGS_RECEIVER", "TYPO": 1}
        )
        del view
        import gc

        gc.collect()
        assert ids(DEBUG=False) == set()  # a receiver no view serves any more is forgotten
