"""Which class a wire payload is: one URL serves Bandwidth v1, Voice v2 and Messaging v2.

The rule, for one JSON object (or a GET query string's fields):

1. With an ``eventType``, it is a voice (or v1) callback. A type only one generation sends
   picks that generation's class (``initiate`` is Voice v2, ``incomingcall`` v1). For the
   types both send (``answer``, ``gather``, ``dtmf``, ``redirect``, ``transferComplete``)
   and for unknown types, the payload is Voice v2 when it carries a key only v2 sends
   (:data:`V2_KEYS`: ``eventTime``, ``accountId``, ``callUrl``, ``startTime``, ...), and
   v1 otherwise, so every v1 payload keeps its v1 class.
2. Without an ``eventType``, an object with a string ``type`` and a ``message`` is a
   Messaging v2 element (what bandwidth-sdk serializes); inside a JSON array, ``type``
   alone is enough.
3. Anything else is not a callback.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bwhooks.errors import InvalidCallback
from bwhooks.events import (
    EVENT_CLASSES,
    MESSAGING_V2_CLASSES,
    VOICE_V2_CLASSES,
    Event,
    HangupEvent,
    RejectEvent,
    UnknownEvent,
    UnknownMessagingEvent,
    UnknownVoiceEvent,
)

__all__ = [
    "MESSAGING_BY_TYPE",
    "SHARED_EVENT_TYPES",
    "V1_BY_TYPE",
    "V2_KEYS",
    "VOICE_BY_TYPE",
    "class_for",
    "is_v2_voice",
]

#: Keys that Voice v2 payloads carry and v1 payloads of the shared types never do (v1
#: ``recording`` has a ``startTime``, but ``recording`` is v1 only).
V2_KEYS = frozenset(
    {
        "eventTime",
        "accountId",
        "callUrl",
        "startTime",
        "answerTime",
        "enqueuedTime",
        "digit",
        "parentCallId",
        "transferCallerId",
        "transferTo",
        "machineDetectionResult",
        "sipCallId",
        "errorMessage",
        "errorId",
    }
)


def _by_type(classes: tuple[type[Event], ...]) -> dict[str, type[Event]]:
    found: dict[str, type[Event]] = {}
    for cls in classes:
        for event_type in cls.EVENT_TYPES:
            found.setdefault(event_type, cls)
    return found


_V1 = _by_type(EVENT_CLASSES)
_VOICE = _by_type(VOICE_V2_CLASSES)
_MESSAGING = _by_type(MESSAGING_V2_CLASSES)
#: The class of each wire type, spelled exactly: v1 ``eventType``, Voice v2 ``eventType``,
#: Messaging v2 ``type`` (``hangup`` gives :class:`HangupEvent`, which a ``cause`` of
#: ``CALL_REJECTED`` makes a :class:`RejectEvent`).
V1_BY_TYPE: Mapping[str, type[Event]] = MappingProxyType(_V1)
VOICE_BY_TYPE: Mapping[str, type[Event]] = MappingProxyType(_VOICE)
MESSAGING_BY_TYPE: Mapping[str, type[Event]] = MappingProxyType(_MESSAGING)
_V1_FOLDED = {event_type.lower(): cls for event_type, cls in _V1.items()}
_VOICE_FOLDED = {event_type.lower(): cls for event_type, cls in _VOICE.items()}

#: The ``eventType`` values both generations send, told apart by :data:`V2_KEYS`.
SHARED_EVENT_TYPES = frozenset(_V1.keys() & _VOICE.keys())
# The types whose class needs no look at the payload: one look-up for the common case.
_PLAIN = {
    event_type: cls
    for event_type, cls in {**_V1, **_VOICE}.items()
    if event_type not in SHARED_EVENT_TYPES and cls is not HangupEvent
}


def is_v2_voice(payload: Mapping[str, Any]) -> bool:
    """Whether a voice payload shows a key only Voice v2 sends."""
    return any(key in payload for key in V2_KEYS)


def class_for(payload: Mapping[str, Any], *, in_array: bool = False) -> type[Event]:
    """The class ``payload`` parses into; :class:`~bwhooks.InvalidCallback` when it is
    no callback (no ``eventType``, nor a messaging ``type``)."""
    event_type = payload.get("eventType")
    if event_type.__class__ is str and event_type:
        return _PLAIN.get(event_type) or _voice_class(event_type, payload)
    message_type = payload.get("type")
    if (
        "eventType" not in payload
        and message_type.__class__ is str
        and message_type
        and (in_array or "message" in payload)
    ):
        return _MESSAGING.get(message_type, UnknownMessagingEvent)
    if in_array:
        raise InvalidCallback("missing type", field="type")
    raise InvalidCallback("missing eventType", field="eventType")


def _voice_class(event_type: str, payload: Mapping[str, Any]) -> type[Event]:
    v2 = _VOICE.get(event_type)
    v1 = _V1.get(event_type)
    if v1 is None and v2 is None:
        folded = event_type.lower()
        v2, v1 = _VOICE_FOLDED.get(folded), _V1_FOLDED.get(folded)
    if v2 is not None and (v1 is None or is_v2_voice(payload)):
        return v2
    if v1 is None:
        return UnknownVoiceEvent if is_v2_voice(payload) else UnknownEvent
    if v1 is HangupEvent and payload.get("cause") == "CALL_REJECTED":
        return RejectEvent
    return v1
