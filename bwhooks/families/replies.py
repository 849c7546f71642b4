"""Answers by an event class's :attr:`~bwhooks.events.Event.REPLY`: a handler's BXML sent
back where Bandwidth reads it (Voice, v1), an empty ``2xx`` where it reads nothing
(Messaging v2, asynchronous Voice v2). What is worth telling becomes a
:class:`~bwhooks.notes.Note`; nothing here logs."""

from __future__ import annotations

from typing import Any

from bwhooks.events import Event, Reply
from bwhooks.http import CallbackResponse
from bwhooks.notes import Fact, Note

__all__ = ["EMPTY_BXML", "OK", "answer", "unanswered"]

OK = CallbackResponse.empty()  # immutable: one instance serves every acknowledgement
EMPTY_BXML = CallbackResponse.bxml('<?xml version="1.0" encoding="UTF-8"?><Response/>')
_BXML = Reply.BXML
_NONE = Reply.NONE


def unanswered(event: Event, notes: list[Note]) -> CallbackResponse:
    """No handler answered: an empty BXML document where Bandwidth waits for one (noted
    when it ends the call), else ``200``."""
    if event.REPLY is _BXML:
        if event.ENDS_CALL_UNANSWERED:  # the empty answer ends the call: worth a warning
            notes.append(Note(Fact.ENDS_CALL, event))
        return EMPTY_BXML
    return OK


def answer(event: Event, result: Any, handler: str, notes: list[Note]) -> CallbackResponse:
    """A handler's answer: BXML text (``str``, ``bytes``, an object with ``to_bxml()``) or
    a :class:`~bwhooks.CallbackResponse` sent as is; BXML to a callback whose answer
    Bandwidth ignores is noted and answered ``200``; anything else is a ``500``."""
    if result.__class__ is str and event.REPLY is not _NONE:  # BXML text: the usual answer
        return CallbackResponse.bxml(result)
    response = _to_response(result)
    if response is None:
        notes.append(Note(Fact.UNUSABLE_ANSWER, event, handler, type(result).__name__))
        return CallbackResponse.error(500, "handler returned an unusable answer")
    if event.REPLY is _NONE and not isinstance(result, CallbackResponse):
        notes.append(Note(Fact.IGNORED_BXML, event, handler))
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
