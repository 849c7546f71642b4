"""How an event's handlers make its answer: what a handler returned, or the default when
none answered, as the event's family builds them (:meth:`bwhooks.families.Family.answer`);
``500`` for a failure or a second author. Each function adds to ``notes`` what the
delivery's report tells (:mod:`bwhooks.notes`); none logs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from bwhooks.budget import OutOfBudget
from bwhooks.errors import QueueUnavailable, RetryLater
from bwhooks.events import Event
from bwhooks.families import Family, replies
from bwhooks.families.replies import EMPTY_BXML, OK
from bwhooks.http import CallbackResponse
from bwhooks.notes import Fact, Note
from bwhooks.registry import Registration

__all__ = [
    "EMPTY_BXML",
    "OK",
    "RETRY_LATER",
    "AnswerRule",
    "DeadlineRule",
    "DefaultRule",
    "FailedRule",
    "PreemptRule",
    "Rules",
    "answering",
    "conflict",
    "error",
    "failure",
]

# 409, as the IETF Idempotency-Key draft answers a retry of a request still being processed:
# a 4xx the sender retries unchanged, and every 5xx stays a failure.
RETRY_LATER = CallbackResponse.error(409, "being handled, retry later", (("Retry-After", "5"),))


AnswerRule = Callable[[Event, Any, str, list[Note]], CallbackResponse]
"""Builds the answer from a handler's value: ``(event, result, handler name, notes)``."""
DefaultRule = Callable[[Event, list[Note]], CallbackResponse]
"""Builds the answer when no handler gave one: ``(event, notes)``."""
FailedRule = Callable[[Event, CallbackResponse, list[Note]], CallbackResponse] | None
"""Builds the answer when the handlers failed from the failure's: ``(event, response,
notes)``; ``None``: the failure's answer is sent."""
PreemptRule = Callable[[Event, list[Note]], CallbackResponse | None] | None
"""The answer that replaces running the handlers, or ``None`` to run them: ``(event,
notes)``; ``None``: the handlers always run."""
DeadlineRule = Callable[[Event], float | None] | None
"""When all the handlers of an event must have returned (``time.monotonic()``), or
``None``; ``None``: no deadline."""
Rules = tuple[AnswerRule, DefaultRule, FailedRule, PreemptRule, DeadlineRule]


def answering(family: Family | None) -> Rules:
    """How the events of ``family`` are answered, from a handler's value, without one,
    when the handlers failed, and instead of running them (an event of no family: by its class's
    :attr:`~bwhooks.events.Event.REPLY`), and how long an ``async`` handler of them may run
    (:meth:`~bwhooks.families.Family.deadline`). The default rules are the functions
    themselves (``None`` for a failure and a deadline): one call less on every callback."""
    if family is None:
        return replies.answer, replies.unanswered, None, None, None
    kind = type(family)
    return (
        replies.answer if kind.answer is Family.answer else family.answer,
        replies.unanswered if kind.unanswered is Family.unanswered else family.unanswered,
        None if kind.failed is Family.failed else family.failed,
        None if kind.preempt is Family.preempt else family.preempt,
        None if kind.deadline is Family.deadline else family.deadline,
    )


def conflict(
    event: Event, authors: tuple[Registration, ...], notes: list[Note]
) -> CallbackResponse:
    """A second handler answered the event: ``500``, an answer must have one author."""
    notes.append(Note(Fact.CONFLICT, event, " and ".join(r.name for r in authors)))
    return error("several handlers answered")


def failure(
    registration: Registration,
    event: Event,
    exception: BaseException,
    timeout: float | None,
    notes: list[Note],
) -> CallbackResponse:
    """A handler raised: ``409`` when it asked for a later delivery
    (:class:`~bwhooks.errors.RetryLater`), else ``500`` (its queue was unavailable, it ran
    past ``timeout`` or its event's deadline, it failed)."""
    name = registration.name
    if isinstance(exception, RetryLater):
        notes.append(Note(Fact.RETRY_ASKED, event, name, exception))
        return RETRY_LATER
    if isinstance(exception, QueueUnavailable):
        notes.append(Note(Fact.NOT_QUEUED, event, name, exception))
        return error("could not queue the event")
    if isinstance(exception, OutOfBudget):
        notes.append(Note(Fact.OVER_BUDGET, event, name, exception))
    elif _timed_out(exception):
        notes.append(Note(Fact.TIMED_OUT, event, name, timeout))
    else:
        notes.append(Note(Fact.FAILED, event, name, exception))
    return error("handler failed")


def _timed_out(exception: BaseException) -> bool:
    """Whether a handler was stopped by its timeout (``asyncio.TimeoutError`` is not yet
    ``TimeoutError`` on Python 3.10; an asyncio error means asyncio is loaded)."""
    asyncio = sys.modules.get("asyncio")
    return isinstance(exception, TimeoutError) or (
        asyncio is not None and isinstance(exception, asyncio.TimeoutError)
    )


def error(reason: str) -> CallbackResponse:
    """The ``500`` answer, with ``reason``."""
    return CallbackResponse.error(500, reason)
