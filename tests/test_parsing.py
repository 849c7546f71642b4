"""Parsing rules beyond the examples: leniency, errors, GET decoding, the event contract."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import attrs
import pytest

from bwhooks import (
    BasicAuth,
    CallbackRequest,
    InvalidCallback,
    Receiver,
    events,
    make_converter,
    parse_event,
    to_payload,
)
from bwhooks.auth import basic_authorization
from bwhooks.decoding import decode
from bwhooks.decoding.parsing import (
    MAX_DEPTH,
    decode_json,
    decode_json_body,
    decode_query,
    encode_query,
    loads_bounded,
    nests_deeper,
)
from bwhooks.events import EVENT_CLASSES, Event
from bwhooks.events._base import freeze_raw
from bwhooks.testing import fake_payload


def test_unknown_fields_are_kept_in_raw_and_in_to_payload() -> None:
    payload = {"eventType": "answer", "callId": "c-1", "billingRef": "9900", "nested": {"a": [1]}}
    event = parse_event(payload)
    assert isinstance(event, events.AnswerEvent)
    assert event.raw["billingRef"] == "9900"
    assert to_payload(event)["nested"] == {"a": [1]}


def test_unknown_enum_values_are_accepted_as_strings() -> None:
    event = parse_event({"eventType": "hangup", "cause": "SOMETHING_NEW", "callState": "frozen"})
    assert isinstance(event, events.HangupEvent)
    assert (event.cause, event.call_state) == ("SOMETHING_NEW", "frozen")


def test_unknown_event_type_gives_unknown_event_with_everything_in_raw() -> None:
    payload = {"eventType": "pizzaDelivered", "callId": "c-1", "cause": "hangup"}
    event = parse_event(payload)
    assert type(event) is events.UnknownEvent
    assert event.event_type == "pizzaDelivered"
    assert dict(event.raw) == payload
    assert to_payload(event) == payload


def test_only_event_type_is_required() -> None:
    for cls in EVENT_CLASSES:
        event = parse_event({"eventType": cls.EVENT_TYPES[-1]})
        assert isinstance(event, cls)
        fields = [a for a in attrs.fields(type(event)) if a.name not in ("event_type", "raw")]
        assert all(getattr(event, a.name) is None for a in fields if a.name != "cause")


@pytest.mark.parametrize(
    "payload",
    [{}, {"eventType": ""}, {"eventType": 5}, {"eventType": None}, {"callId": "c-1"}],
)
def test_missing_or_bad_event_type_is_invalid(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidCallback) as caught:
        parse_event(payload)
    assert caught.value.field == "eventType"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"eventType": "answer", "time": "not a date"}, "time"),
        ({"eventType": "answer", "time": 1357}, "time"),
        ({"eventType": "conference", "createdTime": "2013-99-12"}, "createdTime"),
        ({"eventType": "conference-member", "activeMembers": "two"}, "activeMembers"),
        ({"eventType": "conference-member", "hold": "maybe"}, "hold"),
        ({"eventType": "conference-member", "mute": 1}, "mute"),
        ({"eventType": "sms", "segmentCount": 1.5}, "segmentCount"),
        ({"eventType": "sms", "segmentCount": True}, "segmentCount"),
        ({"eventType": "sms", "text": {"a": 1}}, "text"),
        ({"eventType": "sms", "from": ["+1"]}, "from"),
        ({"eventType": "mms", "media": 7}, "media"),
        ({"eventType": "mms", "media": [1.5]}, "media"),
        ({"eventType": "answer", "diversion": "{not json"}, "diversion"),
        ({"eventType": "answer", "diversion": [1]}, "diversion"),
        ({"eventType": "answer", "diversion": {"counter": "x"}}, "diversion.counter"),
        ({"eventType": "recording", "endTime": True}, "endTime"),
    ],
)
def test_unconvertible_field_is_invalid_and_named_by_its_wire_name(
    payload: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidCallback) as caught:
        parse_event(payload)
    assert caught.value.field == field
    assert field in caught.value.reason


def test_invalid_callback_reason_never_echoes_the_value() -> None:
    with pytest.raises(InvalidCallback) as caught:
        parse_event({"eventType": "answer", "time": "secret-looking-value"})
    assert "secret-looking-value" not in str(caught.value)


def test_lenient_scalars_from_json() -> None:
    event = parse_event(
        {"eventType": "sms", "deliveryCode": "720", "segmentCount": 2.0, "text": 42}
    )
    assert isinstance(event, events.SmsEvent)
    assert (event.delivery_code, event.segment_count, event.text) == (720, 2, "42")


def test_reject_is_a_hangup_with_call_rejected_or_a_literal_reject() -> None:
    rejected = parse_event({"eventType": "hangup", "cause": "CALL_REJECTED"})
    literal = parse_event({"eventType": "reject", "cause": "NORMAL_CLEARING"})
    hangup = parse_event({"eventType": "hangup", "cause": "USER_BUSY"})
    assert type(rejected) is events.RejectEvent
    assert type(literal) is events.RejectEvent
    assert type(hangup) is events.HangupEvent
    assert isinstance(rejected, events.HangupEvent)
    assert to_payload(rejected)["eventType"] == "hangup"
    assert to_payload(literal)["eventType"] == "reject"


def test_event_type_matches_case_insensitively_and_is_kept_as_sent() -> None:
    event = parse_event({"eventType": "incomingCall", "callId": "c-1"})
    assert type(event) is events.IncomingCallEvent
    assert event.event_type == "incomingCall"


def test_events_are_frozen_slotted_and_raw_is_read_only() -> None:
    event = parse_event({"eventType": "answer", "callId": "c-1", "extra": 1})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.event_type = "c-2"  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.raw["extra"] = 2  # type: ignore[index]
    assert not hasattr(event, "__dict__")


def test_raw_is_out_of_equality_hashing_and_repr() -> None:
    one = parse_event({"eventType": "answer", "callId": "c-1", "extra": "a"})
    two = parse_event({"eventType": "answer", "callId": "c-1", "extra": "b"})
    assert one == two
    assert hash(one) == hash(two)
    assert "extra" not in repr(one)
    assert one != parse_event({"eventType": "answer", "callId": "c-2"})


def test_raw_does_not_follow_later_changes_to_the_callers_dict() -> None:
    payload: dict[str, Any] = {"eventType": "answer", "callId": "c-1"}
    event = parse_event(payload)
    payload["callId"] = "c-changed"
    assert event.raw["callId"] == "c-1"


def test_events_can_be_built_directly_with_their_wire_event_type() -> None:
    event = events.AnswerEvent(call_id="c-1")
    assert event.event_type == "answer"
    assert events.RejectEvent().event_type == "hangup"
    assert events.RejectEvent().cause == "CALL_REJECTED"
    with pytest.raises(TypeError):
        events.UnknownEvent()  # type: ignore[call-arg]


def test_concrete_events_do_not_inherit_from_each_other_except_reject() -> None:
    for cls in EVENT_CLASSES:
        concrete_bases = [base for base in cls.__mro__[1:] if base in EVENT_CLASSES]
        assert concrete_bases == ([events.HangupEvent] if cls is events.RejectEvent else [])
        assert issubclass(cls, Event)
        assert attrs.has(cls)
        assert attrs.fields(cls)


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_round_trip_for_every_event_class(cls: type[Event]) -> None:
    event = parse_event(fake_payload(cls))
    assert type(event) is cls
    assert parse_event(to_payload(event)) == event
    assert parse_event(json.loads(json.dumps(to_payload(event)))) == event
    via_get = parse_event(decode_query(encode_query(to_payload(event)).encode()))
    assert via_get == event


def test_to_payload_writes_wire_types() -> None:
    event = events.MmsEvent(
        message_id="m-1",
        from_="+1",
        time=datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        media=("a", "b"),
        segment_count=1,
    )
    assert to_payload(event) == {
        "eventType": "mms",
        "messageId": "m-1",
        "from": "+1",
        "time": "2020-01-02T03:04:05Z",
        "media": ["a", "b"],
        "segmentCount": 1,
    }


def test_strict_converter_rejects_unknown_fields_lenient_keeps_them() -> None:
    payload = {"eventType": "dtmf", "dtmfDigit": "1", "brandNew": True, "alsoNew": 1}
    with pytest.raises(InvalidCallback) as raised:
        parse_event(payload, converter=make_converter(strict=True))
    assert raised.value.reason == "unexpected fields: alsoNew, brandNew"
    assert parse_event(payload).raw["brandNew"] is True


class TestGetDecoding:
    def test_plus_is_a_space_and_percent_2b_a_plus(self) -> None:
        decoded = decode_query(b"text=hi+there&from=%2B1919&eventType=sms")
        assert decoded == {"text": "hi there", "from": "+1919", "eventType": "sms"}

    def test_repeated_keys_give_a_tuple(self) -> None:
        decoded = decode_query(b"eventType=mms&media=a&media=b&media=c")
        event = parse_event(decoded)
        assert isinstance(event, events.MmsEvent)
        assert event.media == ("a", "b", "c")
        assert event.raw["media"] == ("a", "b", "c")

    def test_single_media_value_is_a_one_tuple(self) -> None:
        event = parse_event(decode_query(b"eventType=mms&media=http%3A%2F%2Fx%2Fa.gif"))
        assert isinstance(event, events.MmsEvent)
        assert event.media == ("http://x/a.gif",)

    def test_values_convert_to_declared_types(self) -> None:
        event = parse_event(
            decode_query(b"eventType=conference-member&activeMembers=3&hold=true&mute=FALSE")
        )
        assert isinstance(event, events.ConferenceMemberEvent)
        assert (event.active_members, event.hold, event.mute) == (3, True, False)

    def test_invalid_utf8_is_invalid(self) -> None:
        with pytest.raises(InvalidCallback):
            decode_query(b"eventType=sms&text=%ff%fe")
        with pytest.raises(InvalidCallback):
            decode_query(b"eventType=sms&text=\xff")

    def test_too_many_parameters_is_invalid(self) -> None:
        with pytest.raises(InvalidCallback):
            decode_query(b"&".join(b"k%d=v" % i for i in range(2000)))


class TestJsonBody:
    @pytest.mark.parametrize(
        "body",
        [b"", b"   ", b"{", b"[1, 2]", b'"answer"', b"null", b"\xff\xfe\x00", b"[" * 100_000],
    )
    def test_bad_bodies_are_invalid(self, body: bytes) -> None:
        with pytest.raises(InvalidCallback):
            decode_json_body(body)

    def test_utf8_body(self) -> None:
        decoded = decode_json_body('{"eventType": "sms", "text": "héllo ✓"}'.encode())
        assert decoded["text"] == "héllo ✓"


class TestNumbers:
    def test_numbers_past_64_bits_stay_exact(self) -> None:
        """A big integer in a field bwhooks knows or in one it does not, read exactly."""
        big = 123456789012345678901234567890
        receiver = Receiver(auth=BasicAuth(("u", "p")))
        seen: list[Event] = []
        receiver.on(Event)(seen.append)
        headers = {
            "Authorization": basic_authorization("u", "p"),
            "Content-Type": "application/json",
        }
        for extra in ({"segmentCount": big}, {"futureField": big}, {"future": {"n": [big]}}):
            body = json.dumps({**fake_payload("sms"), **extra}).encode()
            assert receiver.handle(CallbackRequest("POST", "/cb", headers, body)).status == 200
            assert json.loads(json.dumps(to_payload(seen[-1]))) == json.loads(body)
        assert seen[0].segment_count == big  # type: ignore[attr-defined]
        assert seen[1].raw["futureField"] == big
        assert seen[2].raw["future"]["n"] == [big]

    def test_nan_and_infinity_in_unknown_fields_are_kept(self) -> None:
        """Not JSON, but Python's reader takes them: the general path keeps them in raw."""
        (event,) = decode(CallbackRequest("POST", "/cb", {}, b'{"eventType": "sms", "x": NaN}'))
        assert event.raw["x"] != event.raw["x"]


