"""The compiled decoding path: a callback body to its attrs events in one pass of C.

msgspec decodes the body into structs generated from the event classes (the wire names,
the declared JSON types, a tagged union on ``eventType``, or on ``type`` for the elements of
a Messaging v2 array), and a function generated per class moves the values into the new
frozen instance's slots. ``raw`` is decoded from the body when first read
(:class:`~bwhooks.events.LazyRaw`).

The structs take a body only where the general path (cattrs) would read it the same way:
anything else (a value of another JSON type than declared, a timestamp without an offset,
an unknown or case-folded type, a body that is not UTF-8, a GET callback) gives ``None``,
and the general path converts it or explains why it is refused. The tests check that both
paths give equal events, on every example and on generated payloads of every class.

Each class has two structs. The closed one forbids keys it does not read: a body it takes
nests no deeper than the classes do, and msgspec has decoded (and checked) all of its text.
The open one skips such keys unchecked, and ``raw`` decodes them later, so it reads a body
only when that body cannot nest deeper than :data:`~bwhooks.decoding.parsing.MAX_DEPTH` (it holds
no more brackets than that) and is UTF-8; any other body goes to the general path, which
measures and checks it. A body of known keys, the common one, pays for no scan.

The decoders are built when first needed, not at import.
"""

from __future__ import annotations

import os
import threading
import typing
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from bwhooks import events
from bwhooks.decoding._hints import declared_type
from bwhooks.decoding.parsing import MAX_ARRAY_ELEMENTS, MAX_DEPTH, wire_key
from bwhooks.events import Event
from bwhooks.events._base import ALIASES, LazyRaw
from bwhooks.events._slots import slot_setter
from bwhooks.events.timestamps import Duration, parse_duration
from bwhooks.families import catapult
from bwhooks.families import messaging as messaging_family
from bwhooks.families import voice as voice_family
from bwhooks.families.voice import V2_KEYS

__all__ = ["decode_body", "prepare"]

# (struct, source, key) -> event: ``source`` is the body, or the enclosing object's raw.
Build = Callable[[Any, Any, Any], Any]


def decode_body(body: bytes) -> tuple[Event, ...] | None:
    """The events of a JSON POST body (one object, or a Messaging v2 array of elements),
    or ``None`` when the general path must read it."""
    plan = _plan or _make_plan()
    try:  # every key known: bounded by the structs, all text decoded (inlined _read)
        if body and body[0] == 0x5B:  # [: a Messaging v2 array
            elements = plan.closed_messaging.decode(body)
            if not 0 < len(elements) <= MAX_ARRAY_ELEMENTS:
                return None
            builds = plan.builds
            return tuple([builds[e.__class__](e, body, index) for index, e in enumerate(elements)])
        struct = plan.closed_voice.decode(body)
        return (plan.builds[struct.__class__](struct, body, None),)
    except (ValueError, RecursionError):
        pass
    if body.count(b"{") + body.count(b"[") > MAX_DEPTH:  # it might nest deeper
        return None
    try:
        if not body.isascii():
            body.decode()  # the skipped keys' text: UnicodeDecodeError, a ValueError
        return _read(plan.voice, plan.messaging, plan.builds, body)
    except (ValueError, RecursionError):  # msgspec's errors (on a stack already deep), and
        return None  # a duration or number the general path reads


def _read(
    voice: Any, messaging: Any, builds: Mapping[type, Build], body: bytes
) -> tuple[Event, ...] | None:
    """``body`` read by these decoders; ``ValueError`` where they cannot."""
    if body and body[0] == 0x5B:  # [: a Messaging v2 array
        elements = messaging.decode(body)
        if not 0 < len(elements) <= MAX_ARRAY_ELEMENTS:
            return None
        return tuple([builds[e.__class__](e, body, index) for index, e in enumerate(elements)])
    struct = voice.decode(body)
    return (builds[struct.__class__](struct, body, None),)


def prepare() -> None:
    """Build the decoders (and load the event classes) now rather than on the first
    callback, which otherwise takes some 0.2 s longer: call it at start-up (before a
    server forks its workers, to share them) where the first answer's latency matters."""
    if _plan is None:
        _make_plan()


