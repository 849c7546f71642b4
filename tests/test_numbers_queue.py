"""Numbers webhooks (XML) on queued handlers, wired for real: a redis-server of this module as
broker and store, a real `celery worker` process of tests/queue_app.py, its receiver in this
process. Notifications travel as their XML body (version-2 envelopes), are spooled when the
broker is down, dead-lettered and re-queued; port-out validation requests are never queued."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from processes import QueueStack, imported

from bwhooks import (
    AccountNotificationEvent,
    CallbackRequest,
    CallbackResponse,
    Event,
    InsecureReceiverWarning,
    NotificationEvent,
    NumbersEvent,
    OrderNotificationEvent,
    PortOutAnswer,
    PortOutValidationEvent,
    Receiver,
    parse_xml,
)
from bwhooks.auth import basic_authorization
from bwhooks.devtools.deadletters import DeadLettersCommand
from bwhooks.errors import InvalidCallback
from bwhooks.events._base import thaw
from bwhooks.idempotency import idempotency_key
from bwhooks.queue.tasks import Envelope, EnvelopeError, TaskQueue
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(120)
MORE = Path(__file__).parent / "examples" / "more"
AUTHORIZATION = basic_authorization("queue", "queue-pass")
XML = "application/xml; charset=utf-8"
JSON = {"Content-Type": "application/json", "Authorization": AUTHORIZATION}


def example(path: str) -> bytes:
    return (MORE / path).read_bytes()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueStack]:
    stack = QueueStack(tmp_path_factory.mktemp("numbers-queue"), "xml", "xml:")
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def app(stack: QueueStack) -> ModuleType:
    return imported("queue_app", stack.env)


def post(app: ModuleType, body: bytes, content_type: str = XML) -> CallbackResponse:
    headers = {"Content-Type": content_type, "Authorization": AUTHORIZATION, "X-Trace": "t-1"}
    receiver: Receiver = app.receiver
    return receiver.handle(CallbackRequest("POST", "/numbers", headers, body))


def eventually(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def accepted(app: ModuleType, body: bytes) -> tuple[Event, ...]:
    """The events the receiver reads from ``body`` (no handler runs)."""
    headers = {"Content-Type": XML, "Authorization": AUTHORIZATION}
    events: tuple[Event, ...] = app.receiver.accept_all(
        CallbackRequest("POST", "/numbers", headers, body)
    )
    return events


def seen_by_worker(app: ModuleType, key: str) -> dict[str, Any] | None:
    """What the worker's ``numbers`` handler kept of the event of ``key``."""
    found = app.store.hget(app.PREFIX + "numbers", key)
    return None if found is None else dict(json.loads(found))


def starts(app: ModuleType, key: str, name: str = "numbers-starts") -> int:
    return int(app.store.hget(app.PREFIX + name, key) or 0)


def order(status: str, note: str | None = None, order_id: str = "order-q1") -> bytes:
    noted = f"<Note>{note}</Note>" if note else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Notification><Status>'
        f"{status}</Status><SubscriptionId>sub-q</SubscriptionId><OrderType>portins</OrderType>"
        f"<OrderId>{order_id}</OrderId>{noted}"
        "<Message>Port-in for Zoë Ångström's numbers</Message>"
        "<LastModifiedDate>2026-12-07T10:00:00.000Z</LastModifiedDate>"
        "<CompletedTelephoneNumbers><TelephoneNumber>9195551234</TelephoneNumber>"
        "<TelephoneNumber>+19195551235</TelephoneNumber></CompletedTelephoneNumbers>"
        "</Notification>"
    ).encode()


