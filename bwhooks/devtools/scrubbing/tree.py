"""The JSON tree walk: a decoded document (or one value under its key) scrubbed all the way
down, a value kept only under a key known to be safe and in that key's shape."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bwhooks.devtools.scrubbing.patterns import PHONE_FULL
from bwhooks.devtools.scrubbing.placeholders import Placeholders
from bwhooks.devtools.scrubbing.scanning import TextScanner
from bwhooks.devtools.scrubbing.shapes import (
    ACCOUNT_KEYS,
    SAFE_KEYS,
    SAFE_NESTED,
    WORDS_KEYS,
    WORDS_NESTED,
)

__all__ = ["TreeWalk"]


class TreeWalk:
    """Walks JSON values with ``names``' placeholders; strings no key vouches for go to its
    text scanner (:attr:`text`), which hands a JSON document it finds in text back here."""

    def __init__(self, names: Placeholders) -> None:
        self.text = TextScanner(names, self.value)

    def value(self, key: str, value: Any, parent: str = "") -> Any:
        """``value`` under ``key`` (in an object under ``parent``), scrubbed all the way down:
        kept only under a key known to be safe and in its shape, else replaced."""
        text = self.text
        if isinstance(value, Mapping):
            text.known_ids(value.items())
            return {text.key(str(k)): self.value(str(k), v, key) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(key, item, parent) for item in value]
        shape = SAFE_NESTED.get((parent, key)) or SAFE_KEYS.get(key)
        if value is None or isinstance(value, bool) or (shape and not isinstance(value, str)):
            return value
        if isinstance(value, int):  # a number stays a number, of as many digits
            digits = str(abs(value))
            new = text.phone(digits) if PHONE_FULL.fullmatch(digits) else digits
            return int(text.placeholder("digits", digits) if new == digits else new)
        if isinstance(value, float):
            return 0.0
        if not isinstance(value, str):
            return value
        if key in ACCOUNT_KEYS:
            return text.placeholder("account", value)
        if text.is_shaped(value, shape):
            return value
        if key in WORDS_KEYS or (parent, key) in WORDS_NESTED:
            return text.strict_text(value)
        return text.replacement(value)
