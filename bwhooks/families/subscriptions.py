"""Subscriptions v2 notifications: JSON objects with a ``notificationType`` (and neither
``eventType`` nor ``type``), always signed by Bandwidth
(:meth:`bwhooks.HmacSignature.subscriptions`); answered ``204``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bwhooks import events
from bwhooks.events import Event
from bwhooks.families.family import JSON, Family

__all__ = ["SubscriptionsV2"]


class SubscriptionsV2(Family):
    """Subscriptions v2: an object (not an array's element) whose ``notificationType`` is a
    non-empty string, without ``eventType`` or ``type``:
    a :class:`~bwhooks.SubscriptionNotificationEvent`, whatever the type (an open set).

    :attr:`SIGNED`: a receiver given this family explicitly warns without a
    ``signature=``; one reading it by default logs a WARNING at its first unverified
    notification."""

    NAME: ClassVar[str] = "Subscriptions v2"
    MEDIA_TYPES: ClassVar[tuple[str, ...]] = JSON
    SIGNED: ClassVar[bool] = True

    def class_for(
        self, payload: Mapping[str, Any], *, in_array: bool = False
    ) -> type[Event] | None:
        notification_type = payload.get("notificationType")
        if (
            in_array
            or notification_type.__class__ is not str
            or not notification_type
            or "eventType" in payload
            or "type" in payload
        ):
            return None
        return events.SubscriptionNotificationEvent

    def owns(self, cls: type[Event]) -> bool:
        return issubclass(cls, events.SubscriptionNotificationEvent)
