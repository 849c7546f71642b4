"""How a recorded body is read before it is scrubbed: its media type, its encoding (as the
receiver reads it, an answer also by its ``charset``), and whether it is a JSON or an XML
document (never one that declares entities)."""

from __future__ import annotations

import codecs
import json
import re
from typing import Any
from xml.etree import ElementTree

__all__ = ["DOCTYPE", "declared_charset", "decoded", "json_document", "media_type"]

DOCTYPE = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.I)
_MEDIA_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+(?:\s*;\s*[\w.-]+=(?:[\w.-]+|\"[\w .-]*\"))*")


def declared_charset(content_type: str) -> str | None:
    """The ``charset`` parameter of ``content_type``, if it has one."""
    found = re.search(r";\s*charset=\"?([\w.:-]+)", content_type, re.I)
    return found.group(1) if found else None


def decoded(raw: bytes, charset: str | None) -> tuple[str, str] | None:
    """``raw`` decoded, and the name of its encoding: by its BOM, else by ``charset``, else
    as ``json`` detects it (UTF-8, or UTF-16/32 by where its NULs are); ``None`` if that
    encoding is unknown or no text encoding, or the bytes are not in it."""
    boms = (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    encoding = json.detect_encoding(raw) if charset is None or raw.startswith(boms) else charset
    try:
        encoding = codecs.lookup(encoding).name
        text = raw.decode(encoding)
        ascii_compatible = "<a1 =&".encode(encoding).endswith(b"<a1 =&")
    except (LookupError, UnicodeError):
        return None
    if not ascii_compatible and json_document(text) is None and not _is_xml(text):
        return None  # UTF-16 that is no document is text in another encoding, unread
    return text, encoding


def _is_xml(text: str) -> bool:
    if not text.lstrip().startswith("<") or DOCTYPE.search(text):
        return False
    try:
        ElementTree.fromstring(text)  # noqa: S314  (no DOCTYPE: nothing to expand)
    except (ElementTree.ParseError, ValueError):
        return False
    return True


def json_document(text: str) -> Any:
    """``text`` decoded as a JSON object or array; ``None`` if it is neither."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict | list) else None


def media_type(value: str) -> str:
    """A ``Content-Type`` value kept when well formed, else its essence when that is, else
    ``application/octet-stream``."""
    value = value.strip()
    if not value or _MEDIA_TYPE.fullmatch(value):
        return value
    essence = value.split(";", 1)[0].strip()
    return essence if _MEDIA_TYPE.fullmatch(essence) else "application/octet-stream"
