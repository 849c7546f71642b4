"""The root of the event hierarchy and the pieces every event shares."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar

import attrs

__all__ = ["CallEvent", "Diversion", "Event", "Reply", "UnknownEvent", "freeze_raw"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def freeze_raw(value: Mapping[str, Any]) -> Mapping[str, Any]:
    """Make ``value`` a read-only mapping (no copy when it already is one)."""
    return value if isinstance(value, MappingProxyType) else MappingProxyType(dict(value))


class Reply(enum.Enum):
    """What Bandwidth does with the answer to a kind of callback."""

    ANY = "any"
    """v1: a handler's BXML is sent back; an empty ``200`` when no handler answers."""
    BXML = "bxml"
    """Synchronous Voice v2: BXML tells the call what to do next (empty ``<Response/>``
    when no handler answers)."""
    NONE = "none"
    """Asynchronous (Voice v2, Messaging v2): any body is ignored; an empty ``2xx``."""


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
    (for GET callbacks the decoded query values, as strings), unknown fields included.
    Register a handler for ``Event`` to receive every callback.
    """

    #: The wire ``eventType`` values this class stands for (the first is its default).
    EVENT_TYPES: ClassVar[tuple[str, ...]] = ()
    #: What Bandwidth does with the answer (see :class:`Reply`).
    REPLY: ClassVar[Reply] = Reply.ANY
    #: Whether an empty answer ends the call (a warning is logged when no handler answers).
    ENDS_CALL_UNANSWERED: ClassVar[bool] = False

    event_type: str = attrs.field(default=attrs.Factory(_default_event_type, takes_self=True))
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
