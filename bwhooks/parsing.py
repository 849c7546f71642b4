"""Wire payloads (JSON bodies, GET query strings) to typed events and back, with cattrs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from bwhooks.errors import InvalidCallback
from bwhooks.events import EVENT_CLASSES, Event, HangupEvent, RejectEvent, UnknownEvent
from bwhooks.events._base import freeze_raw
from bwhooks.fastpath import make_fast_structure
from bwhooks.timestamps import format_timestamp, parse_timestamp

__all__ = [
    "decode_json_body",
    "decode_query",
    "encode_query",
    "event_class_for",
    "make_converter",
    "parse_event",
    "quick_parse",
    "to_payload",
    "wire_name",
]

_INTEGER = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_MAX_QUERY_FIELDS = 1000


@cache
def wire_name(attribute: str) -> str:
    """The wire key of an attribute: ``call_id`` -> ``callId``, ``from_`` -> ``from``."""
    head, *rest = attribute.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


# -- scalar hooks: accept the JSON type, and the string form a GET callback carries --------


def _structure_str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError("expected a string")


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, bool):
        raise TypeError("expected an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError("expected an integer")


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError("expected true or false")


def _structure_datetime(value: Any, _: type) -> datetime:
    if isinstance(value, str):
        return parse_timestamp(value)
    raise TypeError("expected an ISO-8601 date-time string")


def _structure_str_tuple(value: Any, _: type) -> tuple[str, ...]:
    if isinstance(value, str):  # GET form: "[url1, url2]", or a single value
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
            return tuple(item.strip() for item in text.split(",") if item.strip())
        return (value,)
    if isinstance(value, (list, tuple)):
        return tuple(_structure_str(item, str) for item in value)
    raise TypeError("expected a list of strings")


def _is_str_tuple(type_: Any) -> bool:
    return bool(type_ == tuple[str, ...])


def _json_object(value: Any) -> Mapping[str, Any]:
    if isinstance(value, str):  # GET form: the object travels as JSON in one parameter
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("expected a JSON object") from None
    if not isinstance(value, Mapping):
        raise TypeError("expected an object")
    return value


# -- attrs classes: camelCase renames generated once per class ------------------------------


def _structure_factory(converter: cattrs.Converter, strict: bool) -> Callable[[Any], Any]:
    def factory(cls: type[Any]) -> Callable[[Any, type], Any]:
        names = [a.name for a in attrs.fields(cls) if a.name != "raw"]
        overrides: dict[str, Any] = {name: override(rename=wire_name(name)) for name in names}
        if "raw" in attrs.fields_dict(cls):
            overrides["raw"] = override(omit=True)
        generated = make_dict_structure_fn(
            cls, converter, _cattrs_forbid_extra_keys=strict, **overrides
        )
        has_raw = "raw" in attrs.fields_dict(cls)

        def structure(value: Any, _: type) -> Any:
            payload = _json_object(value)
            instance = generated(payload, cls)
            if has_raw:
                # The frozen instance is brand new and not yet shared: setting `raw`
                # here is how attrs itself initialises frozen classes.
                object.__setattr__(instance, "raw", freeze_raw(payload))
            return instance

        if strict or not issubclass(cls, Event):
            return structure
        return make_fast_structure(cls, wire_name, structure)

    return factory


def _unstructure_factory(converter: cattrs.Converter) -> Callable[[Any], Any]:
    def factory(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
        names = [a.name for a in attrs.fields(cls) if a.name != "raw"]
        overrides: dict[str, Any] = {name: override(rename=wire_name(name)) for name in names}
        has_raw = "raw" in attrs.fields_dict(cls)
        if has_raw:
            overrides["raw"] = override(omit=True)
        generated = make_dict_unstructure_fn(cls, converter, **overrides)
        known = frozenset(wire_name(name) for name in names)

        def unstructure(instance: Any) -> dict[str, Any]:
            payload = {k: v for k, v in generated(instance).items() if v is not None}
            if has_raw:  # fields bwhooks does not model travel on untouched
                for key, value in instance.raw.items():
                    if key not in known and key not in payload:
                        payload[key] = value
            return payload

        return unstructure

    return factory


def make_converter(*, strict: bool = False) -> cattrs.Converter:
    """A new converter between wire payloads and bwhooks events.

    The default is lenient, as receiving must be: unknown fields are kept (in ``raw``),
    never rejected. ``strict=True`` forbids keys that no event field models; the test suite
    runs it on the documented payloads to catch drift between the models and the docs.
    """
    converter = cattrs.Converter(forbid_extra_keys=strict, detailed_validation=True)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_structure_hook_func(_is_str_tuple, _structure_str_tuple)
    converter.register_unstructure_hook(datetime, format_timestamp)
    converter.register_unstructure_hook_func(_is_str_tuple, list)
    converter.register_structure_hook_factory(attrs.has, _structure_factory(converter, strict))
    converter.register_unstructure_hook_factory(attrs.has, _unstructure_factory(converter))
    return converter


_LENIENT = make_converter()
_MAPPINGPROXY = type(freeze_raw({}))
_HOOKS: dict[type[Event], Callable[[Any, type], Any]] = {}  # the converter's, looked up once

_BY_EVENT_TYPE: dict[str, type[Event]] = {}
for _cls in EVENT_CLASSES:
    for _event_type in _cls.EVENT_TYPES:
        _BY_EVENT_TYPE.setdefault(_event_type, _cls)
_BY_FOLDED_TYPE = {event_type.lower(): cls for event_type, cls in _BY_EVENT_TYPE.items()}


def event_class_for(event_type: str, payload: Mapping[str, Any]) -> type[Event]:
    """The class a payload with this ``eventType`` parses into (``UnknownEvent`` if none).

    A ``hangup`` whose ``cause`` is ``CALL_REJECTED`` is a :class:`RejectEvent`.
    """
    cls = _BY_EVENT_TYPE.get(event_type) or _BY_FOLDED_TYPE.get(event_type.lower(), UnknownEvent)
    if cls is HangupEvent and payload.get("cause") == "CALL_REJECTED":
        return RejectEvent
    return cls


def parse_event(payload: Mapping[str, Any], *, converter: cattrs.Converter | None = None) -> Event:
    """Turn a wire payload (a JSON object, or decoded GET query values) into an event.

    Raises :class:`~bwhooks.InvalidCallback` naming the wire field when ``eventType`` is
    missing or a field cannot be converted to its type. Unknown event types give an
    :class:`~bwhooks.events.UnknownEvent`; unknown fields are kept in ``raw``.
    """
    if payload.__class__ is not _MAPPINGPROXY:
        if not isinstance(payload, Mapping):
            raise InvalidCallback("a callback must be a JSON object")
        payload = freeze_raw(payload)
    event_type = payload.get("eventType")
    if not isinstance(event_type, str) or not event_type:
        raise InvalidCallback("missing eventType", field="eventType")
    cls = event_class_for(event_type, payload)
    if cls is UnknownEvent:
        return UnknownEvent(event_type=event_type, raw=payload)
    try:
        if converter is None:
            hook = _HOOKS.get(cls)
            if hook is None:
                hook = _HOOKS[cls] = _LENIENT.get_structure_hook(cls)
            event: Event = hook(payload, cls)
            return event
        return converter.structure(payload, cls)
    except ClassValidationError as exc:
        raise _invalid(exc) from None
    except (TypeError, ValueError) as exc:  # raised by a hook outside a class
        raise InvalidCallback(str(exc)) from None


def _none(payload: Any, cls: type) -> None:
    return None


_QUICK: dict[type[Event], tuple[Callable[[Any, type], Any], frozenset[str]]] = {}


def quick_parse(body: bytes) -> Event | None:
    """The common case in one step: a JSON object of a known event type whose fields all
    have their declared JSON types. ``None`` for anything else, which
    :func:`decode_json_body` and :func:`parse_event` then handle (and explain)."""
    quick_loads = _quick_loads
    try:
        payload = quick_loads(body) if quick_loads is not None else _loads(body)
    except (ValueError, RecursionError):
        return None
    if payload.__class__ is not dict:
        return None
    event_type = payload.get("eventType")
    cls = _BY_EVENT_TYPE.get(event_type) if event_type.__class__ is str else None
    if cls is None:
        return None
    if cls is HangupEvent and payload.get("cause") == "CALL_REJECTED":
        cls = RejectEvent
    found = _QUICK.get(cls)
    if found is None:
        found = _QUICK[cls] = (
            make_fast_structure(cls, wire_name, _none, from_dict=True),
            frozenset(wire_name(a.name) for a in attrs.fields(cls) if a.name != "raw"),
        )
    event: Event | None = found[0](payload, cls)
    # orjson reads integers past 64 bits as floats. A declared field never passes its type
    # check as a float; only fields bwhooks does not know may hold one, kept in ``raw``.
    if (
        quick_loads is not None
        and event is not None
        and not payload.keys() <= found[1]
        and _has_float(payload)
    ):
        return None  # the general path decodes it again, exactly
    return event


def _invalid(exc: ClassValidationError, prefix: str = "") -> InvalidCallback:
    """The first error of a cattrs validation group, told in wire names."""
    for error in exc.exceptions:
        if isinstance(error, ForbiddenExtraKeysError):
            fields = ", ".join(sorted(error.extra_fields))
            return InvalidCallback(f"unexpected fields: {fields}")
        notes = [n for n in getattr(error, "__notes__", ()) if hasattr(n, "name")]
        field = prefix + wire_name(notes[0].name) if notes else prefix.rstrip(".") or None
        if isinstance(error, ClassValidationError):
            return _invalid(error, f"{field}." if field else "")
        if isinstance(error, KeyError):
            return InvalidCallback(f"missing field {field}", field=field)
        return InvalidCallback(f"invalid {field}: {error}", field=field)
    return InvalidCallback("invalid callback")


def to_payload(event: Event) -> dict[str, Any]:
    """Turn an event back into its wire form (a JSON-ready dict, camelCase keys).

    Fields that are ``None`` are left out; unknown fields kept in ``raw`` are included, so
    ``parse_event(to_payload(event)) == event``.
    """
    payload: dict[str, Any] = _LENIENT.unstructure(event)
    return payload


def _has_float(container: Any) -> bool:
    """Whether a decoded object or array holds a float anywhere (callbacks carry none)."""
    for item in container.values() if container.__class__ is dict else container:
        kind = item.__class__
        if kind is float or ((kind is dict or kind is list) and _has_float(item)):
            return True
    return False


Loads = Callable[[bytes], Any]


def _json_backend(use_orjson: bool = True) -> tuple[Loads, Loads | None]:
    """``(loads, quick_loads)``: orjson when installed (``bwhooks[fast]``) and wanted, with
    the standard library for what orjson refuses (NaN, Infinity) or reads differently
    (integers past 64 bits): the same answers, sooner. ``quick_loads`` is orjson itself,
    for :func:`quick_parse`, which checks the numbers itself (``None`` without orjson)."""
    if not use_orjson:
        return json.loads, None
    try:
        import orjson
    except ImportError:
        return json.loads, None
    raw = orjson.loads

    def loads(body: bytes) -> Any:
        try:
            value = raw(body)
        except orjson.JSONDecodeError:
            return json.loads(body)
        # A document with any float is decoded again by the standard library, so numbers
        # keep their exact values.
        if (value.__class__ is dict or value.__class__ is list) and _has_float(value):
            return json.loads(body)
        return json.loads(body) if value.__class__ is float else value

    return loads, raw


_loads, _quick_loads = _json_backend()


def decode_json_body(body: bytes) -> Mapping[str, Any]:
    """Decode a POST body: a JSON object, as UTF-8 (or UTF-16/32 with a BOM)."""
    if not body or body.isspace():
        raise InvalidCallback("empty body")
    try:
        value = _loads(body)
    except (ValueError, RecursionError):
        raise InvalidCallback("malformed JSON") from None
    if not isinstance(value, dict):
        raise InvalidCallback("a callback must be a JSON object")
    return value


def decode_query(query_string: bytes) -> dict[str, Any]:
    """Decode a GET callback's query string (``application/x-www-form-urlencoded``).

    ``+`` is a space and ``%2B`` a plus; a name given more than once gives a tuple.
    """
    try:
        text = query_string.decode("utf-8")
        pairs = parse_qsl(
            text, keep_blank_values=True, errors="strict", max_num_fields=_MAX_QUERY_FIELDS
        )
    except UnicodeDecodeError:
        raise InvalidCallback("query string is not UTF-8") from None
    except ValueError:
        raise InvalidCallback("too many query parameters") from None
    payload: dict[str, Any] = {}
    for name, value in pairs:
        if name in payload:
            previous = payload[name]
            payload[name] = (*previous, value) if isinstance(previous, tuple) else (previous, value)
        else:
            payload[name] = value
    return payload


def encode_query(payload: Mapping[str, Any]) -> str:
    """Write a wire payload as a GET callback's query string (the inverse of :func:`decode_query`).

    Booleans become ``true``/``false``, lists the bracketed ``[a, b]`` form Bandwidth
    documents, objects JSON.
    """
    pairs: list[tuple[str, str]] = []
    for name, value in payload.items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            text = "[" + ", ".join(str(item) for item in value) + "]"
        elif isinstance(value, Mapping):
            text = json.dumps(value, separators=(",", ":"))
        else:
            text = str(value)
        pairs.append((name, text))
    return urlencode(pairs)