@attrs.frozen
class _Plan:
    closed_voice: Any  # msgspec.json.Decoder of the tagged union of every closed voice struct
    closed_messaging: Any  # of a list of the tagged union of every closed Messaging v2 struct
    voice: Any  # the same of the open structs (that skip keys they do not read)
    messaging: Any
    builds: Mapping[type, Build]  # the function that makes the event of each struct


_plan: _Plan | None = None


class _Planning:
    """The lock of the plan's one build: callbacks arriving together on a cold receiver wait
    for one build (some 0.3 s) rather than each making its own under the GIL."""

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        """A new lock (a forked child: one held by another thread stays held)."""
        self.lock = threading.Lock()


_PLANNING = _Planning()
if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_PLANNING.forget)


def _make_plan() -> _Plan:
    with _PLANNING.lock:
        return _plan or _build_plan()


def _build_plan() -> _Plan:
    global _plan  # noqa: PLW0603  (built once, on first use)
    builds: dict[type, Build] = {}
    unions: list[tuple[Any, Any]] = []
    for maker in (_Maker(closed=True), _Maker(closed=False)):
        voice: list[type] = []
        v1_by_type, voice_by_type = catapult.by_type(), voice_family.by_type()
        for event_type in sorted(v1_by_type.keys() | voice_by_type.keys()):
            v1, v2 = v1_by_type.get(event_type), voice_by_type.get(event_type)
            if v2 is not None and v1 is not None:  # told apart by the keys only v2 sends
                struct, build = maker.shared(event_type, v1, v2)
            elif v1 is events.HangupEvent:  # a rejected call is a hangup with a cause
                struct, build = maker.hangup(event_type)
            else:
                struct, build = maker.event(v2 or v1, "eventType", event_type)  # type: ignore[arg-type]
            voice.append(struct)
            builds[struct] = build
        messaging: list[type] = []
        for message_type, cls in sorted(messaging_family.by_type().items()):
            struct, build = maker.event(cls, "type", message_type, probe="eventType")
            messaging.append(struct)
            builds[struct] = build
        decoder = maker.msgspec.json.Decoder
        unions.append(
            (
                decoder(typing.Union[tuple(voice)]),  # noqa: UP007
                decoder(list[typing.Union[tuple(messaging)]]),  # type: ignore[misc]  # noqa: UP007
            )
        )
    (closed_voice, closed_messaging), (voice_decoder, messaging_decoder) = unions
    _plan = _Plan(
        closed_voice=closed_voice,
        closed_messaging=closed_messaging,
        voice=voice_decoder,
        messaging=messaging_decoder,
        builds=builds,
    )
    return _plan


