"""fake_payload / fake_event: realistic, consistent, overridable, always parseable."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from bwhooks import events, parse_event
from bwhooks.events import EVENT_CLASSES, Event
from bwhooks.testing import fake_event, fake_payload

E164 = re.compile(r"\+1\d{10}")


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_every_class_has_a_payload_that_parses_back(cls: type[Event]) -> None:
    payload = fake_payload(cls)
    assert type(parse_event(payload)) is cls
    assert type(fake_event(cls)) is cls
    by_type = fake_payload(payload["eventType"] if cls is not events.RejectEvent else "reject")
    assert type(parse_event(by_type)) is cls


def test_realistic_defaults() -> None:
    payload = fake_payload("answer")
    assert E164.fullmatch(payload["from"])
    assert E164.fullmatch(payload["to"])
    assert payload["callId"].startswith("c-")
    assert payload["callUri"].endswith("/calls/" + payload["callId"])
    event = fake_event("answer")
    assert isinstance(event, events.AnswerEvent)
    assert event.time is not None
    assert abs(datetime.now(timezone.utc) - event.time) < timedelta(seconds=5)
    message = fake_payload("sms")
    assert message["messageId"].startswith("m-")
    assert message["messageUri"].endswith("/messages/" + message["messageId"])


def test_overrides_by_attribute_or_wire_name_and_uris_follow_ids() -> None:
    by_attr = fake_payload("answer", call_id="c-mine", from_="+15550001111")
    by_wire = fake_payload("answer", callId="c-mine", **{"from": "+15550001111"})
    assert by_attr["callUri"].endswith("/calls/c-mine")
    assert by_attr["from"] == by_wire["from"] == "+15550001111"
    member = fake_payload("conference-member", conference_id="conf-1", member_id="member-2")
    assert member["memberUri"].endswith("/conferences/conf-1/members/member-2")


def test_none_leaves_a_field_out_and_python_values_are_written_as_wire() -> None:
    when = datetime(2020, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    payload = fake_payload(events.HangupEvent, call_state=None, time=when)
    assert "callState" not in payload
    assert payload["time"] == "2020-05-06T07:08:09Z"
    diversion = events.Diversion(orig_to="+15551230000", counter=2)
    answer = fake_event("answer", diversion=diversion)
    assert isinstance(answer, events.AnswerEvent)
    assert answer.diversion == diversion


def test_reject_is_the_wire_hangup() -> None:
    payload = fake_payload("reject")
    assert (payload["eventType"], payload["cause"]) == ("hangup", "CALL_REJECTED")


def test_unknown_name_raises_type_error_listing_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"no field 'colour'.*call_id"):
        fake_payload("answer", colour="blue")


def test_unknown_kind_gives_an_unknown_event() -> None:
    event = fake_event("pizzaDelivered", callId="c-1")
    assert type(event) is events.UnknownEvent
    assert event.raw["callId"] == "c-1"


@pytest.mark.parametrize("kind", [Event, events.CallEvent, int, 5])
def test_abstract_or_foreign_kinds_are_refused(kind: object) -> None:
    with pytest.raises(TypeError, match="kind"):
        fake_payload(kind)  # type: ignore[arg-type]


def test_ids_differ_between_calls() -> None:
    assert fake_payload("answer")["callId"] != fake_payload("answer")["callId"]
