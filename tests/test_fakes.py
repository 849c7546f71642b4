"""fake_payload / fake_event: realistic, consistent, overridable, always parseable."""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timedelta, timezone

import pytest

from bwhooks import events, parse_event
from bwhooks.decoding.parsing import parse_delivery
from bwhooks.events import EVENT_CLASSES, Event
from bwhooks.testing import (
    KINDS,
    AmbiguousKindWarning,
    UnknownKindError,
    fake_event,
    fake_payload,
)

E164 = re.compile(r"\+1\d{10}")
AMBIGUOUS = ["answer", "gather", "dtmf", "redirect", "transferComplete"]


@pytest.mark.parametrize("cls", EVENT_CLASSES, ids=lambda c: c.__name__)
def test_every_class_has_a_payload_that_parses_back(cls: type[Event]) -> None:
    payload = fake_payload(cls)
    assert type(parse_event(payload)) is cls
    assert type(fake_event(cls)) is cls
    event_type = payload["eventType"] if cls is not events.RejectEvent else "reject"
    assert type(parse_event(fake_payload("v1:" + event_type))) is cls
    if cls.GENERATION == 1 and event_type not in AMBIGUOUS:
        assert type(parse_event(fake_payload(event_type))) is cls


def test_realistic_defaults() -> None:
    payload = fake_payload("v1:answer")
    assert E164.fullmatch(payload["from"])
    assert E164.fullmatch(payload["to"])
    assert payload["callId"].startswith("c-")
    assert payload["callUri"].endswith("/calls/" + payload["callId"])
    event = fake_event("v1:answer")
    assert isinstance(event, events.AnswerEvent)
    assert event.time is not None
    assert abs(datetime.now(timezone.utc) - event.time) < timedelta(seconds=5)
    message = fake_payload("sms")
    assert message["messageId"].startswith("m-")
    assert message["messageUri"].endswith("/messages/" + message["messageId"])


def test_overrides_by_attribute_or_wire_name_and_uris_follow_ids() -> None:
    by_attr = fake_payload("v1:answer", call_id="c-mine", from_="+15550001111")
    by_wire = fake_payload("v1:answer", callId="c-mine", **{"from": "+15550001111"})
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
    answer = fake_event("v1:answer", diversion=diversion)
    assert isinstance(answer, events.AnswerEvent)
    assert answer.diversion == diversion


def test_reject_is_the_wire_hangup() -> None:
    payload = fake_payload("reject")
    assert (payload["eventType"], payload["cause"]) == ("hangup", "CALL_REJECTED")


def test_unknown_name_raises_type_error_listing_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"no field 'colour'.*call_id"):
        fake_payload("v1:answer", colour="blue")


# -- kinds are never guessed -------------------------------------------------------------------


def test_the_kinds_both_generations_send_are_exactly_five() -> None:
    both = {k for k in KINDS if f"v1:{k}" in KINDS and f"v2:{k}" in KINDS}
    assert both == set(AMBIGUOUS)


@pytest.mark.parametrize("kind", AMBIGUOUS)
def test_a_bare_kind_both_generations_send_warns_and_keeps_meaning_v1(kind: str) -> None:
    v1, v2 = KINDS[f"v1:{kind}"], KINDS[f"v2:{kind}"]
    expected = (
        f'"{kind}" is sent by both generations: it means v1 ({v1.__name__}); write '
        f'"v1:{kind}" for v1 or "v2:{kind}" for Voice v2 ({v2.__name__})'
    )
    with pytest.warns(AmbiguousKindWarning) as caught:
        payload = fake_payload(kind)
    assert [str(w.message) for w in caught] == [expected]
    assert caught[0].filename == __file__  # it points at the caller's line
    assert type(parse_event(payload)) is v1
    with pytest.warns(AmbiguousKindWarning) as caught:
        assert type(fake_event(kind)) is v1
    assert caught[0].filename == __file__  # through fake_event too
    assert issubclass(AmbiguousKindWarning, UserWarning)


@pytest.mark.parametrize("kind", AMBIGUOUS)
def test_the_prefixed_spellings_are_silent_and_select_their_generation(kind: str) -> None:
    v1, v2 = KINDS[f"v1:{kind}"], KINDS[f"v2:{kind}"]
    assert v1.GENERATION == 1
    assert v2.GENERATION == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert type(fake_event(f"v1:{kind}")) is v1
        assert type(fake_event(f"v2:{kind}")) is v2
        assert type(parse_event(fake_payload(f"v1:{kind}"))) is v1
        assert type(parse_event(fake_payload(f"v2:{kind}"))) is v2


