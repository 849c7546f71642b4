"""Bandwidth's Numbers webhooks (XML): order and account notifications, port-out validation.

Bandwidth's Numbers (Dashboard) API posts XML documents, recognized by their root element:
``<Notification>`` for an order's status (:class:`OrderNotificationEvent`) or an account
event (:class:`AccountNotificationEvent`), ``<PortOutValidationRequest>`` when a carrier asks
to port one of your numbers away (:class:`PortOutValidationEvent`). Attributes are named
after the elements (``SubscriptionId`` -> ``subscription_id``); elements come in any order,
an empty one is ``None``, and every element, known or not, stays in ``raw`` (a read-only
mapping of the document: an element repeated under one parent is a tuple). Order types and
statuses are open sets: plain strings. Telephone numbers are kept as sent: 10 digits
(``LEGACY``, the default of a subscription) or E.164 (``+1...``).

Notifications are never retried: a notification answered ``4xx`` or ``5xx`` is lost. A
field that cannot be converted is left ``None`` (its text stays in ``raw``) with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import attrs

from bwhooks.events._base import (
    ALIASES,
    ITEM,
    WIRE,
    Event,
    Reply,
    event_type_field,
    wire_field,
)

_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def _numbers_field(container: str) -> Any:
    """A tuple of telephone numbers read from the ``<TelephoneNumber>`` elements of the
    ``container`` element (``()`` when it is absent or empty)."""
    return attrs.field(default=(), metadata={"bwhooks.wire": container, ITEM: "TelephoneNumber"})


def _personal_field(element: str) -> Any:
    """An optional attribute read from ``element`` that ``repr`` leaves out (a subscriber's
    PIN, account number, ZIP code, name: a logged event must not show them)."""
    return attrs.field(default=None, repr=False, metadata={WIRE: element, ALIASES: ()})


def _unread(event: Event) -> tuple[str, ...]:
    """The elements of ``event``'s document that hold something its attributes did not
    read: a text field given child elements or repeated, a list of numbers whose container
    holds anything but non-empty ``<item>`` texts."""
    unread: list[str] = []
    for field in attrs.fields(type(event)):
        element = field.metadata.get(WIRE, "")
        value = event.raw.get(element) if element[:1].isupper() else None
        if value is None or value == "":
            continue
        item = field.metadata.get(ITEM)
        if item is None:
            if getattr(event, field.name) is None:
                unread.append(element)
            continue
        items = value.get(item) if isinstance(value, Mapping) and value.keys() == {item} else None
        texts = (items,) if isinstance(items, str) else items
        if (
            not isinstance(texts, tuple)
            or not all(isinstance(t, str) for t in texts)
            or len(getattr(event, field.name)) != sum(1 for t in texts if t)
        ):
            unread.append(element)
    return tuple(unread)


def to_e164(number: str) -> str:
    """A North American telephone number in E.164 form, from either form Bandwidth sends.

    10 digits (``LEGACY``, ``9195551234``) give ``+19195551234``; 11 digits starting with
    ``1`` give ``+1...``; an E.164 number (``+`` and 8 to 15 digits) is kept. Surrounding
    whitespace is ignored; anything else raises ``ValueError``.
    """
    text = number.strip() if isinstance(number, str) else ""
    digits = text[1:] if text.startswith("+") else text
    if not _DIGITS.fullmatch(digits):
        raise ValueError(f"not a telephone number: {number!r}")
    if text.startswith("+"):
        if 8 <= len(digits) <= 15 and digits[0] != "0":
            return text
    elif len(digits) == 10:
        return "+1" + digits
    elif len(digits) == 11 and digits[0] == "1":
        return "+" + digits
    raise ValueError(f"not a 10-digit or E.164 telephone number: {number!r}")


@attrs.frozen(kw_only=True)
class NumbersEvent(Event):
    """Base class of Bandwidth's Numbers webhooks (XML bodies): register it to receive
    every order notification, account event and port-out validation request."""

    GENERATION: ClassVar[int] = 2  # a field that cannot be converted is left None
    #: The root element of the documents of this class (an unknown one's: its event_type).
    ROOT: ClassVar[str] = ""
    REPLY: ClassVar[Reply] = Reply.NONE
    RETRIED_AFTER_FAILURE: ClassVar[bool] = False


@attrs.frozen(kw_only=True)
class NotificationEvent(NumbersEvent):
    """Base class of ``<Notification>`` bodies; ``subscription_id`` names the subscription
    (``POST /accounts/{id}/subscriptions``) that sent it."""

    subscription_id: str | None = wire_field("SubscriptionId")


@attrs.frozen(kw_only=True)
class OrderNotificationEvent(NotificationEvent):
    """A ``<Notification>`` with an ``OrderType``: an order reached a status.

    ``order_type``: ``orders``, ``portins``, ``disconnects``, ``tnoptions`` (10DLC campaign
    assignments), ``e911s``, ... (an open set); ``status``: ``COMPLETE``, ``FAILED``,
    ``FOC``, ... (an open set; see the guide's table). ``message`` is often a code and text
    (``5005: The telephone number is unavailable for ordering``); ``note`` a note added to
    the order; ``completed_numbers`` the order's numbers (``()`` when none are listed);
    ``last_modified`` when the order last changed; ``actual_foc_date`` a port-in's FOC date.
    The body is a summary by design: fetch the order for its details.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("orderNotification",)
    ROOT: ClassVar[str] = "Notification"

    order_type: str | None = wire_field("OrderType")
    order_id: str | None = wire_field("OrderId")
    customer_order_id: str | None = wire_field("CustomerOrderId")
    status: str | None = wire_field("Status")
    message: str | None = wire_field("Message")
    note: str | None = wire_field("Note")
    completed_numbers: tuple[str, ...] = _numbers_field("CompletedTelephoneNumbers")
    last_modified: datetime | None = wire_field("LastModifiedDate")
    actual_foc_date: datetime | None = wire_field("ActualFocDate")


@attrs.frozen(kw_only=True)
class AccountNotificationEvent(NotificationEvent):
    """A ``<Notification>`` with an ``EventType``: something happened to numbers of the
    account. ``event_type`` is the wire ``EventType`` (``MESSAGING_LOST``: a number with
    hosted messaging was taken by an order in another account); ``impacted_numbers`` the
    numbers concerned."""

    ROOT: ClassVar[str] = "Notification"

    event_type: str = event_type_field("EventType", required=True)
    impacted_numbers: tuple[str, ...] = _numbers_field("ImpactedTelephoneNumbers")


@attrs.frozen(kw_only=True)
class PortOutValidationEvent(NumbersEvent):
    """A ``<PortOutValidationRequest>``: a carrier asks to port ``telephone_numbers`` away.

    Answer with :class:`~bwhooks.PortOutAnswer` (``allow()`` or ``deny(...)``) within 30
    seconds. **No answer, an invalid answer or any ``4xx``/``5xx`` approves the port-out.**
    Never queued (:attr:`~bwhooks.Event.INLINE_ONLY`): a queued handler of it is refused,
    and a queued handler of ``Event`` or ``NumbersEvent`` does not receive it.
    Any element may be missing or empty (``None``, and ``telephone_numbers`` ``()``: deny
    a request that names no number); ``pon`` is the port order number, echoed in the
    answer. ``repr`` leaves out the PIN, account number, ZIP code and subscriber name.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("portOutValidation",)
    ROOT: ClassVar[str] = "PortOutValidationRequest"
    RETRIED_AFTER_FAILURE: ClassVar[bool] = True  # 8 times, every 5 minutes
    INLINE_ONLY: ClassVar[str] = (
        "its answer (a PortOutAnswer) decides the port-out and must come from a handler "
        "run in the request, within Bandwidth's 30 seconds; a worker's return value is "
        "never sent"
    )

    pon: str | None = wire_field("PON")
    pin: str | None = _personal_field("Pin")
    account_number: str | None = _personal_field("AccountNumber")
    zip_code: str | None = _personal_field("ZipCode")
    subscriber_name: str | None = _personal_field("SubscriberName")
    telephone_numbers: tuple[str, ...] = _numbers_field("TelephoneNumbers")

    def unread(self) -> tuple[str, ...]:
        """The elements of the request that hold something the attributes could not read
        (a repeated ``<Pin>``, a ``<TelephoneNumber>`` with child elements...), their text
        kept in ``raw``; ``()`` for a request read whole. A receiver never gives a request
        with such elements to its handlers: it answers with its ``port_out_fallback``."""
        return _unread(self)


@attrs.frozen(kw_only=True)
class UnknownNumbersEvent(NumbersEvent):
    """An XML document whose root element bwhooks does not know (yet): ``event_type`` is
    the root element's name, its children are in ``raw``. Kept, never refused."""

    event_type: str


#: Every Numbers webhook class with a known root element and shape.
NUMBERS_CLASSES: tuple[type[NumbersEvent], ...] = (
    OrderNotificationEvent,
    AccountNotificationEvent,
    PortOutValidationEvent,
)
