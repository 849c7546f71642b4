"""Bandwidth v1 (Catapult): voice and messaging callbacks with an ``eventType``, as JSON
bodies or GET query strings; a handler's BXML is sent back."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from bwhooks import events
from bwhooks.events import Event, UnknownEvent
from bwhooks.families import voice
from bwhooks.families.endpoints import is_endpoint_event
from bwhooks.families.family import JSON, Family
from bwhooks.families.voice import VoiceV2, is_v2_voice

__all__ = ["Catapult", "by_type"]


class _Tables:
    """The v1 classes by ``eventType``, built when first needed (the event classes are
    loaded then, not by ``import bwhooks``)."""

    def __init__(self) -> None:
        self.by_type: dict[str, type[Event]] = {}
        for cls in events.EVENT_CLASSES:
            for event_type in cls.EVENT_TYPES:
                self.by_type.setdefault(event_type, cls)
        self.folded = {t.lower(): cls for t, cls in self.by_type.items()}
        # The types Voice v2 never claims (spelled as v2 does not spell any): one look-up,
        # the common case. A hangup may be a rejected call: not one of them.
        v2_types = voice.by_type()
        self.shared = voice.shared_event_types()
        self.plain = {
            t: cls
            for t, cls in self.by_type.items()
            if t not in v2_types and cls is not events.HangupEvent
        }


_tables: _Tables | None = None


def _load() -> _Tables:
    global _tables  # noqa: PLW0603  (built once, on first use)
    _tables = _Tables()
    return _tables


def by_type() -> Mapping[str, type[Event]]:
    """The v1 class of each ``eventType``, spelled exactly (``hangup`` gives
    :class:`~bwhooks.events.HangupEvent`, which a ``cause`` of ``CALL_REJECTED`` makes a
    :class:`~bwhooks.events.RejectEvent`); built on first use."""
    return MappingProxyType((_tables or _load()).by_type)


_VOICE_V2 = VoiceV2()


class Catapult(Family):
    """Bandwidth v1: every payload with a non-empty string ``eventType`` that is not Voice
    v2's (:class:`~bwhooks.families.VoiceV2` tells the types both send apart): a v1 type,
    or an unknown one as :class:`~bwhooks.events.UnknownEvent` (an endpoint event's aside:
    :func:`~bwhooks.families.endpoints.is_endpoint_event`)."""

    NAME: ClassVar[str] = "Bandwidth v1 (Catapult)"
    MEDIA_TYPES: ClassVar[tuple[str, ...]] = JSON
    QUERIES: ClassVar[bool] = True

    def class_for(
        self, payload: Mapping[str, Any], *, in_array: bool = False
    ) -> type[Event] | None:
        event_type = payload.get("eventType")
        if event_type.__class__ is not str or not event_type:
            return None
        tables = _tables or _load()
        cls = tables.plain.get(event_type)
        if cls is not None:
            return cls
        cls = tables.by_type.get(event_type)
        if cls is not None:  # a v1 spelling Voice v2 may share: v2 when it shows a v2 key
            if event_type in tables.shared and is_v2_voice(payload):
                return None
        elif _VOICE_V2.class_for(payload) is not None:
            return None
        else:
            cls = tables.folded.get(event_type.lower())
        if cls is None:  # an unknown type: v1's unless an endpoint event's
            return None if is_endpoint_event(payload, event_type) else UnknownEvent
        if cls is events.HangupEvent and payload.get("cause") == "CALL_REJECTED":
            return events.RejectEvent
        return cls

    def direct(self) -> Mapping[str, Mapping[str, type[Event]]]:
        return {"eventType": (_tables or _load()).plain}

    def owns(self, cls: type[Event]) -> bool:
        return issubclass(cls, (UnknownEvent, *events.EVENT_CLASSES))

    def unknown_classes(self) -> tuple[type[Event], ...]:
        return (UnknownEvent,)
