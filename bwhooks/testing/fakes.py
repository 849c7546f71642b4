"""Realistic fake callbacks: wire payloads and events for every event class."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from bwhooks.events import (
    EVENT_CLASSES,
    AnswerEvent,
    ConferenceEvent,
    ConferenceMemberEvent,
    ConferencePlaybackEvent,
    ConferenceSpeakEvent,
    DtmfEvent,
    ErrorEvent,
    Event,
    GatherEvent,
    HangupEvent,
    IncomingCallEvent,
    MmsEvent,
    PlaybackEvent,
    RecordingEvent,
    RedirectEvent,
    RejectEvent,
    SmsEvent,
    SpeakEvent,
    TimeoutEvent,
    TranscriptionEvent,
    TransferCompleteEvent,
    UnknownEvent,
)
from bwhooks.parsing import _LENIENT, parse_event, wire_name

__all__ = ["fake_event", "fake_payload", "resolve_kind"]

API_BASE = "https://api.catapult.inetwork.com/v1/users"

# Per class: the wire fields a real callback of that kind carries; values in _STATIC are
# fixed, the others are generated consistently (ids, URIs built from them, numbers, times).
_MESSAGE_FIELDS = (
    "direction",
    "messageId",
    "messageUri",
    "from",
    "to",
    "text",
    "applicationId",
    "time",
    "state",
    "segmentCount",
)
_FIELDS: dict[type[Event], tuple[str, ...]] = {
    SmsEvent: _MESSAGE_FIELDS,
    MmsEvent: (*_MESSAGE_FIELDS, "media"),
    AnswerEvent: ("from", "to", "callId", "callUri", "callState", "time"),
    IncomingCallEvent: ("from", "to", "callId", "callUri", "callState", "applicationId", "time"),
    PlaybackEvent: ("callId", "callUri", "status", "time"),
    TimeoutEvent: ("from", "to", "callId", "callUri", "time"),
    ConferenceEvent: ("conferenceId", "conferenceUri", "status", "createdTime"),
    ConferencePlaybackEvent: ("conferenceId", "conferenceUri", "status", "time"),
    ConferenceSpeakEvent: ("conferenceId", "conferenceUri", "status", "time"),
    ConferenceMemberEvent: (
        "activeMembers",
        "callId",
        "conferenceId",
        "hold",
        "memberId",
        "memberUri",
        "mute",
        "state",
        "time",
    ),
    DtmfEvent: ("callId", "callUri", "dtmfDigit", "dtmfDuration", "time"),
    GatherEvent: ("callId", "callUri", "gatherId", "state", "reason", "digits", "time"),
    HangupEvent: ("from", "to", "callId", "callUri", "cause", "callState", "time"),
    RejectEvent: ("from", "to", "callId", "callUri", "cause", "callState", "time"),
    RecordingEvent: (
        "callId",
        "recordingId",
        "recordingUri",
        "state",
        "status",
        "startTime",
        "endTime",
    ),
    SpeakEvent: ("callId", "callUri", "status", "state", "time"),
    TranscriptionEvent: (
        "transcriptionId",
        "transcriptionUri",
        "recordingId",
        "state",
        "status",
        "text",
        "textSize",
        "textUrl",
    ),
    ErrorEvent: ("from", "to", "callId", "callUri", "callState"),
    RedirectEvent: ("from", "to", "callId", "callState"),
    TransferCompleteEvent: ("from", "to", "callId", "callUri", "callState", "time"),
}
_STATIC: dict[type[Event], dict[str, Any]] = {
    SmsEvent: {
        "direction": "in",
        "text": "Hello from bwhooks",
        "state": "received",
        "segmentCount": 1,
    },
    MmsEvent: {"direction": "in", "text": "Hello MMS!", "state": "received", "segmentCount": 1},
    AnswerEvent: {"callState": "active"},
    IncomingCallEvent: {"callState": "active"},
    PlaybackEvent: {"status": "done"},
    ConferenceEvent: {"status": "created"},
    ConferencePlaybackEvent: {"status": "done"},
    ConferenceSpeakEvent: {"status": "done"},
    ConferenceMemberEvent: {"activeMembers": 1, "hold": False, "mute": False, "state": "active"},
    DtmfEvent: {"dtmfDigit": "5", "dtmfDuration": 1400},
    GatherEvent: {"state": "completed", "reason": "max-digits", "digits": "1234"},
    HangupEvent: {"cause": "NORMAL_CLEARING", "callState": "completed"},
    RejectEvent: {"cause": "CALL_REJECTED", "callState": "completed"},
    RecordingEvent: {"state": "complete", "status": "complete"},
    SpeakEvent: {"status": "done", "state": "PLAYBACK_STOP"},
    TranscriptionEvent: {
        "state": "completed",
        "status": "completed",
        "text": "Hello, this is a test transcription.",
        "textSize": 36,
    },
    ErrorEvent: {"callState": "error"},
    RedirectEvent: {"callState": "active"},
    TransferCompleteEvent: {"callState": "active"},
}
_ID_PREFIXES = {
    "callId": "c-",
    "messageId": "m-",
    "applicationId": "a-",
    "conferenceId": "conf-",
    "memberId": "member-",
    "recordingId": "rec-",
    "transcriptionId": "t-",
    "gatherId": "g-",
    "userId": "u-",
}
_BY_KIND = {cls.EVENT_TYPES[0]: cls for cls in EVENT_CLASSES if cls is not RejectEvent}
_BY_KIND["reject"] = RejectEvent


def _random_id(prefix: str) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(25))


def _number() -> str:
    return f"+1919555{secrets.randbelow(10_000):04d}"


class _Values:
    """Generates one payload's values, consistent with each other and with the overrides."""

    def __init__(self, given: Mapping[str, Any]) -> None:
        self.given = given
        self.cache: dict[str, Any] = {}
        self.now = datetime.now(timezone.utc).replace(microsecond=0)

    def __getitem__(self, key: str) -> Any:
        if key in self.given:
            return self.given[key]
        if key not in self.cache:
            self.cache[key] = self._make(key)
        return self.cache[key]

    @property
    def user(self) -> str:
        return f"{API_BASE}/{self['userId']}"

    def _make(self, key: str) -> Any:
        if key in _ID_PREFIXES:
            return _random_id(_ID_PREFIXES[key])
        if key in _DERIVED:
            return _DERIVED[key](self)
        if key in ("from", "to"):
            return _number()
        if key == "startTime":
            return self.now - timedelta(seconds=10)
        if key in ("time", "createdTime", "endTime"):
            return self.now
        raise KeyError(key)


