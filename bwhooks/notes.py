"""What dispatch found about the events of a delivery, for its report to tell.

Dispatch runs the handlers and settles the answer; it does not log. Each fact worth a log
line (a handler that failed, an event no handler takes, a duplicate...) becomes a
:class:`Note`, and the observer (:mod:`bwhooks.observe`) tells them once the delivery is
over, before its outcome.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from bwhooks.events import Event

__all__ = ["Fact", "Note"]


class Fact(enum.Enum):
    """What a :class:`Note` says of its event."""

    UNKNOWN_TYPE = "unknown type"  # an event type bwhooks does not know
    NO_HANDLER = "no handler"  # a known event no handler is registered for
    INLINE_ONLY = "inline only"  # queued handlers skipped: the answer is the request's
    ENDS_CALL = "ends call"  # no handler answered a synchronous Voice v2 callback
    UNUSABLE_ANSWER = "unusable answer"  # a handler returned no BXML nor response
    IGNORED_BXML = "ignored BXML"  # BXML returned for an event whose answer is ignored
    IGNORED_ANSWER = "ignored answer"  # a value returned for a notification: not sent
    PORT_OUT_FALLBACK = "port-out fallback"  # no handler answered a port-out validation
    NO_ROUTE = "no route"  # an emergency routing query answered without a route
    LATE_ROUTE = "late route"  # an emergency route built past the receiver's budget
    NOT_RETRIED = "not retried"  # a failed event Bandwidth never delivers again
    CONFLICT = "conflict"  # two handlers answered one event
    RETRY_ASKED = "retry asked"  # a handler raised RetryLater
    NOT_QUEUED = "not queued"  # a queued handler's queue could not take the event
    TIMED_OUT = "timed out"  # an async handler ran past the handler timeout
    OVER_BUDGET = "over budget"  # a handler not started, or stopped, at its event's deadline
    FAILED = "failed"  # a handler raised
    DUPLICATE_ANSWERED = "duplicate answered"  # handled before: its answer again
    DUPLICATE_IN_FLIGHT = "duplicate in flight"  # still being handled: retry asked
    STORE_FAILED = "store failed"  # the idempotency store could not be reached


@attrs.frozen
class Note:
    """One fact about one event of a delivery.

    ``handler`` names the handler it concerns (``"a and b"`` for a conflict); ``detail`` is
    what the fact needs besides: the exception of a failure, the type name of an unusable
    answer, the timeout an ``async`` handler ran past.
    """

    fact: Fact
    event: Event
    handler: str = ""
    detail: Any = None
