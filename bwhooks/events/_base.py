"""The root of the event hierarchy and the pieces every event shares."""

from __future__ import annotations

import enum
import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

import attrs

__all__ = [
    "CallEvent",
    "Diversion",
    "Event",
    "FrozenList",
    "LazyRaw",
    "Reply",
    "UnknownEvent",
    "event_type_field",
    "freeze_raw",
    "shape_field",
    "thaw",
    "wire_field",
]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class FrozenList(tuple):  # type: ignore[type-arg]
    """A JSON array in ``raw``: a read-only sequence, equal to a list of the same items."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return tuple.__eq__(self, tuple(other) if isinstance(other, list) else other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__

    def __repr__(self) -> str:
        return repr(list(self))


class LazyRaw(Mapping[str, Any]):
    """``raw`` of an event parsed on the compiled path: the payload as received, decoded
    from the body when first read, read-only all the way down like every ``raw``.

    ``source`` is the body (``key``: ``None`` for an object, the index of a Messaging v2
    array's element) or the ``LazyRaw`` of the enclosing object (``key``: the wire key).
    """

    __slots__ = ("_key", "_source", "_value")

    def __init__(self, source: bytes | LazyRaw, key: str | int | None = None) -> None:
        self._source = source
        self._key = key
        self._value: Mapping[str, Any] | None = None

    def read(self) -> Mapping[str, Any]:
        """The payload, decoded on the first call (a read-only mapping)."""
        value = self._value
        if value is None:
            source, key = self._source, self._key
            if isinstance(source, LazyRaw):
                value = source.read()[key]  # type: ignore[index]
            else:  # the standard library's JSON, as the general path reads every body
                decoded = json.loads(source)
                value = freeze_raw(decoded if key is None else decoded[key], owned=True)
            self._value = value
        return value

    def __getitem__(self, key: str) -> Any:
        return self.read()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.read())

    def __len__(self) -> int:
        return len(self.read())

    def __contains__(self, key: object) -> bool:
        return key in self.read()

    def get(self, key: str, default: Any = None) -> Any:
        return self.read().get(key, default)

    def keys(self) -> Any:
        return self.read().keys()

    def items(self) -> Any:
        return self.read().items()

    def values(self) -> Any:
        return self.read().values()

    def __eq__(self, other: object) -> bool:
        return self.read() == (other.read() if isinstance(other, LazyRaw) else other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.read())


def freeze_raw(value: Mapping[str, Any], *, owned: bool = False) -> Mapping[str, Any]:
    """Make ``value`` read-only all the way down: objects become read-only mappings, arrays
    :class:`FrozenList`. A read-only mapping is taken as it is; ``owned`` (a dict nobody
    else holds, freshly decoded) is wrapped without a copy."""
    if value.__class__ is MappingProxyType:
        return value
    if value.__class__ is LazyRaw:
        return value.read()
    if owned and value.__class__ is dict:  # decoded JSON: containers are dicts and lists
        for key, item in value.items():
            if item.__class__ is dict or item.__class__ is list:
                value[key] = _freeze(item)
        return MappingProxyType(value)
    items = dict(value)
    for key, item in items.items():
        if item.__class__ is not str and isinstance(item, Mapping | list):
            items[key] = _freeze(item)
    return MappingProxyType(items)


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return freeze_raw(value)
    if isinstance(value, list):
        return FrozenList(_freeze(item) for item in value)
    return value


def thaw(value: Any) -> Any:
    """A read-only value of ``raw`` as JSON-ready data again: dicts and lists."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, FrozenList):
        return [thaw(item) for item in value]
    return value


#: Field metadata: the wire key, when it is not the camelCase of the attribute name.
WIRE = "bwhooks.wire"
#: Field metadata: other wire keys the same value arrives under (tried in order).
ALIASES = "bwhooks.aliases"
#: Field metadata: an attribute bwhooks fills itself, never read from nor written to the
#: wire (the shape of a toll-free verification result, which no key names).
LOCAL = "bwhooks.local"
#: Field metadata: the element that holds each item of a list read from XML
#: (``TelephoneNumber`` in ``<CompletedTelephoneNumbers>``).
ITEM = "bwhooks.item"


def wire_field(wire: str, *aliases: str) -> Any:
    """An optional attribute whose wire key is ``wire`` (or one of ``aliases``)."""
    return attrs.field(default=None, metadata={WIRE: wire, ALIASES: aliases})


def event_type_field(wire: str = "eventType", *, required: bool = False) -> Any:
    """The ``event_type`` attribute, read from the wire key ``wire``: defaults to the
    class's first :attr:`Event.EVENT_TYPES` unless ``required``."""
    if required:
        return attrs.field(metadata={WIRE: wire})
    return attrs.field(
        default=attrs.Factory(_default_event_type, takes_self=True), metadata={WIRE: wire}
    )


def shape_field() -> Any:
    """The ``event_type`` of a payload that names no type: the class's first
    :attr:`Event.EVENT_TYPES`, never read from nor written to the wire."""
    return attrs.field(
        default=attrs.Factory(_default_event_type, takes_self=True), metadata={LOCAL: True}
    )


class Reply(enum.Enum):
    """What Bandwidth does with the answer to a kind of callback."""

    ANY = "any"
    """v1: a handler's BXML is sent back; an empty ``200`` when no handler answers."""
    BXML = "bxml"
    """Synchronous Voice v2: BXML tells the call what to do next (empty ``<Response/>``
    when no handler answers)."""
    NONE = "none"
    """Asynchronous (Voice v2, Messaging v2): any body is ignored; an empty ``2xx``."""
    NO_CONTENT = "no content"
    """Asynchronous, answered ``204`` as Bandwidth's specification lists (toll-free
    verification, Subscriptions v2, endpoint events): any body is ignored."""


def _default_event_type(self: Event) -> str:
    if not self.EVENT_TYPES:
        raise TypeError(f"{type(self).__name__} needs an explicit event_type")
    return self.EVENT_TYPES[0]


def raw_field() -> Any:
    """The ``raw`` attribute: the payload as received, out of eq, hash and repr."""
    return attrs.field(
        default=_EMPTY, converter=freeze_raw, eq=False, hash=False, repr=False, kw_only=True
    )


@attrs.frozen(kw_only=True)
class Event:
    """Base class of every Bandwidth callback event.

    ``event_type`` is the wire ``eventType``; ``raw`` is the payload exactly as received
    (for GET callbacks the decoded query values, as strings), unknown fields included: a
    read-only mapping, decoded from the body when first read (:class:`LazyRaw`) for an
    event that took the compiled path.
    Register a handler for ``Event`` to receive every callback.
    """

    #: The wire ``eventType`` values this class stands for (the first is its default).
    EVENT_TYPES: ClassVar[tuple[str, ...]] = ()
    #: What Bandwidth does with the answer (see :class:`Reply`).
    REPLY: ClassVar[Reply] = Reply.ANY
    #: Whether an empty answer ends the call (a warning is logged when no handler answers).
    ENDS_CALL_UNANSWERED: ClassVar[bool] = False
    #: The API generation: 1 for Bandwidth v1 (Catapult), 2 for Voice v2 and Messaging v2,
    #: whose fields that cannot be converted are left ``None`` (v1 answers ``400``).
    GENERATION: ClassVar[int] = 1
    #: Whether Bandwidth documents a retry after a ``5xx`` answer (Messaging v2: for 24
    #: hours). A queued handler's event that is not retried is spooled, never answered
    #: ``5xx``, when the broker is down.
    RETRIED_AFTER_FAILURE: ClassVar[bool] = False
    #: Why a handler of this class must run in the request (``""``: it may be queued).
    #: Such a class is refused by ``on(..., queue=...)``, and a queued handler of one of
    #: its bases never receives it.
    INLINE_ONLY: ClassVar[str] = ""
    #: Whether an idempotency store claims each event of this class before its handlers
    #: run (``False``: nothing tells two genuine events apart, and the store is never asked).
    CLAIMED: ClassVar[bool] = True

    event_type: str = event_type_field()
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen(kw_only=True)
class UnknownEvent(Event):
    """A callback whose ``eventType`` bwhooks does not know (yet); its data is in ``raw``."""

    event_type: str


@attrs.frozen(kw_only=True)
class CallEvent(Event):
    """Base class of the events about one call (they all carry ``call_id``).

    ``tag`` is the string given when the call (or the playback, speak or gather) was
    created; ``time`` is when the event happened.
    """

    call_id: str | None = None
    call_uri: str | None = None
    time: datetime | None = None
    tag: str | None = None


@attrs.frozen(kw_only=True)
class Diversion:
    """The SIP Diversion header of a diverted call (``diversion`` on answer and incoming call).

    ``reason``: ``unknown``, ``user-busy``, ``no-answer``, ``unavailable``,
    ``unconditional``, ``time-of-day``, ``do-not-disturb``, ``deflection``, ``follow-me``,
    ``out-of-service``, ``away``. ``screen``: ``"no"`` (user-provided) or ``"yes"``
    (network-provided). ``privacy``: ``"off"`` or ``"full"`` (then ``orig_to`` is
    ``"Anonymous"``). Other header parameters are kept in ``raw``.
    """

    orig_to: str | None = None
    reason: str | None = None
    screen: str | None = None
    privacy: str | None = None
    counter: int | None = None
    limit: int | None = None
    raw: Mapping[str, Any] = raw_field()
