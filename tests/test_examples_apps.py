"""The example apps in examples/ run on real servers and answer real callbacks.

They are the snippets of the framework guides, so the guides cannot rot.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from support import PASSWORD, USER, free_port, http_request, uvicorn_serving

from bwhooks import OrderNotificationEvent, parse_xml
from bwhooks.devtools.demo import serving
from bwhooks.testing import (
    FakeBandwidthApi,
    FakeBandwidthApiV2,
    FakeNumbersApi,
    HttpSender,
    fake_payload,
)

EXAMPLES = Path(__file__).parents[1] / "examples"
CREDENTIALS = f"{USER}:{PASSWORD}"


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ModuleType]:
    """load(name): import examples/<name>.py afresh, with BWHOOKS_CREDENTIALS set."""
    monkeypatch.setenv("BWHOOKS_CREDENTIALS", CREDENTIALS)

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


def deliver(
    base_url: str, kind: str, method: str = "POST", **overrides: object
) -> tuple[int, bytes]:
    sender = HttpSender(f"{base_url}/callbacks", (USER, PASSWORD))
    answer = sender.send(fake_payload(kind, **overrides), method)
    assert sender.exchange[0] == 401  # the challenge first, as Bandwidth expects
    return answer.status, answer.body


def port_out_answer(base_url: str, **overrides: object) -> dict[str, Any]:
    """Deliver a port-out validation request (XML, challenge first); its answer's elements."""
    status, body = deliver(base_url, "portOutValidation", "POST", **overrides)
    assert status == 200
    answer = parse_xml(body)
    assert answer.event_type == "PortOutValidationResponse"
    return dict(answer.raw)


def own_route(base_url: str) -> bytes:
    response = http_request(base_url, "GET", "/", b"", {})
    assert response.status == 200
    return response.body