# -- the nesting bound, and text that is not UTF-8 -------------------------------------------

TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"


def test_nesting_is_measured_without_recursion() -> None:
    value: Any = 1
    for _ in range(100_000):  # far past what any recursive walk survives
        value = [{"a": value}]
    assert nests_deeper(value)
    at_the_bound = json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert not nests_deeper(at_the_bound)
    assert nests_deeper([at_the_bound])
    assert not nests_deeper(freeze_raw({"a": at_the_bound[0]}))  # raw as events keep it
    assert nests_deeper(freeze_raw({"a": at_the_bound}))
    assert not nests_deeper("[[[[")
    assert not nests_deeper(None)


@pytest.mark.parametrize(
    "text",
    [
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        b'{"a":' * 600 + b"1" + b"}" * 600,  # short of the decoder's own limit
        b"[" * 100_000 + b"]" * 100_000,  # past it: the decoder's RecursionError
    ],
)
def test_json_nested_past_the_bound_is_refused(text: str | bytes) -> None:
    with pytest.raises(InvalidCallback, match=TOO_DEEP):
        loads_bounded(text)


def test_json_at_the_bound_is_read() -> None:
    text = '{"a":' * (MAX_DEPTH - 1) + "[1]" + "}" * (MAX_DEPTH - 1)
    assert loads_bounded(text) == json.loads(text)


