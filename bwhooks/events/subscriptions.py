"""Subscriptions v2 notifications: Bandwidth's newer notification platform (JSON bodies).

Every body is signed (an HMAC-SHA256 of its bytes, base64, in
``X-Bandwidth-Signature-SHA-256``: verify it with
:meth:`bwhooks.HmacSignature.subscriptions`). Its envelope is not publicly documented: the
fields below are those of the Messaging Transfer Confirmation (``PORTOUT_REQUEST``); every
other key is kept in ``raw``. A field that cannot be converted is left ``None`` with a
warning. The answer is an empty ``204``.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from bwhooks.events._base import WIRE, Event, Reply


def _type_of(event: SubscriptionNotificationEvent) -> str:
    return event.notification_type or event.EVENT_TYPES[0]


@attrs.frozen(kw_only=True)
class SubscriptionNotificationEvent(Event):
    """A Subscriptions v2 notification: a JSON object with a ``notificationType``.

    ``notification_type`` (also ``event_type``): ``PORTOUT_REQUEST`` for a Messaging
    Transfer Confirmation (an open set); ``phone_number`` (E.164); ``old_nnid`` and
    ``new_nnid`` the network ids the number's messaging moves between;
    ``overwriter_carrier`` the carrier taking it; ``request_id``; ``activation`` when the
    transfer takes effect (when present).
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("subscriptionNotification",)
    GENERATION: ClassVar[int] = 2  # a field that cannot be converted is left None
    REPLY: ClassVar[Reply] = Reply.NO_CONTENT

    notification_type: str | None = None
    #: The wire ``notificationType`` too (``notification_type`` when built without one).
    event_type: str = attrs.field(
        default=attrs.Factory(_type_of, takes_self=True), metadata={WIRE: "notificationType"}
    )
    phone_number: str | None = None
    old_nnid: str | None = None
    new_nnid: str | None = None
    overwriter_carrier: str | None = None
    request_id: str | None = None
    activation: datetime | None = None


#: Every Subscriptions v2 class.
SUBSCRIPTION_CLASSES: tuple[type[SubscriptionNotificationEvent], ...] = (
    SubscriptionNotificationEvent,
)
