"""Delivering Numbers webhooks (XML): CallbackClient and ``bwhooks send``, challenge first."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring
from pytest_httpserver import HTTPServer
from support import PASSWORD, USER
from werkzeug.wrappers import Request, Response

from bwhooks import Receiver
from bwhooks.adapters import asgi, wsgi
from bwhooks.auth import basic_authorization
from bwhooks.cli import main
from bwhooks.devtools.demo import serving
from bwhooks.events import Event, OrderNotificationEvent
from bwhooks.testing import CallbackClient, HttpSender, fake_payload

GOOD = basic_authorization("u", "p")
XML = "application/xml; charset=utf-8"


def parsed(body: bytes) -> ET.Element:
    root: ET.Element = fromstring(body)
    return root


class Recording:
    """A WSGI app that records each request, then hands it to ``app``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests: list[tuple[str, str, str | None, str | None, bytes]] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data(cache=True)
        self.requests.append(
            (
                request.method,
                request.path,
                request.headers.get("Content-Type"),
                request.headers.get("Authorization"),
                body,
            )
        )
        return self.app(environ, start_response)


def challenging(environ: dict[str, Any], start_response: Any) -> Any:
    """A WSGI endpoint like a receiver's: a Basic challenge, then ``200`` to GOOD."""
    request = Request(environ)
    if request.headers.get("Authorization") != GOOD:
        return Response("", 401, {"WWW-Authenticate": 'Basic realm="x"'})(environ, start_response)
    return Response("", 200)(environ, start_response)


def test_callback_client_posts_the_xml_text_challenge_first() -> None:
    app = Recording(challenging)
    client = CallbackClient(app, ("u", "p"), "/numbers")
    text = fake_payload("orderNotification", status="FAILED", message="5005: <unavailable>")
    answer = client.send(text)
    assert (answer.status, client.exchange) == (200, (401, 200))
    assert [r[:4] for r in app.requests] == [
        ("POST", "/numbers", XML, None),
        ("POST", "/numbers", XML, GOOD),
    ]
    assert app.requests[1][4] == text.encode("utf-8")
    root = parsed(app.requests[1][4])
    assert (root.findtext("Status"), root.findtext("Message")) == ("FAILED", "5005: <unavailable>")


def test_a_numbers_event_travels_as_its_document() -> None:
    app = Recording(challenging)
    event = OrderNotificationEvent(
        subscription_id="s-1",
        order_type="disconnects",
        order_id="o-1",
        status="COMPLETE",
        completed_numbers=("9195551234", "9195551235"),
        last_modified=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc),
    )
    assert CallbackClient(app, ("u", "p")).send(event).status == 200
    method, _, content_type, _, body = app.requests[1]
    assert (method, content_type) == ("POST", XML)
    root = parsed(body)
    assert root.tag == "Notification"
    assert [n.text for n in root.iterfind("CompletedTelephoneNumbers/TelephoneNumber")] == [
        "9195551234",
        "9195551235",
    ]
    assert root.findtext("LastModifiedDate") == "2026-01-02T03:04:05.678Z"


def test_xml_is_sent_by_post_only() -> None:
    client = CallbackClient(Recording(challenging), ("u", "p"))
    with pytest.raises(ValueError, match="POST, not GET"):
        client.send(fake_payload("portOutValidation"), method="GET")