def test_every_prefixed_spelling_is_silent_and_agrees_with_the_bare_one() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for spelling, cls in KINDS.items():
            if spelling[:3] in ("v1:", "v2:"):
                assert type(fake_event(spelling)) is cls, spelling
                bare = spelling[3:]
                if bare not in AMBIGUOUS:
                    assert KINDS[bare] is cls


@pytest.mark.parametrize(
    ("kind", "nearest"),
    [
        ("hangpu", "did you mean 'hangup'?"),  # v1
        ("v1:dtfm", "did you mean 'v1:dtmf'?"),  # v1, the prefix kept
        ("initate", "did you mean 'initiate'?"),  # Voice v2
        ("v2:anwser", "did you mean 'v2:answer'?"),
        ("message-recieved", "did you mean 'message-received'?"),  # Messaging v2
        ("mesage-failed", "did you mean 'message-failed'?"),
        ("anwser", "did you mean 'v1:answer' or 'v2:answer'?"),  # never the bare ambiguous name
        ("v1:initiate", "did you mean 'initiate'?"),  # the other generation's
        ("Disconnect", "did you mean 'disconnect'?"),  # case
        ("emergencyCal", "did you mean 'emergencyCall'?"),  # the 911 routing query
        ("tollfree:denail", "did you mean 'tollfree:denial'?"),
    ],
)
def test_a_misspelt_kind_is_refused_with_the_nearest_known_ones(kind: str, nearest: str) -> None:
    with pytest.raises(UnknownKindError) as refused:
        fake_payload(kind)
    assert isinstance(refused.value, ValueError)
    assert refused.value.nearest() == f"unknown kind {kind!r}: {nearest}"
    assert str(refused.value).startswith(f"unknown kind {kind!r}: {nearest} (")
    with pytest.raises(UnknownKindError):
        fake_event(kind)


@pytest.mark.parametrize("kind", ["pizza", "v2:holdStarted", "v1:zz", ""])
def test_a_kind_nothing_is_close_to_says_how_to_list_them_and_make_an_unknown_one(
    kind: str,
) -> None:
    with pytest.raises(ValueError, match="no known kind is close") as refused:
        fake_payload(kind)
    assert "bwhooks.testing.KINDS" in str(refused.value)
    assert "fake_payload(UnknownVoiceEvent, event_type=...)" in str(refused.value)
    assert "UnknownMessagingEvent" in str(refused.value)


def test_an_unknown_type_is_made_on_purpose_with_its_class() -> None:
    v1 = fake_payload(events.UnknownEvent, event_type="pizzaDelivered", callId="c-1")
    assert v1 == {"eventType": "pizzaDelivered", "callId": "c-1"}
    event = parse_event(v1)
    assert (type(event), event.event_type, event.raw["callId"]) == (
        events.UnknownEvent,
        "pizzaDelivered",
        "c-1",
    )
    voice = fake_payload(events.UnknownVoiceEvent, event_type="holdStarted", tag="t-2")
    assert (voice["eventType"], voice["tag"]) == ("holdStarted", "t-2")
    assert voice["callUrl"].endswith(voice["callId"])  # a realistic Voice v2 webhook
    (event,) = parse_delivery(voice)
    assert (type(event), event.event_type) == (events.UnknownVoiceEvent, "holdStarted")
    messaging = fake_payload(events.UnknownMessagingEvent, type="message-recalled", count=2)
    assert [element["type"] for element in messaging] == ["message-recalled"] * 2
    assert [(type(e), e.event_type) for e in parse_delivery(messaging)] == [
        (events.UnknownMessagingEvent, "message-recalled")
    ] * 2
    by_event = fake_event(events.UnknownMessagingEvent, event_type="message-recalled")
    assert (type(by_event), by_event.event_type) == (
        events.UnknownMessagingEvent,
        "message-recalled",
    )


@pytest.mark.parametrize("kind", [Event, events.CallEvent, int, 5])
def test_abstract_or_foreign_kinds_are_refused(kind: object) -> None:
    with pytest.raises(TypeError, match="kind"):
        fake_payload(kind)  # type: ignore[arg-type]


def test_ids_differ_between_calls() -> None:
    assert fake_payload("v1:answer")["callId"] != fake_payload("v1:answer")["callId"]
