"""Every Voice v2 and Messaging v2 example parses to its class with typed values; the rule
that tells v1 from v2 on one URL; the v2 hierarchy; no v2 event lost to one bad field."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Mapping
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
    load_v2_example,
    v2_example_names,
)

import bwhooks
from bwhooks import events, make_converter, parse_event, to_payload
from bwhooks.decoding.parsing import decode_query, encode_query, parse_delivery, wire_key
from bwhooks.errors import InvalidCallback
from bwhooks.events import Event
from bwhooks.events.timestamps import Duration
from bwhooks.families.voice import V2_KEYS, shared_event_types

STRICT = make_converter(strict=True)
UTC = timezone.utc
SHARED_EVENT_TYPES = shared_event_types()

# The file name's kind (before "-<n>") -> the class.
CLASS_BY_PREFIX: dict[str, type[Event]] = {
    "answer": events.VoiceAnswerEvent,
    "bridgeComplete": events.VoiceBridgeCompleteEvent,
    "bridgeTargetComplete": events.VoiceBridgeTargetCompleteEvent,
    "callComplete": events.VoiceCallCompleteEvent,
    "conferenceCompleted": events.VoiceConferenceCompletedEvent,
    "conferenceCreated": events.VoiceConferenceCreatedEvent,
    "conferenceMemberExit": events.VoiceConferenceMemberExitEvent,
    "conferenceMemberJoin": events.VoiceConferenceMemberJoinEvent,
    "conferenceRecordingAvailable": events.VoiceConferenceRecordingAvailableEvent,
    "conferenceRedirect": events.VoiceConferenceRedirectEvent,
    "disconnect": events.VoiceDisconnectEvent,
    "dtmf": events.VoiceDtmfEvent,
    "gather": events.VoiceGatherEvent,
    "initiate": events.VoiceInitiateEvent,
    "machineDetectionComplete": events.VoiceMachineDetectionCompleteEvent,
    "mediaStreamRejected": events.VoiceMediaStreamRejectedEvent,
    "mediaStreamStarted": events.VoiceMediaStreamStartedEvent,
    "mediaStreamStopped": events.VoiceMediaStreamStoppedEvent,
    "realTimeTranscriptionAvailable": events.VoiceRealTimeTranscriptionAvailableEvent,
    "realTimeTranscriptionRejected": events.VoiceRealTimeTranscriptionRejectedEvent,
    "realTimeTranscriptionStarted": events.VoiceRealTimeTranscriptionStartedEvent,
    "realTimeTranscriptionStopped": events.VoiceRealTimeTranscriptionStoppedEvent,
    "recordComplete": events.VoiceRecordCompleteEvent,
    "recordingAvailable": events.VoiceRecordingAvailableEvent,
    "redirect": events.VoiceRedirectEvent,
    "transcriptionAvailable": events.VoiceTranscriptionAvailableEvent,
    "transferAnswer": events.VoiceTransferAnswerEvent,
    "transferComplete": events.VoiceTransferCompleteEvent,
    "transferDisconnect": events.VoiceTransferDisconnectEvent,
    "message-delivered": events.MessageDeliveredEvent,
    "message-failed": events.MessageFailedEvent,
    "message-received": events.MessageReceivedEvent,
    "message-sending": events.MessageSendingEvent,
}
V1_CLASS_BY_PREFIX = {
    "answer": events.AnswerEvent,
    "dtmf": events.DtmfEvent,
    "gather": events.GatherEvent,
    "redirect": events.RedirectEvent,
    "transferComplete": events.TransferCompleteEvent,
}


def expected_class(name: str) -> type[Event]:
    return CLASS_BY_PREFIX[name.rsplit("-", 1)[0]]


def elements_of(name: str) -> list[dict[str, Any]]:
    data = load_v2_example(name)
    return data if isinstance(data, list) else [data]


@pytest.mark.parametrize("name", v2_example_names())
def test_every_v2_example_parses_strictly_to_its_class(name: str) -> None:
    data = load_v2_example(name)
    parsed = parse_delivery(data, converter=STRICT)  # no field the models do not know
    assert [type(e) for e in parsed] == [expected_class(name)] * len(elements_of(name))
    assert parse_delivery(data) == parsed  # the lenient default gives the same
    for event, element in zip(parsed, elements_of(name), strict=True):
        assert event.GENERATION == 2
        assert dict(event.raw) == element
        assert event.raw.get("eventType", event.raw.get("type")) == event.event_type
        check_declared_types(event)


@pytest.mark.parametrize("name", v2_example_names())
def test_every_v2_example_round_trips_through_to_payload(name: str) -> None:
    for event, element in zip(
        parse_delivery(load_v2_example(name)), elements_of(name), strict=True
    ):
        payload = to_payload(event)
        assert parse_event(payload) == event
        # nothing lost, nothing invented (the transcription object under its main key)
        renamed = {"transcription": "realTimeTranscription"} if "Transcription" in name else {}
        assert payload.keys() == {renamed.get(key, key) for key in element}
        assert json.loads(json.dumps(payload))  # JSON-ready, raw's read-only values thawed


def test_typed_values_of_voice_examples() -> None:
    answer = parse_event(load_v2_example("answer-3.json"))
    assert isinstance(answer, events.VoiceAnswerEvent)
    assert answer.event_time == datetime(2021, 11, 10, 11, 20, 2, 950000, tzinfo=UTC)
    assert (answer.from_, answer.to, answer.direction) == (
        "+15551112222",
        "+15553334444",
        "outbound",
    )
    assert answer.tag == "example-tag"
    result = answer.machine_detection_result
    assert result is not None
    assert result.value == "answering-machine"
    assert result.duration == timedelta(seconds=5, microseconds=45329)
    assert result.duration is not None
    assert result.duration.iso == "PT5.045329368S"

    recording = parse_event(load_v2_example("recordingAvailable-1.json"))
    assert isinstance(recording, events.VoiceRecordingAvailableEvent)
    # "2019-09-13T16:49:40.500": no zone, read as UTC
    assert recording.event_time == datetime(2019, 9, 13, 16, 49, 40, 500000, tzinfo=UTC)
    assert recording.channels == 1
    assert recording.duration is not None
    assert recording.duration.total_seconds() == 20.056
    assert (recording.status, recording.file_format) == ("complete", "wav")

    stopped = parse_event(load_v2_example("realTimeTranscriptionStopped-1.json"))
    assert isinstance(stopped, events.VoiceRealTimeTranscriptionStoppedEvent)
    transcription = stopped.real_time_transcription  # the example calls it "transcription"
    assert transcription is not None
    assert transcription.tracks == ("inbound", "outbound")
    assert transcription.duration is not None
    assert transcription.duration.iso == "PT1M52.217257456S"
    assert stopped.cause == "closed"

    available = parse_event(load_v2_example("transcriptionAvailable-1.json"))
    assert isinstance(available, events.VoiceTranscriptionAvailableEvent)
    assert available.transcription is not None
    assert available.transcription.status == "available"
    assert available.transcription.completed_time == datetime(
        2019, 9, 13, 16, 49, 28, 883000, tzinfo=UTC
    )

    initiate = parse_event(load_v2_example("initiate-3.json"))
    assert isinstance(initiate, events.VoiceInitiateEvent)
    assert initiate.uui is not None
    assert initiate.uui.endswith(";encoding=base64")

    rejected = parse_event(load_v2_example("mediaStreamRejected-1.json"))
    assert isinstance(rejected, events.VoiceMediaStreamRejectedEvent)
    assert rejected.media_stream is not None
    assert rejected.original_media_stream is not None
    assert rejected.media_stream.name == rejected.original_media_stream.name


def test_typed_values_of_messaging_examples() -> None:
    (received,) = parse_delivery(load_v2_example("message-received-5.json"))
    assert isinstance(received, events.MessageReceivedEvent)
    assert received.event_type == "message-received"  # the element's "type"
    message = received.message
    assert message is not None
    assert message.to == ("+12345678902", "+12345678903")
    assert message.media is not None
    assert message.media[0].endswith("/bw.png")
    assert (message.segment_count, message.direction, message.from_) == (1, "in", "+12345678901")
    assert received.time == datetime(2016, 9, 14, 18, 20, 16, tzinfo=UTC)

    for name in ("message-failed-1.json", "message-failed-3.json"):
        (failed,) = parse_delivery(load_v2_example(name))
        assert isinstance(failed, events.MessageFailedEvent)
        assert isinstance(failed.error_code, int)


def test_raw_is_read_only_all_the_way_down() -> None:
    (event,) = parse_delivery(load_v2_example("message-received-5.json"))
    with pytest.raises(TypeError):
        event.raw["message"]["text"] = "changed"
    recipients = event.raw["message"]["to"]
    assert recipients == ["+12345678902", "+12345678903"]  # equal to the list received
    with pytest.raises((TypeError, AttributeError)):
        recipients.append("+19999999999")


# -- one URL for both generations ------------------------------------------------------------


def test_the_v2_keys_never_occur_in_a_v1_payload_of_a_shared_type() -> None:
    v1_keys = {
        wire_key(field)
        for cls in V1_CLASS_BY_PREFIX.values()
        for field in attrs.fields(cls)
        if field.name != "raw"
    }
    assert not V2_KEYS & v1_keys
    assert set(V1_CLASS_BY_PREFIX) == SHARED_EVENT_TYPES
    for name in json_example_names():
        payload = load_json_example(name)
        if payload["eventType"] in SHARED_EVENT_TYPES:
            assert not V2_KEYS & payload.keys(), name
    for name in get_example_names():
        query = decode_query(load_get_example(name))
        if query["eventType"] in SHARED_EVENT_TYPES:
            assert not V2_KEYS & query.keys(), name


@pytest.mark.parametrize("name", json_example_names())
def test_every_v1_example_stays_v1(name: str) -> None:
    event = parse_event(load_json_example(name))
    assert event.GENERATION == 1
    assert not isinstance(event, events.VoiceEvent | events.MessagingEvent)


@pytest.mark.parametrize("name", get_example_names())
def test_every_v1_get_example_stays_v1(name: str) -> None:
    event = parse_event(decode_query(load_get_example(name)))
    assert event.GENERATION == 1


@pytest.mark.parametrize(
    "name", [n for n in v2_example_names() if n.rsplit("-", 1)[0] in SHARED_EVENT_TYPES]
)
def test_a_shared_type_is_v2_by_its_keys_and_v1_without_them(name: str) -> None:
    payload = load_v2_example(name)
    assert type(parse_event(payload)) is expected_class(name)
    stripped = {k: v for k, v in payload.items() if k not in V2_KEYS}
    assert type(parse_event(stripped)) is V1_CLASS_BY_PREFIX[payload["eventType"]]
    for key in sorted(V2_KEYS & payload.keys()):  # any one v2 key is enough
        assert type(parse_event({**stripped, key: payload[key]})) is expected_class(name)


@pytest.mark.parametrize("name", [n for n in v2_example_names() if not n.startswith("message-")])
def test_voice_v2_get_callbacks_give_the_same_event(name: str) -> None:
    payload = load_v2_example(name)
    query = decode_query(encode_query(payload).encode())  # objects travel as JSON text
    event = parse_event(query)
    assert type(event) is expected_class(name)
    assert event == parse_event(payload)


def test_both_spellings_of_record_complete() -> None:
    payload = load_v2_example("recordComplete-1.json")
    for spelling in ("recordComplete", "recordingComplete"):
        event = parse_event({**payload, "eventType": spelling})
        assert type(event) is events.VoiceRecordCompleteEvent
        assert event.event_type == spelling


def test_both_keys_of_the_real_time_transcription_object() -> None:
    payload = load_v2_example("realTimeTranscriptionStopped-1.json")
    renamed = {
        ("realTimeTranscription" if k == "transcription" else k): v for k, v in payload.items()
    }
    assert parse_event(renamed) == parse_event(payload)
    assert parse_event(renamed, converter=STRICT) == parse_event(payload, converter=STRICT)


def test_unknown_v2_types_are_unknown_events_of_their_product() -> None:
    voice = {"eventType": "holdStarted", "eventTime": "2026-01-02T03:04:05Z", "callId": "c-9"}
    event = parse_event(voice)
    assert type(event) is events.UnknownVoiceEvent
    assert isinstance(event, events.VoiceEvent)
    assert event.event_type == "holdStarted"
    assert event.event_time == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert dict(event.raw) == voice
    assert to_payload(event) == voice
    # without any v2 key it is what v1 called unknown
    assert type(parse_event({"eventType": "holdStarted", "callId": "c-9"})) is events.UnknownEvent

    element = {**elements_of("message-delivered-1.json")[0], "type": "message-queued"}
    (unknown,) = parse_delivery([element])
    assert type(unknown) is events.UnknownMessagingEvent
    assert isinstance(unknown, events.MessagingEvent)
    assert unknown.event_type == "message-queued"
    assert unknown.message is not None
    assert unknown.message.id == element["message"]["id"]
    assert dict(unknown.raw) == element


def test_a_bare_messaging_element_is_one_event() -> None:
    element = elements_of("message-delivered-3.json")[0]
    event = parse_event(element)
    assert type(event) is events.MessageDeliveredEvent
    assert parse_delivery(element) == (event,)
    assert parse_delivery([element]) == (event,)
    with pytest.raises(InvalidCallback, match="missing eventType"):
        parse_event({"type": "message-delivered"})  # no message: not a messaging element


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([], "an empty array carries no callback"),
        ([1], "a callback must be a JSON object: array element 0 is not"),
        ([{"type": "message-received"}, "x"], "a callback must be a JSON object: array element 1"),
        ([{"message": {}}], "element 0: missing type"),
        ([{"type": ""}], "element 0: missing type"),
        ([{"type": "message-received"}] * 1001, "more than 1000 callbacks in one array"),
        ("text", "a callback must be a JSON object or array"),
    ],
)
def test_deliveries_that_are_no_callback(value: Any, reason: str) -> None:
    with pytest.raises(InvalidCallback) as raised:
        parse_delivery(value)
    assert raised.value.reason.startswith(reason)


# -- one hierarchy ---------------------------------------------------------------------------

V2_CLASSES: list[type[Event]] = [*events.VOICE_V2_CLASSES, *events.MESSAGING_V2_CLASSES]


def test_every_v2_class_derives_from_event_and_its_product_base() -> None:
    assert len(events.VOICE_V2_CLASSES) == 30
    assert len(events.MESSAGING_V2_CLASSES) == 8
    for voice in events.VOICE_V2_CLASSES:
        assert issubclass(voice, events.VoiceEvent)
        assert issubclass(voice, Event)
    for messaging in events.MESSAGING_V2_CLASSES:
        assert issubclass(messaging, events.MessagingEvent)
        assert issubclass(messaging, Event)
    every: list[type[Event]] = [*V2_CLASSES, events.UnknownVoiceEvent, events.UnknownMessagingEvent]
    for cls in every:
        assert cls.GENERATION == 2
        assert attrs.has(cls)
        assert "__slots__" in cls.__dict__  # frozen and slotted, as every event


def test_v1_bases_receive_no_v2_event() -> None:
    for cls in [*V2_CLASSES, events.UnknownVoiceEvent, events.UnknownMessagingEvent]:
        assert not issubclass(cls, events.CallEvent | events.UnknownEvent | events.MessageEvent)


def test_v2_class_names_never_reuse_a_v1_name() -> None:
    v1_modules = (
        "bwhooks.events._base",
        "bwhooks.events.call",
        "bwhooks.events.conference",
        "bwhooks.events.messaging",
        "bwhooks.events.transcription",
    )
    v1_names = {
        name
        for name in events.__all__
        if getattr(getattr(events, name), "__module__", "") in v1_modules
    }
    v2_names = {
        name
        for name in events.__all__
        if getattr(getattr(events, name), "__module__", "").endswith("_v2")
    }
    assert len(v2_names) >= 38 + 4
    assert not v1_names & v2_names
    for name in v2_names:  # one documented place, re-exported at the top
        assert getattr(bwhooks, name) is getattr(events, name)


def test_every_v2_class_has_its_wire_types() -> None:
    seen: set[str] = set()
    for cls in V2_CLASSES:
        assert cls.EVENT_TYPES
        assert not seen & set(cls.EVENT_TYPES)
        seen.update(cls.EVENT_TYPES)
        assert cls().event_type == cls.EVENT_TYPES[0]


# -- never lose a v2 event to one bad field --------------------------------------------------


def test_a_v2_field_that_cannot_be_converted_is_none_kept_in_raw_and_warned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = {
        **load_v2_example("answer-3.json"),
        "enqueuedTime": "2019-09-13-16:48:27.198Z",  # as in Bandwidth's own docs
        "machineDetectionResult": {"value": "human", "duration": "soon"},
        "startTime": 12,
    }
    with caplog.at_level(logging.WARNING, logger="bwhooks.decoding.parsing"):
        event = parse_event(payload)
    assert isinstance(event, events.VoiceAnswerEvent)
    assert event.enqueued_time is None
    assert event.start_time is None
    assert event.raw["enqueuedTime"] == "2019-09-13-16:48:27.198Z"
    assert event.machine_detection_result == events.MachineDetectionResult(value="human")
    assert event.call_id == payload["callId"]  # every other field is typed
    (record,) = caplog.records
    assert record.levelname == "WARNING"
    for field in ("enqueuedTime", "machineDetectionResult.duration", "startTime"):
        assert field in record.getMessage()
    assert "2019-09-13-16" not in record.getMessage()
    assert "soon" not in record.getMessage()


def test_a_messaging_element_with_a_bad_field_is_still_typed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    element = elements_of("message-failed-1.json")[0]
    bad = {**element, "errorCode": "four", "message": {**element["message"], "to": "nobody"}}
    with caplog.at_level(logging.WARNING, logger="bwhooks.decoding.parsing"):
        (event,) = parse_delivery([bad])
    assert isinstance(event, events.MessageFailedEvent)
    assert event.error_code is None
    assert event.raw["errorCode"] == "four"
    assert event.message is not None
    assert event.message.id == element["message"]["id"]
    assert "errorCode" in caplog.text


def test_a_test_fails_on_a_conversion_warning_with_recwarn(
    recwarn: pytest.WarningsRecorder,
) -> None:
    """As docs/events-v2.md says: pytest's ``recwarn`` records the hidden warning."""
    parse_event({**load_v2_example("disconnect-1.json"), "endTime": "later"})
    caught = [w for w in recwarn if issubclass(w.category, bwhooks.FieldConversionWarning)]
    assert len(caught) == 1
    assert "endTime" in str(caught[0].message)