def test_an_asgi_app_receives_the_same_request() -> None:
    seen: list[tuple[str, dict[bytes, bytes], bytes]] = []

    async def app(scope: dict[str, Any], receive: Callable[..., Any], send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        seen.append((scope["method"], headers, body))
        status = 200 if headers.get(b"authorization") == GOOD.encode() else 401
        challenge = [(b"www-authenticate", b'Basic realm="x"')] if status == 401 else []
        await send({"type": "http.response.start", "status": status, "headers": challenge})
        await send({"type": "http.response.body", "body": b""})

    client = CallbackClient(app, ("u", "p"))
    text = fake_payload("MESSAGING_LOST")
    assert (client.send(text).status, client.exchange) == (200, (401, 200))
    method, headers, body = seen[1]
    assert (method, headers[b"content-type"], body) == ("POST", XML.encode(), text.encode())
    assert headers[b"content-length"] == str(len(body)).encode()


@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_a_receiver_challenges_a_numbers_webhook_like_any_other(
    receiver: Receiver, kind: str
) -> None:
    """The receiver's first answer is the challenge, then the notification is taken."""
    app = wsgi.make_app(receiver) if kind == "wsgi" else asgi.make_app(receiver)
    client = CallbackClient(app, (USER, PASSWORD))
    client.send(fake_payload("orderNotification"))
    assert client.exchange == (401, 200)
    assert len(client.exchange) == 2


def test_a_receiver_dispatches_a_delivered_order_notification(receiver: Receiver) -> None:
    seen: list[Event] = []
    receiver.on(Event)(seen.append)
    client = CallbackClient(wsgi.make_app(receiver), (USER, PASSWORD))
    answer = client.send(fake_payload("orderNotification", status="PARTIAL"))
    assert (answer.status, client.exchange) == (200, (401, 200))
    assert isinstance(seen[0], OrderNotificationEvent)
    assert seen[0].status == "PARTIAL"


# -- over real HTTP --------------------------------------------------------------------------


@pytest.fixture
def endpoint(httpserver: HTTPServer) -> list[Request]:
    """A real HTTP endpoint that challenges, then answers ``200`` to GOOD."""
    received: list[Request] = []

    def handler(request: Request) -> Response:
        received.append(request)
        if request.headers.get("Authorization") != GOOD:
            return Response("", 401, {"WWW-Authenticate": 'Basic realm="x"'})
        return Response("", 200)

    httpserver.expect_request("/numbers").respond_with_handler(handler)
    return received


def test_http_sender_posts_the_xml_text(httpserver: HTTPServer, endpoint: list[Request]) -> None:
    sender = HttpSender(httpserver.url_for("/numbers"), ("u", "p"))
    text = fake_payload("portOutValidation", pon="PON-1", subscriber_name="Zoë & Co <Ltd>")
    assert sender.send(text).status == 200
    assert sender.exchange == (401, 200)
    first, second = endpoint
    assert (first.method, first.headers.get("Authorization")) == ("POST", None)
    assert (second.content_type, second.headers["Authorization"]) == (XML, GOOD)
    assert second.headers["User-Agent"].startswith("BandwidthAPI/v1")
    assert second.get_data() == text.encode("utf-8")
    assert parsed(second.get_data()).findtext("SubscriberName") == "Zoë & Co <Ltd>"


def test_bwhooks_send_a_numbers_kind_with_overrides(
    httpserver: HTTPServer, endpoint: list[Request], capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "send",
            "orderNotification",
            httpserver.url_for("/numbers"),
            "--user",
            "u",
            "--password",
            "p",
            "--set",
            "order_type=portins",
            "--set",
            "Status=FOC",
            "--set",
            'completed_numbers=["9195551234", "9195551235"]',
            "--set",
            "number_format=E164",
            "--set",
            "customer_order_id=42",
        ]
    )
    assert status == 0
    assert [r.headers.get("Authorization") for r in endpoint] == [None, GOOD]
    assert endpoint[1].content_type == XML
    root = parsed(endpoint[1].get_data())
    assert (root.findtext("OrderType"), root.findtext("Status")) == ("portins", "FOC")
    assert root.findtext("CustomerOrderId") == "42"
    assert root.findtext("ActualFocDate")
    assert [n.text for n in root.iterfind("CompletedTelephoneNumbers/TelephoneNumber")] == [
        "+19195551234",
        "+19195551235",
    ]
    assert "POST orderNotification (XML) 401 -> 200" in capsys.readouterr().out


def test_bwhooks_send_one_number_as_a_plain_value(
    httpserver: HTTPServer, endpoint: list[Request]
) -> None:
    url = httpserver.url_for("/numbers").replace("http://", "http://u:p@")
    assert main(["send", "MESSAGING_LOST", url, "--set", "impacted_numbers=9195550100"]) == 0
    root = parsed(endpoint[1].get_data())
    assert [n.text for n in root.iterfind("ImpactedTelephoneNumbers/TelephoneNumber")] == [
        "9195550100"
    ]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--set", "colour=red"], "valid names: "),
        (["--method", "GET"], "POST, not GET"),
        (["--set", "number_format=international"], "number_format must be one of"),
    ],
)
def test_bwhooks_send_refuses_what_a_numbers_webhook_cannot_be(
    httpserver: HTTPServer,
    endpoint: list[Request],
    argv: list[str],
    says: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = httpserver.url_for("/numbers")
    assert main(["send", "portOutValidation", url, "--user", "u", "--password", "p", *argv]) == 2
    assert says in capsys.readouterr().err
    assert endpoint == []  # nothing was sent


def test_bwhooks_send_to_a_served_receiver(receiver: Receiver) -> None:
    seen: list[Event] = []
    receiver.on(Event)(seen.append)
    with serving(wsgi.make_app(receiver)) as base_url:
        argv = ["send", "orderNotification", base_url + "/callbacks"]
        assert main([*argv, "--user", USER, "--password", PASSWORD]) == 0
    assert isinstance(seen[0], OrderNotificationEvent)
