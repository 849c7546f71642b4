"""How an event's handlers make its answer: what a handler returned as the HTTP response
(BXML where Bandwidth waits for some), the default when none answered, ``500`` for a failure
or a second author. Each function adds to ``notes`` what the delivery's report tells
(:mod:`bwhooks.notes`); none logs.
"""

from __future__ import annotations

import sys
from typing import Any

from bwhooks.errors import QueueUnavailable, RetryLater
from bwhooks.events import Event, Reply
from bwhooks.http import CallbackResponse
from bwhooks.notes import Fact, Note
from bwhooks.registry import Registration

__all__ = ["EMPTY_BXML", "OK", "RETRY_LATER", "conflict", "error", "failure", "settled"]

OK = CallbackResponse.empty()  # immutable: one instance serves every acknowledgement
EMPTY_BXML = CallbackResponse.bxml('<?xml version="1.0" encoding="UTF-8"?><Response/>')
# 409, as the IETF Idempotency-Key draft answers a retry of a request still being processed:
# a 4xx the sender retries unchanged, and every 5xx stays a failure.
RETRY_LATER = CallbackResponse.error(409, "being handled, retry later", (("Retry-After", "5"),))
_BXML = Reply.BXML
_NONE = Reply.NONE


def settled(
    event: Event, answer: tuple[Registration, Any] | None, notes: list[Note]
) -> CallbackResponse:
    """The answer to an event whose handlers all returned: the one a handler gave, or the
    default (an empty BXML document where Bandwidth waits for one, else ``200``)."""
    if answer is not None:
        return _answer(event, *answer, notes)
    if event.REPLY is _BXML:
        if event.ENDS_CALL_UNANSWERED:  # the empty answer ends the call: worth a warning
            notes.append(Note(Fact.ENDS_CALL, event))
        return EMPTY_BXML
    return OK


def _answer(
    event: Event, registration: Registration, result: Any, notes: list[Note]
) -> CallbackResponse:
    if result.__class__ is str and event.REPLY is not _NONE:  # BXML text: the usual answer
        return CallbackResponse.bxml(result)
    response = _to_response(result)
    if response is None:
        notes.append(Note(Fact.UNUSABLE_ANSWER, event, registration.name, type(result).__name__))
        return error("handler returned an unusable answer")
    if event.REPLY is _NONE and not isinstance(result, CallbackResponse):
        notes.append(Note(Fact.IGNORED_BXML, event, registration.name))
        return OK
    return response


def _to_response(result: Any) -> CallbackResponse | None:
    if result.__class__ is str or isinstance(result, bytes | str):
        return CallbackResponse.bxml(result)
    if isinstance(result, CallbackResponse):
        return result
    to_bxml = getattr(result, "to_bxml", None)
    if callable(to_bxml):
        document = to_bxml()
        if isinstance(document, (str, bytes)):
            return CallbackResponse.bxml(document)
    return None


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
    past ``timeout``, it failed)."""
    name = registration.name
    if isinstance(exception, RetryLater):
        notes.append(Note(Fact.RETRY_ASKED, event, name, exception))
        return RETRY_LATER
    if isinstance(exception, QueueUnavailable):
        notes.append(Note(Fact.NOT_QUEUED, event, name, exception))
        return error("could not queue the event")
    if _timed_out(exception):
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
