"""Bandwidth's Emergency Calling API: a 911 call's routing query, answered with a route.

Bandwidth sends ``GET ...?to={called}&from={calling}`` and waits 450 ms for JSON. A ``2xx``
(or ``301``/``302``/``303``) with a valid route routes the call; anything else, or no
answer in time, sends it to Bandwidth's emergency call center; an account setting can make
a ``404`` reject the call. So the answer is the handler's :class:`~bwhooks.EmergencyRoute`
(``200`` JSON), and without one :data:`NO_ROUTE`: ``503``, never a ``404`` nor a ``3xx``.
The receiver's ``emergency_budget`` is a deadline for all the handlers of a query, in turn,
counted from when it was read (:mod:`bwhooks.budget`): an ``async`` handler still running
then is cancelled, a plain ``def`` one on an async server is awaited no longer; a route
built past it on a sync server (nothing can stop a ``def`` handler there) is sent, and
logged.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any, ClassVar

from bwhooks import events
from bwhooks.events import Event
from bwhooks.families.emergency_route import EmergencyRoute
from bwhooks.families.family import Family
from bwhooks.http import CallbackResponse, Headers
from bwhooks.notes import Fact, Note

__all__ = ["DEFAULT_BUDGET", "NO_ROUTE", "Emergency"]

#: Seconds the handlers of a routing query have by default: Bandwidth waits 450 ms, and the
#: network and the server take their share.
DEFAULT_BUDGET = 0.4
#: The answer without a route: ``503``, which sends the call to Bandwidth's emergency call
#: center. Never ``404`` (an account setting makes it reject the 911 call), never a ``3xx``
#: (it routes the call), never a ``2xx``.
NO_ROUTE = CallbackResponse.error(503, "no emergency route")
_JSON = Headers([("Content-Type", "application/json")])


def _budget(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"emergency_budget must be a number of seconds, not {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"emergency_budget must be a positive number of seconds, not {value!r}")
    return float(value)


class Emergency(Family):
    """The Emergency Calling API: a GET whose query has ``to`` and ``from`` and no
    ``eventType`` is an :class:`~bwhooks.EmergencyCallEvent` (a POST never is).

    ``emergency_budget``: the seconds its handlers have (:data:`DEFAULT_BUDGET`)."""

    NAME: ClassVar[str] = "Emergency Calling API"
    QUERIES: ClassVar[bool] = True

    def __init__(self, emergency_budget: float = DEFAULT_BUDGET) -> None:
        self.budget = _budget(emergency_budget)

    def class_for(
        self, payload: Mapping[str, Any], *, in_array: bool = False
    ) -> type[Event] | None:
        return None  # a POST body is never a routing query

    def class_for_query(self, payload: Mapping[str, Any]) -> type[Event] | None:
        if "to" in payload and "from" in payload and "eventType" not in payload:
            return events.EmergencyCallEvent
        return None

    def owns(self, cls: type[Event]) -> bool:
        return issubclass(cls, events.EmergencyCallEvent)

    def deadline(self, event: Event) -> float | None:
        return getattr(event, "received", time.monotonic()) + self.budget

    def configure(self, **options: Any) -> Family:
        budget = options.get("emergency_budget")
        if budget is None or _budget(budget) == self.budget:
            return self
        return Emergency(budget)

    # -- answers --------------------------------------------------------------------------

    def answer(
        self, event: Event, result: Any, handler: str, notes: list[Note]
    ) -> CallbackResponse:
        if isinstance(result, CallbackResponse):  # sent as is, as for every family
            return result
        if not isinstance(result, EmergencyRoute):
            why = f"handler {handler} returned a {type(result).__name__}, not an EmergencyRoute"
            return self._no_route(event, why, notes)
        elapsed = time.monotonic() - getattr(event, "received", math.inf)
        if elapsed > self.budget:
            late = f"{elapsed * 1000:.0f} ms after it was read, past the {self._ms} budget"
            notes.append(Note(Fact.LATE_ROUTE, event, handler, late))
        return CallbackResponse(200, _JSON, result.to_json())

    def unanswered(self, event: Event, notes: list[Note]) -> CallbackResponse:
        return self._no_route(event, "no handler returned an EmergencyRoute", notes)

    def failed(
        self, event: Event, response: CallbackResponse, notes: list[Note]
    ) -> CallbackResponse:
        fact = notes[-1].fact if notes else None
        if fact is Fact.OVER_BUDGET:
            why = f"the {self._ms} budget ran out"
        elif fact is Fact.TIMED_OUT:
            why = "its handler ran past the handler timeout"
        else:
            why = "its handler failed"
        return self._no_route(event, why, notes)

    @property
    def _ms(self) -> str:
        return f"{self.budget * 1000:g} ms"

    def _no_route(self, event: Event, why: str, notes: list[Note]) -> CallbackResponse:
        """:data:`NO_ROUTE`, noted (an ERROR: why, and what Bandwidth does)."""
        notes.append(Note(Fact.NO_ROUTE, event, why, NO_ROUTE.status))
        return NO_ROUTE

    def __repr__(self) -> str:
        return f"<{self.NAME} webhooks, budget {self._ms}>"
