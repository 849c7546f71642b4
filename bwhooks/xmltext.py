"""Writing small XML documents from values: what bwhooks sends as XML (a port-out answer)
and writes back (:func:`bwhooks.to_xml`).

A document is its root element's name and its children: ``(name, value)`` pairs in order,
where a value is text (escaped), ``None`` (an empty element), a sequence of pairs (child
elements) or a mapping (child elements by name; a tuple or list value repeats the
element). Names are checked: sender-controlled text never becomes markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["Children", "check_text", "document"]

#: The children of an element: ``(name, value)`` pairs in order, or a mapping by name.
Children = Iterable[tuple[str, Any]] | Mapping[str, Any]
_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'
# Characters XML 1.0 cannot carry, even escaped: controls other than tab, CR and LF, lone
# surrogates, U+FFFE and U+FFFF.
_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def document(root: str, children: Children) -> bytes:
    """The UTF-8 document ``<root>children</root>`` with its XML declaration.

    ``ValueError`` for an element name that is not a plain XML name or for text XML
    cannot carry (a control character)."""
    parts: list[str] = [_DECLARATION]
    _element(parts, root, children)
    return "".join(parts).encode("utf-8")


def _element(parts: list[str], name: str, value: Any) -> None:
    """Append element ``name`` with ``value`` (iteratively: any depth of values is safe)."""
    pending: list[tuple[str, Any] | str] = [(name, value)]
    while pending:
        item = pending.pop()
        if isinstance(item, str):  # a closing tag, queued behind the children
            parts.append(item)
            continue
        name, value = item
        if not _is_name(name):
            raise ValueError(f"not an XML element name: {name!r}")
        if value is None or value == "":
            parts.append(f"<{name}/>")
        elif isinstance(value, str | int) and not isinstance(value, bool):
            parts.append(f"<{name}>{_text(str(value))}</{name}>")
        elif isinstance(value, bool):
            parts.append(f"<{name}>{'true' if value else 'false'}</{name}>")
        else:
            children = _pairs(value)
            if not children:
                parts.append(f"<{name}/>")
                continue
            parts.append(f"<{name}>")
            pending.append(f"</{name}>")
            pending.extend(reversed(children))


def _is_name(name: str) -> bool:
    """Whether ``name`` is an XML name without a prefix: letters, digits, ``_``, ``-`` and
    ``.`` (any script's, as a parsed document's may be), not starting with a digit, ``-``
    or ``.``: nothing that could end the tag."""
    return (
        isinstance(name, str)
        and name[:1] not in ("", "-", ".")
        and name.replace("-", "_").replace(".", "_").isidentifier()
    )


def _pairs(value: Any) -> list[tuple[str, Any]]:
    """The children of an element as ``(name, value)`` pairs, a repeated one once per item."""
    items: Iterable[tuple[str, Any]] = value.items() if isinstance(value, Mapping) else value
    pairs: list[tuple[str, Any]] = []
    for name, child in items:
        if isinstance(child, Sequence) and not isinstance(child, str | bytes):
            if child and all(isinstance(c, tuple) and len(c) == 2 for c in child):
                pairs.append((name, child))  # a sequence of pairs: one element's children
            else:
                pairs.extend((name, item) for item in child)  # a repeated element
        else:
            pairs.append((name, child))
    return pairs


def check_text(text: str) -> str:
    """``text`` when an XML 1.0 document can carry it; ``ValueError`` naming the first
    character it cannot (a control character, a lone surrogate)."""
    bad = _INVALID.search(text)
    if bad is not None:
        raise ValueError(f"{bad.group()!r} cannot be written in an XML document")
    return text


def _text(text: str) -> str:
    check_text(text)
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("\r", "&#13;")  # a reader turns a bare CR into LF
