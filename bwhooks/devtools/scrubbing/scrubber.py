"""A recorded delivery scrubbed as a whole: its path, query string, body and answer, each read
as what it is (JSON, a form, XML, text) and handed to the part that scrubs it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus

from bwhooks.devtools.recording import Delivery
from bwhooks.devtools.scrubbing.bodies import declared_charset, decoded, media_type
from bwhooks.devtools.scrubbing.bxml import BxmlScrubber
from bwhooks.devtools.scrubbing.numbers import masked_markup
from bwhooks.devtools.scrubbing.placeholders import Placeholders
from bwhooks.devtools.scrubbing.tree import TreeWalk
from bwhooks.testing.recorded import Fixture

__all__ = ["Scrubber"]


class Scrubber:
    """Replaces personal data and secrets by placeholders, the same value by the same one.

    Call :meth:`collect` with every delivery first, then :meth:`fixture` for each: values
    found anywhere are then replaced everywhere, whatever the order of the deliveries.
    """

    def __init__(self) -> None:
        self._names = Placeholders()
        self._tree = TreeWalk(self._names)
        self._text = self._tree.text
        self._bxml = BxmlScrubber(self._text)

    def collect(self, deliveries: Iterable[Delivery]) -> bool:
        """Find the values to replace in ``deliveries`` (the first pass); whether any was new."""
        self._text.collecting, self._names.changed = True, False
        try:
            for delivery in deliveries:
                self.fixture(delivery)
        finally:
            self._text.collecting = False
        return self._names.changed

    def fixture(self, delivery: Delivery) -> Fixture:
        """The fixture of ``delivery``, scrubbed (with the values collected so far)."""
        headers = {n.lower(): v for n, v in delivery.headers}
        answer_headers = {n.lower(): v for n, v in delivery.response_headers}
        content_type = media_type(headers.get("content-type", "application/json"))
        answer_type = media_type(answer_headers.get("content-type", ""))
        path, query = delivery.path, delivery.query
        body, body_encoding = self._body(delivery.body, content_type, strict=True)
        answer, answer_encoding = self._body(delivery.response_body, answer_type, strict=False)
        return Fixture(
            id=delivery.id,
            method=re.sub(r"[^A-Z]", "", delivery.method.upper())[:16] or "GET",
            path=self._guarded(
                lambda: "/".join(self._text.segments(path.split("/"), strict=True)),
                path,
                lambda placeholder: "/" + quote(placeholder),
            ),
            query=self._guarded(lambda: self._text.query(query, strict=True), query, quote_plus),
            content_type=content_type,
            body=body,
            status=delivery.status,
            answer_content_type=answer_type,
            answer=answer,
            event_types=tuple(
                str(self._tree.value("eventType", str(e.get("event_type"))))
                for e in delivery.events or ()
            ),
            body_encoding=body_encoding,
            answer_encoding=answer_encoding,
        )

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder of ``value``: a ``phone``, ``account``, ``digits``, ``email``,
        ``user`` (of a SIP address) or ``text`` (any other kind is written ``<kind N>``)."""
        return self._names.get(kind, value)

    def value(self, key: str, value: Any, parent: str = "") -> Any:
        """``value`` under ``key`` (in an object under ``parent``), scrubbed all the way down:
        kept only under a key known to be safe and in its shape, else replaced."""
        return self._tree.value(key, value, parent)

    def text(self, text: str) -> str:
        """``text`` (an answer, a URL) with what looks personal or secret replaced: the values
        collected, numbers, e-mails, SIP addresses, credentials and secret parameters."""
        return self._text.text(text)

    # -- the parts of a delivery ------------------------------------------------------------

    def _body(self, raw: bytes, content_type: str, *, strict: bool) -> tuple[bytes, str]:
        """A body scrubbed, written back in its encoding (and that encoding): a request's
        read as the receiver reads it (UTF-8, or UTF-16/32 by BOM or by its NULs), an
        answer's also by its ``charset``; one that does not decode is replaced whole."""
        if not raw.strip():
            return raw, "utf-8"
        found = decoded(raw, None if strict else declared_charset(content_type))
        if found is None:
            return self.placeholder("text", raw.decode("latin-1")).encode(), "utf-8"
        text, encoding = found
        scrubbed = self._guarded(lambda: self._document(text, content_type, strict=strict), text)
        try:
            return scrubbed.encode(encoding), encoding
        except UnicodeEncodeError:
            return scrubbed.encode(), "utf-8"

    def _guarded(
        self, scrub: Callable[[], str], original: str, written: Callable[[str], str] = str
    ) -> str:
        """``scrub()``, or a placeholder for all of ``original`` (``written`` as its place
        needs) if it is nested deeper than a scrub can follow."""
        try:
            return scrub()
        except RecursionError:
            return written(self.placeholder("text", original))

    def _document(self, text: str, content_type: str, *, strict: bool) -> str:
        start = text.lstrip()[:1]
        try:
            if start in ("{", "["):
                try:
                    payload = json.loads(text)
                except ValueError:
                    pass
                else:
                    scrubbed = self._tree.value("", payload)
                    if not strict and scrubbed == payload:
                        return text
                    return json.dumps(scrubbed, indent=2)
            if content_type.startswith("application/x-www-form-urlencoded") or (
                strict and re.fullmatch(r"[^=&\s]+=[^&\s]*(?:&[^=&\s]+=[^&\s]*)*", text.strip())
            ):
                return self._text.query(text, strict=strict)
            if start == "<":
                document = self._bxml.document(text, strict=strict)
                if document is not None:
                    return document
                if strict:  # markup a receiver refuses: its words could be anyone's
                    return masked_markup(text)
        except RecursionError:  # nesting deeper than a scrub can follow: scrubbed as text
            pass
        return self._text.strict_text(text) if strict else self._text.text(text)
