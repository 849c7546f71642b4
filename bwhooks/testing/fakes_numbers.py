"""Fake Numbers webhooks (XML): order and account notifications, port-out validation requests.

:func:`fake_numbers_payload` writes the XML text Bandwidth posts; ``fake_payload`` and
``fake_event`` of :mod:`bwhooks.testing.fakes` hand the Numbers kinds to it.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import attrs

from bwhooks.decoding.documents import parse_xml
from bwhooks.events import Event
from bwhooks.events.numbers import (
    AccountNotificationEvent,
    NumbersEvent,
    OrderNotificationEvent,
    PortOutValidationEvent,
)
from bwhooks.testing.numbers_xml import element_fields, is_number_list, root_element, xml_document

__all__ = [
    "NUMBERS_KINDS",
    "NUMBER_FORMATS",
    "ORDER_STATUSES",
    "fake_numbers_payload",
    "parse_numbers_xml",
]

#: The kind spellings of the Numbers webhooks: the order notification, each documented
#: account ``EventType``, the port-out validation request.
NUMBERS_KINDS: Mapping[str, type[NumbersEvent]] = MappingProxyType(
    {
        "orderNotification": OrderNotificationEvent,
        "MESSAGING_LOST": AccountNotificationEvent,
        "portOutValidation": PortOutValidationEvent,
    }
)

#: The statuses Bandwidth documents for each order type (both are open sets: any string
#: can be made).
ORDER_STATUSES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "portins": (
            "PENDING_DOCUMENTS",
            "SUBMITTED",
            "FOC",
            "REQUESTED_SUPP",
            "COMPLETE",
            "CANCELLED",
            "EXCEPTION",
            "REQUESTED_CANCEL",
        ),
        "orders": ("COMPLETE", "PARTIAL", "BACKORDERED", "FAILED"),
        "portouts": ("COMPLETE",),
        "disconnects": ("COMPLETE", "PARTIAL", "FAILED"),
        "dldas": ("RECEIVED", "PROCESSING", "COMPLETE", "PARTIAL", "FAILED"),
        "lsrorders": ("PENDING", "FOC", "EXCEPTION", "COMPLETE", "CANCELLED", "PARTIAL", "FAILED"),
        "e911s": (
            "RECEIVED",
            "PROCESSING",
            "COMPLETE",
            "ADJUSTED_COMPLETE",
            "PARTIAL",
            "ADJUSTED_PARTIAL",
            "FAILED",
        ),
        "tnoptions": ("RECEIVED", "PROCESSING", "COMPLETE", "PARTIAL", "FAILED"),
        **dict.fromkeys(
            (
                "externalTns",
                "lidb",
                "importtnorders",
                "removeImportedTnOrders",
                "importVoiceTnOrders",
                "removeImportedVoiceTnOrders",
            ),
            ("COMPLETE", "PARTIAL", "FAILED", "PROCESSING", "EXCEPTION"),
        ),
        "bulkPortins": (
            "DRAFT",
            "IN_PROGRESS",
            "NEEDS_ATTENTION",
            "PARTIAL",
            "COMPLETED",
            "CANCELLED",
        ),
        "csrs": ("COMPLETE", "FAILED", "ACTION_REQUIRED"),
        "emergencyNotificationGroup": ("COMPLETE", "FAILED"),
        "emergencyEndpointGroup": ("COMPLETE", "FAILED"),
    }
)

#: A subscription's ``NumberFormat``: ``LEGACY`` (10 digits, the default) or ``E164``.
NUMBER_FORMATS = ("LEGACY", "E164")

_MESSAGES = {
    ("orders", "COMPLETE"): "Created a new number order for {count} number(s)",
    ("orders", "PARTIAL"): "Created a new number order for {count} number(s); some failed",
    ("orders", "FAILED"): "5005: The telephone number is unavailable for ordering",
    ("orders", "BACKORDERED"): "The order is backordered",
}


def _number() -> str:
    return f"919555{secrets.randbelow(10_000):04d}"


def _formatted(number: Any, number_format: str) -> Any:
    """A 10-digit number as ``E164`` writes it (``+1`` and the digits); others as given."""
    text = str(number)
    if number_format == "E164" and len(text) == 10 and text.isdigit():
        return f"+1{text}"
    return number


def _defaults(cls: type[NumbersEvent], given: Mapping[str, Any]) -> dict[str, Any]:
    """Realistic values of ``cls``'s elements, consistent with the ``given`` ones."""
    now = datetime.now(timezone.utc)
    if cls is PortOutValidationEvent:
        return {
            "PON": f"PON-{secrets.randbelow(10**8):08d}",
            "Pin": f"{secrets.randbelow(10**4):04d}",
            "AccountNumber": f"{secrets.randbelow(10**9):09d}",
            "ZipCode": "27606",
            "SubscriberName": "Jane Doe",
            "TelephoneNumbers": (_number(),),
        }
    values: dict[str, Any] = {"SubscriptionId": str(uuid.uuid4())}
    if cls is AccountNotificationEvent:
        values.update(EventType="MESSAGING_LOST", ImpactedTelephoneNumbers=(_number(),))
        return values
    order_type = given.get("OrderType") or "orders"
    status = given.get("Status") or "COMPLETE"
    numbers = given.get("CompletedTelephoneNumbers")
    numbers = (_number(),) if numbers is None else numbers
    values.update(
        OrderType="orders",
        OrderId=str(uuid.uuid4()),
        Status="COMPLETE",
        CompletedTelephoneNumbers=numbers,
        LastModifiedDate=now,
    )
    message = _MESSAGES.get((order_type, status))
    if message is not None:
        values["Message"] = message.format(count=len(numbers))
    if order_type == "portins" and status in ("FOC", "COMPLETE"):
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)
        values["ActualFocDate"] = day + timedelta(days=3) if status == "FOC" else day
    return values


