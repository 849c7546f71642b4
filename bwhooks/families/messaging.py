"""Messaging v2: message callbacks with a ``type`` (no ``eventType``), a JSON array of
them or one object with its ``message`` (or an MFA delivery receipt's ``platform``); any
answer body is ignored."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from bwhooks import events
from bwhooks.events import Event
from bwhooks.families.family import JSON, Family

__all__ = ["MessagingV2", "by_type"]


_by_type: dict[str, type[Event]] | None = None


def _load() -> dict[str, type[Event]]:
    global _by_type  # noqa: PLW0603  (built once, on first use)
    found: dict[str, type[Event]] = {}
    for cls in events.MESSAGING_V2_CLASSES:
        for message_type in cls.EVENT_TYPES:
            found.setdefault(message_type, cls)
    _by_type = found
    return found


def by_type() -> Mapping[str, type[Event]]:
    """The Messaging v2 class of each ``type``, spelled exactly; built on first use."""
    return MappingProxyType(_by_type or _load())


class MessagingV2(Family):
    """Messaging v2: an object without ``eventType`` whose ``type`` is a non-empty string
    and that carries a ``message`` (what bandwidth-sdk serializes) or a ``platform`` (an
    MFA code's delivery receipt); inside a JSON array, ``type`` alone is enough. An
    unknown ``type`` is an :class:`~bwhooks.events.UnknownMessagingEvent`."""

    NAME: ClassVar[str] = "Messaging v2"
    MEDIA_TYPES: ClassVar[tuple[str, ...]] = JSON
    QUERIES: ClassVar[bool] = True

    def class_for(
        self, payload: Mapping[str, Any], *, in_array: bool = False
    ) -> type[Event] | None:
        message_type = payload.get("type")
        if (
            "eventType" not in payload
            and message_type.__class__ is str
            and message_type
            and (in_array or "message" in payload or "platform" in payload)
        ):
            return (_by_type or _load()).get(message_type, events.UnknownMessagingEvent)
        return None

    def owns(self, cls: type[Event]) -> bool:
        return issubclass(cls, events.MessagingEvent)

    def unknown_classes(self) -> tuple[type[Event], ...]:
        return (events.UnknownMessagingEvent,)
