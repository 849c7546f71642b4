"""The XML part: a BXML answer (or an XML body) scrubbed in its tree (text, attributes kept
only when they shape the call, namespaces) and written again from the scrubbed tree, never
as it was when anything could hide outside the tree. A Numbers document (a request, or a
port-out answer) has its elements' text scrubbed by element
(:mod:`~bwhooks.devtools.scrubbing.numbers`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from xml.etree import ElementTree

from bwhooks.devtools.scrubbing.bodies import DOCTYPE
from bwhooks.devtools.scrubbing.numbers import ANSWER_ROOTS, NumbersText
from bwhooks.devtools.scrubbing.scanning import TextScanner
from bwhooks.devtools.scrubbing.shapes import ENUM, SAFE_ATTRIBUTES

__all__ = ["BxmlScrubber"]

_DECLARATION = re.compile(r"\s*<\?xml[^>]*\?>\s*")
_UNSEEN = re.compile(r"<!--|<\?|xmlns", re.I)  # in XML, what its tree does not show
_REPLACED_ELEMENTS = frozenset({"Conference", "Tag"})  # BXML text that names, not words
Leaf = Callable[[str, str], str]
"""How an element's text is scrubbed: ``leaf(local name, text)``."""


class BxmlScrubber:
    """Scrubs XML documents with ``text``, the text scanner: URLs and words as text, the
    attributes that do not shape the call and the text that names (``<Conference>``,
    ``<Tag>``) replaced whole."""

    def __init__(self, text: TextScanner) -> None:
        self._text = text
        self._numbers = NumbersText(text)

    def document(self, text: str, *, strict: bool) -> str | None:
        """``text`` scrubbed as XML (``strict``: the sender wrote it); ``None`` if it is no
        XML or declares entities. What a sender writes as XML (a Numbers notification, a
        port-out request) and a port-out answer are scrubbed element by element."""
        scrub = self._text.strict_text if strict else self._text.text

        def bxml(name: str, value: str) -> str:
            return self._text.replacement(value) if name in _REPLACED_ELEMENTS else scrub(value)

        def leaf_for(root: str) -> Leaf:
            if strict or root in ANSWER_ROOTS:
                return self._numbers.request if strict else self._numbers.answer
            return bxml

        return _xml(text, scrub, self._attribute, leaf_for)

    def _attribute(self, name: str, value: str) -> str:
        if name.casefold().endswith("url") or name == "destination":
            return self._text.text(value)
        shape = SAFE_ATTRIBUTES.get(name) or (ENUM if name.endswith("Method") else None)
        if self._text.is_shaped(value, shape):
            return value
        return self._text.replacement(value)


def _xml(
    text: str,
    scrub_text: Callable[[str], str],
    scrub_attribute: Callable[[str, str], str],
    leaf_for: Callable[[str], Leaf],
) -> str | None:
    """An XML document with its text (each element's by ``leaf_for(root's local name)``,
    the text between elements by ``scrub_text``), attributes and namespaces scrubbed,
    written from the scrubbed tree: comments and processing instructions are dropped. Byte
    for byte the same when nothing changed and nothing the tree does not show (a comment,
    an instruction, a namespace declaration) is there; ``None`` if it is no XML (or declares
    entities: never expanded)."""
    if DOCTYPE.search(text):
        return None
    try:
        # Instructions inside the root stay (scrubbed): canonical XML, as bw_replay compares
        # answers, keeps them. No DOCTYPE: nothing to expand.
        parser = ElementTree.XMLParser(target=ElementTree.TreeBuilder(insert_pis=True))  # noqa: S314
        parser.feed(text)
        root = parser.close()
    except (ElementTree.ParseError, ValueError):
        return None
    declaration = _DECLARATION.match(text)
    prologue = declaration.group(0) if declaration else ""
    scrubbed_prologue = scrub_text(prologue)  # its encoding name is free text, for expat
    changed = scrubbed_prologue != prologue or bool(_UNSEEN.search(text, len(prologue)))
    leaf = leaf_for(str(root.tag).rpartition("}")[2])
    for element in root.iter():
        for name, value in list(element.attrib.items()):
            new_name, scrubbed = _namespaced(name, scrub_text), scrub_attribute(name, value)
            if (new_name, scrubbed) != (name, value):
                changed = True
                del element.attrib[name]
                element.set(new_name, scrubbed)
        tag = element.tag
        if isinstance(tag, str):  # not an instruction
            new_tag = _namespaced(tag, scrub_text)
            changed |= new_tag != tag
            tag = element.tag = new_tag
        name = tag.rpartition("}")[2] if isinstance(tag, str) else ""
        for part in ("text", "tail"):
            value = getattr(element, part)
            if value and value.strip():
                scrubbed = leaf(name, value) if name and part == "text" else scrub_text(value)
                changed |= scrubbed != value
                setattr(element, part, scrubbed)
    if not changed:
        return text
    return scrubbed_prologue + ElementTree.tostring(root, encoding="unicode")


def _namespaced(name: str, scrub: Callable[[str], str]) -> str:
    """A tag or attribute name with its namespace (a URI, maybe with credentials) scrubbed."""
    if not name.startswith("{"):
        return name
    namespace, _, local = name[1:].partition("}")
    return f"{{{scrub(namespace)}}}{local}"
