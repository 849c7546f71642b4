"""Bandwidth's Emergency Calling API: the routing query of a 911 call.

For each 911 call Bandwidth sends ``GET https://your.host/path?to={called}&from={calling}``
and waits 450 ms for the route (an :class:`~bwhooks.EmergencyRoute`); no route in time, and
the call goes to Bandwidth's emergency call center. The query is one
:class:`EmergencyCallEvent`: a GET whose query has ``to`` and ``from`` and no ``eventType``
(a v1 GET callback always has one). Other query keys are kept in ``raw``.
"""

from __future__ import annotations

import time
from typing import ClassVar

import attrs

from bwhooks.events._base import LOCAL, WIRE, Event, Reply


def _plus(value: str) -> str:
    """A number whose ``+`` was sent unencoded in the query (read as a space by form
    decoding: ``" 19195551234"``) with its ``+`` back; anything else as sent."""
    if value[:1] == " " and value[1:].isdigit() and value[1:].isascii():
        return "+" + value[1:]
    return value


@attrs.frozen(kw_only=True)
class EmergencyCallEvent(Event):
    """A 911 call's routing query: ``to`` is the number called (``911``, ``933`` for a
    test call, or the designated number your account was given), ``from_`` the caller's, as
    sent (a ``+`` sent unencoded, which a query reads as a space, is given back).

    Answer with an :class:`~bwhooks.EmergencyRoute` within the receiver's
    ``emergency_budget`` (400 ms by default), counted from ``received``: when the query was
    read (``time.monotonic()``; neither compared nor sent). Never queued
    (:attr:`~bwhooks.Event.INLINE_ONLY`), never claimed in an idempotency store
    (:attr:`~bwhooks.Event.CLAIMED`): nothing but ``to`` and ``from`` tells two calls apart.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("emergencyCall",)
    REPLY: ClassVar[Reply] = Reply.ANY
    INLINE_ONLY: ClassVar[str] = (
        "its answer (an EmergencyRoute) routes a 911 call and must come from a handler run "
        "in the request, within Bandwidth's 450 ms; a worker's return value is never sent"
    )
    CLAIMED: ClassVar[bool] = False

    #: Not on the wire: the query has no ``eventType``.
    event_type: str = attrs.field(
        default="emergencyCall", metadata={WIRE: "eventType", LOCAL: True}
    )
    to: str = attrs.field(converter=_plus)
    from_: str = attrs.field(converter=_plus)
    received: float = attrs.field(
        init=False, factory=time.monotonic, eq=False, hash=False, repr=False, metadata={LOCAL: True}
    )
