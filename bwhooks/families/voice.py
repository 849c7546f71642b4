"""Voice v2: call and conference webhooks with an ``eventType``, as JSON bodies or GET
query strings; a synchronous one's answer is BXML."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from bwhooks import events
from bwhooks.events import Event
from bwhooks.families.endpoints import is_endpoint_event
from bwhooks.families.family import JSON, Family

__all__ = ["V2_KEYS", "VoiceV2", "by_type", "is_v2_voice", "shared_event_types"]

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


class _Tables:
    """The classes by ``eventType``, built when first needed (the event classes are loaded
    then, not by ``import bwhooks``)."""

    def __init__(self) -> None:
        self.by_type: dict[str, type[Event]] = {}
        for cls in events.VOICE_V2_CLASSES:
            for event_type in cls.EVENT_TYPES:
                self.by_type.setdefault(event_type, cls)
        self.v1 = frozenset(t for cls in events.EVENT_CLASSES for t in cls.EVENT_TYPES)
        self.shared = frozenset(self.by_type.keys() & self.v1)
        # The types only v2 sends: one look-up, the common case.
        self.own = {t: cls for t, cls in self.by_type.items() if t not in self.v1}
        self.folded = {t.lower(): cls for t, cls in self.by_type.items()}
        self.folded_v1 = frozenset(t.lower() for t in self.v1)


_tables: _Tables | None = None


def _load() -> _Tables:
    global _tables  # noqa: PLW0603  (built once, on first use)
    _tables = _Tables()
    return _tables


def by_type() -> Mapping[str, type[Event]]:
    """The Voice v2 class of each ``eventType``, spelled exactly; built on first use."""
    return MappingProxyType((_tables or _load()).by_type)


def shared_event_types() -> frozenset[str]:
    """The ``eventType`` values v1 sends too (``answer``, ``gather``, ``dtmf``, ...), told
    apart by :data:`V2_KEYS`."""
    return (_tables or _load()).shared


def is_v2_voice(payload: Mapping[str, Any]) -> bool:
    """Whether a voice payload shows a key only Voice v2 sends."""
    return not V2_KEYS.isdisjoint(payload)


class VoiceV2(Family):
    """Voice v2: a payload with a non-empty string ``eventType`` of a Voice v2 type; for
    the types v1 sends too, and for unknown types, only when it carries a key only v2
    sends (:data:`V2_KEYS`), so that every v1 payload keeps its v1 class; an unknown type
    that is an endpoint event's (:func:`~bwhooks.families.endpoints.is_endpoint_event`)
    is not Voice v2's."""

    NAME: ClassVar[str] = "Voice v2"
    MEDIA_TYPES: ClassVar[tuple[str, ...]] = JSON
    QUERIES: ClassVar[bool] = True

    def class_for(
        self, payload: Mapping[str, Any], *, in_array: bool = False
    ) -> type[Event] | None:
        event_type = payload.get("eventType")
        if event_type.__class__ is not str or not event_type:
            return None
        tables = _tables or _load()
        cls = tables.own.get(event_type)
        if cls is not None:
            return cls
        cls = tables.by_type.get(event_type)
        in_v1 = event_type in tables.v1
        if cls is None and not in_v1:  # neither spelled exactly: case-folded
            folded = event_type.lower()
            cls, in_v1 = tables.folded.get(folded), folded in tables.folded_v1
        if cls is not None:
            return cls if not in_v1 or is_v2_voice(payload) else None
        if not in_v1 and is_v2_voice(payload) and not is_endpoint_event(payload, event_type):
            return events.UnknownVoiceEvent
        return None

    def direct(self) -> Mapping[str, Mapping[str, type[Event]]]:
        return {"eventType": (_tables or _load()).own}

    def owns(self, cls: type[Event]) -> bool:
        return issubclass(cls, events.VoiceEvent)

    def unknown_classes(self) -> tuple[type[Event], ...]:
        return (events.UnknownVoiceEvent,)
