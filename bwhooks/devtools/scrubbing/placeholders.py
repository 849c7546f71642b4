"""Placeholders: each value replaced by one of its shape (a fictional phone number, an
``example.com`` address, as many digits, ``<text N>``...), the same value always by the same
one; the values also searched for wherever they appear inside other text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["Placeholders", "written_like"]

# Collected values of these kinds and lengths are also replaced inside other text.
_LITERAL_KINDS = frozenset({"text", "account", "user"})
_LITERAL_LENGTHS = (4, 1000)
_UNIT = re.compile(r"[a-z0-9]+|\s+|[^a-z0-9\s]")  # the words collected values are made of


def _canonical_phone(text: str) -> str:
    digits = re.sub(r"\D", "", text)
    return "1" + digits if len(digits) == 10 and digits[0] in "23456789" else digits


def written_like(original: str, digits: str) -> str:
    """``digits`` written the way ``original`` writes its own (separators, ``+``)."""
    count = sum(char.isdigit() for char in original)
    if count not in (len(digits), len(digits) - 1):
        return ("+" if original.lstrip().startswith("+") else "") + digits
    fill = iter(digits[len(digits) - count :])
    return re.sub(r"\d", lambda _: next(fill), original)


class Placeholders:
    """The placeholder of each value, by kind; the values also searched for inside text."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], str] = {}
        self.counts: dict[str, int] = {}
        self.literals: dict[str, str] = {}  # a lower-case value -> its placeholder
        self.trie: dict[str, Any] = {}  # the same values, word by word ("" ends one)
        self.national: dict[str, str] = {}  # a number's last 10 digits -> its placeholder's
        self.ids: set[str] = set()  # ids Bandwidth generated (kept, also inside URLs)
        self.changed = False

    def get(self, kind: str, value: str) -> str:
        """The placeholder of ``value`` as a ``kind`` (a new one the first time)."""
        key = _canonical_phone(value) if kind == "phone" else value.casefold()
        found = self.seen.get((kind, key))
        if found is None:
            number = self.counts[kind] = self.counts.get(kind, 0) + 1
            found = self.seen[(kind, key)] = _format(kind, number, value)
            self.changed = True
            if kind == "phone" and len(key) >= 10:
                self.national.setdefault(key[-10:], found[-10:])
            elif (
                kind in _LITERAL_KINDS and _LITERAL_LENGTHS[0] <= len(value) <= _LITERAL_LENGTHS[1]
            ):
                self._searched(value.lower(), found)
        return found

    def _searched(self, literal: str, placeholder: str) -> None:
        units = _UNIT.findall(literal)
        if not units or literal in self.literals:
            return
        self.literals[literal] = placeholder
        node = self.trie
        for unit in units:
            node = node.setdefault(unit, {})
        node[""] = placeholder

    def spans(self, text: str) -> Iterable[tuple[int, int, str]]:
        """Where collected values stand in ``text`` (whole words, the longest first)."""
        lowered = text.lower()
        units = [(m.start(), m.end(), m.group()) for m in _UNIT.finditer(lowered)]
        if len(lowered) != len(text):  # a letter whose lower case is longer: exact case only
            units = [(m.start(), m.end(), m.group()) for m in _UNIT.finditer(text)]
        i = 0
        while i < len(units):
            node: Any = self.trie
            longest = None
            for j in range(i, len(units)):
                node = node.get(units[j][2])
                if node is None:
                    break
                if "" in node:
                    longest = (j + 1, node[""])
            if longest is None:
                i += 1
                continue
            yield units[i][0], units[longest[0] - 1][1], longest[1]
            i = longest[0]

    def known_numbers(self, digits: str) -> str:
        """``digits`` with every number seen replaced where it stands inside them."""
        national, i = self.national, 0
        while i <= len(digits) - 10:
            found = national.get(digits[i : i + 10])
            if found is not None:
                digits = digits[:i] + found + digits[i + 10 :]
                i += 10
            else:
                i += 1
        return digits


def _format(kind: str, number: int, value: str) -> str:
    """The ``number``-th placeholder of ``kind``, written like ``value`` for digits."""
    if kind == "phone":
        return f"+1555{100000 + number:07d}"
    if kind == "account":
        return f"{90000000 + number}"
    if kind == "digits":
        width = sum(char.isdigit() for char in value)
        fill = iter(f"{number:0{width}d}")
        written = re.sub(r"\d", lambda _: next(fill, ""), value)
        return written + "".join(fill)
    if kind == "email":
        return f"user{number}@example.com"
    if kind == "user":
        return f"user{number}"
    return f"<{kind} {number}>"
