"""Numbers notifications and port-out validation (XML): recognized by their root element,
typed through the lenient converter, answered as Bandwidth documents, through the core and
every adapter."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import canonicalize

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support import AUTH, Send

from bwhooks import (
    AcceptableValues,
    AccountNotificationEvent,
    BasicAuth,
    CallbackRequest,
    CallbackResponse,
    Event,
    FieldConversionWarning,
    NumbersEvent,
    OrderNotificationEvent,
    PortOutAnswer,
    PortOutError,
    PortOutFallback,
    PortOutValidationEvent,
    Receiver,
    UnknownNumbersEvent,
    parse_xml,
    to_e164,
    to_xml,
)
from bwhooks.families import DEFAULT, Numbers

MORE = Path(__file__).parent / "examples" / "more"
XML = "application/xml; charset=utf-8"
HEADERS = {"Content-Type": XML, "Authorization": AUTH}
REQUEST = (MORE / "porting" / "portout-validation-request-1.xml").read_bytes()
USER, PASSWORD = "bw-user", "s3cret-pässword"


def example(path: str) -> bytes:
    return (MORE / path).read_bytes()


def canonical(document: bytes) -> str:
    return canonicalize(document.decode(), strip_text=True)


def post(receiver: Receiver, body: bytes, content_type: str = XML) -> CallbackResponse:
    headers = {"Content-Type": content_type, "Authorization": AUTH}
    return receiver.handle(CallbackRequest("POST", "/callbacks", headers, body))


@pytest.fixture
def receiver() -> Receiver:
    return Receiver(auth=BasicAuth((USER, PASSWORD)))


# -- recognition ----------------------------------------------------------------------------


def test_the_examples_are_typed_with_their_values() -> None:
    order = parse_xml(example("numbers/order-docs-2023.xml"))
    assert order == OrderNotificationEvent(
        subscription_id="5e9bd0a4-8e1b-4bd1-9f0b-6d6a4a1c2b77",
        order_type="portins",
        customer_order_id="my-port-42",
        status="COMPLETE",
        completed_numbers=("9195551234", "9195551235"),
        last_modified=datetime(2023, 9, 12, 15, 11, 31, 705000, tzinfo=timezone.utc),
        actual_foc_date=datetime(2023, 9, 12, tzinfo=timezone.utc),
    )
    assert order.raw["CompletedTelephoneNumbers"]["TelephoneNumber"] == [
        "9195551234",
        "9195551235",
    ]
    failed = parse_xml(example("numbers/order-failed-1.xml"))
    assert isinstance(failed, OrderNotificationEvent)
    assert (failed.status, failed.order_type, failed.completed_numbers) == (
        "FAILED",
        "orders",
        ("5402278098",),
    )
    assert failed.message == "5005: The telephone number is unavailable for ordering"
    note = parse_xml(example("numbers/note-1.xml"))
    assert isinstance(note, OrderNotificationEvent)
    assert note.note is not None
    assert note.note.startswith("Losing carrier rejected")
    assert note.completed_numbers == ()
    lost = parse_xml(example("numbers/event-messaging-lost-1.xml"))
    assert lost == AccountNotificationEvent(
        subscription_id="7c1b9a2e-4d3f-4e6a-8b5c-1a2b3c4d5e6f",
        event_type="MESSAGING_LOST",
        impacted_numbers=("9195550100",),
    )
    port_out = parse_xml(REQUEST)
    assert port_out == PortOutValidationEvent(
        pon="some_pon",
        pin="1111",
        account_number="777",
        zip_code="62025",
        subscriber_name="Subscriber Name",
        telephone_numbers=("2223331000", "2223331001"),
    )


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        (b"<Notification><OrderType>orders</OrderType></Notification>", OrderNotificationEvent),
        (b"<Notification><Status>COMPLETE</Status></Notification>", OrderNotificationEvent),
        (b"<Notification/>", OrderNotificationEvent),
        (b"<Notification><EventType/></Notification>", OrderNotificationEvent),
        (b"<Notification><EventType>NEW_ONE</EventType></Notification>", AccountNotificationEvent),
        (
            b"<Notification><EventType>X</EventType><OrderType>o</OrderType></Notification>",
            AccountNotificationEvent,
        ),
        (b"<PortOutValidationRequest/>", PortOutValidationEvent),
        (b"<SomethingNew><A>1</A></SomethingNew>", UnknownNumbersEvent),
    ],
)
def test_the_root_element_decides(body: bytes, cls: type[Event]) -> None:
    event = parse_xml(body)
    assert type(event) is cls


def test_an_unknown_root_is_kept_not_refused(receiver: Receiver) -> None:
    seen: list[Event] = []
    receiver.on(Event)(seen.append)
    response = post(receiver, b"<SomethingNew><A>1</A><B/></SomethingNew>")
    assert (response.status, response.body) == (200, b"")
    (event,) = seen
    assert isinstance(event, UnknownNumbersEvent)
    assert event.event_type == "SomethingNew"
    assert dict(event.raw) == {"A": "1", "B": ""}


def test_the_json_families_never_claim_an_xml_payload_and_numbers_no_json() -> None:
    documents = [
        *sorted((MORE / "numbers").glob("*.xml")),
        MORE / "porting" / "portout-validation-request-1.xml",
    ]
    from bwhooks.decoding.xml import decode_xml

    for path in documents:
        root, payload = decode_xml(path.read_bytes())
        claims = [f for f in DEFAULT.members if f.class_for_root(root, payload) is not None]
        assert [type(f) for f in claims] == [Numbers], path.name
        assert [f for f in DEFAULT.members if f.class_for(payload)] == [], path.name
    assert Numbers().class_for({"eventType": "sms", "type": "x", "message": {}}) is None


def test_media_types_choose_the_parser(receiver: Receiver) -> None:
    seen: list[Event] = []
    receiver.on(Event)(seen.append)
    for content_type in ("application/xml", "text/xml", "application/vnd.bw+xml", "TEXT/XML"):
        assert post(receiver, example("numbers/order-complete-1.xml"), content_type).status == 200
    assert [type(e) for e in seen] == [OrderNotificationEvent] * 4
    json_as_xml = post(receiver, b'{"eventType": "sms", "messageId": "m-1"}', XML)
    assert json_as_xml.status == 400
    assert json.loads(json_as_xml.body)["error"].startswith("malformed XML")
    xml_as_json = post(receiver, example("numbers/order-complete-1.xml"), "application/json")
    assert (xml_as_json.status, json.loads(xml_as_json.body)) == (400, {"error": "malformed JSON"})
    assert len(seen) == 4


def test_the_compiled_json_path_never_reads_an_xml_request(receiver: Receiver) -> None:
    headers = receiver.checks
    from bwhooks.http import Headers

    assert not headers.quick("POST", Headers(list(HEADERS.items())))
    request = CallbackRequest("POST", "/", HEADERS, b'{"eventType": "sms"}')
    assert receiver.decoder.quick_request(request) is None
    json_request = CallbackRequest(
        "POST", "/", {"Content-Type": "application/json"}, b'{"eventType": "sms"}'
    )
    assert receiver.decoder.quick_request(json_request) is not None


def test_the_415_reason_names_the_xml_types(receiver: Receiver) -> None:
    response = post(receiver, b"<Notification/>", "text/plain")
    assert response.status == 415
    assert json.loads(response.body) == {
        "error": "content type must be application/json, application/xml or text/xml"
    }


# -- typed fields -------------------------------------------------------------------------------


def test_empty_and_absent_elements_are_none_numbers_empty() -> None:
    event = parse_xml(
        b"<Notification><OrderType>orders</OrderType><Status/><Message>  </Message>"
        b"<CompletedTelephoneNumbers/></Notification>"
    )
    assert isinstance(event, OrderNotificationEvent)
    assert (event.status, event.message, event.order_id) == (None, None, None)
    assert event.completed_numbers == ()
    assert event.raw["Status"] == ""
    assert event.raw["CompletedTelephoneNumbers"] == ""
    port_out = parse_xml(
        b"<PortOutValidationRequest><PON/><Pin></Pin><TelephoneNumbers>"
        b"<TelephoneNumber/></TelephoneNumbers></PortOutValidationRequest>"
    )
    assert port_out == PortOutValidationEvent()


def test_a_value_that_cannot_be_converted_is_none_with_a_warning_text_kept() -> None:
    body = (
        b"<Notification><OrderType>orders</OrderType><LastModifiedDate>yesterday"
        b"</LastModifiedDate><Status><Nested>x</Nested></Status>"
        b"<CompletedTelephoneNumbers><TelephoneNumber><X>1</X></TelephoneNumber>"
        b"</CompletedTelephoneNumbers></Notification>"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FieldConversionWarning)
        event = parse_xml(body)
    assert isinstance(event, OrderNotificationEvent)
    assert (event.last_modified, event.status, event.completed_numbers) == (None, None, ())
    assert event.order_type == "orders"
    assert event.raw["LastModifiedDate"] == "yesterday"
    (warning,) = [w for w in caught if w.category is FieldConversionWarning]
    text = str(warning.message)
    assert "Status" in text
    assert "LastModifiedDate" in text
    assert "CompletedTelephoneNumbers" in text
    assert "yesterday" not in text


def test_a_notification_is_never_refused_for_its_content(receiver: Receiver) -> None:
    seen: list[Event] = []
    receiver.on(NumbersEvent)(seen.append)
    bodies = [
        b"<Notification><LastModifiedDate>not a date</LastModifiedDate></Notification>",
        b"<Notification><EventType><A/></EventType></Notification>",
        b"<Notification><Status>A</Status><Status>B</Status></Notification>",
        b"<Notification>" + b"<X>1</X>" * 1000 + b"</Notification>",
    ]
    for body in bodies:
        assert post(receiver, body).status == 200
    assert len(seen) == len(bodies)


@pytest.mark.parametrize(
    ("number", "e164"),
    [
        ("9195551234", "+19195551234"),
        ("19195551234", "+19195551234"),
        ("+19195551234", "+19195551234"),
        (" 9195551234\n", "+19195551234"),
        ("+447700900123", "+447700900123"),
    ],
)
def test_to_e164_from_either_format(number: str, e164: str) -> None:
    assert to_e164(number) == e164


@pytest.mark.parametrize(
    "number", ["", "919555123", "29195551234", "+", "+0123456789", "919-555-1234", "+1" + "2" * 15]
)
def test_to_e164_refuses_anything_else(number: str) -> None:
    with pytest.raises(ValueError, match="telephone number"):
        to_e164(number)


ORDER_FIELDS = {
    "SubscriptionId": "sub-1",
    "OrderType": "portins",
    "OrderId": "o-1",
    "CustomerOrderId": "mine & yours <1>",
    "Status": "FOC",
    "Message": "5005: unavailable",
    "Note": "a note",
    "LastModifiedDate": "2024-05-02T18:03:11.120Z",
    "ActualFocDate": "2024-05-03T00:00:00Z",
}
NUMBERS = ["9195551234", "9195551235", "9195551236"]


def _element(name: str, text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"<{name}>{escaped}</{name}>"


@settings(max_examples=60, deadline=None)
@given(
    order=st.permutations([*ORDER_FIELDS, "CompletedTelephoneNumbers", "Unknown1", "Unknown2"]),
    e164=st.booleans(),
    count=st.integers(1, 3),
    spaces=st.sampled_from(["", "\n  ", "\t"]),
)
def test_any_order_unknown_elements_and_both_number_formats_give_the_same_values(
    order: list[str], e164: bool, count: int, spaces: str
) -> None:
    numbers = NUMBERS[:count]
    parts = []
    for name in order:
        if name == "CompletedTelephoneNumbers":
            sent = ["+1" + n for n in numbers] if e164 else numbers
            inner = "".join(_element("TelephoneNumber", n) for n in sent)
            parts.append(f"<{name}>{inner}</{name}>")
        elif name.startswith("Unknown"):
            parts.append(f"<{name}><Deep>x</Deep></{name}>")
        else:
            parts.append(_element(name, ORDER_FIELDS[name]))
    body = f"<Notification>{spaces}{spaces.join(parts)}{spaces}</Notification>".encode()
    event = parse_xml(body)
    assert isinstance(event, OrderNotificationEvent)
    assert tuple(to_e164(n) for n in event.completed_numbers) == tuple("+1" + n for n in numbers)
    assert event.customer_order_id == "mine & yours <1>"
    assert event.last_modified == datetime(2024, 5, 2, 18, 3, 11, 120000, tzinfo=timezone.utc)
    assert event.actual_foc_date == datetime(2024, 5, 3, tzinfo=timezone.utc)
    assert (event.status, event.order_id, event.note) == ("FOC", "o-1", "a note")
    assert event.raw["Unknown1"] == {"Deep": "x"}
    assert parse_xml(to_xml(event)) == event


# -- writing back ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        *(f"numbers/{p.name}" for p in sorted((MORE / "numbers").glob("*.xml"))),
        "porting/portout-validation-request-1.xml",
    ],
)
def test_to_xml_writes_the_event_as_sent(path: str) -> None:
    event = parse_xml(example(path))
    assert parse_xml(to_xml(event)) == event
    assert canonical(to_xml(event)).replace(" ", "") == canonical(example(path)).replace(" ", "")


def test_to_xml_from_fields_without_raw() -> None:
    event = PortOutValidationEvent(pon="p<1>", pin="1", telephone_numbers=("9195551234",))
    written = to_xml(event)
    assert b"<PON>p&lt;1&gt;</PON>" in written
    assert parse_xml(written) == event
    account = AccountNotificationEvent(event_type="MESSAGING_LOST", impacted_numbers=("1", "2"))
    assert parse_xml(to_xml(account)) == account
    unknown = UnknownNumbersEvent(event_type="Other", raw={"A": "1", "B": ["x", "y"]})
    assert parse_xml(to_xml(unknown)).raw == {"A": "1", "B": ["x", "y"]}
    with pytest.raises(ValueError, match="not sent as XML"):
        to_xml(Event(event_type="sms"))


# -- port-out answers --------------------------------------------------------------------------


def test_allow_and_deny_are_the_documented_documents() -> None:
    allow = PortOutAnswer.allow().to_xml("some_pon")
    assert canonical(allow) == canonical(example("porting/portout-validation-allow.xml"))
    deny = PortOutAnswer.deny(
        PortOutError.PIN_INVALID,
        (7511, "Invalid Account Code"),
        acceptable=AcceptableValues(
            pin="2222", account_number="888", zip_code="62025", telephone_numbers=["2223331000"]
        ),
    ).to_xml("some_pon")
    assert canonical(deny) == canonical(example("porting/portout-validation-deny.xml"))
    assert PortOutAnswer.deny((7513, "PIN Invalid")) == PortOutAnswer.deny(PortOutError.PIN_INVALID)


def test_every_documented_code_has_its_meaning() -> None:
    assert [int(e) for e in PortOutError] == [*range(7510, 7520), 7598]
    assert int(PortOutError.PIN_INVALID) == 7513
    assert PortOutError.INVALID_REQUEST.description == "Invalid Request"
    assert all(e.description for e in PortOutError)


@pytest.mark.parametrize(
    ("errors", "match"),
    [
        ((), "at least one error"),
        ((7599,), "7599 is not one Bandwidth documents"),
        (((7599, "later"),), "would approve"),
        ((7500,), "7500"),
        (((7513,),), "code, description"),
        (("7513",), "an integer"),
        ((True,), "an integer"),
    ],
)
def test_a_deny_that_would_approve_is_refused_at_construction(
    errors: tuple[Any, ...], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        PortOutAnswer.deny(*errors)


def test_an_answer_escapes_all_text() -> None:
    document = PortOutAnswer.deny(
        (7519, "</Description><Portable>true</Portable>"),
        acceptable=AcceptableValues(subscriber_name="A & B <Co>"),
    ).to_xml("<PON>&")
    assert parse_xml(document).raw["Portable"] == "false"
    assert b"&lt;/Description&gt;" in document
    assert b"A &amp; B &lt;Co&gt;" in document
    with pytest.raises(ValueError, match="cannot be written in an XML document"):
        PortOutAnswer.deny((7519, "bell\x07")).to_xml("p")
    with pytest.raises(ValueError, match="no errors"):
        PortOutAnswer(True, [PortOutError.PIN_MISSING])


def test_a_handlers_answer_is_sent_with_the_requests_pon(receiver: Receiver) -> None:
    @receiver.on(PortOutValidationEvent)
    def validate(event: PortOutValidationEvent) -> PortOutAnswer:
        if event.pin != "2222":
            return PortOutAnswer.deny(PortOutError.PIN_INVALID)
        return PortOutAnswer.allow()

    response = post(receiver, REQUEST)
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    answer = parse_xml(response.body)
    assert answer.event_type == "PortOutValidationResponse"
    assert answer.raw["PON"] == "some_pon"
    assert answer.raw["Portable"] == "false"
    assert answer.raw["Errors"]["Error"] == {"Code": "7513", "Description": "PIN Invalid"}
    allowed = post(receiver, REQUEST.replace(b"1111", b"2222"))
    assert canonical(allowed.body) == canonical(example("porting/portout-validation-allow.xml"))


# -- when no answer comes ----------------------------------------------------------------------

REVIEWED = {"Code": "7598", "Description": "Invalid Request"}


def _no_handler(receiver: Receiver) -> None:
    return


def _returns_none(receiver: Receiver) -> None:
    receiver.on(PortOutValidationEvent)(lambda event: None)


def _returns_other(receiver: Receiver) -> None:
    receiver.on(PortOutValidationEvent)(lambda event: True)


def _raises(receiver: Receiver) -> None:
    @receiver.on(PortOutValidationEvent)
    def broken(event: PortOutValidationEvent) -> PortOutAnswer:
        raise RuntimeError("database down")


def _raises_async(receiver: Receiver) -> None:
    @receiver.on(PortOutValidationEvent)
    async def broken(event: PortOutValidationEvent) -> PortOutAnswer:
        raise RuntimeError("database down")


def _none_async(receiver: Receiver) -> None:
    @receiver.on(PortOutValidationEvent)
    async def quiet(event: PortOutValidationEvent) -> None:
        return None


def _cancelled_async(receiver: Receiver) -> None:
    @receiver.on(PortOutValidationEvent)
    async def broken(event: PortOutValidationEvent) -> PortOutAnswer:
        raise asyncio.CancelledError("database down")  # a BaseException: the handler's own


def _cancelled(receiver: Receiver) -> None:
    @receiver.on(PortOutValidationEvent)
    def broken(event: PortOutValidationEvent) -> PortOutAnswer:
        raise asyncio.CancelledError("database down")


def _is_the_failure(error: BaseException | None) -> bool:
    """The handler's exception, as logged: on Python 3.10 ``asyncio.run`` raises a
    cancellation of its own, without the handler's message."""
    if isinstance(error, asyncio.CancelledError) and sys.version_info < (3, 11):
        return True
    return "database down" in str(error)


