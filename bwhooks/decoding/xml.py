"""Reading XML bodies safely (Bandwidth's Numbers notifications and port-out validation).

The body is parsed by defusedxml on expat: a document type declaration (``<!DOCTYPE``),
and with it every entity declaration and external reference, is refused where the parser
meets it, before anything is expanded or fetched (the billion laughs, the quadratic
blow-up and ``file://`` or ``http://`` entities cost nothing). Elements are counted and
their nesting measured as they open, without recursion: a document deeper than
:data:`~bwhooks.decoding.parsing.MAX_DEPTH` levels or with more than
:data:`MAX_ELEMENTS` elements is refused there. The encoding is the XML declaration's
(UTF-8 by default; UTF-16 with a BOM, ISO-8859-1, ...). Every refusal is an
:class:`~bwhooks.InvalidCallback` (``400``) with a clear reason.

The document becomes its root element's local name and a read-only mapping (what an event
keeps in ``raw``): each child element by its local name (namespaces are dropped); a leaf's
text stripped of surrounding XML white space (space, tab, CR, LF), an empty element
``""``; an element with children a mapping of them; an element repeated under one parent
a :class:`FrozenList` of its values, in order. Attributes, comments, processing
instructions and text beside child elements (mixed content) are not kept: Bandwidth's
documents carry none.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any
from xml.parsers import expat

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from bwhooks.decoding.parsing import MAX_DEPTH
from bwhooks.errors import InvalidCallback
from bwhooks.events._base import FrozenList

__all__ = ["MAX_ELEMENTS", "decode_xml"]

#: The most elements a document may have: some 20 for a notification, one more per
#: telephone number (Bandwidth orders take up to 5000 numbers).
MAX_ELEMENTS = 25_000
# What XML calls white space (a no-break space or an em space is text: str.strip takes more).
_XML_SPACE = " \t\r\n"


class _Stop(Exception):
    """Raised from inside the parser to stop it where a bound is crossed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Builder:
    """The parser's target: builds the read-only mapping as elements close, with a stack
    of open elements (no recursion) and the bounds checked as each opens."""

    def __init__(self) -> None:
        # Each open element: its local name, its children by name, its text's pieces.
        self.stack: list[tuple[str, dict[str, Any], list[str]]] = []
        self.count = 0
        self.root: tuple[str, Mapping[str, Any] | str] | None = None

    def start(self, tag: str, attrib: Any) -> None:
        self.count += 1
        if self.count > MAX_ELEMENTS:
            raise _Stop(f"more than {MAX_ELEMENTS} XML elements")
        if len(self.stack) >= MAX_DEPTH:
            raise _Stop(f"nested deeper than {MAX_DEPTH} levels")
        self.stack.append((tag.rpartition("}")[2], {}, []))

    def data(self, text: str) -> None:
        if self.stack:
            self.stack[-1][2].append(text)

    def end(self, tag: str) -> None:
        name, children, text = self.stack.pop()
        value: Mapping[str, Any] | str
        if children:  # text beside child elements (mixed content) is not kept
            for key, item in children.items():
                if item.__class__ is list:
                    children[key] = FrozenList(item)
            value = MappingProxyType(children)
        else:
            value = "".join(text).strip(_XML_SPACE)
        if not self.stack:
            self.root = (name, value)
            return
        siblings = self.stack[-1][1]
        if name in siblings:
            previous = siblings[name]
            if previous.__class__ is list:
                previous.append(value)
            else:
                siblings[name] = [previous, value]
        else:
            siblings[name] = value

    def close(self) -> None:
        return None


def decode_xml(body: bytes) -> tuple[str, Mapping[str, Any]]:
    """The root element's local name and the read-only mapping of its children (an empty
    mapping for a root without child elements); :class:`~bwhooks.InvalidCallback` for a
    body that is not one safe, well-formed XML document within the bounds."""
    if not body or body.isspace():
        raise InvalidCallback("empty body")
    builder = _Builder()
    parser = DefusedXMLParser(
        target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(body)
        parser.close()
    except _Stop as stop:
        raise InvalidCallback(stop.reason) from None
    except DTDForbidden:
        raise InvalidCallback(
            "XML with a document type declaration (<!DOCTYPE) is refused"
        ) from None
    except EntitiesForbidden:
        raise InvalidCallback("XML with an entity declaration is refused") from None
    except ExternalReferenceForbidden:
        raise InvalidCallback("XML with an external reference is refused") from None
    except (ParseError, expat.ExpatError) as exc:
        raise InvalidCallback(f"malformed XML: {_where(exc)}") from None
    except (LookupError, UnicodeError, ValueError):  # an encoding Python cannot decode
        raise InvalidCallback("malformed XML: unsupported encoding") from None
    if builder.root is None:  # pragma: no cover  (expat refuses a document without one)
        raise InvalidCallback("malformed XML: no root element")
    name, value = builder.root
    return name, value if isinstance(value, Mapping) else MappingProxyType({})


def _where(exc: Exception) -> str:
    """expat's reason and position (``not well-formed (invalid token): line 1, column
    4``): never the body's text."""
    code = getattr(exc, "code", None)
    position = getattr(exc, "position", None)
    reason = expat.ErrorString(code) if isinstance(code, int) else "not well-formed"
    if isinstance(position, tuple) and len(position) == 2:
        return f"{reason}: line {position[0]}, column {position[1]}"
    return str(reason)