def test_v1_keeps_its_400_for_a_field_that_cannot_be_converted() -> None:
    with pytest.raises(InvalidCallback, match="invalid time"):
        parse_event({"eventType": "answer", "callId": "c-1", "time": "half past nine"})


def test_strict_conversion_of_v2_still_fails() -> None:
    with pytest.raises(InvalidCallback, match="channels"):
        parse_event(
            {**load_v2_example("recordingAvailable-1.json"), "channels": "two"}, converter=STRICT
        )


def test_durations_keep_their_text() -> None:
    event = parse_event(
        {**load_v2_example("recordingAvailable-1.json"), "duration": "PT1.123456789S"}
    )
    assert isinstance(event, events.VoiceRecordingAvailableEvent)
    assert isinstance(event.duration, Duration)
    assert to_payload(event)["duration"] == "PT1.123456789S"
    assert isinstance(event.raw, Mapping)


_THREE_CALLBACKS = """
import json, sys, warnings
{importing}
payload = json.loads(sys.argv[1])
for _ in range(3):
    bwhooks.parse_event(payload)
"""


_TURNED_ON = "import bwhooks\nwarnings.simplefilter('default', bwhooks.FieldConversionWarning)"


@pytest.mark.parametrize(
    ("options", "importing", "shown"),
    [
        ([], "import bwhooks", 0),
        (  # pytest imports its plugins (bwhooks' too) inside one
            [],
            "with warnings.catch_warnings():\n    import bwhooks",
            0,
        ),
        (["-W", "error"], "import bwhooks", 0),
        # Turned on, it shows once (Python's default: once per place), the log every time.
        (["-W", "default"], "import bwhooks", 1),
        ([], _TURNED_ON, 1),
    ],
)
def test_an_unconvertible_field_is_reported_once_per_callback_the_log_record(
    options: list[str], importing: str, shown: int
) -> None:
    """Under Python's default filters (run apart from this suite's own), each callback with
    a bad field gives one report: its WARNING log record; the Python warning is hidden
    unless asked for, and a filter that makes it an error fails no callback."""
    payload = {**load_v2_example("disconnect-1.json"), "endTime": "later"}
    env = {name: value for name, value in os.environ.items() if name != "PYTHONWARNINGS"}
    code = _THREE_CALLBACKS.format(importing=importing)
    result = subprocess.run(
        [sys.executable, *options, "-c", code, json.dumps(payload)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    reports = [line for line in result.stderr.splitlines() if "could not convert" in line]
    warned = [line for line in reports if "FieldConversionWarning: " in line]
    assert len(warned) == shown, result.stderr
    assert len(reports) - len(warned) == 3, result.stderr  # the log record of each callback
    assert "later" not in result.stderr  # the fields' names, never their values


def test_the_conversion_warning_is_a_python_warning_too_and_never_an_error() -> None:
    import warnings

    from bwhooks import FieldConversionWarning

    payload = {**load_v2_example("disconnect-1.json"), "endTime": "later"}
    with pytest.warns(FieldConversionWarning, match="endTime"):
        event = parse_event(payload)
    assert isinstance(event, events.VoiceDisconnectEvent)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as strict test suites and -W error do
        assert parse_event(payload) == event