# Python 3.10 cannot tell a handler's own CancelledError from the request's cancellation
# under an async server, and passes it on (docs/reliability.md, Faults).
ONLY_311 = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="3.10 passes a CancelledError on (documented)"
)
CASES: dict[str, tuple[Callable[[Receiver], None], bool]] = {
    "async cancelled": (_cancelled_async, True),
    "cancelled": (_cancelled, True),
    "no handler": (_no_handler, False),
    "returns None": (_returns_none, False),
    "returns something else": (_returns_other, False),
    "raises": (_raises, True),
    "async raises": (_raises_async, True),
    "async returns None": (_none_async, False),
}


FALLBACK_CASES = [
    pytest.param(
        case,
        asynchronous,
        id=f"{case}-{'handle_async' if asynchronous else 'handle'}",
        marks=ONLY_311 if asynchronous and "cancelled" in case else (),
    )
    for case in sorted(CASES)
    for asynchronous in (False, True)
]


def _send(receiver: Receiver, asynchronous: bool) -> CallbackResponse:
    request = CallbackRequest("POST", "/callbacks", HEADERS, REQUEST)
    if asynchronous:
        return asyncio.run(receiver.handle_async(request))
    return receiver.handle(request)


def _secrets_absent(caplog: pytest.LogCaptureFixture) -> None:
    """Neither the PIN, the account number nor the subscriber name is in any log line, the
    masked DEBUG payload included (which the run shows)."""
    assert any("payload of portOutValidation" in r.getMessage() for r in caplog.records)
    for record in caplog.records:
        text = record.getMessage()
        assert "1111" not in text
        assert "Subscriber Name" not in text
        assert ">777<" not in text
        assert "'777'" not in text
        assert "=777" not in text
        assert " 777" not in text


