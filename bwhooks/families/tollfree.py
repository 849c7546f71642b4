"""Toll-free verification (TFV) results: JSON objects with ``phoneNumber`` and
``accountId`` (and neither ``eventType`` nor ``type``), in four shapes no field names.

Bandwidth retries a result answered other than ``2xx`` for 24 hours: one that parses as a
JSON object with these keys is never refused for its content (a field that cannot be
converted is left ``None``). Answered ``204``. Bodies are signed when the subscription has a
``sharedSecretKey`` (:meth:`bwhooks.HmacSignature.toll_free`), not otherwise: not
:attr:`~bwhooks.families.Family.SIGNED`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bwhooks import events
from bwhooks.events import Event
from bwhooks.families.family import JSON, Family

__all__ = ["TollFree", "class_of"]

#: The keys only a failure carries.
FAILURE_KEYS = frozenset({"errorCode", "errorMessage", "errors", "isBadRequest"})
#: The keys only a denial carries (both spellings of its description).
DENIAL_KEYS = frozenset(
    {
        "denialStatusCode",
        "declineReasonDescription",
        "denialReasonDescription",
        "additionalDenialReasons",
        "resubmitAllowed",
    }
)
#: Keys that no toll-free verification result carries: another family's.
FOREIGN_KEYS = frozenset({"eventType", "type", "notificationType"})


def class_of(payload: Mapping[str, Any]) -> type[Event]:
    """The shape of a toll-free verification result, by the keys present: a failure key
    (:data:`FAILURE_KEYS`) makes a failure, a denial key (:data:`DENIAL_KEYS`) a denial,
    ``blocked`` (not false) or a ``blockedReason`` a blocked number; else a status."""
    if not FAILURE_KEYS.isdisjoint(payload):
        return events.TollFreeFailureEvent
    if not DENIAL_KEYS.isdisjoint(payload):
        return events.TollFreeDenialEvent
    blocked = payload.get("blocked")
    if blocked not in (None, False, "false") or payload.get("blockedReason"):
        return events.TollFreeBlockedEvent
    return events.TollFreeStatusEvent


class TollFree(Family):
    """Toll-free verification: an object (not an array's element) with ``phoneNumber``
    and ``accountId`` and no ``eventType``, ``type`` or ``notificationType``; its shape
    by :func:`class_of`."""

    NAME: ClassVar[str] = "Toll-free verification"
    MEDIA_TYPES: ClassVar[tuple[str, ...]] = JSON

    def class_for(
        self, payload: Mapping[str, Any], *, in_array: bool = False
    ) -> type[Event] | None:
        if (
            in_array
            or "phoneNumber" not in payload
            or "accountId" not in payload
            or not FOREIGN_KEYS.isdisjoint(payload)
        ):
            return None
        return class_of(payload)

    def owns(self, cls: type[Event]) -> bool:
        return issubclass(cls, events.TollFreeVerificationEvent)
