"""Structure functions generated once per event class, for payloads already of the right types.

A JSON POST body nearly always carries every field in its declared JSON type; checking that
costs a type comparison per field, while the general converter costs a hook call per
field. So each class gets a generated function that checks the types, parses the
timestamps and durations, structures nested objects with their own generated function and
fills the class; anything unusual (a GET callback's strings, a wrong type) goes to the slow
hook (cattrs, or the lenient Voice v2 / Messaging v2 one), which converts or names the field
at fault. The result is the same either way; the tests run both paths on every example.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from datetime import datetime
from typing import Any

import attrs

from bwhooks._hints import declared_type
from bwhooks._slots import slot_setter
from bwhooks.events._base import ALIASES, FrozenList, freeze_raw
from bwhooks.timestamps import Duration, parse_duration, parse_timestamp

__all__ = ["make_fast_structure"]

_SLOW = "return slow(payload, cls)"
_CHECKS = {
    str: f"if {{v}} is not None and {{v}}.__class__ is not str: {_SLOW}",
    int: (
        "if {v} is not None and {v}.__class__ is not int:\n"
        "        if {v}.__class__ is str and {v}.isdigit() and {v}.isascii(): {v} = int({v})\n"
        f"        else: {_SLOW}"
    ),
    bool: (  # Bandwidth writes some flags as "true"/"false" (real-time transcriptions)
        "if {v} is not None and {v}.__class__ is not bool:\n"
        '        if {v} == "true" or {v} == "false": {v} = {v} == "true"\n'
        f"        else: {_SLOW}"
    ),
}


_MISSING = object()


def _read_lines(field: Any, value: str, name: str, namespace: dict[str, Any]) -> list[str]:
    """Read the field into ``value``: its default when absent (the slow path when it has
    none), as cattrs and ``__init__`` would give."""
    if field.name == "event_type":  # never absent, never None: the class is chosen by it
        return [f"    {value} = get({name!r})", f"    if {value}.__class__ is not str: {_SLOW}"]
    lines = [f"    k{value} = {name!r}", f"    {value} = get(k{value})"]
    for alias in field.metadata.get(ALIASES, ()):  # the first key present gives the value
        lines += [f"    if {value} is None: k{value} = {alias!r}; {value} = get(k{value})"]
    if len(lines) > 2:
        return lines
    if field.default is None:
        return [f"    {value} = get({name!r})"]
    if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
        return [f"    {value} = get({name!r}, MISSING)", f"    if {value} is MISSING: {_SLOW}"]
    namespace[f"d{value}"] = field.default
    return [
        f"    {value} = get({name!r}, MISSING)",
        f"    if {value} is MISSING: {value} = d{value}",
    ]


def _check_lines(declared: Any, value: str, nested: Callable[[Any], str] | None) -> list[str]:
    """Check ``value`` has the declared JSON type (and convert timestamps, durations,
    arrays, and objects with ``nested``, which names their structure function)."""
    if declared in _CHECKS:
        return ["    " + _CHECKS[declared].format(v=value)]
    if declared is datetime:
        return [
            f"    if {value} is not None:",
            f"        if {value}.__class__ is not str: {_SLOW}",
            f"        try: {value} = timestamp({value})",
            f"        except ValueError: {_SLOW}",
        ]
    if declared is Duration:
        return [
            f"    if {value} is not None:",
            f"        if {value}.__class__ is not str: {_SLOW}",
            f"        try: {value} = duration({value})",
            f"        except ValueError: {_SLOW}",
        ]
    if declared == tuple[str, ...]:
        return [
            f"    if {value} is not None:",
            f"        if ({value}.__class__ is not list and {value}.__class__ is not FrozenList)"
            f" or not all(item.__class__ is str for item in {value}): {_SLOW}",
            f"        {value} = tuple({value})",
        ]
    if nested is not None and attrs.has(declared):
        return [
            f"    o{value} = {value}",
            f"    if {value} is not None:",
            f"        {value} = {nested(declared)}({value}, None)",
            f"        if {value} is None: {_SLOW}",
        ]
    return [f"    if {value} is not None: {_SLOW}"]  # the rest (a mapping, a float): rare


def _give_up(payload: Any, cls: type) -> None:
    return None


def make_fast_structure(
    cls: type[Any],
    wire_key: Callable[[Any], str],
    slow: Callable[[Any, type], Any],
    *,
    from_dict: bool = False,
    unknown_floats: Callable[[Any], bool] | None = None,
) -> Callable[[Any, type], Any]:
    """The fast structure function for ``cls``, falling back to ``slow`` for the rest.

    It takes the read-only payload (a ``mappingproxy``, as cattrs hooks get it), or with
    ``from_dict`` a freshly decoded ``dict``, which it freezes for ``raw`` itself. Nested
    attrs classes get functions of their own, which give ``None`` where ``cls`` goes slow.
    ``unknown_floats(payload)`` true sends a payload with keys ``cls`` does not declare to
    ``slow`` (a JSON decoder that reads big integers as floats needs it).
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
        "duration": parse_duration,
        "FrozenList": FrozenList,
        "freeze": freeze_raw,
        "mappingproxy": type(freeze_raw({})),
        "new": object.__new__,
        "MISSING": _MISSING,
    }

    def nested(declared: type[Any]) -> str:
        name = f"n_{declared.__name__}"
        if name not in namespace:
            namespace[name] = make_fast_structure(
                declared, wire_key, _give_up, from_dict=from_dict, unknown_floats=unknown_floats
            )
        return name

    setters = []
    frozen = []  # raw read-only all the way down: the declared containers, once checked
    for index, field in enumerate(attrs.fields(cls)):
        if field.name == "raw":
            continue
        value, key = f"v{index}", wire_key(field)
        lines += _read_lines(field, value, key, namespace)
        if field.name != "event_type":
            declared = declared_type(hints[field.name])
            lines += _check_lines(declared, value, nested)
            where = f"payload[k{value}]" if field.metadata.get(ALIASES) else f"payload[{key!r}]"
            if declared == tuple[str, ...]:
                frozen.append(f"        if {value} is not None: {where} = FrozenList({value})")
            elif attrs.has(declared):  # its function froze what it holds
                frozen.append(f"        if o{value} is not None: {where} = mappingproxy(o{value})")
        namespace[f"s{index}"] = slot_setter(cls, field.name)
        setters.append(f"    s{index}(event, {value})")
    # The instance is new and not yet shared: its slots are filled directly, as attrs'
    # own __init__ does for frozen classes, without the keyword-argument round trip.
    if from_dict:  # every key known: only the declared containers can hold any
        namespace["KNOWN"] = frozenset(wire_key(f) for f in attrs.fields(cls) if f.name != "raw")
        namespace["KNOWN"] |= {a for f in attrs.fields(cls) for a in f.metadata.get(ALIASES, ())}
        namespace["unknown_floats"] = unknown_floats
        lines += [
            "    if payload.keys() <= KNOWN:",
            *frozen,
            "        raw = mappingproxy(payload)",
            "    else:",
            *(
                [f"        if unknown_floats(payload): {_SLOW}"]
                if unknown_floats is not None
                else []
            ),
            "        raw = freeze(payload, owned=True)",
        ]
    else:
        lines.append("    raw = payload")
    lines += ["    event = new(cls)", *setters]
    if "raw" in attrs.fields_dict(cls):
        namespace["s_raw"] = slot_setter(cls, "raw")
        lines.append("    s_raw(event, raw)")
    lines.append("    return event")
    exec(compile("\n".join(lines), f"<bwhooks fast structure {cls.__name__}>", "exec"), namespace)  # noqa: S102
    structure: Callable[[Any, type], Any] = namespace["structure"]
    return structure