class TestQueryStrings:
    def test_a_name_given_more_than_once_gives_every_value_whole(self) -> None:
        assert decode_query(b"tag=ab&tag=cd&tag=ef&one=x") == {
            "tag": ("ab", "cd", "ef"),
            "one": "x",
        }

    @pytest.mark.parametrize(
        ("query", "reason"),
        [
            (b"from=%FF", "query string is not UTF-8"),
            (b"&".join(b"f%d=1" % n for n in range(1001)), "too many query parameters"),
        ],
    )
    def test_refusals_say_why(self, query: bytes, reason: str) -> None:
        with pytest.raises(InvalidCallback) as raised:
            decode_query(query)
        assert raised.value.reason == reason

    def test_encoding_writes_booleans_lists_and_compact_objects(self) -> None:
        payload = {"a": True, "b": False, "c": ["x", "y"], "d": {"k": "v", "n": [1, 2]}, "e": 3}
        assert encode_query(payload) == (
            "a=true&b=false&c=%5Bx%2C+y%5D&d=%7B%22k%22%3A%22v%22%2C%22n%22%3A%5B1%2C2%5D%7D&e=3"
        )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"eventType": "sms", "a": ' + b"[" * 2000 + b"]" * 2000 + b"}", TOO_DEEP),
        ('{"eventType": "sms", "text": "café"}'.encode("latin-1"), "body is not UTF-8"),
        (b'{"eventType": "sms", "text": "\xc3\x28"}', "body is not UTF-8"),
        (b'{"eventType": "sms", "text": "x"', "malformed JSON"),
    ],
)
def test_a_body_that_cannot_be_read_says_why(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidCallback) as refused:
        decode_json(body)
    assert refused.value.reason.startswith(reason)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (b"eventType=answer&diversion=", "diversion"),  # v1, through cattrs
        (b"eventType=answer&accountId=1&machineDetectionResult=", "machineDetectionResult"),
        (b"eventType=initiate&accountId=1&sipHeaders=", "sipHeaders"),  # a Mapping[str, str]
    ],
)
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 600, 5000])
def test_a_get_parameter_nested_past_the_bound_refuses_the_callback(
    query: bytes, field: str, depth: int
) -> None:
    deep = b"%7B%22a%22%3A" * depth + b"1" + b"%7D" * depth  # {"a": ... }, percent-encoded
    with pytest.raises(InvalidCallback) as refused:  # v2 too: no field left None
        decode(CallbackRequest("GET", "/cb", {}, b"", query + deep))
    assert refused.value.reason == f"invalid {field}: {TOO_DEEP}"
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[1, 2]", "a callback must be a JSON object"),
        (b'"text"', "a callback must be a JSON object or array"),
        (b"7", "a callback must be a JSON object or array"),
    ],
)
def test_a_body_that_is_no_object_says_so(body: bytes, reason: str) -> None:
    with pytest.raises(InvalidCallback) as raised:
        decode_json_body(body)
    assert raised.value.reason == reason