@pytest.mark.parametrize(
    "body",
    [
        example("numbers/order-complete-1.xml"),
        example("numbers/event-messaging-lost-1.xml"),
        example("numbers/order-docs-2023.xml"),
        order("FOC"),
        # another encoding than UTF-8: the envelope carries it in base64, byte for byte
        order("EXCEPTION").decode().replace("UTF-8", "ISO-8859-1").encode("latin-1", "replace"),
        "<?xml version='1.0' encoding='UTF-16'?><Notification><OrderId>u16</OrderId>"
        "<Status>FAILED</Status><Message>Zoë</Message></Notification>".encode("utf-16"),
    ],
    ids=["order", "account", "no-order-id", "utf-8", "latin-1", "utf-16"],
)
def test_a_queued_handler_gets_the_very_same_notification_on_a_worker(
    app: ModuleType, body: bytes
) -> None:
    (event,) = accepted(app, body)
    assert isinstance(event, NotificationEvent)
    key = idempotency_key(event)
    response = post(app, body)
    assert (response.status, response.body) == (200, b"")
    eventually(lambda: seen_by_worker(app, key) is not None, "the worker ran the handler")
    seen = seen_by_worker(app, key)
    assert seen is not None
    assert seen["repr"] == repr(event)  # every value
    assert seen["raw"] == thaw(event.raw)  # and the document as read
    assert base64.b64decode(seen["body"]) == body  # current_request(): the body as received
    assert seen["content_type"] == XML
    assert seen["authorization"] is None
    eventually(lambda: starts(app, key, "completions") == 1, "the handler of Event ran too")


def test_a_duplicate_notification_runs_its_queued_handler_once(app: ModuleType) -> None:
    body = order("COMPLETE", order_id="order-dup")
    key = idempotency_key(parse_xml(body))
    assert [post(app, body).status for _ in range(3)] == [200, 200, 200]
    reformatted = body.replace(b"<Status>", b"\n  <Status>")
    assert post(app, reformatted).status == 200  # the same notification, formatted otherwise
    eventually(lambda: seen_by_worker(app, key) is not None, "the first delivery ran")
    queue: TaskQueue = app.queue
    work = f"{key}|queue_app:numbers"
    eventually(lambda: queue.claims.state(work) == "done", "its work settled")
    assert starts(app, key) == 1
    noted = order("COMPLETE", note="Customer asked for a new FOC date", order_id="order-dup")
    noted_key = idempotency_key(parse_xml(noted))
    assert noted_key != key
    assert post(app, noted).status == 200  # a new note of the same order: a new run
    eventually(lambda: starts(app, noted_key) == 1, "the note's notification ran")
    assert starts(app, key) == 1


def test_envelopes_of_xml_bodies_are_version_2_json_envelopes_of_json_events_version_1(
    app: ModuleType,
) -> None:
    queue: TaskQueue = app.queue
    body = order("FOC", order_id="order-env")
    headers = {"Content-Type": XML, "Authorization": AUTHORIZATION, "Cookie": "s=1"}
    request = CallbackRequest("POST", "/numbers", headers, body)
    (event,) = app.receiver.accept_all(request)
    data = json.loads(json.dumps(queue.envelope("queue_app:numbers", event, request).to_dict()))
    assert data["v"] == 2
    assert data["payload"] is None
    assert data["body"] == body.decode()  # readable in a dead letter
    assert data["body_encoding"] == "utf-8"
    assert {name.lower() for name, _ in data["headers"]} == {"content-type"}
    assert "queue-pass" not in json.dumps(data)
    assert AUTHORIZATION not in json.dumps(data)
    assert Envelope.from_dict(data).event() == event
    assert Envelope.from_dict(data).request().body == body

    json_request = CallbackRequest(
        "POST", "/m", {**JSON, "Cookie": "s=1"}, json.dumps(fake_payload("sms")).encode()
    )
    (sms,) = app.receiver.accept_all(json_request)
    written = queue.envelope("queue_app:record", sms, json_request).to_dict()
    assert written["v"] == 1  # what workers of the previous release run, too
    assert "body" not in written
    assert "body_encoding" not in written
    assert Envelope.from_dict(written).event() == sms

    for bad in (
        {**data, "v": 3},
        {**data, "body": 7},
        {**data, "body_encoding": "gzip"},
        {**data, "payload": {"eventType": "sms"}},
        {key: value for key, value in data.items() if key != "body"},
    ):
        with pytest.raises(EnvelopeError):
            Envelope.from_dict(bad)
    undecodable = Envelope.from_dict({**data, "body": "not base64!", "body_encoding": "base64"})
    with pytest.raises(InvalidCallback, match="unreadable body"):
        undecodable.request()
    lone_surrogate = Envelope.from_dict({**data, "body": "<a>\ud800</a>"})
    with pytest.raises(InvalidCallback, match="unreadable body"):
        lone_surrogate.request()


