"""Realistic fake callbacks: wire payloads and events for every event class.

``kind`` is an event class or a wire type: a v1 ``eventType`` (``"sms"``), a Voice v2
``eventType`` (``"initiate"``) or a Messaging v2 ``type`` (``"message-received"``), each
also with its generation's prefix (``"v1:sms"``, ``"v2:initiate"``). The types both
generations send (``answer``, ``gather``, ``dtmf``, ``redirect``, ``transferComplete``) are
never guessed silently: ``"v1:answer"`` and ``"v2:answer"`` say which; the bare name keeps
meaning v1 and warns (:class:`AmbiguousKindWarning`). A type bwhooks does not know is
refused (:class:`UnknownKindError`, with the nearest known spellings); to make one on
purpose, pass its class (``UnknownEvent``, ``UnknownVoiceEvent``,
``UnknownMessagingEvent``) and its type (``event_type="futureEvent"``).
"""

from __future__ import annotations

import difflib
import secrets
import sys
import typing
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import attrs

from bwhooks.decoding.parsing import (
    _LENIENT,
    parse_delivery,
    parse_event,
    parse_query,
    wire_key,
    wire_name,
)
from bwhooks.events import (
    EVENT_CLASSES,
    MESSAGING_V2_CLASSES,
    NUMBERS_CLASSES,
    VOICE_V2_CLASSES,
    AnswerEvent,
    ConferenceEvent,
    ConferenceMemberEvent,
    ConferencePlaybackEvent,
    ConferenceSpeakEvent,
    DtmfEvent,
    EmergencyCallEvent,
    ErrorEvent,
    Event,
    GatherEvent,
    HangupEvent,
    IncomingCallEvent,
    MessagingEvent,
    MmsEvent,
    NumbersEvent,
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
from bwhooks.testing.fakes_emergency import EMERGENCY_KINDS, fake_emergency_payload
from bwhooks.testing.fakes_more import CLASS_KINDS, MORE_KINDS, fake_more_payload
from bwhooks.testing.fakes_numbers import NUMBERS_KINDS, fake_numbers_payload, parse_numbers_xml
from bwhooks.testing.fakes_v2 import _VOICE, fake_messaging_elements, fake_voice_payload

__all__ = [
    "KINDS",
    "AmbiguousKindWarning",
    "UnknownKindError",
    "fake_event",
    "fake_payload",
    "resolve_kind",
]

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
_UNKNOWN_V2 = (UnknownVoiceEvent, UnknownMessagingEvent)
_KINDS = {
    *_FIELDS,
    *_VOICE,
    *MESSAGING_V2_CLASSES,
    *NUMBERS_CLASSES,
    *CLASS_KINDS,
    EmergencyCallEvent,
    UnknownEvent,
    UnknownMessagingEvent,
}

# The wire types, per generation; "reject" is v1's (the wire sends it as a hangup).
_V1_TYPES = {cls.EVENT_TYPES[0]: cls for cls in EVENT_CLASSES if cls is not RejectEvent}
_V1_TYPES["reject"] = RejectEvent
_V2_TYPES: dict[str, type[Event]] = {
    event_type: cls
    for cls in (*VOICE_V2_CLASSES, *MESSAGING_V2_CLASSES)
    for event_type in cls.EVENT_TYPES
}
#: The types both generations send: the bare name means v1, and says so.
_AMBIGUOUS = frozenset(_V1_TYPES) & frozenset(_V2_TYPES)

#: Every ``kind`` spelling and its class: each v1 type bare and as ``v1:TYPE``, each Voice v2
#: and Messaging v2 type bare and as ``v2:TYPE``; a bare type both generations send is v1's;
#: the Numbers webhooks (XML) as ``orderNotification``, ``MESSAGING_LOST`` (an account
#: event) and ``portOutValidation``; an Emergency Calling API routing query as
#: ``emergencyCall``; toll-free verification results as ``tollfree:verified``,
#: ``tollfree:unverified``, ``tollfree:denial``, ``tollfree:failure``, ``tollfree:blocked``;
#: Subscriptions v2 as ``subscriptions:PORTOUT_REQUEST``; endpoint events as their
#: ``eventType`` (``DEVICE_CONNECTED``); MFA receipts as ``mfa:message-delivered`` and
#: ``mfa:message-failed``.
KINDS: Mapping[str, type[Event]] = MappingProxyType(
    {
        **MORE_KINDS,
        **NUMBERS_KINDS,
        **EMERGENCY_KINDS,
        **{f"v2:{name}": cls for name, cls in _V2_TYPES.items()},
        **_V2_TYPES,
        **{f"v1:{name}": cls for name, cls in _V1_TYPES.items()},
        **_V1_TYPES,
    }
)


class AmbiguousKindWarning(UserWarning):
    """A bare ``kind`` both generations send (``"answer"``, ``"gather"``, ``"dtmf"``,
    ``"redirect"``, ``"transferComplete"``): it means v1; write ``"v1:answer"`` or
    ``"v2:answer"`` to say which. Make it an error in a test suite with
    ``filterwarnings = ["error::bwhooks.testing.AmbiguousKindWarning"]``."""


class UnknownKindError(ValueError):
    """A ``kind`` string that is no type bwhooks knows (a typo, most often); ``suggestions``
    are the nearest known spellings, best first (none when nothing is close)."""

    def __init__(self, kind: str, suggestions: Sequence[str]) -> None:
        self.kind = kind
        self.suggestions = tuple(suggestions)
        super().__init__(
            f"{self.nearest()} (bwhooks.testing.KINDS lists every kind; a type bwhooks does not"
            " know is made on purpose with its class: fake_payload(UnknownVoiceEvent,"
            " event_type=...), UnknownMessagingEvent or UnknownEvent for v1)"
        )

    def nearest(self) -> str:
        """``unknown kind 'x': did you mean 'y'?``, or that nothing is close."""
        if not self.suggestions:
            return f"unknown kind {self.kind!r}: no known kind is close"
        quoted = [repr(s) for s in self.suggestions]
        either = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        return f"unknown kind {self.kind!r}: did you mean {either}?"


def _nearest(kind: str) -> list[str]:
    """The known spellings nearest to ``kind``: within its prefix's generation first, then
    among every type (case is ignored), those nearly as close as the closest; a bare type
    both generations send is offered with both prefixes."""
    prefix, name = (kind[:3], kind[3:]) if kind[:3] in ("v1:", "v2:") else ("", kind)
    pools: list[tuple[str, Mapping[str, type[Event]]]] = []
    if prefix:
        pools.append((prefix, _V1_TYPES if prefix == "v1:" else _V2_TYPES))
    pools.append(("", {**_V1_TYPES, **_V2_TYPES, **NUMBERS_KINDS, **MORE_KINDS, **EMERGENCY_KINDS}))
    for spelling_prefix, pool in pools:
        lowered = {known.lower(): known for known in pool}
        found = difflib.get_close_matches(name.lower(), lowered, n=3, cutoff=0.6)
        if found:
            best = _likeness(name, found[0])
            found = [match for match in found if _likeness(name, match) >= best - 0.1]
            spelled: list[str] = []
            for known in (lowered[match] for match in found):
                if spelling_prefix or known not in _AMBIGUOUS:
                    spelled.append(spelling_prefix + known)
                else:
                    spelled += [f"v1:{known}", f"v2:{known}"]
            return spelled
    return []


def _likeness(name: str, known: str) -> float:
    return difflib.SequenceMatcher(None, name.lower(), known).ratio()


def _ambiguity(kind: str) -> str:
    v1, v2 = _V1_TYPES[kind].__name__, _V2_TYPES[kind].__name__
    return (
        f'"{kind}" is sent by both generations: it means v1 ({v1}); write "v1:{kind}" for v1'
        f' or "v2:{kind}" for Voice v2 ({v2})'
    )


def _caller() -> int:
    """The ``stacklevel`` of the first frame outside this module (the user's call)."""
    level, frame = 1, sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename == __file__:
        level, frame = level + 1, frame.f_back
    return level


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
    """The event class for ``kind``: an event class, or a spelling of :data:`KINDS`
    (``"reject"``, ``"initiate"``, ``"message-received"``, ``"v1:answer"``, ``"v2:answer"``).

    A bare type both generations send gives v1's class with an :class:`AmbiguousKindWarning`;
    any other string raises :class:`UnknownKindError` (a ``ValueError``) naming the nearest
    known spellings; anything else, or an abstract class, raises ``TypeError``."""
    if isinstance(kind, str):
        cls = KINDS.get(kind)
        if cls is None:
            raise UnknownKindError(kind, _nearest(kind))
        if kind in _AMBIGUOUS:
            warnings.warn(_ambiguity(kind), AmbiguousKindWarning, stacklevel=_caller())
        return cls
    if isinstance(kind, type) and kind in _KINDS:
        return kind
    raise TypeError(
        f"kind must be a concrete event class or a kind string (bwhooks.testing.KINDS);"
        f" got {kind!r}"
    )


def _wire_overrides(cls: type[Event], overrides: Mapping[str, Any]) -> dict[str, Any]:
    if cls is UnknownEvent:
        return {wire_name(k) if k == "event_type" else k: v for k, v in overrides.items()}
    return {wire_key(_field_of(cls, name)): value for name, value in overrides.items()}


def fake_payload(kind: type[Event] | str, **overrides: Any) -> Any:
    """A realistic wire payload (camelCase, JSON-ready) for ``kind``: a ``dict``, or for a
    Messaging v2 kind the JSON array Bandwidth posts (``count=N`` elements, one by default;
    ``count`` is no field name).

    ``kind`` is an event class or a wire type (see :func:`resolve_kind`: ``"v1:answer"``
    and ``"v2:answer"`` for the type both generations send; ``"reject"`` gives a ``hangup``
    with ``cause`` ``CALL_REJECTED``, with another ``cause`` the literal ``reject``
    eventType). A type bwhooks does not know is made with its class and type:
    ``fake_payload(UnknownVoiceEvent, event_type="futureEvent")``. Override any field by attribute
    name (``call_id=``) or wire name (``callId=``); ``None`` leaves the field out; a nested
    field by its path with ``__`` (``message__text="hi"``, ``mediaStream__name=``). URLs and
    URIs follow the ids (an overridden ``call_id`` shows in ``callUrl``), numbers are E.164,
    times are now (UTC) and in order.

    A Numbers kind (``"orderNotification"``, ``"MESSAGING_LOST"``, ``"portOutValidation"``)
    gives the XML text Bandwidth posts (a ``str``), overridden by attribute or element name
    (``status="FAILED"``, ``Status="FAILED"``, ``completed_numbers=("9195551234",)``);
    numbers are 10 digits, or E.164 with ``number_format="E164"``.

    ``"emergencyCall"`` gives a 911 routing query's values (``{"to": "911", "from":
    "+1..."}``), sent with ``method="GET"``.

    Bandwidth's other JSON webhooks (:mod:`bwhooks.testing.fakes_more`): toll-free
    verification (``"tollfree:verified"``, ``"tollfree:denial"``, ...), Subscriptions v2
    (``"subscriptions:PORTOUT_REQUEST"``), endpoint events (``"DEVICE_CONNECTED"``) and MFA
    receipts (``"mfa:message-failed"``, one object) give that webhook's JSON object; their
    classes too (``TollFreeDenialEvent``; a Messaging v2 class keeps meaning the array).
    """
    more = kind if isinstance(kind, str) else CLASS_KINDS.get(kind)
    if more is not None and more in MORE_KINDS:
        given = {name: _LENIENT.unstructure(value) for name, value in overrides.items()}
        return fake_more_payload(more, given)
    cls = resolve_kind(kind)
    if cls is EmergencyCallEvent:  # a GET query's values (bwhooks.testing.fakes_emergency)
        return fake_emergency_payload(overrides)
    if issubclass(cls, NumbersEvent):
        number_format = overrides.pop("number_format", "LEGACY")
        return fake_numbers_payload(cls, overrides, number_format=number_format)
    count = overrides.pop("count", None)
    if issubclass(cls, MessagingEvent):
        message_type = _wire_type(cls, overrides, "futureMessageType")
        elements = fake_messaging_elements(cls, message_type, 1 if count is None else count)
        return [_overridden(cls, element, overrides) for element in elements]
    if count is not None:
        raise TypeError("count= is for Messaging v2 kinds, whose payload is an array")
    if issubclass(cls, VoiceEvent):
        event_type = _wire_type(cls, overrides, "futureEvent")
        top = {key: value for key, value in overrides.items() if "__" not in key}
        wire = _wire_overrides(cls, top)
        payload = fake_voice_payload(cls, event_type, wire)
        payload = {k: _LENIENT.unstructure(v) for k, v in payload.items() if v is not None}
        return _overridden(cls, payload, {k: v for k, v in overrides.items() if "__" in k})
    wire = _wire_overrides(cls, overrides)
    if cls is UnknownEvent:
        payload = {"eventType": "futureEvent", **wire}
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
    Messaging v2 kind, the event of the array's one element; for a Numbers kind, the
    event of its XML document)."""
    payload = fake_payload(kind, **overrides)
    if isinstance(payload, str):
        return parse_numbers_xml(payload)
    if isinstance(payload, dict) and "eventType" not in payload and "from" in payload:
        return parse_query(payload)  # an emergency routing query: only ever a GET
    return parse_delivery(payload)[0] if isinstance(payload, list) else parse_event(payload)


def _wire_type(cls: type[Event], overrides: Mapping[str, Any], unknown: str) -> str:
    """The ``eventType`` (or messaging ``type``) of a v2 payload of ``cls``: for an unknown
    class, the one given (``event_type=``), else ``unknown``."""
    if cls not in _UNKNOWN_V2:
        return cls.EVENT_TYPES[0]
    given = overrides.get("event_type", overrides.get("eventType", overrides.get("type")))
    return given if isinstance(given, str) else unknown


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