class _Maker:
    """Generates the struct and the build function of each class, nested ones once;
    ``closed`` structs forbid the keys they do not read, and read the keys that tell a
    class apart as JSON scalars only."""

    def __init__(self, *, closed: bool) -> None:
        import msgspec

        self.msgspec = msgspec
        self.closed = closed
        self.timestamp = typing.Annotated[datetime, msgspec.Meta(tz=True)]
        self.nested: dict[type, tuple[type, Build]] = {}
        # a key read only for its presence: any JSON value (open), or a scalar (closed)
        self.presence: Any = str | int | float | bool | None | msgspec.UnsetType if closed else Any

    def event(
        self,
        cls: type[Event],
        tag_field: str,
        tag: str,
        *,
        probe: str | None = None,
    ) -> tuple[type, Build]:
        """The struct of ``cls`` tagged ``tag``; with ``probe``, a payload carrying that key
        goes to the general path."""
        return self._generate(cls, (tag_field, tag), probe)

    def hangup(self, tag: str) -> tuple[type, Build]:
        struct, hangup = self.event(events.HangupEvent, "eventType", tag)
        rejected = self._builder(events.RejectEvent, struct, tag)

        def build(struct: Any, source: Any, key: Any) -> Any:
            chosen = rejected if struct.cause == "CALL_REJECTED" else hangup
            return chosen(struct, source, key)

        return struct, build

    def shared(self, tag: str, v1: type[Event], v2: type[Event]) -> tuple[type, Build]:
        """One ``eventType`` both generations send, told apart by the keys only v2 sends (one
        present, even ``null``, makes it v2): read as Voice v2, with every such key; a body
        showing none of them with a value is read again as v1, with their presence."""
        msgspec = self.msgspec
        if V2_KEYS & _wire_keys(v1):
            raise TypeError(f"{v1.__name__} reads a key that tells Voice v2 apart")
        extra = sorted(V2_KEYS - _wire_keys(v2))
        struct, as_v2 = self._generate(
            v2,
            ("eventType", tag),
            first=V2_KEYS,
            extra=extra,
            also=v1 if self.closed else None,  # a v1 body, closed struct or not, is read
        )
        v1_struct, as_v1 = self._generate(
            v1, ("eventType", tag), first=V2_KEYS, extra=sorted(V2_KEYS), absent=msgspec.UNSET
        )
        read_by_v1 = msgspec.json.Decoder(v1_struct).decode
        unset, count = msgspec.UNSET, len(V2_KEYS)
        astuple = msgspec.structs.astuple

        def build(struct: Any, source: Any, key: Any) -> Any:
            if astuple(struct)[:count].count(None) == count:  # no v2 key with a value
                as_read_by_v1 = read_by_v1(source)
                absent: int = astuple(as_read_by_v1)[:count].count(unset)
                if absent == count:  # nor with null: v1
                    return as_v1(as_read_by_v1, source, key)
            return as_v2(struct, source, key)

        return struct, build

    def _generate(
        self,
        cls: type[Any],
        tag: tuple[str, str] | None,
        probe: str | None = None,
        *,
        first: frozenset[str] = frozenset(),
        extra: list[str] | None = None,
        absent: Any = None,
        also: type[Any] | None = None,
    ) -> tuple[type, Build]:
        """``extra`` keys are read (``absent`` when they are not there) only to tell the
        class; so are the keys of class ``also`` (as it reads them); fields whose wire key
        is in ``first`` come first."""
        msgspec = self.msgspec
        hints = typing.get_type_hints(cls)
        fields: list[tuple[str, Any, Any]] = []
        rename: dict[str, str] = {}
        for field in _data_fields(cls):
            wire_type = self._wire_type(declared_type(hints[field.name])) | None
            if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
                raise TypeError(f"{cls.__name__}.{field.name}: a factory default")
            for index, key in enumerate(_keys(field)):  # absent: the default; null: None
                name = field.name if index == 0 else f"{field.name}__{index}"
                fields.append((name, wire_type, field.default if index == 0 else None))
                rename[name] = key
        for index, key in enumerate(extra or ()):  # read only to tell the class
            fields.append((f"present__{index}", self.presence, absent))
            rename[f"present__{index}"] = key
        if probe is not None:  # a key that sends the payload to the general path
            fields.append(("probe__", self.presence, msgspec.UNSET))
            rename["probe__"] = probe
        if also is not None:
            also_hints = typing.get_type_hints(also)
            read = set(rename.values()) | {tag[0] if tag else ""}
            for field in _data_fields(also):
                wire_type = self._wire_type(declared_type(also_hints[field.name])) | None
                for key in _keys(field):
                    if key not in read:
                        read.add(key)
                        fields.append((f"also__{len(read)}", wire_type, None))
                        rename[f"also__{len(read)}"] = key
        fields.sort(key=lambda f: rename[f[0]] not in first)  # stable: the rest keep order
        options: dict[str, Any] = {"tag_field": tag[0], "tag": tag[1]} if tag else {}
        struct = msgspec.defstruct(
            f"{cls.__name__}{'_' + tag[1] if tag else ''}",
            fields,
            rename=rename,
            kw_only=True,
            gc=False,
            forbid_unknown_fields=self.closed,
            **options,
        )
        return struct, self._builder(cls, struct, tag[1] if tag else None)

    def _wire_type(self, declared: Any) -> Any:
        """What msgspec reads for a declared type: its JSON type, with the strings that the
        build function converts (a number or flag as text, a duration)."""
        if declared is int:
            return int | str
        if declared is bool:
            return bool | str
        if declared in (str, float):
            return declared
        if declared is datetime:
            return self.timestamp
        if declared is Duration:
            return str
        if declared == tuple[str, ...]:
            return tuple[str, ...]
        if declared == Mapping[str, str]:
            return dict[str, str]
        if attrs.has(declared):
            found = self.nested.get(declared)
            if found is None:
                found = self.nested[declared] = self._generate(declared, None)
            return found[0]
        raise TypeError(f"no wire type for {declared!r}")

    def _builder(self, cls: type[Any], struct: type, tag: str | None) -> Build:
        """The function that makes an instance of ``cls`` from ``struct``'s values."""
        hints = typing.get_type_hints(cls)
        order = [f.name for f in self.msgspec.structs.fields(struct)]
        encoded = {f.name: f.encode_name for f in self.msgspec.structs.fields(struct)}
        namespace: dict[str, Any] = {
            "astuple": self.msgspec.structs.astuple,
            "new": object.__new__,
            "cls": cls,
            "LazyRaw": LazyRaw,
            "duration": parse_duration,
            "mappingproxy": MappingProxyType,
            "UNSET": self.msgspec.UNSET,
        }
        local = {name: f"v{index}" for index, name in enumerate(order)}
        lines = ["def build(struct, source, key):"]
        if order:
            lines.append(f"    {', '.join(local[n] for n in order)}, = astuple(struct)")
        if "probe__" in local:
            lines.append(f"    if {local['probe__']} is not UNSET: raise ValueError")
        has_raw = "raw" in attrs.fields_dict(cls)
        lines.append("    raw = LazyRaw(source, key)" if has_raw else "    raw = None")
        setters = []
        for field in _data_fields(cls):
            value, keys = local[field.name], _keys(field)
            if encoded[field.name] != keys[0]:
                raise TypeError(f"{cls.__name__}.{field.name}: struct out of step")
            declared = declared_type(hints[field.name])
            if attrs.has(declared):  # its raw is read under the key it came with
                lines.append(f"    k{value} = {keys[0]!r}")
            for index, key in enumerate(keys[1:], 1):  # the first key present gives the value
                alias = local[f"{field.name}__{index}"]
                lines.append(f"    if {value} is None and {alias} is not None:")
                lines.append(f"        {value} = {alias}")
                if attrs.has(declared):
                    lines.append(f"        k{value} = {key!r}")
            lines += self._convert_lines(declared, value, namespace)
            namespace[f"set_{value}"] = slot_setter(cls, field.name)
            setters.append(f"    set_{value}(event, {value})")
        lines.append("    event = new(cls)")
        if tag is not None:  # as the class's converter reads it (an old spelling renamed)
            namespace["set_event_type"] = slot_setter(cls, "event_type")
            convert: Any = attrs.fields_dict(cls)["event_type"].converter
            lines.append(f"    set_event_type(event, {convert(tag) if convert else tag!r})")
        lines += setters
        if has_raw:
            namespace["set_raw"] = slot_setter(cls, "raw")
            lines.append("    set_raw(event, raw)")
        lines.append("    return event")
        source = "\n".join(lines)
        exec(compile(source, f"<bwhooks compiled {struct.__name__}>", "exec"), namespace)  # noqa: S102
        build: Build = namespace["build"]
        return build

    def _convert_lines(self, declared: Any, value: str, namespace: dict[str, Any]) -> list[str]:
        if declared is int:  # a digit string is the number (Bandwidth writes some so)
            return [
                f"    if {value}.__class__ is str:",
                f"        if not ({value}.isdigit() and {value}.isascii()): raise ValueError",
                f"        {value} = int({value})",
            ]
        if declared is bool:  # "true" and "false" are the flag
            return [
                f"    if {value}.__class__ is str:",
                f'        if {value} != "true" and {value} != "false": raise ValueError',
                f'        {value} = {value} == "true"',
            ]
        if declared is Duration:
            return [f"    if {value} is not None: {value} = duration({value})"]
        if declared == Mapping[str, str]:
            return [f"    if {value} is not None: {value} = mappingproxy({value})"]
        if attrs.has(declared):
            namespace[f"build_{value}"] = self.nested[declared][1]
            return [f"    if {value} is not None: {value} = build_{value}({value}, raw, k{value})"]
        return []


def _data_fields(cls: type[Any]) -> list[attrs.Attribute[Any]]:
    """The fields read from the wire (``event_type`` comes from the tag, ``raw`` is built)."""
    return [f for f in attrs.fields(cls) if f.name not in ("raw", "event_type")]


def _keys(field: attrs.Attribute[Any]) -> tuple[str, ...]:
    return (wire_key(field), *field.metadata.get(ALIASES, ()))


def _wire_keys(cls: type[Any]) -> frozenset[str]:
    return frozenset(key for field in _data_fields(cls) for key in _keys(field))
