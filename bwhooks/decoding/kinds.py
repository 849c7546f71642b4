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
from typing import TYPE_CHECKING, Any

from bwhooks import events
from bwhooks.errors import InvalidCallback
from bwhooks.events import Event, UnknownEvent

if TYPE_CHECKING:
    #: The class of each wire type, spelled exactly: v1 ``eventType``, Voice v2
    #: ``eventType``, Messaging v2 ``type`` (``hangup`` gives :class:`HangupEvent`, which a
    #: ``cause`` of ``CALL_REJECTED`` makes a :class:`RejectEvent`).
    V1_BY_TYPE: Mapping[str, type[Event]]
    VOICE_BY_TYPE: Mapping[str, type[Event]]
    MESSAGING_BY_TYPE: Mapping[str, type[Event]]
    #: The ``eventType`` values both generations send, told apart by :data:`V2_KEYS`.
    SHARED_EVENT_TYPES: frozenset[str]

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


class _Tables:
    """The classes by wire type, built when first needed (the event classes are loaded
    then, not by ``import bwhooks``)."""

    def __init__(self) -> None:
        self.v1 = _by_type(events.EVENT_CLASSES)
        self.voice = _by_type(events.VOICE_V2_CLASSES)
        self.messaging = _by_type(events.MESSAGING_V2_CLASSES)
        self.v1_folded = {event_type.lower(): cls for event_type, cls in self.v1.items()}
        self.voice_folded = {event_type.lower(): cls for event_type, cls in self.voice.items()}
        self.shared = frozenset(self.v1.keys() & self.voice.keys())
        self.hangup: type[Event] = events.HangupEvent
        self.reject: type[Event] = events.RejectEvent
        self.unknown_voice: type[Event] = events.UnknownVoiceEvent
        self.unknown_messaging: type[Event] = events.UnknownMessagingEvent
        # The types whose class needs no look at the payload: one look-up, the common case.
        self.plain = {
            event_type: cls
            for event_type, cls in {**self.v1, **self.voice}.items()
            if event_type not in self.shared and cls is not self.hangup
        }


_tables: _Tables | None = None


def _load() -> _Tables:
    global _tables  # noqa: PLW0603  (built once, on first use)
    _tables = _Tables()
    return _tables


def __getattr__(name: str) -> Any:
    """The tables above, built on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    tables = _tables or _load()
    value = {
        "V1_BY_TYPE": MappingProxyType(tables.v1),
        "VOICE_BY_TYPE": MappingProxyType(tables.voice),
        "MESSAGING_BY_TYPE": MappingProxyType(tables.messaging),
        "SHARED_EVENT_TYPES": tables.shared,
    }[name]
    globals()[name] = value
    return value


_LAZY = frozenset({"V1_BY_TYPE", "VOICE_BY_TYPE", "MESSAGING_BY_TYPE", "SHARED_EVENT_TYPES"})


def is_v2_voice(payload: Mapping[str, Any]) -> bool:
    """Whether a voice payload shows a key only Voice v2 sends."""
    return any(key in payload for key in V2_KEYS)


def class_for(payload: Mapping[str, Any], *, in_array: bool = False) -> type[Event]:
    """The class ``payload`` parses into; :class:`~bwhooks.InvalidCallback` when it is
    no callback (no ``eventType``, nor a messaging ``type``)."""
    tables = _tables or _load()
    event_type = payload.get("eventType")
    if event_type.__class__ is str and event_type:
        return tables.plain.get(event_type) or _voice_class(tables, event_type, payload)
    message_type = payload.get("type")
    if (
        "eventType" not in payload
        and message_type.__class__ is str
        and message_type
        and (in_array or "message" in payload)
    ):
        return tables.messaging.get(message_type, tables.unknown_messaging)
    if in_array:
        raise InvalidCallback("missing type", field="type")
    raise InvalidCallback("missing eventType", field="eventType")


def _voice_class(tables: _Tables, event_type: str, payload: Mapping[str, Any]) -> type[Event]:
    v2 = tables.voice.get(event_type)
    v1 = tables.v1.get(event_type)
    if v1 is None and v2 is None:
        folded = event_type.lower()
        v2, v1 = tables.voice_folded.get(folded), tables.v1_folded.get(folded)
    if v2 is not None and (v1 is None or is_v2_voice(payload)):
        return v2
    if v1 is None:
        return tables.unknown_voice if is_v2_voice(payload) else UnknownEvent
    if v1 is tables.hangup and payload.get("cause") == "CALL_REJECTED":
        return tables.reject
    return v1
