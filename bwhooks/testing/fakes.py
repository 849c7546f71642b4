"""Realistic fake callbacks: wire payloads and events for every event class.

``kind`` is an event class or a wire type: a v1 ``eventType`` (``"answer"``), a Voice v2
``eventType`` (``"initiate"``) or a Messaging v2 ``type`` (``"message-received"``). The types
both generations send (``answer``, ``gather``, ``dtmf``, ``redirect``, ``transferComplete``)
mean v1; ``"v2:answer"`` selects Voice v2 (the ``v2:`` prefix is accepted on every v2 type).
"""

from __future__ import annotations

import secrets
import typing
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs

from bwhooks.events import (
    EVENT_CLASSES,
    MESSAGING_V2_CLASSES,
    VOICE_V2_CLASSES,
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
    MessagingEvent,
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
    UnknownMessagingEvent,
    UnknownVoiceEvent,
    VoiceEvent,
)
from bwhooks.parsing import _LENIENT, parse_delivery, parse_event, wire_key, wire_name
from bwhooks.testing.fakes_v2 import _VOICE, fake_messaging_elements, fake_voice_payload

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
_V2_PREFIX = "v2:"
_BY_V2_KIND: dict[str, type[Event]] = {
    event_type: cls
    for cls in (*VOICE_V2_CLASSES, *MESSAGING_V2_CLASSES)
    for event_type in cls.EVENT_TYPES
}
_UNKNOWN_V2 = (UnknownVoiceEvent, UnknownMessagingEvent)
_KINDS = {*_FIELDS, *_VOICE, *_BY_V2_KIND.values(), UnknownEvent, UnknownMessagingEvent}


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
    """The event class for ``kind``: an event class, or a wire type (``"reject"``,
    ``"initiate"``, ``"message-received"``, ``"v2:answer"``); a type bwhooks does not know
    is an unknown event (of Voice v2 with the ``v2:`` prefix)."""
    if isinstance(kind, str):
        if kind.startswith(_V2_PREFIX):
            return _BY_V2_KIND.get(kind[len(_V2_PREFIX) :], UnknownVoiceEvent)
        return _BY_KIND.get(kind) or _BY_V2_KIND.get(kind, UnknownEvent)
    if isinstance(kind, type) and kind in _KINDS:
        return kind
    known = ", ".join(sorted(_BY_KIND) + sorted(_BY_V2_KIND))
    raise TypeError(f"kind must be a concrete event class or one of: {known}; got {kind!r}")


def _wire_overrides(cls: type[Event], overrides: Mapping[str, Any]) -> dict[str, Any]:
    if cls is UnknownEvent:
        return {wire_name(k) if k == "event_type" else k: v for k, v in overrides.items()}
    return {wire_key(_field_of(cls, name)): value for name, value in overrides.items()}


def fake_payload(kind: type[Event] | str, **overrides: Any) -> Any:
    """A realistic wire payload (camelCase, JSON-ready) for ``kind``: a ``dict``, or for a
    Messaging v2 kind the JSON array Bandwidth posts (``count=N`` elements, one by default;
    ``count`` is no field name).

    ``kind`` is an event class or a wire type (see the module: ``"v2:answer"`` for the
    Voice v2 ``answer``; ``"reject"`` gives a ``hangup`` with ``cause`` ``CALL_REJECTED``,
    with another ``cause`` the literal ``reject`` eventType). Override any field by attribute
    name (``call_id=``) or wire name (``callId=``); ``None`` leaves the field out; a nested
    field by its path with ``__`` (``message__text="hi"``, ``mediaStream__name=``). URLs and
    URIs follow the ids (an overridden ``call_id`` shows in ``callUrl``), numbers are E.164,
    times are now (UTC) and in order.
    """
    cls = resolve_kind(kind)
    count = overrides.pop("count", None)
    if issubclass(cls, MessagingEvent):
        message_type = _wire_type(kind, cls, overrides, "futureMessageType")
        elements = fake_messaging_elements(cls, message_type, 1 if count is None else count)
        return [_overridden(cls, element, overrides) for element in elements]
    if count is not None:
        raise TypeError("count= is for Messaging v2 kinds, whose payload is an array")
    if issubclass(cls, VoiceEvent):
        event_type = _wire_type(kind, cls, overrides, "futureEvent")
        top = {key: value for key, value in overrides.items() if "__" not in key}
        wire = _wire_overrides(cls, top)
        payload = fake_voice_payload(cls, event_type, wire)
        payload = {k: _LENIENT.unstructure(v) for k, v in payload.items() if v is not None}
        return _overridden(cls, payload, {k: v for k, v in overrides.items() if "__" in k})
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
    """The event that :func:`fake_payload` with the same arguments parses into (for a
    Messaging v2 kind, the event of the array's one element)."""
    payload = fake_payload(kind, **overrides)
    return parse_delivery(payload)[0] if isinstance(payload, list) else parse_event(payload)


def _wire_type(
    kind: type[Event] | str, cls: type[Event], overrides: Mapping[str, Any], unknown: str
) -> str:
    """The ``eventType`` (or messaging ``type``) of a v2 payload of ``cls``."""
    if cls not in _UNKNOWN_V2:
        return cls.EVENT_TYPES[0]
    given = overrides.get("event_type", overrides.get("eventType", overrides.get("type")))
    if isinstance(given, str):
        return given
    if isinstance(kind, str):
        return kind.removeprefix(_V2_PREFIX)
    return unknown


def _overridden(
    cls: type[Any], payload: dict[str, Any], overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """``payload`` with ``overrides`` applied: names (attribute or wire) at the top level of
    ``cls``, ``a__b`` paths into its nested objects; ``None`` removes the field."""
    result = dict(payload)
    for name, value in overrides.items():
        head, _, rest = name.partition("__")
        field = _field_of(cls, head)
        key = wire_key(field)
        if rest:
            nested = _nested_class(cls, field)
            current = result.get(key)
            inner = dict(current) if isinstance(current, Mapping) else {}
            result[key] = _overridden(nested, inner, {rest: value})
        elif field.name == "event_type":
            continue  # the kind's type, chosen above
        elif value is None:
            result.pop(key, None)
        else:
            result[key] = _LENIENT.unstructure(value)
    return result


def _field_of(cls: type[Any], name: str) -> attrs.Attribute[Any]:
    fields = [a for a in attrs.fields(cls) if a.name != "raw"]
    for field in fields:
        if name in (field.name, wire_key(field)):
            found: attrs.Attribute[Any] = field
            return found
    valid = ", ".join(sorted(f.name for f in fields))
    raise TypeError(f"{cls.__name__} has no field {name!r}; valid fields: {valid}")


def _nested_class(cls: type[Any], field: attrs.Attribute[Any]) -> type[Any]:
    hints = typing.get_type_hints(cls)
    nested = [t for t in typing.get_args(hints[field.name]) if attrs.has(t)]
    if not nested:
        raise TypeError(f"{cls.__name__}.{field.name} is no object: it has no fields to set")
    nested_class: type[Any] = nested[0]
    return nested_class
