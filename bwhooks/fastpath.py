"""Structure functions generated once per event class, for payloads already of the right types.

A JSON POST body nearly always carries every field in its declared JSON type; checking that
costs a type comparison per field, while the general converter costs a hook call per
field. So each class gets a generated function that checks the types, parses the
timestamps and calls the class; anything unusual (a GET callback's strings, a wrong type,
a nested object) goes to the cattrs hook, which converts or names the field at fault.
The result is the same either way; the tests run both paths on every example.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from bwhooks.events._base import freeze_raw
from bwhooks.timestamps import parse_timestamp

__all__ = ["make_fast_structure"]

_CHECKS = {
    str: "if {v} is not None and {v}.__class__ is not str: return slow(payload, cls)",
    int: (
        "if {v} is not None and {v}.__class__ is not int:\n"
        "        if {v}.__class__ is str and {v}.isdigit() and {v}.isascii(): {v} = int({v})\n"
        "        else: return slow(payload, cls)"
    ),
    bool: "if {v} is not None and {v}.__class__ is not bool: return slow(payload, cls)",
}


_MISSING = object()


def _slot_setter(cls: type[Any], name: str) -> Callable[[Any, Any], None]:
    """The ``__set__`` of the slot that holds attribute ``name`` (on ``cls`` or a base)."""
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None and hasattr(descriptor, "__set__"):
            setter: Callable[[Any, Any], None] = descriptor.__set__
            return setter
    raise TypeError(f"{cls.__name__}.{name} is not a slot")


def _declared(hint: Any) -> Any:
    args = [t for t in typing.get_args(hint) if t is not type(None)]
    return args[0] if args else hint


def make_fast_structure(
    cls: type[Any],
    wire_name: Callable[[str], str],
    slow: Callable[[Any, type], Any],
    *,
    from_dict: bool = False,
) -> Callable[[Any, type], Any]:
    """The fast structure function for ``cls``, falling back to ``slow`` for the rest.

    It takes the read-only payload (a ``mappingproxy``, as cattrs hooks get it), or with
    ``from_dict`` a freshly decoded ``dict``, which it wraps for ``raw`` itself.
    """
    hints = typing.get_type_hints(cls)
    kind = "dict" if from_dict else "mappingproxy"
    lines = [
        "def structure(payload, _):",
        f"    if payload.__class__ is not {kind}:",
        "        return slow(payload, cls)",
        "    get = payload.get",
    ]
    namespace: dict[str, Any] = {
        "cls": cls,
        "slow": slow,
        "timestamp": parse_timestamp,
        "mappingproxy": type(freeze_raw({})),
        "new": object.__new__,
        "MISSING": _MISSING,
    }
    setters = []
    for index, field in enumerate(attrs.fields(cls)):
        if field.name == "raw":
            continue
        value = f"v{index}"
        declared = _declared(hints[field.name])
        lines.append(f"    {value} = get({wire_name(field.name)!r}, MISSING)")
        if field.name == "event_type":
            lines.append(f"    if {value}.__class__ is not str: return slow(payload, cls)")
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            lines.append(f"    if {value} is MISSING: return slow(payload, cls)")
        else:  # absent: the field's default, as cattrs and __init__ would give
            namespace[f"d{index}"] = field.default
            lines.append(f"    if {value} is MISSING: {value} = d{index}")
        if declared in _CHECKS:
            lines.append("    " + _CHECKS[declared].format(v=value))
        elif declared is datetime:
            lines += [
                f"    if {value} is not None:",
                f"        if {value}.__class__ is not str: return slow(payload, cls)",
                f"        try: {value} = timestamp({value})",
                "        except ValueError: return slow(payload, cls)",
            ]
        elif declared == tuple[str, ...]:
            lines += [
                f"    if {value} is not None:",
                f"        if {value}.__class__ is not list or not all(item.__class__ is str "
                f"for item in {value}): return slow(payload, cls)",
                f"        {value} = tuple({value})",
            ]
        else:  # nested objects: rare, and theirs to convert
            lines.append(f"    if {value} is not None: return slow(payload, cls)")
        namespace[f"s{index}"] = _slot_setter(cls, field.name)
        setters.append(f"    s{index}(event, {value})")
    # The instance is new and not yet shared: its slots are filled directly, as attrs'
    # own __init__ does for frozen classes, without the keyword-argument round trip.
    namespace["s_raw"] = _slot_setter(cls, "raw")
    raw = "mappingproxy(payload)" if from_dict else "payload"
    lines += ["    event = new(cls)", *setters, f"    s_raw(event, {raw})", "    return event"]
    exec(compile("\n".join(lines), f"<bwhooks fast structure {cls.__name__}>", "exec"), namespace)  # noqa: S102
    structure: Callable[[Any, type], Any] = namespace["structure"]
    return structure
