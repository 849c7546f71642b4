"""XML documents in the shape of Bandwidth's Numbers webhooks, written from values or events.

Everything written is text: a value is escaped (a ``<`` in a message stays a ``<`` to the
reader, never markup), and a character XML 1.0 cannot carry is refused.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # writing only: nothing is parsed here
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

import attrs

from bwhooks.events.numbers import (
    NumbersEvent,
)
from bwhooks.testing.ids import iso
from bwhooks.xmltext import check_text

__all__ = [
    "DECLARATION",
    "XML_CONTENT_TYPE",
    "element_fields",
    "root_element",
    "xml_document",
]

#: The declaration Bandwidth's captured notifications start with.
DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
#: The content type Bandwidth posts Numbers webhooks with.
XML_CONTENT_TYPE = "application/xml; charset=utf-8"


def root_element(cls: type[NumbersEvent]) -> str:
    """The root element of ``cls``'s documents (``Notification``, ``PortOutValidationRequest``)."""
    return cls.ROOT


def element_fields(cls: type[NumbersEvent]) -> list[attrs.Attribute[Any]]:
    """The attributes of ``cls`` read from an element, in the documented element order
    (``event_type`` only where it is the ``EventType`` element; never ``raw``)."""
    return [
        field
        for field in attrs.fields(cls)
        if field.name != "raw" and field.metadata.get("bwhooks.wire", "")[:1].isupper()
    ]


def is_number_list(field: attrs.Attribute[Any]) -> bool:
    """Whether the element holds ``TelephoneNumber`` children (a ``tuple[str, ...]``)."""
    return field.default == ()


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        moment = (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(
            timezone.utc
        )  # whole seconds as Bandwidth writes a date (ActualFocDate), else milliseconds
        text = moment.strftime("%Y-%m-%dT%H:%M:%SZ") if not moment.microsecond else iso(moment)
    elif isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    return check_text(text)


def xml_document(root: str, elements: Iterable[tuple[str, Any]]) -> str:
    """The document ``<root>`` with one child per ``(name, value)``, declaration first,
    indented like Bandwidth's: a value that is a sequence (not a string) becomes that
    many ``<TelephoneNumber>`` children; ``None`` is left out; every value is escaped."""
    top = ET.Element(root)
    for name, value in elements:
        if value is None:
            continue
        child = ET.SubElement(top, name)
        if isinstance(value, Sequence) and not isinstance(value, str):
            for number in value:
                ET.SubElement(child, "TelephoneNumber").text = _text(number)
        else:
            child.text = _text(value)
    ET.indent(top, "    ")
    return f"{DECLARATION}\n{ET.tostring(top, encoding='unicode')}\n"
