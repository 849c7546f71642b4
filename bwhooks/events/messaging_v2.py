"""Messaging v2 callbacks (Bandwidth's current Messaging API).

Bandwidth posts a JSON *array*: each element is one event, dispatched in order. The
element's ``type`` is the event's ``event_type``; the message it is about is in
``message``. Every field but ``type`` is optional, and a field that cannot be converted is
left ``None`` (its value stays in ``raw``) with a warning naming it. Bandwidth ignores the
answer's body: a handler's return value is not sent (a ``CallbackResponse`` aside).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from bwhooks.events._base import WIRE, Event, Reply, event_type_field


@attrs.frozen(kw_only=True)
class RbmMessageContentFile:
    """A media file of an RBM message: ``file_url``, and ``thumbnail_url`` for videos."""

    file_url: str | None = None
    thumbnail_url: str | None = None


@attrs.frozen(kw_only=True)
class RbmMessageContent:
    """The content of an inbound multi-channel (RBM) message: ``text`` or one ``media``."""

    text: str | None = None
    media: RbmMessageContentFile | None = None


@attrs.frozen(kw_only=True)
class RbmSuggestionResponse:
    """The RBM suggestion the user tapped; ``postback_data`` is the base64 payload sent
    with it, ``paired_message_id`` the outbound message it belonged to."""

    text: str | None = None
    postback_data: str | None = None
    paired_message_id: str | None = None


@attrs.frozen(kw_only=True)
class RbmLocationResponse:
    """A location the user shared, in decimal degrees as Bandwidth writes them (strings)."""

    latitude: str | None = None
    longitude: str | None = None


@attrs.frozen(kw_only=True)
class CallbackMessage:
    """The message a Messaging v2 callback is about (its ``message`` object).

    ``owner`` is the Bandwidth number this copy belongs to; ``direction``: ``in`` or
    ``out``; ``to`` every recipient; ``text`` is ``""`` in status callbacks; ``priority``:
    ``default`` or ``high``; ``channel``: ``RBM``, ``SMS`` or ``MMS``. ``content``,
    ``suggestion_response`` and ``location_response`` come with RBM messages.
    """

    id: str | None = None
    owner: str | None = None
    application_id: str | None = None
    time: datetime | None = None
    segment_count: int | None = None
    direction: str | None = None
    to: tuple[str, ...] | None = None
    from_: str | None = None
    text: str | None = None
    tag: str | None = None
    media: tuple[str, ...] | None = None
    priority: str | None = None
    channel: str | None = None
    content: RbmMessageContent | None = None
    suggestion_response: RbmSuggestionResponse | None = None
    location_response: RbmLocationResponse | None = None


@attrs.frozen(kw_only=True)
class MessagingEvent(Event):
    """Base class of every Messaging v2 callback: register it to receive them all.

    ``event_type`` is the wire ``type``; ``time`` when the event happened; ``to`` the number
    this event is about (the recipient of a status, the receiving number of an inbound
    message); ``description`` free text; ``error_code`` why a message failed (4432, 9902,
    ...); ``carrier_name`` when that account feature is on; ``event_time`` when an RBM
    message was read.
    """

    GENERATION: ClassVar[int] = 2
    REPLY: ClassVar[Reply] = Reply.NONE
    RETRIED_AFTER_FAILURE: ClassVar[bool] = True

    event_type: str = event_type_field("type")
    time: datetime | None = None
    event_time: datetime | None = None
    to: str | None = None
    description: str | None = None
    message: CallbackMessage | None = None
    error_code: int | None = None
    carrier_name: str | None = None


@attrs.frozen(kw_only=True)
class InboundMessageEvent(MessagingEvent):
    """Base class of what reaches the application's inbound callback URL."""


@attrs.frozen(kw_only=True)
class MessageStatusEvent(MessagingEvent):
    """Base class of the status (delivery receipt) callbacks of outbound messages."""


@attrs.frozen(kw_only=True)
class UnknownMessagingEvent(MessagingEvent):
    """A Messaging v2 callback whose ``type`` bwhooks does not know (yet); the common
    fields are typed, the rest is in ``raw``."""

    event_type: str = event_type_field("type", required=True)


@attrs.frozen(kw_only=True)
class MessageReceivedEvent(InboundMessageEvent):
    """``message-received``: a message to one of your numbers (one per owned recipient of a
    group message; ``message.owner`` is that number)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("message-received",)


@attrs.frozen(kw_only=True)
class SuggestionResponseEvent(InboundMessageEvent):
    """``suggestion-response``: the user tapped an RBM suggestion
    (``message.suggestion_response``)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("suggestion-response",)


def _current_spelling(message_type: str) -> str:
    """``requested-location-response`` for its name until mid-2026."""
    return "requested-location-response" if message_type == _OLD_LOCATION else message_type


_OLD_LOCATION = "location-request-response"


@attrs.frozen(kw_only=True)
class RequestedLocationResponseEvent(InboundMessageEvent):
    """``requested-location-response``: the user shared a location
    (``message.location_response``). Its name until mid-2026,
    ``location-request-response``, is read as this one (``event_type`` is the current
    name; ``raw`` keeps the one sent)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("requested-location-response", _OLD_LOCATION)

    event_type: str = attrs.field(
        default="requested-location-response",
        converter=_current_spelling,
        metadata={WIRE: "type"},
    )


@attrs.frozen(kw_only=True)
class MessageSendingEvent(MessageStatusEvent):
    """``message-sending``: an MMS is being sent (with MMS delivery receipts enabled)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("message-sending",)


@attrs.frozen(kw_only=True)
class MessageSentEvent(MessageStatusEvent):
    """``message-sent``: the message left Bandwidth's network."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("message-sent",)


@attrs.frozen(kw_only=True)
class MessageDeliveredEvent(MessageStatusEvent):
    """``message-delivered``: the message reached the carrier (the handset, for toll-free
    senders); each outbound message gets this or ``message-failed``, per recipient.
    ``platform`` (``NorthAmericaSMS``, ``GlobalSMS``) comes with an MFA (2FA) code's
    delivery receipt, one JSON object rather than an array."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("message-delivered",)

    platform: str | None = None


@attrs.frozen(kw_only=True)
class MessageFailedEvent(MessageStatusEvent):
    """``message-failed``: the message could not be delivered; ``error_code`` says why.
    ``platform`` comes with an MFA (2FA) code's delivery receipt."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("message-failed",)

    platform: str | None = None


@attrs.frozen(kw_only=True)
class MessageReadEvent(MessageStatusEvent):
    """``message-read``: the recipient read an RBM message (at ``event_time``)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("message-read",)


#: Every Messaging v2 class with a known ``type``.
MESSAGING_V2_CLASSES: tuple[type[MessagingEvent], ...] = (
    MessageReceivedEvent,
    MessageSendingEvent,
    MessageDeliveredEvent,
    MessageFailedEvent,
    MessageSentEvent,
    MessageReadEvent,
    SuggestionResponseEvent,
    RequestedLocationResponseEvent,
)
