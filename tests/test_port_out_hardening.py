"""Port-out validation under the failures an outside attack found: a request only partly
readable, a duplicate while the first delivery runs, a cancelled handler (in
``tests/test_numbers.py``'s fallback cases), text that is not XML white space, an
``eventType`` element, the subscriber's data in ``repr``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pytest
from support import AUTH

from bwhooks import (
    AcceptableValues,
    BasicAuth,
    CallbackRequest,
    CallbackResponse,
    OrderNotificationEvent,
    PortOutAnswer,
    PortOutError,
    PortOutValidationEvent,
    Receiver,
    parse_xml,
)
from bwhooks.idempotency import MemoryStore

USER, PASSWORD = "bw-user", "s3cret-pässword"
HEADERS = {"Content-Type": "application/xml", "Authorization": AUTH}


def request(*elements: str) -> bytes:
    return (
        "<PortOutValidationRequest>" + "".join(elements) + "</PortOutValidationRequest>"
    ).encode()


NUMBERS = "<TelephoneNumbers><TelephoneNumber>2223331000</TelephoneNumber></TelephoneNumbers>"
WHOLE = request("<PON>p-1</PON>", "<Pin>2222</Pin>", "<AccountNumber>777</AccountNumber>", NUMBERS)
PARTLY_READABLE = {
    "a number with a child element": request(
        "<PON>p-1</PON>",
        "<Pin>2222</Pin>",
        "<TelephoneNumbers><TelephoneNumber>2223331000</TelephoneNumber>"
        "<TelephoneNumber><x>2223339999</x></TelephoneNumber></TelephoneNumbers>",
    ),
    "two number containers": request("<PON>p-1</PON>", "<Pin>2222</Pin>", NUMBERS, NUMBERS),
    "numbers as text": request("<PON>p-1</PON>", "<TelephoneNumbers>2223331000</TelephoneNumbers>"),
    "another element among the numbers": request(
        "<PON>p-1</PON>",
        "<TelephoneNumbers><TelephoneNumber>2223331000</TelephoneNumber><Tn>1</Tn>"
        "</TelephoneNumbers>",
    ),
    "a repeated PIN": request("<PON>p-1</PON>", "<Pin>2222</Pin>", "<Pin>1111</Pin>", NUMBERS),
    "a PIN with a child element": request("<PON>p-1</PON>", "<Pin><b>2222</b></Pin>", NUMBERS),
}


def stored(store: bool) -> dict[str, object]:
    """A receiver's options: a store of its own (its deliveries go through the claims)."""
    return {"idempotency": MemoryStore()} if store else {}


def post(receiver: Receiver, body: bytes) -> CallbackResponse:
    return receiver.handle(CallbackRequest("POST", "/callbacks", HEADERS, body))


def allowing(seen: list[PortOutValidationEvent], **options: object) -> Receiver:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), **options)  # type: ignore[arg-type]

    @receiver.on(PortOutValidationEvent)
    def validate(event: PortOutValidationEvent) -> PortOutAnswer:
        seen.append(event)
        return PortOutAnswer.allow()

    return receiver