def test_flask_example(
    load: Callable[[str], ModuleType],
    bandwidth_api: FakeBandwidthApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BANDWIDTH_API_URL", bandwidth_api.url)
    monkeypatch.setenv("BANDWIDTH_USER_ID", bandwidth_api.user_id)
    monkeypatch.setenv("BANDWIDTH_API_TOKEN", bandwidth_api.token)
    monkeypatch.setenv("BANDWIDTH_API_SECRET", bandwidth_api.secret)
    example = load("flask_app")
    with serving(example.create_app()) as base_url:
        status, body = deliver(base_url, "v1:answer")
        assert status == 200
        assert b"Thanks for calling" in body
        assert deliver(base_url, "sms", from_="+15550001", to="+15550002", text="hello")[0] == 200
        failed = {"order_id": "o-1", "status": "FAILED", "message": "5005: unavailable"}
        assert deliver(base_url, "orderNotification", **failed) == (200, b"")  # XML
        assert own_route(base_url) == b"my app"
    assert example.failed_orders == {"o-1": "5005: unavailable"}
    [reply] = bandwidth_api.requests_to("POST", "/messages")
    assert reply.json == {"from": "+15550002", "to": "+15550001", "text": "Got it: hello"}


def test_fastapi_example(load: Callable[[str], ModuleType]) -> None:
    example = load("fastapi_app")
    with uvicorn_serving(example.app) as base_url:
        assert b"Thanks for calling" in deliver(base_url, "v1:answer")[1]
        assert deliver(base_url, "mms", text="photo")[0] == 200
        allowed = port_out_answer(base_url, pon="p-1", zip_code="62025")
        assert (allowed["Portable"], allowed["PON"]) == ("true", "p-1")
        denied = port_out_answer(base_url, pon="p-2", zip_code="10001")
        assert (denied["Portable"], denied["PON"]) == ("false", "p-2")
        assert denied["Errors"] == {"Error": {"Code": "7515", "Description": "Invalid ZIP Code"}}
        sender = HttpSender(f"{base_url}/audit", (USER, PASSWORD))
        audit = sender.send(fake_payload("v1:dtmf"))
        assert (sender.exchange, audit.body) == ((401, 200), b'{"received":"dtmf"}')
        schema = http_request(base_url, "GET", "/openapi.json", b"", {}).body
        assert b"bandwidth_callback_post" in schema
    assert [event.text for event in example.inbox] == ["photo"]


def test_wsgi_example(load: Callable[[str], ModuleType]) -> None:
    example = load("wsgi_app")
    with serving(example.app) as base_url:
        assert (
            deliver(base_url, "incomingcall", "GET", call_id="c-9", from_="+15551234567")[0] == 200
        )
        status, body = deliver(base_url, "v1:gather", digits="1234")
        assert (status, body) == (
            200,
            b"<Response><SpeakSentence>You entered 1234.</SpeakSentence></Response>",
        )
        assert own_route(base_url) == b"my app"
    assert example.calls == {"c-9": "+15551234567"}


def test_v2_example(load: Callable[[str], ModuleType]) -> None:
    """Voice v2 answered with BXML, a Messaging v2 array typed element by element, and a v1
    callback, on the same URL of a real server."""
    import json

    from support import AUTH, load_v2_example

    example = load("wsgi_v2_app")
    headers = {"Content-Type": "application/json", "Authorization": AUTH}

    def post(payload: object) -> tuple[int, bytes]:
        answer = http_request(base_url, "POST", "/callbacks", json.dumps(payload).encode(), headers)
        return answer.status, answer.body

    received = load_v2_example("message-received-1.json")[0]
    delivered = load_v2_example("message-delivered-1.json")[0]
    with serving(example.app) as base_url:
        status, body = post(load_v2_example("initiate-1.json"))
        assert status == 200
        assert body.startswith(b'<Response><Gather gatherUrl="/callbacks"')
        status, body = post({**load_v2_example("gather-1.json"), "digits": "2"})
        assert (status, body) == (
            200,
            b"<Response><SpeakSentence>Connecting you to support.</SpeakSentence></Response>",
        )
        assert post(load_v2_example("disconnect-1.json")) == (200, b"")
        assert post([received, delivered, {**received, "message": {"text": "again"}}]) == (200, b"")
        assert deliver(base_url, "sms")[0] == 200  # a v1 callback on the same URL
    disconnect = load_v2_example("disconnect-1.json")
    assert example.ended == {disconnect["callId"]: disconnect["cause"]}
    assert example.texts == [received["message"]["text"], "again"]
    assert example.receipts == [("message-delivered", delivered["message"]["id"])]


@pytest.fixture
def v2_environment(bandwidth_api_v2: FakeBandwidthApiV2, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The fake v2 REST API, with the environment the v2 example apps read it from."""
    api = bandwidth_api_v2
    for name, value in {
        "BANDWIDTH_API_URL": api.url,
        "BANDWIDTH_TOKEN_URL": api.token_url,
        "BANDWIDTH_CLIENT_ID": api.client_id,
        "BANDWIDTH_CLIENT_SECRET": api.client_secret,
        "BANDWIDTH_ACCOUNT_ID": api.account_id,
        "BANDWIDTH_APPLICATION_ID": "93de2206-9669-4e07-948d-329f4b722ee2",
        "BANDWIDTH_AGENT": "+15550009999",
        "PUBLIC_URL": "https://callbacks.example.com",
    }.items():
        monkeypatch.setenv(name, value)
    return api


def test_flask_v2_example_on_a_real_server(
    load: Callable[[str], ModuleType], v2_environment: FakeBandwidthApiV2
) -> None:
    api = v2_environment
    example = load("flask_v2_app")
    with serving(example.create_app()) as base_url:
        status, body = deliver(base_url, "initiate")
        assert status == 200
        assert b'<Gather gatherUrl="/callbacks" maxDigits="1">' in body
        assert deliver(base_url, "message-received", message__text="open?")[0] == 200
        assert deliver(base_url, "v1:answer")[0] == 200  # v1 on the same URL
        assert own_route(base_url) == b"my app"
    (reply,) = api.requests_to("POST", f"/users/{api.account_id}/messages")
    assert reply.json["text"] == "Got it: open?"


def test_fastapi_v2_example_on_uvicorn(
    load: Callable[[str], ModuleType], v2_environment: FakeBandwidthApiV2
) -> None:
    api = v2_environment
    example = load("fastapi_v2_app")
    with uvicorn_serving(example.app) as base_url:
        status, body = deliver(base_url, "v2:gather", digits="1")
        assert (status, b"An agent will call you." in body) == (200, True)
        assert deliver(base_url, "disconnect", call_id="c-over")[0] == 200
        sender = HttpSender(f"{base_url}/messages", (USER, PASSWORD))
        audit = sender.send(fake_payload("message-delivered", count=2))
        assert json.loads(audit.body) == {"received": ["message-delivered"] * 2}
    assert len(api.requests_to("POST", f"/accounts/{api.account_id}/calls")) == 1
    assert example.ended["c-over"] == "hangup"


def test_asgi_example(load: Callable[[str], ModuleType]) -> None:
    example = load("asgi_app")
    with uvicorn_serving(example.app) as base_url:
        assert deliver(base_url, "recording", recording_id="rec-1")[0] == 200
        assert deliver(base_url, "transcription", recording_id="rec-1", text="hi there")[0] == 200
        assert deliver(base_url, "transcriptionAvailable", recording_id="r-2")[0] == 200  # v2
        lost = ("9195550100", "+19195550101")  # as the subscription's NumberFormat writes them
        assert deliver(base_url, "MESSAGING_LOST", impacted_numbers=lost) == (200, b"")
        assert own_route(base_url) == b"my app"
    assert example.messaging_lost == list(lost)
    assert example.transcripts["rec-1"] == "hi there"
    assert example.transcripts["r-2"].endswith("/recordings/r-2/transcription")


def test_django_example_on_runserver() -> None:
    project = EXAMPLES / "django_project"
    port = free_port()
    env = {**os.environ, "BWHOOKS_CREDENTIALS": CREDENTIALS, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [
            sys.executable,
            str(project / "manage.py"),
            "runserver",
            f"127.0.0.1:{port}",
            "--noreload",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                own_route(base_url)
                break
            except OSError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline
                time.sleep(0.1)
        status, body = deliver(base_url, "v1:answer")
        assert (status, body) == (200, b'<Response><Conference name="standup"/></Response>')
        assert deliver(base_url, "conference-member", mute=True)[0] == 200
        status, body = deliver(base_url, "initiate")  # Voice v2 on the same URL
        assert (status, body) == (200, b'<Response><Conference name="standup"/></Response>')
        assert deliver(base_url, "conferenceMemberJoin")[0] == 200
        assert port_out_answer(base_url, pon="p-1", pin="1234")["Portable"] == "true"
        denied = port_out_answer(base_url, pon="p-2", pin=None)
        assert (denied["Portable"], denied["Errors"]["Error"]["Code"]) == ("false", "7512")
        assert own_route(base_url) == b"my app"
    finally:
        server.terminate()
        server.wait(10)
        if server.stdout:
            server.stdout.close()


def test_django_example_passes_its_deploy_checks() -> None:
    project = EXAMPLES / "django_project"
    env = {**os.environ, "BWHOOKS_CREDENTIALS": CREDENTIALS}
    result = subprocess.run(
        [sys.executable, str(project / "manage.py"), "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_numbers_example_fetches_the_order_and_answers_port_outs(
    load: Callable[[str], ModuleType],
    numbers_api: FakeNumbersApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """examples/numbers_app.py on a real server: an order notification makes the handler
    fetch the order from the (fake) Numbers API; port-out requests get their answers."""
    monkeypatch.setenv("BANDWIDTH_NUMBERS_API", numbers_api.url)
    monkeypatch.setenv("BANDWIDTH_ACCOUNT_ID", numbers_api.account_id)
    monkeypatch.setenv("BANDWIDTH_API_USER", numbers_api.username)
    monkeypatch.setenv("BANDWIDTH_API_PASSWORD", numbers_api.password)
    example = load("numbers_app")
    order_id = numbers_api.add_order("orders", "COMPLETE", numbers=("9195551234", "9195551235"))
    with serving(example.app) as base_url:
        sender = HttpSender(f"{base_url}/callbacks", (USER, PASSWORD))
        assert sender.send(numbers_api.notification(order_id)).status == 200
        assert sender.exchange == (401, 200)
        assert deliver(base_url, "MESSAGING_LOST", impacted_numbers=("9195550100",))[0] == 200
        customer = {"account_number": "777", "telephone_numbers": ("2223331000",)}
        allowed = port_out_answer(base_url, pon="p-1", pin="2222", **customer)
        assert (allowed["Portable"], allowed["PON"]) == ("true", "p-1")
        denied = port_out_answer(base_url, pon="p-2", pin="0000", **customer)
        assert denied["Errors"] == {"Error": {"Code": "7513", "Description": "PIN Invalid"}}
        stranger = port_out_answer(base_url, pon="p-3", pin="2222", account_number="778")
        assert stranger["Portable"] == "false"
        nothing = port_out_answer(
            base_url, pon="p-4", pin="2222", **{**customer, "telephone_numbers": ()}
        )
        assert nothing["Errors"]["Error"]["Code"] == "7516"  # no number named: none allowed
        assert own_route(base_url) == b"my app"
    assert example.ready == {"+19195551234": order_id, "+19195551235": order_id}
    assert len(numbers_api.requests_to("GET", f"/orders/{order_id}")) == 1
    assert example.lost == ["+19195550100"]


def test_numbers_subscribe_creates_the_subscriptions_notifications_then_carry(
    load: Callable[[str], ModuleType],
    numbers_api: FakeNumbersApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """examples/numbers_subscribe.py against the fake Numbers API: one subscription per
    order type, calling back with the receiver's credentials; a notification about an
    order names its subscription, and the receiver of examples/numbers_app.py takes it."""
    monkeypatch.setenv("BANDWIDTH_NUMBERS_API", numbers_api.url)
    monkeypatch.setenv("BANDWIDTH_ACCOUNT_ID", numbers_api.account_id)
    monkeypatch.setenv("BANDWIDTH_API_USER", numbers_api.username)
    monkeypatch.setenv("BANDWIDTH_API_PASSWORD", numbers_api.password)
    example = load("numbers_subscribe")
    locations = example.subscribe("https://hooks.example.com/callbacks?a=1&b=<2>")
    created = numbers_api.subscriptions
    assert [f"{numbers_api.account_url}/subscriptions/{i}" for i in created] == locations
    assert sorted(s.order_type or "" for s in created.values()) == sorted(example.ORDER_TYPES)
    for subscription in created.values():
        assert subscription.url == "https://hooks.example.com/callbacks?a=1&b=<2>"
        assert (subscription.username, subscription.password) == (USER, PASSWORD)
        assert subscription.expiry == example.EXPIRY
    order_id = numbers_api.add_order("portins", "FOC")
    event = parse_xml(numbers_api.notification(order_id))
    assert isinstance(event, OrderNotificationEvent)
    assert created[event.subscription_id or ""].order_type == "portins"