def _element_of(cls: type[NumbersEvent], name: str) -> attrs.Attribute[Any]:
    fields = element_fields(cls)
    for field in fields:
        if name in (field.name, field.metadata["bwhooks.wire"]):
            return field
    valid = ", ".join(f"{f.name} ({f.metadata['bwhooks.wire']})" for f in fields)
    raise TypeError(f"{cls.__name__} has no element {name!r}; valid names: {valid}")


def fake_numbers_payload(
    cls: type[NumbersEvent], overrides: Mapping[str, Any], *, number_format: str = "LEGACY"
) -> str:
    """The XML text Bandwidth posts for ``cls``, with ``overrides`` by attribute name
    (``status=``) or element name (``Status=``); ``None`` leaves an element out; a number
    list takes a sequence (or one number). ``number_format`` ``E164`` writes
    the generated numbers, and the 10-digit ones given, as ``+1...``."""
    if number_format not in NUMBER_FORMATS:
        raise ValueError(f"number_format must be one of {NUMBER_FORMATS}, not {number_format!r}")
    given: dict[str, Any] = {}
    for name, value in overrides.items():
        field = _element_of(cls, name)
        one = isinstance(value, str) or not isinstance(value, Sequence)
        single = is_number_list(field) and value is not None and one  # one number
        given[field.metadata["bwhooks.wire"]] = (value,) if single else value
    values = {**_defaults(cls, given), **given}
    elements = []
    for field in element_fields(cls):
        element = field.metadata["bwhooks.wire"]
        value = values.get(element)
        if is_number_list(field) and value is not None:
            value = tuple(_formatted(number, number_format) for number in value)
        elements.append((element, value))
    return xml_document(root_element(cls), elements)


def parse_numbers_xml(text: str) -> Event:
    """The event of a Numbers XML document, read by the receiver's own parser
    (:func:`bwhooks.parse_xml`)."""
    return parse_xml(text.encode("utf-8"))
