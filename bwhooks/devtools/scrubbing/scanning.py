"""The text scanner: finds what looks personal or secret inside text (URLs, SIP addresses,
e-mails, credentials, secret parameters, JSON Web Tokens, the values collected, numbers,
percent-encoded text) and replaces it; a whole value no key vouches for by a placeholder of
its shape; URLs, query strings and paths part by part."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit, urlunsplit

from bwhooks.devtools.scrubbing.bodies import json_document
from bwhooks.devtools.scrubbing.patterns import (
    DIGITS_FULL,
    EMAIL_FULL,
    LOOSE,
    PHONE_FULL,
    SIP_FULL,
    STRUCTURED,
    URL_FULL,
)
from bwhooks.devtools.scrubbing.placeholders import Placeholders, written_like
from bwhooks.devtools.scrubbing.shapes import ID, ID_CHARS, KEPT_WORDS, SAFE_KEYS, SECRET_NAME, WORD

__all__ = ["TextScanner", "ValueScrub"]

_MAX_DEPTH = 8  # text inside text (decoded, a URL in a URL) scanned this deep, then replaced

ValueScrub = Callable[[str, Any], Any]
"""How a value under a key is scrubbed (the JSON tree walk): ``scrub(key, value)``."""


class TextScanner:
    """Replaces what looks personal or secret inside text, with ``names``' placeholders.

    A value under a key (a query string's pair, a JSON document found inside text) is
    scrubbed by ``value``, the JSON tree walk, which hands strings back to this scanner.
    """

    def __init__(self, names: Placeholders, value: ValueScrub) -> None:
        self._names = names
        self._value = value
        self.collecting = False  # the first pass: what a replaced text holds is collected too
        self._depth = 0

    def placeholder(self, kind: str, value: str) -> str:
        """The placeholder of ``value`` as a ``kind`` (see :meth:`Scrubber.placeholder`)."""
        return self._names.get(kind, value)

    def text(self, text: str) -> str:
        """``text`` (an answer, a URL) with what looks personal or secret replaced: the values
        collected, numbers, e-mails, SIP addresses, credentials and secret parameters."""
        return self._scan(text, strict=False, values=True)

    def strict_text(self, text: str) -> str:
        """Text the sender wrote where no key says what it is: scrubbed by what it holds."""
        return self._scan(text, strict=True, values=True)

    def key(self, key: str) -> str:
        """A key (a name the sender wrote): only what looks personal or secret in it replaced."""
        return self._scan(key, strict=True, values=False)

    def is_shaped(self, value: str, shape: re.Pattern[str] | None) -> bool:
        """Whether ``value`` has the shape of a safe key's values and holds nothing personal."""
        return bool(shape and shape.fullmatch(value)) and self.key(value) == value

    def known_ids(self, pairs: Iterable[tuple[Any, Any]]) -> None:
        """Remember the ids among ``pairs`` first: they are kept inside URLs beside them."""
        for key, value in pairs:
            if SAFE_KEYS.get(key) is ID and isinstance(value, str) and ID.fullmatch(value):
                self._names.ids.add(value)

    def known_id(self, value: str) -> None:
        """Remember ``value`` as an id Bandwidth generated (kept inside URLs and text too)."""
        if ID.fullmatch(value):
            self._names.ids.add(value)

    def phone(self, text: str) -> str:
        """A phone number's placeholder, written the way ``text`` is."""
        return written_like(text, self.placeholder("phone", text)[1:])

    def replacement(self, value: str) -> str:
        """The placeholder of a value no key vouches for, of its shape."""
        core = value.strip()
        if core.casefold() in KEPT_WORDS:
            return value
        if PHONE_FULL.fullmatch(core):
            new = self.phone(core)
        elif EMAIL_FULL.fullmatch(core):
            new = self.placeholder("email", core)
        elif SIP_FULL.fullmatch(core):
            new = self._sip(core)
        elif URL_FULL.fullmatch(core):
            new = self._url(core, strict=True)
        elif DIGITS_FULL.fullmatch(core):
            new = self.placeholder("digits", core)
        elif core[:1] in ("{", "[") and (document := json_document(core)) is not None:
            new = json.dumps(self._value("", document))
        else:
            if self.collecting:  # what it holds is replaced wherever else it appears
                self.strict_text(core)
            new = self.placeholder("text", core)
        return value.replace(core, new, 1)

    # -- URLs, query strings and paths, part by part ----------------------------------------

    def query(self, query: str, *, strict: bool, in_url: bool = False) -> str:
        """A query string (or form body), each pair scrubbed; pairs left as they were are
        kept byte for byte. In a URL the sender wrote, no name vouches for its value."""
        if strict and not in_url:  # ids in a URL the sender wrote are no known ids
            self.known_ids(pair.partition("=")[::2] for pair in query.split("&"))
        pieces = []
        for raw in query.split("&"):
            raw_name, equals, raw_value = raw.partition("=")
            name, value = unquote_plus(raw_name), unquote_plus(raw_value)
            if not equals:
                name, value = "", name
            new_name = self.key(name)
            if strict and in_url:
                new_value = value if value in self._names.ids else self.replacement(value)
            elif strict:
                new_value = str(self._value(name, value))
            elif value and SECRET_NAME.search(name):
                new_value = self.placeholder("text", value)
            else:
                new_value = self.text(value)
            if (new_name, new_value) == (name, value):
                pieces.append(raw)
            elif equals:
                pieces.append(f"{quote_plus(new_name)}={quote_plus(new_value)}")
            else:
                pieces.append(quote_plus(new_value))
        return "&".join(pieces)

    def segments(self, segments: list[str], *, strict: bool) -> list[str]:
        """Path segments, scrubbed: from the sender, only words and known ids are kept."""
        scrubbed, previous = [], ""
        for raw in segments:
            segment = unquote(raw)
            if not strict:
                new = self.text(segment)
            elif not segment or WORD.fullmatch(segment) or segment in self._names.ids:
                new = segment
            elif previous.casefold() in ("users", "accounts"):
                new = self.placeholder("account", segment)
            else:
                new = self.replacement(segment)
            scrubbed.append(raw if new == segment else quote(new, safe="+@:"))
            previous = segment
        return scrubbed

    def _url(self, text: str, *, strict: bool) -> str:
        core = text.rstrip(".,;:!?)]'")
        try:
            parts = urlsplit(core)
        except ValueError:  # no URL Python can split (an IPv6 bracket left open)
            return self.placeholder("text", core) + text[len(core) :]
        credentials, at, host = parts.netloc.rpartition("@")
        if at:  # dropped; collected, so they are replaced wherever else they appear
            for credential in unquote(credentials).split(":", 1):
                if credential:
                    self.placeholder("text", credential)
        try:
            parts.port  # noqa: B018  (a port that is no number raises here)
        except ValueError:  # replaced whole, as a value of no known shape
            return self.placeholder("text", core) + text[len(core) :]
        path = "/".join(self.segments(parts.path.split("/"), strict=strict))
        fragment = self.replacement(parts.fragment) if strict else self.text(parts.fragment)
        query = self.query(parts.query, strict=strict, in_url=True) if parts.query else ""
        url = urlunsplit((parts.scheme.lower(), host, path, query, fragment if fragment else ""))
        return url + text[len(core) :]

    def _sip(self, text: str) -> str:
        scheme, _, address = text.partition(":")
        user, at, host = address.rpartition("@")
        if not at:  # tel:+1919..., or a SIP host alone
            return f"{scheme}:{self.replacement(unquote(address))}"
        user = unquote(user)
        phone = PHONE_FULL.fullmatch(user)
        new_user = self.phone(user) if phone else self.placeholder("user", user)
        return f"{scheme}:{new_user}@{self.key(host)}"

    # -- inside text ------------------------------------------------------------------------

    def _scan(self, text: str, *, strict: bool, values: bool) -> str:
        """``text`` with what looks personal or secret replaced: URLs, SIP addresses, e-mails
        and credentials first, then (with ``values``) the values collected, then numbers."""
        if self._depth >= _MAX_DEPTH:
            return self.placeholder("text", text) if text.strip() else text
        self._depth += 1
        try:
            pieces, done = [], 0
            for match in STRUCTURED.finditer(text):
                pieces.append(self._loose(text[done : match.start()], strict=strict, values=values))
                pieces.append(self._structured(match, strict=strict, values=values))
                done = match.end()
            pieces.append(self._loose(text[done:], strict=strict, values=values))
            return "".join(pieces)
        finally:
            self._depth -= 1

    def _structured(self, match: re.Match[str], *, strict: bool, values: bool) -> str:
        text, kind = match.group(), match.lastgroup
        if kind == "url":
            return self._url(text, strict=strict)
        if kind == "sip":
            return self._sip(text)
        if kind == "email":
            return self.placeholder("email", text)
        if kind == "jwt":
            return self.placeholder("text", text)
        if kind == "param":  # name=value, name: value
            name, separator, value = re.split(r"(\s*[=:]\s*)", text, maxsplit=1)
            if SECRET_NAME.search(name):
                value = self.placeholder("text", value)
            else:
                value = self._scan(value, strict=strict, values=values)
            return self._loose(name, strict=strict, values=values) + separator + value
        scheme = text.split(None, 1)[0]  # an Authorization value: Basic or Bearer
        return f"{scheme} {self.placeholder('text', text[len(scheme) :].strip())}"

    def _loose(self, text: str, *, strict: bool, values: bool) -> str:
        def found(match: re.Match[str]) -> str:
            return self._loosely_found(match, strict=strict, values=values)

        if not values:
            return LOOSE.sub(found, text)
        pieces: list[str] = []
        done = 0
        for start, end, placeholder in self._names.spans(text):
            pieces += (LOOSE.sub(found, text[done:start]), placeholder)
            done = end
        pieces.append(LOOSE.sub(found, text[done:]))
        return "".join(pieces)

    def _loosely_found(self, match: re.Match[str], *, strict: bool, values: bool) -> str:
        text, kind = match.group(), match.lastgroup
        if kind == "phone":
            return self.phone(text)
        if kind == "encoded":
            decoded = unquote_plus(text)
            scrubbed = self._scan(decoded, strict=strict, values=values)
            return text if scrubbed == decoded else quote_plus(scrubbed, safe="@:/")
        if kind == "run":  # seven digits or more, even glued to letters (rec19195550158.wav)
            known = self._names.known_numbers(text)
            if known != text or not values or _token(match) in self._names.ids:
                return known  # a number seen elsewhere by its placeholder; an id kept
        return self.placeholder("digits", text) if values else text


def _token(match: re.Match[str]) -> str:
    """The run of id characters the match stands in (an id Bandwidth generated, maybe), or
    ``""`` if it is longer than an id can be."""
    text, start, end = match.string, match.start(), match.end()
    before = ID_CHARS.match(text[max(0, start - 129) : start][::-1])
    after = ID_CHARS.match(text, end, end + 129)
    start -= len(before.group()) if before else 0
    end += len(after.group()) if after else 0
    return text[start:end] if end - start <= 128 else ""
