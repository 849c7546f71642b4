"""The Numbers API's XML answers: documents built from values (every value escaped as
text), its error body (``<ResponseStatus><ErrorCode/><Description/></ResponseStatus>`` under
the resource's root), and the request bodies it reads (parsed without entities or DTDs)."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # building only; requests are parsed by defusedxml
from collections.abc import Iterable

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from werkzeug.wrappers import Response

from bwhooks.testing.numbers_xml import DECLARATION

__all__ = ["XML", "Content", "NumbersApiError", "node", "read_xml", "xml_response"]

XML = "application/xml"

#: What :func:`node` puts in an element: text, child elements (``None`` ones left out), or
#: nothing.
Content = str | int | Iterable[ET.Element | None] | None


def node(tag: str, content: Content = None) -> ET.Element:
    """``<tag>`` holding ``content``: a text (escaped when written) or child elements."""
    element = ET.Element(tag)
    if isinstance(content, (str, int)):
        element.text = str(content)
    elif content is not None:
        element.extend(child for child in content if child is not None)
    return element


def optional(tag: str, text: str | None) -> ET.Element | None:
    """``<tag>text</tag>``, or nothing when there is no text."""
    return None if text is None else node(tag, text)


def numbers(tag: str, values: Iterable[str], child: str = "TelephoneNumber") -> ET.Element:
    """``<tag><TelephoneNumber>...</TelephoneNumber>...</tag>``."""
    return node(tag, [node(child, value) for value in values])


def xml_response(
    root: ET.Element, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """``root`` as the API writes it: declaration first, ``application/xml``."""
    text = DECLARATION + ET.tostring(root, encoding="unicode")
    return Response(text, status, headers, content_type=XML)


class NumbersApiError(Exception):
    """An error answer: the status, and ``<ResponseStatus>`` under the resource's ``root``
    (``OrderResponse``, ``SubscriptionResponse``...), or no body (``401``, ``403``)."""

    def __init__(
        self, status: int, root: str | None = None, code: int = 0, description: str = ""
    ) -> None:
        super().__init__(description)
        self.status, self.root, self.code, self.description = status, root, code, description

    def response(self) -> Response:
        """The answer to send."""
        if self.root is None:
            return Response("", self.status)
        status = node(
            "ResponseStatus", [node("ErrorCode", self.code), node("Description", self.description)]
        )
        return xml_response(node(self.root, [status]), self.status)


def read_xml(body: bytes, root: str) -> ET.Element:
    """The request's XML document, whose root must be ``root``; a body that is not one
    (malformed, a DTD or an entity, another root) is a ``400``."""
    try:
        document: ET.Element = fromstring(body, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException, ValueError):
        raise NumbersApiError(
            400, f"{root}Response", 12000, "The request body is not a valid XML document"
        ) from None
    if document.tag != root:
        raise NumbersApiError(400, f"{root}Response", 12000, f"Expected a <{root}> document")
    return document
