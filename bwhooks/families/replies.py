"""Answers by an event class's :attr:`~bwhooks.events.Event.REPLY`: a handler's BXML sent
back where Bandwidth reads it (Voice, v1), an empty ``2xx`` where it reads nothing
(Messaging v2, asynchronous Voice v2; ``204`` for the families whose specification lists
it). What is worth telling becomes a
:class:`~bwhooks.notes.Note`; nothing here logs."""

from __future__ import annotations

from typing import Any

from bwhooks.events import Event, Reply
from bwhooks.http import CallbackResponse
from bwhooks.notes import Fact, Note

__all__ = ["EMPTY_BXML", "NO_CONTENT", "OK", "answer", "unanswered"]

OK = CallbackResponse.empty()  # immutable: one instance serves every acknowledgement
NO_CONTENT = CallbackResponse.empty(204)
EMPTY_BXML = CallbackResponse.bxml('<?xml version="1.0" encoding="UTF-8"?><Response/>')
_BXML = Reply.BXML
_NONE = Reply.NONE
_NO_CONTENT = Reply.NO_CONTENT


def unanswered(event: Event, notes: list[Note]) -> CallbackResponse:
    """No handler answered: an empty BXML document where Bandwidth waits for one (noted
    when it ends the call), else ``200`` (``204`` for :attr:`Reply.NO_CONTENT`)."""
    reply = event.REPLY
    if reply is _BXML:
        if event.ENDS_CALL_UNANSWERED:  # the empty answer ends the call: worth a warning
            notes.append(Note(Fact.ENDS_CALL, event))
        return EMPTY_BXML
    return NO_CONTENT if reply is _NO_CONTENT else OK


def answer(event: Event, result: Any, handler: str, notes: list[Note]) -> CallbackResponse:
    """A handler's answer: BXML text (``str``, ``bytes``, an object with ``to_bxml()``) or
    a :class:`~bwhooks.CallbackResponse` sent as is; BXML to a callback whose answer
    Bandwidth ignores is noted and answered ``200`` (``204``: :attr:`Reply.NO_CONTENT`);
    anything else is a ``500``."""
    reply = event.REPLY
    if result.__class__ is str and reply is not _NONE and reply is not _NO_CONTENT:
        return CallbackResponse.bxml(result)  # BXML text: the usual answer
    response = _to_response(result)
    if response is None:
        notes.append(Note(Fact.UNUSABLE_ANSWER, event, handler, type(result).__name__))
        return CallbackResponse.error(500, "handler returned an unusable answer")
    if (reply is _NONE or reply is _NO_CONTENT) and not isinstance(result, CallbackResponse):
        notes.append(Note(Fact.IGNORED_BXML, event, handler))
        return NO_CONTENT if reply is _NO_CONTENT else OK
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
