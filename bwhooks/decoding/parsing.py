"""Wire payloads (JSON bodies, GET query strings) to typed events and back, with cattrs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import cache
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, urlencode

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from bwhooks.decoding.lenient import LenientStructurer
from bwhooks.errors import InvalidCallback
from bwhooks.events import Event, UnknownEvent
from bwhooks.events._base import ALIASES, LOCAL, WIRE, FrozenList, freeze_raw, thaw
from bwhooks.events.timestamps import (
    Duration,
    format_duration,
    format_timestamp,
    parse_duration,
    parse_timestamp,
)
from bwhooks.families import DEFAULT, Families

__all__ = [
    "decode_json",
    "decode_json_body",
    "decode_query",
    "encode_query",
    "event_class_for",
    "loads_bounded",
    "make_converter",
    "parse_delivery",
    "parse_event",
    "parse_query",
    "to_payload",
    "wire_key",
    "wire_name",
]

_INTEGER = re.compile(r"\s*[+-]?\d+\s*", re.ASCII)
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_MAX_QUERY_FIELDS = 1000
#: The most elements a Messaging v2 array may carry (Bandwidth documents one per delivery).
MAX_ARRAY_ELEMENTS = 1000
#: The deepest nesting of arrays and objects a callback may have: Bandwidth's deepest payload
#: has 4 levels (a Messaging v2 array, its element, ``message``, ``media``). A body, or JSON
#: in a GET parameter, nested deeper is refused (``400``) before anything recurses into it.
MAX_DEPTH = 32


@cache
def wire_name(attribute: str) -> str:
    """The wire key of an attribute: ``call_id`` -> ``callId``, ``from_`` -> ``from``."""
    head, *rest = attribute.rstrip("_").split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def wire_key(field: attrs.Attribute[Any]) -> str:
    """The wire key of an attrs field: its declared one (``type`` for a Messaging v2
    ``event_type``), else :func:`wire_name` of its name."""
    declared: str | None = field.metadata.get(WIRE)
    return declared or wire_name(field.name)


# -- the nesting bound ---------------------------------------------------------------------


def loads_bounded(text: bytes | str) -> Any:
    """``json.loads``, refusing (:class:`~bwhooks.InvalidCallback`) a document nested
    deeper than :data:`MAX_DEPTH` levels; ``ValueError`` for one that is not JSON."""
    try:
        value = json.loads(text)
    except RecursionError:  # the decoder's own bound, far past ours
        raise _too_deep() from None
    if may_nest_deeper(text) and nests_deeper(value):
        raise _too_deep()
    return value


def may_nest_deeper(text: bytes | str) -> bool:
    """Whether JSON ``text`` has enough brackets to nest deeper than :data:`MAX_DEPTH`
    levels (a pass in C; ``False`` is certain, ``True`` needs :func:`nests_deeper`)."""
    if isinstance(text, bytes):
        return text.count(b"[") + text.count(b"{") > MAX_DEPTH
    return text.count("[") + text.count("{") > MAX_DEPTH


def nests_deeper(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether decoded JSON ``value`` nests arrays and objects deeper than ``limit`` levels
    (measured without recursion: any depth is safe to measure)."""
    pending = [(value, 1)]
    pop, push = pending.pop, pending.append
    while pending:
        node, depth = pop()
        kind = node.__class__
        if kind is list or kind is tuple or kind is FrozenList:  # decoded, thawed or frozen
            items: Any = node
        elif kind is dict or isinstance(node, Mapping):
            items = node.values()
        elif isinstance(node, list | tuple):
            items = node
        else:
            continue
        if depth > limit:
            return True
        for child in items:
            if child.__class__ not in _SCALARS:
                push((child, depth + 1))
    return False


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _too_deep() -> InvalidCallback:
    return InvalidCallback(f"nested deeper than {MAX_DEPTH} levels")


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


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, bool):
        raise TypeError("expected a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return float(value)
    raise TypeError("expected a number")


def _structure_datetime(value: Any, _: type) -> datetime:
    if isinstance(value, str):
        return parse_timestamp(value)
    raise TypeError("expected an ISO-8601 date-time string")


def _structure_duration(value: Any, _: type) -> Duration:
    if isinstance(value, str):
        return parse_duration(value)
    raise TypeError("expected an ISO-8601 duration string")


def _structure_str_mapping(value: Any, _: type) -> Mapping[str, str]:
    payload = _json_object(value)  # names kept as sent: SIP header names are no camelCase
    return MappingProxyType({str(k): _structure_str(v, str) for k, v in payload.items()})


def _is_str_mapping(type_: Any) -> bool:
    return bool(type_ == Mapping[str, str])


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
            value = loads_bounded(value)
        except InvalidCallback:
            raise
        except ValueError:
            raise ValueError("expected a JSON object") from None
    if not isinstance(value, Mapping):
        raise TypeError("expected an object")
    return value


# -- attrs classes: camelCase renames generated once per class ------------------------------


def _structure_factory(
    converter: cattrs.Converter, strict: bool, lenient: LenientStructurer
) -> Callable[[Any], Any]:
    def factory(cls: type[Any]) -> Callable[[Any, type], Any]:
        fields = [a for a in attrs.fields(cls) if a.name != "raw"]
        overrides: dict[str, Any] = {a.name: _override(a) for a in fields}
        has_raw = "raw" in attrs.fields_dict(cls)
        if has_raw:
            overrides["raw"] = override(omit=True)
        generated = make_dict_structure_fn(
            cls, converter, _cattrs_forbid_extra_keys=strict, **overrides
        )
        aliases = {wire_key(a): a.metadata[ALIASES] for a in fields if a.metadata.get(ALIASES)}

        def structure(value: Any, _: type) -> Any:
            payload = _json_object(value)
            instance = generated(_unalias(payload, aliases) if aliases else payload, cls)
            if has_raw:
                # The frozen instance is brand new and not yet shared: setting `raw`
                # here is how attrs itself initialises frozen classes.
                object.__setattr__(instance, "raw", freeze_raw(payload))
            return instance

        if not strict and issubclass(cls, Event) and cls.GENERATION >= 2:
            return lenient.hook(cls)  # a field that cannot be converted is left None
        return structure

    return factory


def _override(field: attrs.Attribute[Any]) -> Any:
    """How cattrs reads and writes ``field``: under its wire key, or never (a
    :data:`~bwhooks.events._base.LOCAL` attribute)."""
    if field.metadata.get(LOCAL):
        return override(omit=True)
    return override(rename=wire_key(field))


def _unalias(payload: Mapping[str, Any], aliases: Mapping[str, tuple[str, ...]]) -> Any:
    """The payload with each value found under an alias moved to its field's wire key."""
    renamed = dict(payload)
    for key, others in aliases.items():
        for other in others:
            if other in renamed:
                value = renamed.pop(other)
                renamed.setdefault(key, value)
    return renamed


def _unstructure_factory(converter: cattrs.Converter) -> Callable[[Any], Any]:
    def factory(cls: type[Any]) -> Callable[[Any], dict[str, Any]]:
        fields = [a for a in attrs.fields(cls) if a.name != "raw"]
        overrides: dict[str, Any] = {a.name: _override(a) for a in fields}
        has_raw = "raw" in attrs.fields_dict(cls)
        if has_raw:
            overrides["raw"] = override(omit=True)
        generated = make_dict_unstructure_fn(cls, converter, **overrides)
        known = frozenset(wire_key(a) for a in fields).union(
            *(a.metadata.get(ALIASES, ()) for a in fields)
        )

        def unstructure(instance: Any) -> dict[str, Any]:
            payload = {k: v for k, v in generated(instance).items() if v is not None}
            if has_raw:  # fields bwhooks does not model travel on untouched
                for key, value in instance.raw.items():
                    if key not in known and key not in payload:
                        payload[key] = thaw(value)
            return payload

        return unstructure

    return factory


def make_converter(*, strict: bool = False) -> cattrs.Converter:
    """A new converter between wire payloads and bwhooks events.

    The default is lenient, as receiving must be: unknown fields are kept (in ``raw``),
    never rejected, and a Voice v2 or Messaging v2 field that cannot be converted is left
    ``None`` with a warning. ``strict=True`` forbids keys that no event field models and
    fails on every field that cannot be converted; the test suite runs it on the documented
    payloads to catch drift between the models and the docs.
    """
    converter = cattrs.Converter(forbid_extra_keys=strict, detailed_validation=True)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_structure_hook(Duration, _structure_duration)
    converter.register_structure_hook_func(_is_str_tuple, _structure_str_tuple)
    converter.register_structure_hook_func(_is_str_mapping, _structure_str_mapping)
    converter.register_unstructure_hook(datetime, format_timestamp)
    converter.register_unstructure_hook(timedelta, format_duration)
    converter.register_unstructure_hook(Duration, format_duration)
    converter.register_unstructure_hook_func(_is_str_tuple, list)
    converter.register_unstructure_hook_func(_is_str_mapping, dict)
    lenient = LenientStructurer(converter, wire_key, loads_bounded)
    converter.register_structure_hook_factory(
        attrs.has, _structure_factory(converter, strict, lenient)
    )
    converter.register_unstructure_hook_factory(attrs.has, _unstructure_factory(converter))
    return converter


_LENIENT = make_converter()
_MAPPINGPROXY = type(freeze_raw({}))
_HOOKS: dict[type[Event], Callable[[Any, type], Any]] = {}  # the converter's, looked up once


def event_class_for(event_type: str, payload: Mapping[str, Any]) -> type[Event]:
    """The class a payload with this ``eventType`` parses into (an unknown class if none).

    A ``hangup`` whose ``cause`` is ``CALL_REJECTED`` is a :class:`RejectEvent`; a type both
    API generations send is Voice v2 when the payload shows a v2 key
    (:class:`bwhooks.families.VoiceV2`).
    """
    return DEFAULT.class_for({**payload, "eventType": event_type})


def parse_event(
    payload: Mapping[str, Any],
    *,
    converter: cattrs.Converter | None = None,
    families: Families = DEFAULT,
) -> Event:
    """Turn a wire payload (a JSON object, or decoded GET query values) into an event.

    Raises :class:`~bwhooks.InvalidCallback` naming the wire field when the payload has no
    ``eventType`` (nor a Messaging v2 ``type`` and ``message``), or when a v1 field cannot
    be converted to its type (a v2 one is left ``None`` with a warning). Unknown event types
    give an unknown event (:data:`~bwhooks.events.UNKNOWN_EVENT_CLASSES`); unknown fields
    are kept in ``raw``. ``families`` recognize the payload (every family bwhooks reads).
    """
    if payload.__class__ is not _MAPPINGPROXY:
        if not isinstance(payload, Mapping):
            raise InvalidCallback("a callback must be a JSON object")
        payload = freeze_raw(payload)
    return _structure(payload, families.class_for(payload), converter)


def parse_query(
    payload: Mapping[str, Any],
    *,
    converter: cattrs.Converter | None = None,
    families: Families = DEFAULT,
) -> Event:
    """Turn a GET query's decoded values (:func:`decode_query`) into an event: as
    :func:`parse_event` does, but the families may claim what only comes as a query (an
    Emergency Calling API routing query: :meth:`~bwhooks.families.Families.class_for_query`)."""
    payload = freeze_raw(payload)
    return _structure(payload, families.class_for_query(payload), converter)


def parse_delivery(
    value: Any, *, converter: cattrs.Converter | None = None, families: Families = DEFAULT
) -> tuple[Event, ...]:
    """Turn a decoded body into its events, in order: one object gives one event, a
    Messaging v2 array one per element.

    Raises :class:`~bwhooks.InvalidCallback` for an empty array, one over
    :data:`MAX_ARRAY_ELEMENTS`, an element that is not an object or has no ``type``; an
    element of a ``type`` bwhooks does not know is an
    :class:`~bwhooks.events.UnknownMessagingEvent`, never an error.
    """
    if isinstance(value, Mapping):
        return (parse_event(value, converter=converter, families=families),)
    if not isinstance(value, list | tuple):
        raise InvalidCallback("a callback must be a JSON object or array")
    if not value:
        raise InvalidCallback("an empty array carries no callback")
    if len(value) > MAX_ARRAY_ELEMENTS:
        raise InvalidCallback(f"more than {MAX_ARRAY_ELEMENTS} callbacks in one array")
    events: list[Event] = []
    for index, element in enumerate(value):
        if not isinstance(element, Mapping):
            raise InvalidCallback(f"a callback must be a JSON object: array element {index} is not")
        payload = freeze_raw(element)
        try:
            events.append(
                _structure(payload, families.class_for(payload, in_array=True), converter)
            )
        except InvalidCallback as exc:
            raise InvalidCallback(f"element {index}: {exc.reason}", field=exc.field) from None
    return tuple(events)


def _structure(
    payload: Mapping[str, Any], cls: type[Event], converter: cattrs.Converter | None
) -> Event:
    """Structure a read-only payload into ``cls``."""
    if cls is UnknownEvent:
        return UnknownEvent(event_type=payload["eventType"], raw=payload)
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
    except InvalidCallback:  # a refusal that names its field (the lenient hooks')
        raise
    except (TypeError, ValueError) as exc:  # raised by a hook outside a class
        raise InvalidCallback(str(exc)) from None


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


def decode_json_body(body: bytes) -> Mapping[str, Any]:
    """Decode a POST body that must be one JSON object (UTF-8, or UTF-16/32 with a BOM)."""
    value = decode_json(body)
    if not isinstance(value, dict):
        raise InvalidCallback("a callback must be a JSON object")
    return value


def decode_json(body: bytes) -> dict[str, Any] | list[Any]:
    """Decode a POST body: a JSON object or a (Messaging v2) array, as UTF-8 (or UTF-16/32
    with a BOM), nested at most :data:`MAX_DEPTH` levels."""
    if not body or body.isspace():
        raise InvalidCallback("empty body")
    try:
        value = loads_bounded(body)
    except UnicodeDecodeError:
        raise InvalidCallback("body is not UTF-8 (nor UTF-16 or UTF-32 with a BOM)") from None
    except InvalidCallback:
        raise
    except ValueError:
        raise InvalidCallback("malformed JSON") from None
    if not isinstance(value, dict | list):
        raise InvalidCallback("a callback must be a JSON object or array")
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