@pytest.mark.parametrize(("case", "asynchronous"), FALLBACK_CASES)
def test_review_by_default_denies_with_7598(
    case: str, asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    register, raises = CASES[case]
    register(receiver)
    with caplog.at_level(logging.DEBUG, "bwhooks"):
        response = _send(receiver, asynchronous)
    assert response.status == 200
    answer = parse_xml(response.body)
    assert answer.raw["Portable"] == "false"
    assert answer.raw["PON"] == "some_pon"
    assert answer.raw["Errors"]["Error"] == REVIEWED
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    told = [r.getMessage() for r in errors if "exception for a person" in r.getMessage()]
    assert len(told) == 1
    assert "pon=some_pon" in told[0]
    if raises:  # the failure itself is logged with its traceback, never swallowed
        assert any(r.exc_info and _is_the_failure(r.exc_info[1]) for r in errors)
    _secrets_absent(caplog)


@pytest.mark.parametrize(("case", "asynchronous"), FALLBACK_CASES)
def test_approve_keeps_bandwidths_rule(
    case: str, asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), port_out_fallback="approve")
    register, raises = CASES[case]
    register(receiver)
    with caplog.at_level(logging.DEBUG, "bwhooks"):
        response = _send(receiver, asynchronous)
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    told = [m for m in errors if "Bandwidth approves the port-out" in m]
    assert len(told) == 1
    assert "pon=some_pon" in told[0]
    if raises:
        assert response.status == 500
    else:
        assert response.status == 200
        assert canonical(response.body) == canonical(
            example("porting/portout-validation-allow.xml")
        )
    _secrets_absent(caplog)