def test_sip_headers_are_kept_name_for_name_on_the_general_path() -> None:
    """A mapping of names as sent (X- headers are not camelCase), values as strings."""
    from bwhooks.decoding.parsing import parse_event
    from bwhooks.events import VoiceInitiateEvent

    payload = {**fake_payload("v2:initiate"), "sipHeaders": {"X-Tenant-Id": "t-1", "x-n": 7}}
    event = parse_event(payload)
    assert isinstance(event, VoiceInitiateEvent)
    assert dict(event.sip_headers or {}) == {"X-Tenant-Id": "t-1", "x-n": "7"}


def test_event_class_for_tells_the_generation_and_the_unknown() -> None:
    from bwhooks.decoding.parsing import event_class_for

    assert event_class_for("answer", {"callId": "c-1"}) is events.AnswerEvent
    assert event_class_for("answer", {"callId": "c-1", "accountId": "1"}) is (
        events.VoiceAnswerEvent
    )
    assert event_class_for("hangup", {"cause": "CALL_REJECTED"}) is events.RejectEvent
    assert event_class_for("pizzaDelivered", {}) in events.UNKNOWN_EVENT_CLASSES


@pytest.mark.parametrize(("sent", "read"), [(0.5, 0.5), (1, 1.0), ("0.25", 0.25)])
def test_a_float_is_read_from_a_number_or_its_text_on_the_general_path(
    sent: Any, read: float
) -> None:
    payload = fake_payload("v2:transcriptionAvailable")
    payload["transcription"] = {"text": "hello", "confidence": sent}
    event = parse_event(payload)
    assert isinstance(event, events.VoiceTranscriptionAvailableEvent)
    assert event.transcription is not None
    assert event.transcription.confidence == read
    assert type(event.transcription.confidence) is float


@pytest.mark.parametrize("sent", [True, [0.5], "high"])
def test_a_float_that_is_no_number_is_none_on_the_general_path(sent: Any) -> None:
    """Voice v2 keeps the event and drops the field it cannot read (logged)."""
    payload = fake_payload("v2:transcriptionAvailable")
    payload["transcription"] = {"text": "hello", "confidence": sent}
    event = parse_event(payload)
    assert isinstance(event, events.VoiceTranscriptionAvailableEvent)
    assert event.transcription is not None
    assert event.transcription.text == "hello"
    assert event.transcription.confidence is None
