"""Structuring Voice v2 and Messaging v2 payloads: no event is lost to one bad field.

Bandwidth does not retry a voice callback answered ``4xx``, and its own documentation shows
malformed values (a timestamp written ``2019-09-13-16:48:27.198Z``). So for the v2
classes a field that cannot be converted is left ``None``, its value stays in ``raw``, the
event is dispatched, and one WARNING on the ``bwhooks.decoding.parsing`` logger names the fields,
never their values (a :class:`~bwhooks.FieldConversionWarning` goes with it, hidden by
default: the log record is the one report of each callback). Nested
objects are structured the same way, field by field. A value the parser refuses outright
(JSON in a GET parameter nested deeper than the bound) is no bad field: it refuses the
callback (:class:`~bwhooks.InvalidCallback` naming the field), as it would in a POST body.
"""

from __future__ import annotations

import contextlib
import logging
import typing
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs

from bwhooks.decoding._hints import declared_type
from bwhooks.errors import FieldConversionWarning, InvalidCallback, _hide_by_default
from bwhooks.events._base import ALIASES, LOCAL, freeze_raw

__all__ = ["LOGGER", "LenientStructurer"]

LOGGER = logging.getLogger("bwhooks.decoding.parsing")

Problems = list[tuple[str, str]]  # (wire path, what was expected)
_Convert = Callable[[Any, Problems, str], Any]
_Structure = Callable[[Mapping[str, Any], Problems, str], Any]


class LenientStructurer:
    """Builds, once per class, the lenient structure function of an attrs class."""

    def __init__(
        self,
        converter: cattrs.Converter,
        wire_key: Callable[[Any], str],
        loads: Callable[[str], Any],
    ) -> None:
        self._converter = converter
        self._wire_key = wire_key
        self._loads = loads  # JSON text (a GET parameter) to a value, within the nesting bound
        self._built: dict[type[Any], _Structure] = {}

    def hook(self, cls: type[Any]) -> Callable[[Any, type], Any]:
        """A cattrs-style hook ``(payload, cls) -> instance`` that never fails on a field;
        it logs what it could not convert."""
        structure = self._structure(cls)

        def lenient(payload: Any, _: type) -> Any:
            problems: Problems = []
            instance = structure(payload, problems, "")
            if problems:
                _warn(instance, problems)
            return instance

        return lenient

    def _structure(self, cls: type[Any]) -> _Structure:
        found = self._built.get(cls)
        if found is None:
            found = self._built[cls] = self._build(cls)
        return found

    def _build(self, cls: type[Any]) -> _Structure:
        hints = typing.get_type_hints(cls)
        plan: list[tuple[str, tuple[str, ...], _Convert]] = []
        for field in attrs.fields(cls):
            if field.name == "raw" or field.metadata.get(LOCAL):
                continue  # built, or filled by the class itself
            keys = (self._wire_key(field), *field.metadata.get(ALIASES, ()))
            plan.append((field.name, keys, self._converter_of(declared_type(hints[field.name]))))
        has_raw = "raw" in attrs.fields_dict(cls)

        def structure(payload: Mapping[str, Any], problems: Problems, path: str) -> Any:
            arguments: dict[str, Any] = {}
            for name, keys, convert in plan:
                for key in keys:
                    value = payload.get(key)
                    if value is not None:
                        break
                else:
                    continue  # absent and null alike
                try:
                    arguments[name] = convert(value, problems, path + key)
                except InvalidCallback as exc:  # not a bad field: a refused callback
                    if exc.field is not None:
                        raise
                    reason = f"invalid {path + key}: {exc.reason}"
                    raise InvalidCallback(reason, field=path + key) from None
                except Exception:
                    problems.append((path + key, _expected(hints[name])))
            if has_raw:
                arguments["raw"] = payload
            return cls(**arguments)

        return structure

    def _converter_of(self, declared: Any) -> _Convert:
        if attrs.has(declared):
            nested = self._structure(declared)
            loads = self._loads

            def convert_nested(value: Any, problems: Problems, path: str) -> Any:
                if isinstance(value, str):  # a GET callback carries objects as JSON text
                    value = loads(value)
                if not isinstance(value, Mapping):
                    raise TypeError("expected an object")
                return nested(freeze_raw(value), problems, path + ".")

            return convert_nested
        item = _item_class(declared)
        if item is not None:  # a tuple of objects: each converted field by field, an
            # element that is no object left out
            convert_item = self._converter_of(item)

            def convert_items(value: Any, problems: Problems, path: str) -> Any:
                if isinstance(value, str):  # a GET callback carries arrays as JSON text
                    value = loads(value)
                if not isinstance(value, list | tuple):
                    raise TypeError("expected an array")
                converted = []
                for index, element in enumerate(value):
                    try:
                        converted.append(convert_item(element, problems, f"{path}[{index}]"))
                    except InvalidCallback:
                        raise
                    except Exception:  # not an object: left out, the others kept
                        problems.append((f"{path}[{index}]", item.__name__))
                return tuple(converted)

            loads = self._loads
            return convert_items
        hook = self._converter.get_structure_hook(declared)

        def convert(value: Any, problems: Problems, path: str) -> Any:
            return hook(value, declared)

        return convert


def _item_class(declared: Any) -> type[Any] | None:
    """``X`` of ``tuple[X, ...]`` when ``X`` is an attrs class, else ``None``."""
    if typing.get_origin(declared) is not tuple:
        return None
    args = typing.get_args(declared)
    if len(args) == 2 and args[1] is Ellipsis and attrs.has(args[0]):
        item: type[Any] = args[0]
        return item
    return None


def _expected(hint: Any) -> str:
    declared = declared_type(hint)
    return getattr(declared, "__name__", None) or str(declared).replace("typing.", "")


def _warn(instance: Any, problems: Problems) -> None:
    from bwhooks.observe import event_ids

    fields = ", ".join(f"{path} (expected {expected})" for path, expected in problems)
    kind = getattr(instance, "event_type", type(instance).__name__)
    ids = event_ids(instance) if hasattr(instance, "raw") else ""
    message = (
        f"{kind} callback ({ids or 'no ids'}): could not convert {fields}; "
        "left None, the value is kept in raw"
    )
    LOGGER.warning("%s", message)  # the report of every callback
    _hide_by_default()  # the default, unless a filter of the user's says else
    with contextlib.suppress(Warning):  # a filter that makes it an error must not cost
        warnings.warn(message, FieldConversionWarning, stacklevel=2)  # the callback
