"""Filling a new frozen, slotted attrs instance directly, as attrs' own ``__init__`` does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["slot_setter"]


def slot_setter(cls: type[Any], name: str) -> Callable[[Any, Any], None]:
    """The ``__set__`` of the slot that holds attribute ``name`` (on ``cls`` or a base).

    Only for an instance that is new and not yet shared: it bypasses ``frozen``.
    """
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None and hasattr(descriptor, "__set__"):
            setter: Callable[[Any, Any], None] = descriptor.__set__
            return setter
    raise TypeError(f"{cls.__name__}.{name} is not a slot")
