"""CallbackClient: Bandwidth's challenge exchange, in-process, for WSGI and ASGI apps."""

from __future__ import annotations

import asyncio
import warnings

import flask
import pytest
from fastapi import FastAPI
from support import PASSWORD, USER

from bwhooks import BasicAuth, InsecureReceiverWarning, Receiver, events
from bwhooks.adapters import asgi, wsgi
from bwhooks.adapters.fastapi import router
from bwhooks.adapters.flask import BandwidthCallbacks
from bwhooks.events import Event
from bwhooks.testing import CallbackClient, fake_event, fake_payload


def apps(receiver: Receiver) -> dict[str, object]:
    flask_app = flask.Flask("client")
    BandwidthCallbacks(receiver, flask_app)
    fastapi_app = FastAPI()
    fastapi_app.include_router(router(receiver))
    return {
        "wsgi": wsgi.make_app(receiver),
        "asgi": asgi.make_app(receiver),
        "flask": flask_app,
        "fastapi": fastapi_app,
    }


@pytest.mark.parametrize("kind", ["wsgi", "asgi", "flask", "fastapi"])
def test_challenge_then_credentials(receiver: Receiver, kind: str) -> None:
    seen: list[Event] = []
    receiver.on(Event)(seen.append)
    client = CallbackClient(apps(receiver)[kind], (USER, PASSWORD))
    assert client.interface == ("asgi" if kind in ("asgi", "fastapi") else "wsgi")
    answer = client.send(fake_payload("v1:answer", call_id="c-42"))
    assert (answer.status, client.exchange) == (200, (401, 200))
    get = client.send(fake_event("sms", text="hi there"), method="GET")
    assert (get.status, client.exchange) == (200, (401, 200))
    assert [type(e) for e in seen] == [events.AnswerEvent, events.SmsEvent]
    assert isinstance(seen[1], events.SmsEvent)
    assert seen[1].text == "hi there"


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_wrong_or_no_credentials(receiver: Receiver, kind: str) -> None:
    app = apps(receiver)[kind]
    wrong = CallbackClient(app, (USER, "nope"))
    assert (wrong.send({"eventType": "answer"}).status, wrong.exchange) == (401, (401, 401))
    none = CallbackClient(app, None)
    assert (none.send({"eventType": "answer"}).status, none.exchange) == (401, (401,))


def test_no_challenge_means_no_retry() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureReceiverWarning)
        open_receiver = Receiver(auth=None)
    client = CallbackClient(wsgi.make_app(open_receiver), (USER, PASSWORD))
    assert (client.send({"eventType": "answer"}).status, client.exchange) == (200, (200,))


def test_custom_path_and_handler_answers() -> None:
    receiver = Receiver(auth=BasicAuth(("u", "p")))
    receiver.on(events.GatherEvent)(lambda e: f"<Response><Speak>{e.digits}</Speak></Response>")
    client = CallbackClient(wsgi.make_app(receiver, path="/voice"), ("u", "p"), path="/voice")
    assert (
        client.send(fake_payload("v1:gather", digits="9")).body
        == b"<Response><Speak>9</Speak></Response>"
    )


def test_asgi_inside_a_running_loop_needs_send_async(receiver: Receiver) -> None:
    client = CallbackClient(asgi.make_app(receiver), (USER, PASSWORD))

    async def main() -> int:
        with pytest.raises(RuntimeError, match="send_async"):
            client.send({"eventType": "answer"})
        return (await client.send_async({"eventType": "answer"})).status

    assert asyncio.run(main()) == 200


def test_django_wsgi_and_asgi_handlers(receiver: Receiver) -> None:
    import frameworks
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    with override_settings(ROOT_URLCONF=frameworks.django_urlconf(receiver, asynchronous=False)):
        wsgi_client = CallbackClient(WSGIHandler(), (USER, PASSWORD))
        assert wsgi_client.send(fake_payload("v1:dtmf")).status == 200
        asgi_client = CallbackClient(ASGIHandler(), (USER, PASSWORD))
        assert asgi_client.interface == "asgi"
        assert asgi_client.send(fake_payload("v1:dtmf")).status == 200