_DERIVED: dict[str, Callable[[_Values], Any]] = {
    "callUri": lambda v: f"{v.user}/calls/{v['callId']}",
    "messageUri": lambda v: f"{v.user}/messages/{v['messageId']}",
    "conferenceUri": lambda v: f"{v.user}/conferences/{v['conferenceId']}",
    "memberUri": lambda v: f"{v['conferenceUri']}/members/{v['memberId']}",
    "recordingUri": lambda v: f"{v.user}/recordings/{v['recordingId']}",
    "transcriptionUri": lambda v: f"{v['recordingUri']}/transcriptions/{v['transcriptionId']}",
    "textUrl": lambda v: f"{v.user}/media/{v['transcriptionId']}",
    "media": lambda v: (
        f"{v.user}/media/{v['messageId']}-photo.jpg",
        f"{v.user}/media/123_1-{v['messageId']}.smil",
    ),
}


def resolve_kind(kind: type[Event] | str) -> type[Event]:
    """The event class for ``kind``: an event class, or a wire ``eventType`` (``"reject"`` too)."""
    if isinstance(kind, str):
        return _BY_KIND.get(kind, UnknownEvent)
    if isinstance(kind, type) and (kind in _FIELDS or kind is UnknownEvent):
        return kind
    known = ", ".join(sorted(_BY_KIND))
    raise TypeError(f"kind must be a concrete event class or one of: {known}; got {kind!r}")


def _wire_overrides(cls: type[Event], overrides: Mapping[str, Any]) -> dict[str, Any]:
    if cls is UnknownEvent:
        return {wire_name(k) if k == "event_type" else k: v for k, v in overrides.items()}
    names = {a.name: wire_name(a.name) for a in attrs.fields(cls) if a.name != "raw"}
    wire_names = set(names.values())
    wire: dict[str, Any] = {}
    for name, value in overrides.items():
        if name not in names and name not in wire_names:
            valid = ", ".join(sorted(names))
            raise TypeError(f"{cls.__name__} has no field {name!r}; valid fields: {valid}")
        wire[names.get(name, name)] = value
    return wire


def fake_payload(kind: type[Event] | str, **overrides: Any) -> dict[str, Any]:
    """A realistic wire payload (camelCase, JSON-ready) for ``kind``.

    ``kind`` is an event class or a wire ``eventType`` (``"reject"`` gives a ``hangup`` with
    ``cause`` ``CALL_REJECTED``; with another ``cause``, the literal ``reject`` eventType).
    Override any field by attribute name (``call_id=``) or
    wire name (``callId=``); ``None`` leaves the field out. URIs follow the ids (an
    overridden ``call_id`` shows in ``callUri``), numbers are E.164, times are now (UTC).
    """
    cls = resolve_kind(kind)
    wire = _wire_overrides(cls, overrides)
    if cls is UnknownEvent:
        event_type = kind if isinstance(kind, str) else wire.get("eventType", "futureEvent")
        payload = {"eventType": event_type, **wire}
    else:
        values = _Values(wire)
        static = _STATIC.get(cls, {})
        payload = {"eventType": cls.EVENT_TYPES[0]}
        payload.update((key, static[key] if key in static else values[key]) for key in _FIELDS[cls])
        payload.update(wire)
        if cls is RejectEvent and payload.get("cause") != "CALL_REJECTED":
            payload["eventType"] = "reject"  # a hangup is a reject only by that cause
    return {k: _LENIENT.unstructure(v) for k, v in payload.items() if v is not None}


def fake_event(kind: type[Event] | str, **overrides: Any) -> Event:
    """The event that :func:`fake_payload` with the same arguments parses into."""
    return parse_event(fake_payload(kind, **overrides))
