"""Endpoint events (WebRTC endpoints): JSON objects with an ``eventType`` of their own
(``DEVICE_CONNECTED``, ``DEVICE_DISCONNECTED``), or an unknown one with an ``endpointId``
and no ``callId``; answered ``204``."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from bwhooks import events
from bwhooks.events import Event
from bwhooks.families.family import JSON, Family

__all__ = ["Endpoints", "by_type", "is_endpoint_event"]

_by_type: dict[str, type[Event]] | None = None
_voice_types: frozenset[str] = frozenset()  # every voice eventType (v1, v2), lowercase


def _load() -> dict[str, type[Event]]:
    global _by_type, _voice_types  # noqa: PLW0603  (built once, on first use)
    voice = (*events.VOICE_V2_CLASSES, *events.EVENT_CLASSES)
    _voice_types = frozenset(t.lower() for cls in voice for t in cls.EVENT_TYPES)
    _by_type = {t: cls for cls in events.ENDPOINT_CLASSES for t in cls.EVENT_TYPES}
    return _by_type


def is_endpoint_event(payload: Mapping[str, Any], event_type: str) -> bool:
    """Whether a payload of an ``eventType`` the voice families do not know is an endpoint
    event's: an endpoint event type, or an ``endpointId`` without a ``callId`` (what the
    voice families ask before keeping an unknown type as theirs)."""
    return event_type in (_by_type or _load()) or (
        "endpointId" in payload and "callId" not in payload
    )


def by_type() -> Mapping[str, type[Event]]:
    """The endpoint event class of each ``eventType``; built on first use."""
    return MappingProxyType(_by_type or _load())


class Endpoints(Family):
    """Endpoint events: a non-empty string ``eventType`` of an endpoint event; an
    ``eventType`` that neither endpoints nor voice (v1, v2, in any case) know is an
    :class:`~bwhooks.UnknownEndpointEvent` when the payload has an ``endpointId`` and no
    ``callId``. It claims no payload of a voice type (v1, v2), and they none of its
    (:func:`is_endpoint_event`)."""

    NAME: ClassVar[str] = "Endpoint events"
    MEDIA_TYPES: ClassVar[tuple[str, ...]] = JSON

    def class_for(
        self, payload: Mapping[str, Any], *, in_array: bool = False
    ) -> type[Event] | None:
        event_type = payload.get("eventType")
        if event_type.__class__ is not str or not event_type or in_array:
            return None
        cls = (_by_type or _load()).get(event_type)
        if cls is not None:
            return cls
        if "endpointId" not in payload or "callId" in payload:
            return None
        if event_type.lower() in _voice_types:  # however spelled: the voice families'
            return None
        return events.UnknownEndpointEvent

    def direct(self) -> Mapping[str, Mapping[str, type[Event]]]:
        return {"eventType": _by_type or _load()}

    def owns(self, cls: type[Event]) -> bool:
        return issubclass(cls, events.EndpointEvent)

    def unknown_classes(self) -> tuple[type[Event], ...]:
        return (events.UnknownEndpointEvent,)