def test_a_version_1_envelope_of_the_previous_release_still_runs(app: ModuleType) -> None:
    """A rolling deploy: a message an older receiver put in the broker."""
    payload = fake_payload("sms")
    request = CallbackRequest("POST", "/m", JSON, json.dumps(payload).encode())
    (sms,) = app.receiver.accept_all(request)
    key = idempotency_key(sms)
    old = {
        "v": 1,
        "key": f"{key}|queue_app:record",
        "handler": "queue_app:record",
        "payload": payload,
        "array": False,
        "method": "POST",
        "path": "/m",
        "query": "",
        "headers": [["Content-Type", "application/json"]],
        "received_at": "2026-12-07T10:00:00+00:00",
    }
    queue: TaskQueue = app.queue
    queue.publish(Envelope.from_dict(old))
    eventually(lambda: starts(app, key, "completions") == 1, "the old envelope ran")


def test_a_notification_is_spooled_while_the_broker_is_down_then_run_once(
    app: ModuleType, stack: QueueStack
) -> None:
    body = order("SUBMITTED", order_id="order-spooled")
    key = idempotency_key(parse_xml(body))
    queue: TaskQueue = app.queue
    spool = queue.spool
    assert spool is not None
    stack.redis.kill()
    try:
        response = post(app, body)
        # never retried by Bandwidth: a 5xx would lose it; on disk before the 2xx
        assert (response.status, response.body) == (200, b"")
        assert len(spool) == 2  # one envelope per queued handler (Event, NumbersEvent)
    finally:
        stack.restart_redis()
    eventually(lambda: seen_by_worker(app, key) is not None, "the spooled notification ran", 60)
    eventually(lambda: len(spool) == 0, "the spool emptied", 60)
    eventually(lambda: starts(app, key, "completions") == 1, "both handlers ran", 60)
    assert starts(app, key) == 1


def test_a_dead_lettered_notification_is_listed_readably_and_requeued(app: ModuleType) -> None:
    body = order("EXCEPTION", order_id="order-dead")
    event = parse_xml(body)
    key = idempotency_key(event)
    work = f"{key}|queue_app:numbers"
    app.store.set(app.PREFIX + "numbers-poison", "1")
    try:
        assert post(app, body).status == 200
        dead_hook = app.PREFIX + "dead-hook"
        eventually(lambda: work.encode() in app.store.lrange(dead_hook, 0, -1), "dead-lettered")
    finally:
        app.store.delete(app.PREFIX + "numbers-poison")
    queue: TaskQueue = app.queue
    letter = next(d for d in queue.dead_letters() if d.envelope["key"] == work)
    assert letter.envelope["v"] == 2

    out, err = io.StringIO(), io.StringIO()
    command = DeadLettersCommand("queue_app:queue", queue, payloads=True, out=out, err=err)
    assert command.run(handler="queue_app:numbers") == 0
    listed = out.getvalue()
    assert (
        "orderNotification (subscription_id=sub-q order_type=portins order_id=order-dead" in listed
    )
    assert "RuntimeError: a Numbers handler failing while asked to" in listed
    assert "<OrderId>order-dead</OrderId>" in listed  # --payloads: the XML, as text
    assert err.getvalue() == ""

    out = io.StringIO()
    requeue = DeadLettersCommand("queue_app:queue", queue, out=out, err=err)
    assert requeue.run(requeue=[letter.id]) == 0
    assert f"{letter.id}: re-queued (queue_app:numbers)" in out.getvalue()
    eventually(lambda: seen_by_worker(app, key) is not None, "the re-queued letter ran")
    assert seen_by_worker(app, key)["repr"] == repr(event)  # type: ignore[index]
    assert starts(app, key) == queue.max_attempts + 1


