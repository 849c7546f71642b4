"""Messaging events: SMS and MMS (Bandwidth v1 / Catapult)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from bwhooks.events._base import Event


@attrs.frozen(kw_only=True)
class MessageEvent(Event):
    """Base class of SMS and MMS events.

    ``direction``: ``in`` (to your number) or ``out`` (from it). ``state``: ``received``,
    ``queued``, ``sending``, ``sent``, ``error``. ``delivery_state``: ``waiting``,
    ``delivered``, ``not-delivered``; ``delivery_code`` (0 = delivered to the carrier,
    720 = invalid destination, ...) and ``delivery_description`` explain it.
    ``time`` is when the message resource was created.
    """

    message_id: str | None = None
    message_uri: str | None = None
    direction: str | None = None
    from_: str | None = None
    to: str | None = None
    text: str | None = None
    application_id: str | None = None
    time: datetime | None = None
    state: str | None = None
    delivery_state: str | None = None
    delivery_code: int | None = None
    delivery_description: str | None = None
    segment_count: int | None = None
    tag: str | None = None


@attrs.frozen(kw_only=True)
class SmsEvent(MessageEvent):
    """``sms``: an inbound SMS, or the state of an outbound one."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("sms",)


@attrs.frozen(kw_only=True)
class MmsEvent(MessageEvent):
    """``mms``: an inbound MMS, or the state of an outbound one; ``media`` lists its URLs."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("mms",)

    media: tuple[str, ...] | None = None
