"""Every documented example (POST JSON and GET) parses to the right class and typed values."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from support import (
    check_declared_types,
    get_example_names,
    json_example_names,
    load_get_example,
    load_json_example,
)

from bwhooks import events, make_converter, parse_event, to_payload
from bwhooks.decoding.parsing import decode_query
from bwhooks.events import Diversion, Event

STRICT = make_converter(strict=True)

# The file name's event (before "-<n>") -> the class; reject-* files are wire "hangup"s.
CLASS_BY_PREFIX: dict[str, type[Event]] = {
    "answer": events.AnswerEvent,
    "conference": events.ConferenceEvent,
    "conference-member": events.ConferenceMemberEvent,
    "conference-playback": events.ConferencePlaybackEvent,
    "conference-speak": events.ConferenceSpeakEvent,
    "dtmf": events.DtmfEvent,
    "error": events.ErrorEvent,
    "gather": events.GatherEvent,
    "hangup": events.HangupEvent,
    "incomingcall": events.IncomingCallEvent,
    "mms": events.MmsEvent,
    "playback": events.PlaybackEvent,
    "recording": events.RecordingEvent,
    "redirect": events.RedirectEvent,
    "reject": events.RejectEvent,
    "sms": events.SmsEvent,
    "speak": events.SpeakEvent,
    "timeout": events.TimeoutEvent,
    "transcription": events.TranscriptionEvent,
    "transferComplete": events.TransferCompleteEvent,
}
UTC = timezone.utc


def expected_class(name: str) -> type[Event]:
    return CLASS_BY_PREFIX[name.rsplit("-", 1)[0]]


@pytest.mark.parametrize("name", json_example_names())
def test_every_json_example_parses_strictly_and_round_trips(name: str) -> None:
    payload = load_json_example(name)
    event = parse_event(payload, converter=STRICT)  # no field the models do not know
    assert type(event) is expected_class(name)
    assert event.event_type == payload["eventType"]
    assert dict(event.raw) == payload
    check_declared_types(event)
    assert parse_event(to_payload(event)) == event
    assert to_payload(event).keys() == payload.keys()  # nothing lost, nothing invented


@pytest.mark.parametrize("name", get_example_names())
def test_every_get_example_parses_strictly(name: str) -> None:
    query = decode_query(load_get_example(name))
    event = parse_event(query, converter=STRICT)
    assert type(event) is expected_class(name)
    assert all(isinstance(value, str) for value in event.raw.values())
    check_declared_types(event)
    assert parse_event(to_payload(event)) == event


EXPECTED: list[tuple[str, dict[str, Any]]] = [
    (
        "answer-3.json",
        {
            "call_id": "c-jjm3aiicnpngixjjelyomda",
            "from_": "+15753222083",
            "to": "+13865245000",
            "call_state": "active",
            "application_id": "a-25nh2lj6qrxznkfu4b732jy",
            "time": datetime(2012, 11, 14, 16, 28, 31, 536000, tzinfo=UTC),
            "tag": None,
            "diversion": None,
        },
    ),
    (
        "answer-5.json",
        {"to": "sip:jsmith_mobile@xyz-corp-testing.bwapp.bwsip.io", "from_": "+1555444333"},
    ),
    (
        "conference-3.json",
        {
            "conference_id": "conf-epztvv7s56cspvamqw7rwka",
            "status": "created",
            "created_time": datetime(
                2013, 7, 12, 16, 26, 55, 685000, tzinfo=timezone(timedelta(hours=-2))
            ),
            "completed_time": None,
        },
    ),
    (
        "conference-member-3.json",
        {"active_members": 1, "hold": False, "mute": True, "state": "active"},
    ),
    ("dtmf-3.json", {"dtmf_digit": "2", "dtmf_duration": 1400, "call_id": "c-xx"}),
    ("error-1.json", {"call_state": "error", "call_id": "c-kmg", "time": None}),
    (
        "gather-1.json",
        {"reason": "max-digits", "digits": "25", "state": "completed", "tag": "{tag}"},
    ),
    ("hangup-3.json", {"cause": "NORMAL_CLEARING", "call_state": None}),
    (
        "mms-1.json",
        {
            "segment_count": 1,
            "direction": "in",
            "media": (
                "https://api.catapult.inetwork.com/v1/users/{user-id}/media/"
                "A3087419-73C2-4A03-BB39-06BF3B1C240F-m-dr4mcch2wfb6frcls677glq.jpg",
                "https://api.catapult.inetwork.com/v1/users/{user-id}/media/"
                "123_1-m-dr4mcch2wfb6frcls677glq.smil",
            ),
        },
    ),
    ("playback-3.json", {"status": "done", "tag": "abc123"}),
    (
        "recording-3.json",
        {
            "state": "error",
            "status": "error",
            "start_time": datetime(2013, 8, 19, 16, 56, 57, 643000, tzinfo=UTC),
            "end_time": datetime(2013, 8, 19, 16, 57, 8, 712000, tzinfo=UTC),
        },
    ),
    (
        "reject-1.json",
        {
            "event_type": "hangup",
            "cause": "CALL_REJECTED",
            "call_state": "completed",
            "time": datetime(2014, 4, 23, 11, 53, 43, tzinfo=timezone(timedelta(hours=-3))),
        },
    ),
    (
        "sms-7.json",
        {
            "direction": "out",
            "state": "sent",
            "delivery_state": "not-delivered",
            "delivery_code": 720,
            "delivery_description": "Invalid Destination Address",
        },
    ),
    ("speak-3.json", {"state": "PLAYBACK_STOP", "status": "done", "type": "speak"}),
    ("timeout-3.json", {"tag": "c-2mdp", "from_": "+16824595961"}),
    (
        "transcription-1.json",
        {"text_size": 3627, "status": "completed", "transcription_id": "{transcriptionId}"},
    ),
]


@pytest.mark.parametrize(("name", "values"), EXPECTED, ids=[name for name, _ in EXPECTED])
def test_json_example_values(name: str, values: dict[str, Any]) -> None:
    event = parse_event(load_json_example(name))
    assert {key: getattr(event, key) for key in values} == values


def test_get_answer_converts_strings_to_declared_types() -> None:
    event = parse_event(decode_query(load_get_example("answer-1.txt")))
    assert isinstance(event, events.AnswerEvent)
    assert event.withhold_caller_number is False
    assert event.withhold_caller_name is False
    assert event.display_name == "{number}"
    assert event.time == datetime(2016, 2, 20, 16, 22, 30, tzinfo=UTC)
    assert event.call_uri == "https://api.catapult.inetwork.com/v1/users/{user-id}/calls/{call-id}"
    assert event.diversion == Diversion(
        privacy="off", screen="no", reason="unavailable", counter=1, orig_to="{number}"
    )
    assert event.raw["withholdCallerNumber"] == "false"


def test_get_mms_bracketed_media_list_becomes_a_tuple() -> None:
    event = parse_event(decode_query(load_get_example("mms-1.txt")))
    assert isinstance(event, events.MmsEvent)
    assert event.media == ("{full-url}/giphy-m-asdf.gif", "{full-url}/123_1-m-asdf.smil")
    assert event.from_ == "+19191231111"  # %2B is a plus
    assert event.segment_count == 1


def test_get_and_post_forms_give_the_same_event() -> None:
    get = parse_event(decode_query(load_get_example("sms-1.txt")))
    post = parse_event(
        {
            "messageId": "m-asdf",
            "from": "+19191231111",
            "eventType": "sms",
            "text": "test",
            "time": "2016-12-01T16:04:49Z",
            "to": "+13204601164",
            "state": "received",
            "applicationId": "a-yr3jpxasdfh5xh5e35saoi",
            "direction": "in",
            "segmentCount": 1,
            "messageUri": "https://api.catapult.inetwork.com/v1/users/u-123/messages/m-asdf",
        }
    )
    assert get == post


def test_get_gather_terminating_digit_is_decoded() -> None:
    event = parse_event(decode_query(load_get_example("gather-1.txt")))
    assert isinstance(event, events.GatherEvent)
    assert event.terminating_digit == "#"
    assert event.reason == "terminating-digit"


def test_corrected_timeout_example_keeps_its_plus_signs() -> None:
    event = parse_event(decode_query(load_get_example("timeout-1.txt")))
    assert isinstance(event, events.TimeoutEvent)
    assert (event.to, event.from_) == ("+19192223333", "+19105553333")


@pytest.mark.parametrize("name", json_example_names())
def test_the_lenient_and_the_strict_converter_agree(name: str) -> None:
    """On every example the default converter gives what the strict one gives (the compiled
    path against both: test_compiled.py)."""
    payload = load_json_example(name)
    fast = parse_event(payload)
    slow = parse_event(payload, converter=STRICT)
    assert fast == slow
    assert [getattr(fast, a.name) for a in attrs.fields(type(fast))] == [
        getattr(slow, a.name) for a in attrs.fields(type(slow))
    ]