@pytest.mark.parametrize("store", [False, True], ids=["directly", "with a store"])
@pytest.mark.parametrize("case", sorted(PARTLY_READABLE))
def test_a_request_not_read_whole_never_reaches_a_handler(
    case: str, store: bool, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[PortOutValidationEvent] = []
    body = PARTLY_READABLE[case]
    event = parse_xml(body)
    assert isinstance(event, PortOutValidationEvent)
    assert event.unread()
    with caplog.at_level(logging.ERROR, "bwhooks"):
        response = post(allowing(seen, **stored(store)), body)
    answer = parse_xml(response.body).raw
    assert (response.status, answer["Portable"], answer["PON"]) == (200, "false", "p-1")
    assert answer["Errors"]["Error"]["Code"] == "7598"
    assert seen == []  # a handler would have decided on part of the request
    (told,) = [
        r.getMessage() for r in caplog.records if "could not be read whole" in r.getMessage()
    ]
    assert "pon=p-1" in told
    approving = allowing(seen, port_out_fallback="approve", **stored(store))
    assert parse_xml(post(approving, body).body).raw["Portable"] == "true"  # as chosen
    assert seen == []


@pytest.mark.parametrize(
    "body",
    [
        WHOLE,
        request("<PON>p-1</PON>"),  # no numbers at all: the handler decides (and should deny)
        request("<PON>p-1</PON>", "<TelephoneNumbers><TelephoneNumber/></TelephoneNumbers>"),
        request("<PON>p-1</PON>", "<TelephoneNumbers/>", "<Pin/>", "<Future><a>1</a></Future>"),
        request(
            "<PON>p-1</PON>",
            "<TelephoneNumbers><TelephoneNumber>1</TelephoneNumber>"
            "<TelephoneNumber>2</TelephoneNumber></TelephoneNumbers>",
        ),
    ],
)
def test_a_request_read_whole_reaches_its_handler(body: bytes) -> None:
    seen: list[PortOutValidationEvent] = []
    event = parse_xml(body)
    assert isinstance(event, PortOutValidationEvent)
    assert event.unread() == ()
    assert parse_xml(post(allowing(seen), body).body).raw["Portable"] == "true"
    assert seen == [event]


@pytest.mark.parametrize("fallback", ["review", "approve"])
def test_a_duplicate_while_the_first_runs_gets_the_fallback_never_a_4xx(
    fallback: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A 4xx approves a port-out: the duplicate of a request still being handled (an
    idempotency store) is answered as the fallback says, as Bandwidth then reads it."""
    entered, release = threading.Event(), threading.Event()
    receiver = Receiver(
        auth=BasicAuth((USER, PASSWORD)),
        idempotency=MemoryStore(),
        port_out_fallback=fallback,
    )

    @receiver.on(PortOutValidationEvent)
    def slow(event: PortOutValidationEvent) -> PortOutAnswer:
        entered.set()
        release.wait(10)
        return PortOutAnswer.allow()

    first: list[CallbackResponse] = []
    thread = threading.Thread(target=lambda: first.append(post(receiver, WHOLE)))
    thread.start()
    try:
        assert entered.wait(10)
        with caplog.at_level(logging.ERROR, "bwhooks"):
            duplicate = post(receiver, WHOLE)
    finally:
        release.set()
        thread.join(10)
    assert duplicate.status == 200
    portable = parse_xml(duplicate.body).raw["Portable"]
    assert portable == ("false" if fallback == "review" else "true")
    assert any("duplicate came while" in r.getMessage() for r in caplog.records)
    assert parse_xml(first[0].body).raw["Portable"] == "true"  # the handler's own answer


def test_a_duplicate_notification_in_flight_is_not_logged_as_lost(
    caplog: pytest.LogCaptureFixture,
) -> None:
    entered, release = threading.Event(), threading.Event()
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), idempotency=MemoryStore())

    @receiver.on(OrderNotificationEvent)
    def slow(event: OrderNotificationEvent) -> None:
        entered.set()
        release.wait(10)

    body = b"<Notification><OrderId>o-1</OrderId><Status>COMPLETE</Status></Notification>"
    thread = threading.Thread(target=post, args=(receiver, body))
    thread.start()
    try:
        assert entered.wait(10)
        with caplog.at_level(logging.INFO, "bwhooks"):
            assert post(receiver, body).status == 409  # the first delivery handles it
    finally:
        release.set()
        thread.join(10)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_only_xml_white_space_is_stripped() -> None:
    """A no-break space or an em space is text: a PIN of ``\\u00a02222`` is not ``2222``."""
    body = request("<PON> p-1\n</PON>", "<Pin>\u00a02222\u2003</Pin>")
    event = parse_xml(body)
    assert isinstance(event, PortOutValidationEvent)
    assert (event.pon, event.pin) == ("p-1", "\u00a02222\u2003")


def test_an_event_type_element_never_replaces_the_class_type() -> None:
    body = request("<PON>p-1</PON>", "<eventType>orderNotification</eventType>")
    event = parse_xml(body)
    assert isinstance(event, PortOutValidationEvent)
    assert event.event_type == "portOutValidation"
    assert event.raw["eventType"] == "orderNotification"  # kept, as every element
    order = parse_xml(b"<Notification><eventType>x</eventType></Notification>")
    assert order.event_type == "orderNotification"


def test_repr_leaves_out_the_subscribers_data() -> None:
    body = request(
        "<PON>p-1</PON>",
        "<Pin>9731</Pin>",
        "<AccountNumber>acct-5521</AccountNumber>",
        "<ZipCode>62025</ZipCode>",
        "<SubscriberName>Jane Q Secret</SubscriberName>",
        NUMBERS,
    )
    shown = repr(parse_xml(body))
    assert "p-1" in shown
    assert "2223331000" in shown
    for secret in ("9731", "acct-5521", "62025", "Jane Q Secret"):
        assert secret not in shown


def test_the_pon_is_echoed_as_read_carriage_returns_included() -> None:
    """XML readers turn a bare CR into LF: the answer writes it as a character reference."""
    receiver = allowing([])
    response = post(receiver, request("<PON>p&#13;1\tx</PON>", NUMBERS))
    assert b"<PON>p&#13;1\tx</PON>" in response.body
    assert parse_xml(response.body).raw["PON"] == "p\r1\tx"


@pytest.mark.parametrize(
    "build",
    [
        lambda: PortOutAnswer.deny((7513, "PIN\x0cinvalid")),
        lambda: PortOutAnswer.deny(
            PortOutError.PIN_INVALID, acceptable=AcceptableValues(subscriber_name="ACME\x1bCorp")
        ),
        lambda: PortOutAnswer.deny(
            PortOutError.PIN_INVALID, acceptable=AcceptableValues(telephone_numbers=["1\ud800"])
        ),
    ],
)
def test_an_answer_xml_cannot_carry_fails_in_the_handler_and_gets_the_fallback(
    build: Callable[[], PortOutAnswer],
) -> None:
    """Refused where it is built: the handler fails, so the fallback answers, never a 500
    (which would approve the port-out) when the answer is written."""
    with pytest.raises(ValueError, match="cannot be written in an XML document"):
        build()
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    receiver.on(PortOutValidationEvent)(lambda event: build())
    response = post(receiver, WHOLE)
    assert response.status == 200
    assert parse_xml(response.body).raw["Errors"]["Error"]["Code"] == "7598"
