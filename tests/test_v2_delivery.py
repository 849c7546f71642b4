"""Voice v2 and Messaging v2 through every way in (handle, handle_async, WSGI on a real
server, ASGI, Flask, Flask async, FastAPI, Django, Django async): the classes, the answers,
the arrays, duplicates, and fields that cannot be converted."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from support import JSON, Send, load_json_example, load_v2_example, v2_example_names

import bwhooks
from bwhooks import CallbackResponse, Receiver, events
from bwhooks.decoding.parsing import encode_query, parse_delivery
from bwhooks.events import Event, Reply
from bwhooks.idempotency import Claim, MemoryStore, idempotency_key

Connect = Callable[[Receiver], Send]
XML = "application/xml; charset=utf-8"
EMPTY_BXML = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
SPEAK = "<Response><SpeakSentence>Welcome</SpeakSentence></Response>"


def body_of(value: Any) -> bytes:
    return json.dumps(value).encode()


def record(receiver: Receiver, cls: type[Event] = Event) -> list[Event]:
    seen: list[Event] = []
    receiver.on(cls)(seen.append)
    return seen


def element(name: str, **changes: Any) -> dict[str, Any]:
    (first,) = load_v2_example(name)
    return {**first, **changes}


def test_every_v2_example_through_every_way_in(connect: Connect, receiver: Receiver) -> None:
    seen = record(receiver)
    send = connect(receiver)
    for name in v2_example_names():
        data = load_v2_example(name)
        expected = parse_delivery(data)
        response = send(body=body_of(data))
        assert response.status == 200, name
        assert seen[-len(expected) :] == list(expected), name
        assert [type(e) for e in seen[-len(expected) :]] == [type(e) for e in expected], name
        if expected[0].REPLY is Reply.BXML:  # synchronous voice: a BXML document, always
            assert (response.headers["Content-Type"], response.body) == (XML, EMPTY_BXML), name
        else:
            assert response.body == b"", name
        if isinstance(data, dict):  # a voice webhook may come as GET
            before = len(seen)
            answer = send("GET", query=encode_query(data).encode(), headers=_get_headers())
            assert answer.status == 200, name
            assert seen[before:] == list(expected), name


def _get_headers() -> dict[str, str]:
    from support import AUTH

    return {"Authorization": AUTH}


def test_v1_and_v2_share_one_url_and_one_registry(connect: Connect, receiver: Receiver) -> None:
    v1: list[Event] = []
    v2: list[Event] = []
    receiver.on(events.AnswerEvent)(v1.append)
    receiver.on(events.VoiceAnswerEvent)(v2.append)
    send = connect(receiver)
    assert send(body=body_of(load_json_example("answer-3.json"))).status == 200
    assert send(body=body_of(load_v2_example("answer-1.json"))).status == 200
    assert [type(e) for e in v1] == [events.AnswerEvent]
    assert [type(e) for e in v2] == [events.VoiceAnswerEvent]


# -- answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", [SPEAK, SPEAK.encode()], ids=["str", "bytes"])
def test_a_synchronous_webhook_is_answered_with_the_handlers_bxml(
    connect: Connect, receiver: Receiver, answer: str | bytes
) -> None:
    @receiver.on(events.VoiceInitiateEvent)
    def initiated(event: events.VoiceInitiateEvent) -> str | bytes:
        return answer

    response = connect(receiver)(body=body_of(load_v2_example("initiate-1.json")))
    assert (response.status, response.headers["Content-Type"]) == (200, XML)
    assert response.body == SPEAK.encode()


@pytest.mark.parametrize(
    ("name", "warned"),
    [("initiate-1.json", True), ("answer-1.json", True), ("gather-1.json", False)],
)
def test_an_unanswered_synchronous_webhook_gets_an_empty_response_document(
    connect: Connect,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    name: str,
    warned: bool,
) -> None:
    with caplog.at_level(logging.WARNING, logger="bwhooks"):
        response = connect(receiver)(body=body_of(load_v2_example(name)))
    assert (response.status, response.headers["Content-Type"]) == (200, XML)
    assert response.body == EMPTY_BXML
    assert ("the empty answer ends the call" in caplog.text) is warned


def test_bxml_returned_for_an_asynchronous_webhook_is_logged_not_sent(
    connect: Connect, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    @receiver.on(events.VoiceDisconnectEvent)
    def ended(event: events.VoiceDisconnectEvent) -> str:
        return SPEAK

    with caplog.at_level(logging.ERROR, logger="bwhooks"):
        response = connect(receiver)(body=body_of(load_v2_example("disconnect-1.json")))
    assert (response.status, response.body) == (200, b"")
    assert "ended" in caplog.text
    assert "not sent" in caplog.text


@pytest.mark.parametrize("name", ["disconnect-1.json", "gather-1.json", "message-delivered-1.json"])
def test_a_callback_response_is_sent_as_it_is_for_any_kind(
    connect: Connect, receiver: Receiver, name: str
) -> None:
    @receiver.on(Event)
    def exact(event: Event) -> CallbackResponse:
        return CallbackResponse(202, [("X-Mine", "yes")], b"")

    response = connect(receiver)(body=body_of(load_v2_example(name)))
    assert (response.status, response.headers["X-Mine"]) == (202, "yes")


def test_two_handlers_answering_one_v2_event_is_the_clear_error(
    connect: Connect, receiver: Receiver
) -> None:
    receiver.on(events.VoiceGatherEvent)(lambda event: SPEAK)
    receiver.on(events.VoiceEvent)(lambda event: SPEAK)
    response = connect(receiver)(body=body_of(load_v2_example("gather-1.json")))
    assert response.status == 500
    assert json.loads(response.body) == {"error": "several handlers answered"}


def test_the_sdk_style_bxml_object_is_answered_as_xml(connect: Connect, receiver: Receiver) -> None:
    class Document:  # any object with to_bxml(), as bandwidth-sdk's BXML builders
        def to_bxml(self) -> str:
            return SPEAK

    receiver.on(events.VoiceAnswerEvent)(lambda event: Document())
    response = connect(receiver)(body=body_of(load_v2_example("answer-3.json")))
    assert (response.status, response.headers["Content-Type"], response.body) == (
        200,
        XML,
        SPEAK.encode(),
    )


# -- arrays ----------------------------------------------------------------------------------


def three_elements() -> list[dict[str, Any]]:
    return [
        element("message-received-1.json"),
        element("message-delivered-3.json"),
        element("message-failed-1.json", type="message-queued"),  # a type not known (yet)
    ]


def test_every_element_is_dispatched_in_order_with_its_request(
    connect: Connect, receiver: Receiver
) -> None:
    seen: list[tuple[str, str, str]] = []

    @receiver.on(Event)
    def each(event: Event) -> None:
        request = bwhooks.current_request()
        seen.append((type(event).__name__, event.event_type, request.path))

    response = connect(receiver)(body=body_of(three_elements()))
    assert (response.status, response.body) == (200, b"")
    assert seen == [
        ("MessageReceivedEvent", "message-received", "/callbacks"),
        ("MessageDeliveredEvent", "message-delivered", "/callbacks"),
        ("UnknownMessagingEvent", "message-queued", "/callbacks"),
    ]


def test_a_failing_element_fails_the_delivery_and_stops_it(
    connect: Connect, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    @receiver.on(events.MessagingEvent)
    def handle(event: events.MessagingEvent) -> None:
        ran.append(event.event_type)
        if isinstance(event, events.MessageDeliveredEvent):
            raise RuntimeError("the CRM is down")

    with caplog.at_level(logging.ERROR, logger="bwhooks"):
        response = connect(receiver)(body=body_of(three_elements()))
    assert response.status == 500
    assert ran == ["message-received", "message-delivered"]  # the third never ran
    assert "the CRM is down" in caplog.text
    assert "message_id=" in caplog.text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[]", "an empty array carries no callback"),
        (b'[{"type": "message-received", "message": {}}, 7]', "a callback must be a JSON object"),
        (b'[{"message": {}}]', "element 0: missing type"),
        (body_of([element("message-received-1.json")] * 1001), "more than 1000 callbacks"),
    ],
)
def test_arrays_that_are_no_delivery_are_400(
    connect: Connect, receiver: Receiver, body: bytes, reason: str
) -> None:
    seen = record(receiver)
    response = connect(receiver)(body=body)
    assert response.status == 400
    assert json.loads(response.body)["error"].startswith(reason)
    assert seen == []


def test_with_a_store_a_retried_array_runs_only_what_was_not_handled(connect: Connect) -> None:
    receiver = Receiver(
        auth=bwhooks.BasicAuth(("bw-user", "s3cret-pässword")), idempotency=MemoryStore()
    )
    ran: list[str] = []
    failures = ["message-queued"]

    @receiver.on(events.MessagingEvent)
    def handle(event: events.MessagingEvent) -> None:
        ran.append(event.event_type)
        if event.event_type in failures:
            failures.remove(event.event_type)
            raise RuntimeError("try again")

    send = connect(receiver)
    body = body_of(three_elements())
    assert send(body=body).status == 500
    assert ran == ["message-received", "message-delivered", "message-queued"]
    assert send(body=body).status == 200  # Bandwidth's retry: only the failed element runs
    assert ran[3:] == ["message-queued"]
    assert send(body=body).status == 200  # and once all are done, none
    assert len(ran) == 4


@pytest.mark.parametrize("busy", [0, 1, 2])
def test_an_array_with_an_element_being_handled_elsewhere_is_409_until_it_is_done(
    connect: Connect, busy: int
) -> None:
    """An element still in flight in another delivery stops the array with 409: a 2xx would
    tell Bandwidth the whole array was handled, and that element is lost if the other
    delivery then fails. The elements before it run; it and those after it wait."""
    store = MemoryStore()
    receiver = Receiver(auth=bwhooks.BasicAuth(("bw-user", "s3cret-pässword")), idempotency=store)
    ran = record(receiver, events.MessagingEvent)
    array = three_elements()
    keys = [idempotency_key(event) for event in parse_delivery(array)]
    assert store.claim(keys[busy]).claim is Claim.NEW  # another delivery is handling it
    send = connect(receiver)
    response = send(body=body_of(array))
    assert response.status == 409
    assert response.headers["Retry-After"] == "5"
    assert [e.event_type for e in ran] == [e["type"] for e in array[:busy]]
    assert store.claim(keys[busy]).claim is Claim.IN_FLIGHT  # still the other delivery's
    store.complete(keys[busy], CallbackResponse.empty())  # which handles it
    assert send(body=body_of(array)).status == 200  # Bandwidth's retry: the rest runs
    assert [e.event_type for e in ran] == [e["type"] for e in array[:busy] + array[busy + 1 :]]


def test_a_bare_element_is_a_one_element_delivery(connect: Connect, receiver: Receiver) -> None:
    seen = record(receiver)
    response = connect(receiver)(body=body_of(element("message-delivered-1.json")))
    assert response.status == 200
    assert [type(e) for e in seen] == [events.MessageDeliveredEvent]


# -- never lose a v2 event to one bad field --------------------------------------------------


def test_a_v2_field_that_cannot_be_converted_is_dispatched(
    connect: Connect, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    seen = record(receiver)
    payload = {**load_v2_example("initiate-1.json"), "startTime": "yesterday"}
    with caplog.at_level(logging.WARNING, logger="bwhooks.decoding.parsing"):
        response = connect(receiver)(body=body_of(payload))
    assert response.status == 200
    (event,) = seen
    assert isinstance(event, events.VoiceInitiateEvent)
    assert event.start_time is None
    assert event.raw["startTime"] == "yesterday"
    assert "startTime" in caplog.text


def test_v1_keeps_its_400(connect: Connect, receiver: Receiver) -> None:
    seen = record(receiver)
    body = body_of({**load_json_example("answer-3.json"), "time": "yesterday"})
    response = connect(receiver)(body=body, headers={"Content-Type": JSON, **_get_headers()})
    assert response.status == 400
    assert seen == []


def test_accept_gives_one_event_and_accept_all_every_event(receiver: Receiver) -> None:
    from bwhooks import CallbackRequest

    headers = {"Content-Type": JSON, **_get_headers()}
    request = CallbackRequest("POST", "/callbacks", headers, body_of(three_elements()))
    accepted = receiver.accept_all(request)
    assert isinstance(accepted, tuple)
    assert len(accepted) == 3
    refused = receiver.accept(request)
    assert isinstance(refused, CallbackResponse)
    assert refused.status == 500
    assert json.loads(refused.body) == {"error": "several events in one delivery"}
    single = CallbackRequest("POST", "/callbacks", headers, body_of(three_elements()[:1]))
    assert isinstance(receiver.accept(single), events.MessageReceivedEvent)


def test_fastapi_dependencies_for_one_event_and_for_a_delivery(receiver: Receiver) -> None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from bwhooks.adapters.fastapi import verified_event, verified_events

    app = FastAPI()
    one, every = verified_event(receiver), verified_events(receiver)

    # Depends() as a default: these routes' annotations are resolved from module names
    @app.post("/voice")
    async def voice(event: Event = Depends(one)) -> list[str]:  # noqa: B008
        return [type(event).__name__]

    @app.post("/messages")
    async def messages(events: tuple[Event, ...] = Depends(every)) -> list[str]:
        return [type(event).__name__ for event in events]

    client = TestClient(app)
    headers = {"Content-Type": JSON, **_get_headers()}
    answer = client.post(
        "/voice", content=body_of(load_v2_example("initiate-1.json")), headers=headers
    )
    assert answer.json() == ["VoiceInitiateEvent"]
    array = body_of(three_elements())
    assert client.post("/messages", content=array, headers=headers).json() == [
        "MessageReceivedEvent",
        "MessageDeliveredEvent",
        "UnknownMessagingEvent",
    ]
    assert client.post("/voice", content=array, headers=headers).status_code == 500
    assert client.post("/messages", content=b"[]", headers=headers).status_code == 400


# -- a delivery through the steps (an idempotency store, or several events) -----------------


def stored_receiver(outcomes: list[Any] | None = None) -> Receiver:
    return Receiver(
        auth=bwhooks.BasicAuth(("bw-user", "s3cret-pässword")),
        idempotency=MemoryStore(),
        metrics=None if outcomes is None else outcomes.append,
    )


def test_an_array_delivered_again_is_a_duplicate_only_when_every_element_was(
    connect: Connect,
) -> None:
    outcomes: list[Any] = []
    receiver = stored_receiver(outcomes)
    ran = record(receiver, events.MessagingEvent)
    send = connect(receiver)
    array = three_elements()
    assert send(body=body_of(array[:2])).status == 200  # two of the three
    assert send(body=body_of(array)).status == 200  # the third is new: not a duplicate
    assert send(body=body_of(array)).status == 200  # all three handled: a duplicate
    assert send(body=body_of(array[1:])).status == 200  # two handled: a duplicate
    assert [o.name for o in outcomes] == ["handled", "handled", "duplicate", "duplicate"]
    assert len(ran) == 3


@pytest.mark.parametrize("status", [300, 301, 404])
def test_an_element_answered_outside_2xx_stops_the_array_then_and_on_every_retry(
    connect: Connect, status: int
) -> None:
    receiver = stored_receiver()
    ran: list[str] = []

    @receiver.on(events.MessagingEvent)
    def handle(event: events.MessagingEvent) -> CallbackResponse | None:
        ran.append(event.event_type)
        if event.event_type == "message-received":
            return CallbackResponse(status, [("X-Mine", "yes")], b"")
        return None

    send = connect(receiver)
    body = body_of(three_elements())
    for _ in range(2):  # the retry is answered the same, from the store, running nothing
        response = send(body=body)
        assert (response.status, response.headers["X-Mine"]) == (status, "yes")
        assert ran == ["message-received"]


def test_two_handlers_answering_one_element_is_the_clear_error_through_the_steps(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = stored_receiver()

    @receiver.on(events.MessageReceivedEvent)
    def first(event: Event) -> CallbackResponse:
        return CallbackResponse(202, [], b"")

    @receiver.on(events.MessagingEvent)
    def second(event: Event) -> CallbackResponse:
        return CallbackResponse(202, [], b"")

    with caplog.at_level(logging.ERROR, logger="bwhooks"):
        response = connect(receiver)(body=body_of(three_elements()[:1]))
    assert response.status == 500
    assert json.loads(response.body) == {"error": "several handlers answered"}
    local = "test_two_handlers_answering_one_element_is_the_clear_error_through_the_steps.<locals>"
    authors = f"handlers {local}.first and {local}.second both answered"
    assert f"{authors} the message-received event" in caplog.text


def test_two_elements_answering_is_the_clear_error(connect: Connect) -> None:
    outcomes: list[Any] = []
    receiver = stored_receiver(outcomes)
    receiver.on(events.MessagingEvent)(lambda event: CallbackResponse(202, [], b""))
    response = connect(receiver)(body=body_of(three_elements()))
    assert response.status == 500
    assert json.loads(response.body) == {"error": "several events of one delivery answered"}
    assert [o.name for o in outcomes] == ["failed"]
