"""Bandwidth's Numbers webhooks: XML documents recognized by their root element.

``<Notification>`` (an order's status, or an account event with an ``EventType``) is never
retried: it is answered an empty ``2xx`` whatever its content. ``<PortOutValidationRequest>``
is answered with the handler's :class:`~bwhooks.PortOutAnswer`, and when no handler gives
one, with the receiver's :class:`~bwhooks.PortOutFallback` (Bandwidth approves a port-out
that gets no valid answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from bwhooks import events
from bwhooks.events import Event
from bwhooks.families import replies
from bwhooks.families.family import XML, Family, Syntax
from bwhooks.families.porting import REVIEW, PortOutAnswer, PortOutFallback
from bwhooks.http import CallbackResponse
from bwhooks.notes import Fact, Note

__all__ = ["Numbers"]

_REVIEWED = "answered a deny with 7598 (Invalid Request): Bandwidth sends the port-out to exception for a person to review"  # noqa: E501
_APPROVED = "answered Portable true: Bandwidth approves the port-out"
_FAILED_APPROVED = "answered %d: Bandwidth approves the port-out"


class Numbers(Family):
    """Numbers notifications and port-out validation (XML bodies): ``<Notification>``
    with a non-empty ``EventType`` is an :class:`~bwhooks.AccountNotificationEvent`, any
    other an :class:`~bwhooks.OrderNotificationEvent`; ``<PortOutValidationRequest>`` a
    :class:`~bwhooks.PortOutValidationEvent`; another root element an
    :class:`~bwhooks.UnknownNumbersEvent` (kept, never refused).

    ``port_out_fallback`` answers a port-out validation request no handler answered."""

    NAME: ClassVar[str] = "Numbers (XML)"
    MEDIA_TYPES: ClassVar[tuple[str, ...]] = XML
    SYNTAX: ClassVar[Syntax] = Syntax.XML

    def __init__(self, port_out_fallback: PortOutFallback | str = PortOutFallback.REVIEW) -> None:
        self.port_out_fallback = PortOutFallback(port_out_fallback)

    def class_for(
        self, payload: Mapping[str, Any], *, in_array: bool = False
    ) -> type[Event] | None:
        return None  # JSON payloads are never this family's

    def class_for_root(self, root: str, payload: Mapping[str, Any]) -> type[Event]:
        if root == "Notification":
            event_type = payload.get("EventType")
            if event_type.__class__ is str and event_type:
                return events.AccountNotificationEvent
            return events.OrderNotificationEvent
        if root == "PortOutValidationRequest":
            return events.PortOutValidationEvent
        return events.UnknownNumbersEvent

    def owns(self, cls: type[Event]) -> bool:
        return issubclass(cls, events.NumbersEvent)

    def unknown_classes(self) -> tuple[type[Event], ...]:
        return (events.UnknownNumbersEvent,)

    def configure(self, **options: Any) -> Family:
        fallback = options.get("port_out_fallback")
        if fallback is None or PortOutFallback(fallback) is self.port_out_fallback:
            return self
        return Numbers(fallback)

    # -- answers --------------------------------------------------------------------------

    def answer(
        self, event: Event, result: Any, handler: str, notes: list[Note]
    ) -> CallbackResponse:
        if isinstance(result, CallbackResponse):  # sent as is, as for every family
            return result
        if isinstance(event, events.PortOutValidationEvent):
            if isinstance(result, PortOutAnswer):
                return CallbackResponse.bxml(result.to_xml(event.pon))
            notes.append(Note(Fact.UNUSABLE_ANSWER, event, handler, type(result).__name__))
            return self._fallback(event, f"handler {handler} returned no PortOutAnswer", notes)
        notes.append(Note(Fact.IGNORED_ANSWER, event, handler, type(result).__name__))
        return replies.OK

    def preempt(self, event: Event, notes: list[Note]) -> CallbackResponse | None:
        if isinstance(event, events.PortOutValidationEvent):
            unread = event.unread()
            if unread:  # a handler would decide on part of the request
                why = f"its request could not be read whole ({', '.join(unread)})"
                return self._fallback(event, why, notes)
        return None

    def unanswered(self, event: Event, notes: list[Note]) -> CallbackResponse:
        if isinstance(event, events.PortOutValidationEvent):
            return self._fallback(event, "no handler answered", notes)
        return replies.OK

    def failed(
        self, event: Event, response: CallbackResponse, notes: list[Note]
    ) -> CallbackResponse:
        in_flight = bool(notes) and notes[-1].fact is Fact.DUPLICATE_IN_FLIGHT
        if isinstance(event, events.PortOutValidationEvent):
            if in_flight:  # a 4xx approves: the first delivery's answer may never be sent
                why = "a duplicate came while the first delivery was being handled"
                return self._fallback(event, why, notes)
            if self.port_out_fallback is PortOutFallback.REVIEW:
                return self._fallback(event, "its handler failed", notes)
            outcome = _FAILED_APPROVED % response.status
            notes.append(Note(Fact.PORT_OUT_FALLBACK, event, "its handler failed", outcome))
            return response
        if not event.RETRIED_AFTER_FAILURE and not in_flight:  # the first delivery runs it
            notes.append(Note(Fact.NOT_RETRIED, event, "", response.status))
        return response

    def _fallback(
        self, event: events.PortOutValidationEvent, why: str, notes: list[Note]
    ) -> CallbackResponse:
        """The fallback's answer, noted (an ERROR: what happened, what Bandwidth does)."""
        if self.port_out_fallback is PortOutFallback.REVIEW:
            answer, outcome = REVIEW, _REVIEWED
        else:
            answer, outcome = PortOutAnswer.allow(), _APPROVED
        notes.append(Note(Fact.PORT_OUT_FALLBACK, event, why, outcome))
        return CallbackResponse.bxml(answer.to_xml(event.pon))

    def __repr__(self) -> str:
        return f"<{self.NAME} webhooks, port-out fallback {self.port_out_fallback.value}>"