def test_the_fallback_option_is_checked() -> None:
    assert Receiver(auth=BasicAuth((USER, PASSWORD))).families is DEFAULT
    approving = Receiver(
        auth=BasicAuth((USER, PASSWORD)), port_out_fallback=PortOutFallback.APPROVE
    )
    (numbers,) = [f for f in approving.families.members if isinstance(f, Numbers)]
    assert "approve" in repr(numbers)
    with pytest.raises(ValueError, match="maybe"):
        Receiver(auth=BasicAuth((USER, PASSWORD)), port_out_fallback="maybe")


def test_a_failing_notification_handler_is_a_500_logged_as_lost(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    @receiver.on(OrderNotificationEvent)
    def broken(event: OrderNotificationEvent) -> None:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, "bwhooks"):
        response = post(receiver, example("numbers/order-complete-1.xml"))
    assert response.status == 500
    messages = [r.getMessage() for r in caplog.records]
    assert any("Bandwidth does not retry it" in m and "order_id=a8ef295b" in m for m in messages)


def test_a_notification_is_answered_an_empty_2xx_whatever_the_handler_returns(
    receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.on(OrderNotificationEvent)(lambda event: PortOutAnswer.allow())
    with caplog.at_level(logging.ERROR, "bwhooks"):
        response = post(receiver, example("numbers/order-complete-1.xml"))
    assert (response.status, response.body) == (200, b"")
    assert any("Bandwidth ignores" in r.getMessage() for r in caplog.records)


# -- everywhere ----------------------------------------------------------------------------


def test_handlers_for_the_bases_receive_numbers_events(receiver: Receiver) -> None:
    got: dict[str, list[Event]] = {"event": [], "numbers": [], "order": []}
    receiver.on(Event)(got["event"].append)
    receiver.on(NumbersEvent)(got["numbers"].append)
    receiver.on(OrderNotificationEvent)(got["order"].append)
    for path in ("numbers/order-complete-1.xml", "numbers/event-messaging-lost-1.xml"):
        assert post(receiver, example(path)).status == 200
    assert [type(e) for e in got["event"]] == [OrderNotificationEvent, AccountNotificationEvent]
    assert got["numbers"] == got["event"]
    assert [type(e) for e in got["order"]] == [OrderNotificationEvent]


def test_through_every_transport(connect: Callable[[Receiver], Send]) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    seen: list[Event] = []
    receiver.on(OrderNotificationEvent)(seen.append)

    @receiver.on(PortOutValidationEvent)
    def validate(event: PortOutValidationEvent) -> PortOutAnswer:
        if event.pin == "1111":
            return PortOutAnswer.deny(
                PortOutError.PIN_INVALID,
                (7511, "Invalid Account Code"),
                acceptable=AcceptableValues(
                    pin="2222",
                    account_number="888",
                    zip_code="62025",
                    telephone_numbers=("2223331000",),
                ),
            )
        return PortOutAnswer.allow()

    send = connect(receiver)
    challenge = send(body=REQUEST, headers={"Content-Type": XML})
    assert challenge.status == 401
    assert challenge.headers["WWW-Authenticate"].startswith("Basic realm=")
    denied = send(body=REQUEST, headers=HEADERS)
    assert denied.status == 200
    assert denied.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert canonical(denied.body) == canonical(example("porting/portout-validation-deny.xml"))
    allowed = send(body=REQUEST.replace(b"1111", b"2222"), headers=HEADERS)
    assert canonical(allowed.body) == canonical(example("porting/portout-validation-allow.xml"))
    notified = send(body=example("numbers/order-docs-2023.xml"), headers=HEADERS)
    assert (notified.status, notified.body) == (200, b"")
    assert seen == [parse_xml(example("numbers/order-docs-2023.xml"))]
    assert isinstance(seen[0], OrderNotificationEvent)
    assert seen[0].completed_numbers == ("9195551234", "9195551235")
    refused = send(body=b"<!DOCTYPE n><Notification/>", headers=HEADERS)
    assert refused.status == 400


def test_fastapi_verified_event_reads_xml() -> None:
    from fastapi import Depends, FastAPI
    from fastapi.testclient import TestClient

    from bwhooks.adapters.fastapi import verified_event

    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    app = FastAPI()

    verified = Depends(verified_event(receiver))

    @app.post("/numbers")
    def numbers(event: Event = verified) -> dict[str, Any]:
        assert isinstance(event, OrderNotificationEvent)
        return {"status": event.status, "numbers": list(event.completed_numbers)}

    client = TestClient(app)
    ok = client.post("/numbers", content=example("numbers/order-failed-1.xml"), headers=HEADERS)
    assert ok.json() == {"status": "FAILED", "numbers": ["5402278098"]}
    bad = client.post("/numbers", content=b"<!DOCTYPE n><n/>", headers=HEADERS)
    assert bad.status_code == 400
    assert (
        client.post("/numbers", content=REQUEST, headers={"Content-Type": XML}).status_code == 401
    )
