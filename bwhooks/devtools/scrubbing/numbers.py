"""Numbers documents (XML) scrubbed element by element: a notification or port-out request
the sender wrote, and the ``<PortOutValidationResponse>`` the app answered.

An element's text is kept only when its element holds structure and the text has that
element's shape (the ids Bandwidth generates, ``PON``, order types, statuses, times, an
error ``Code``); a ``<TelephoneNumber>`` (10 digits or E.164) becomes a fictional number
written the same way, the same number always the same one; the subscriber's data (``Pin``,
``AccountNumber``, ``ZipCode``, ``SubscriberName``, in a request and in an answer's
``<AcceptableValues>``) is replaced by a placeholder of its shape; ``Message`` and
``Description`` are scanned as text (numbers, e-mails, ... inside them replaced). Any other
element of a request (``Note``, ``CustomerOrderId``, one bwhooks does not know) is replaced
whole; of an answer, which the app wrote, it keeps its words.
"""

from __future__ import annotations

import re

from bwhooks.devtools.scrubbing.patterns import PHONE_FULL
from bwhooks.devtools.scrubbing.scanning import TextScanner
from bwhooks.devtools.scrubbing.shapes import ENUM, ID

__all__ = [
    "ANSWER_ROOTS",
    "KEPT_ELEMENTS",
    "SUBSCRIBER_ELEMENTS",
    "NumbersText",
    "masked_markup",
]

#: The root elements of the answers scrubbed element by element.
ANSWER_ROOTS = frozenset({"PortOutValidationResponse"})
_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9:.]{2,18}(?:Z|[+-][0-9:]{2,5})?)?")
_CODE = re.compile(r"[0-9]{1,5}")
_IDS = frozenset({"SubscriptionId", "OrderId", "PON"})  # also kept inside other text
#: The elements whose text is structure, each with its shape (the text is kept when it has it).
KEPT_ELEMENTS: dict[str, re.Pattern[str]] = {
    **dict.fromkeys(_IDS, ID),
    **dict.fromkeys(("OrderType", "Status", "EventType", "Portable"), ENUM),
    **dict.fromkeys(("LastModifiedDate", "ActualFocDate"), _TIME),
    "Code": _CODE,
}
#: What a port-out request tells of the subscriber: replaced, in requests and answers alike.
SUBSCRIBER_ELEMENTS = frozenset({"Pin", "AccountNumber", "ZipCode", "SubscriberName"})
_WORDS = frozenset({"Message", "Description"})  # text written by Bandwidth or the app


class NumbersText:
    """The text of a Numbers document's elements, scrubbed with ``text``, the text scanner:
    :meth:`request` for what the sender wrote, :meth:`answer` for the app's answer."""

    def __init__(self, text: TextScanner) -> None:
        self._text = text

    def request(self, name: str, value: str) -> str:
        """The text of element ``name`` of a request."""
        return self._common(name, value, strict=True)

    def answer(self, name: str, value: str) -> str:
        """The text of element ``name`` of an answer."""
        return self._common(name, value, strict=False)

    def _common(self, name: str, value: str, *, strict: bool) -> str:
        text = self._text
        core = value.strip()
        shape = KEPT_ELEMENTS.get(name)
        if shape is not None and text.is_shaped(core, shape):
            if name in _IDS:
                text.known_id(core)
            return value
        if name == "TelephoneNumber" and PHONE_FULL.fullmatch(core):
            return value.replace(core, text.phone(core), 1)
        if name in _WORDS:
            return text.strict_text(value) if strict else text.text(value)
        if strict or name in SUBSCRIBER_ELEMENTS or shape is not None:
            return text.replacement(value)
        return text.text(value)


_DECLARED = re.compile(r"\A\s*<\?xml[^>]{0,200}\?>")
_WORD = re.compile(r"[^\W_]+")
#: The words of markup kept as they are in a body masked by :func:`masked_markup`.
_MARKUP_WORDS = frozenset(
    {
        *KEPT_ELEMENTS,
        *SUBSCRIBER_ELEMENTS,
        *_WORDS,
        *("Notification", "PortOutValidationRequest", "PortOutValidationResponse"),
        *("TelephoneNumbers", "TelephoneNumber", "CompletedTelephoneNumbers"),
        *("ImpactedTelephoneNumbers", "CustomerOrderId", "Note", "Errors", "Error"),
        *("AcceptableValues", "DOCTYPE", "ENTITY", "SYSTEM", "PUBLIC", "CDATA", "xml"),
    }
)


def masked_markup(text: str) -> str:
    """A body that looks like XML but cannot be read as a safe document (refused: a DTD,
    an unescaped ``&``...), with every word but the known markup's masked, letter by
    letter (``x``) and digit by digit (``0``): what the sender wrote (names, numbers,
    entity values) is gone, while the markup, the lengths and the punctuation stay, so
    the fixture is refused for the same reason at the same position."""
    declared = _DECLARED.match(text)
    head, rest = (text[: declared.end()], text[declared.end() :]) if declared else ("", text)

    def mask(word: re.Match[str]) -> str:
        found = word.group()
        if found in _MARKUP_WORDS:
            return found
        return "".join("0" if c.isdigit() else "x" for c in found)

    return head + _WORD.sub(mask, rest)