def port_out_request(pon: str) -> bytes:
    return (
        f"<PortOutValidationRequest><PON>{pon}</PON><Pin>1111</Pin>"
        "<TelephoneNumbers><TelephoneNumber>9195551234</TelephoneNumber></TelephoneNumbers>"
        "</PortOutValidationRequest>"
    ).encode()


def test_a_port_out_request_never_reaches_a_queued_handler_of_event_and_says_so(
    app: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    body = port_out_request("PON-QUEUED")
    (event,) = accepted(app, body)
    key = idempotency_key(event)
    caplog.set_level(logging.WARNING, "bwhooks")
    response = post(app, body)
    assert response.status == 200
    answer = parse_xml(response.body)  # the fallback, REVIEW by default: a deny with 7598
    assert answer.raw["Portable"] == "false"
    assert answer.raw["Errors"]["Error"]["Code"] == "7598"
    queue: TaskQueue = app.queue
    for handler in ("queue_app:record", "queue_app:numbers"):
        assert queue.claims.state(f"{key}|{handler}") is None  # nothing claimed, published
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "record (queued) and numbers (queued) did not receive the "
        "portOutValidation request (pon=PON-QUEUED): it is never queued" in line
        for line in said
    )


class Recording:
    """A queue engine that keeps what it is given (the Queue protocol: ``bind``)."""

    def __init__(self) -> None:
        self.published: list[Event] = []

    def bind(self, handler: Any) -> Callable[[Event], None]:
        return self.published.append


def open_receiver() -> Receiver:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureReceiverWarning)
        return Receiver(auth=None)


def test_a_queued_handler_of_port_out_validation_is_refused_and_says_why() -> None:
    receiver, queue = open_receiver(), Recording()
    for classes in ((PortOutValidationEvent,), (OrderNotificationEvent, PortOutValidationEvent)):
        with pytest.raises(TypeError) as refused:
            receiver.on(*classes, queue=queue)(lambda event: None)
        assert str(refused.value).startswith(
            "a handler of PortOutValidationEvent cannot be queued: its answer (a PortOutAnswer) "
            "decides the port-out and must come from a handler run in the request, within "
            "Bandwidth's 30 seconds"
        )
    for cls in (
        OrderNotificationEvent,
        AccountNotificationEvent,
        NotificationEvent,
        NumbersEvent,
        Event,
    ):
        receiver.on(cls, queue=queue)(lambda event: None)
    assert len(receiver.registry) == 5


@pytest.mark.parametrize("asynchronous", [False, True], ids=["handle", "handle_async"])
def test_broad_queued_handlers_take_notifications_and_leave_port_outs_to_inline_ones(
    asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    receiver, queue = open_receiver(), Recording()
    receiver.on(Event, queue=queue)(lambda event: None)
    receiver.on(NumbersEvent, queue=queue)(lambda event: None)

    def deliver(body: bytes) -> CallbackResponse:
        request = CallbackRequest("POST", "/", {"Content-Type": XML}, body)
        if asynchronous:
            return asyncio.run(receiver.handle_async(request))
        return receiver.handle(request)

    assert deliver(example("numbers/order-failed-1.xml")).status == 200
    assert [type(e) for e in queue.published] == [OrderNotificationEvent] * 2
    caplog.set_level(logging.WARNING, "bwhooks")
    unanswered = deliver(port_out_request("PON-1"))
    assert b"<Code>7598</Code>" in unanswered.body  # the fallback: no handler ran
    assert len(queue.published) == 2
    assert "did not receive the portOutValidation request (pon=PON-1)" in caplog.text
    caplog.clear()

    @receiver.on(PortOutValidationEvent)
    def validate(event: PortOutValidationEvent) -> PortOutAnswer:
        return PortOutAnswer.allow()

    answered = deliver(port_out_request("PON-2"))
    assert parse_xml(answered.body).raw["Portable"] == "true"  # the inline handler's answer
    assert len(queue.published) == 2
    assert caplog.text == ""
