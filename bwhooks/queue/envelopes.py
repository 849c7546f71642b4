"""What travels through a broker and what is kept of work given up on.

An :class:`Envelope` is one queued ``(event, handler)``: the event as it came over the wire
and the request that carried it (never ``Authorization``), a small versioned JSON object. A
:class:`DeadLetter` is an envelope a worker gave up on, with why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from bwhooks.decoding import decode
from bwhooks.decoding.parsing import MAX_DEPTH, nests_deeper
from bwhooks.errors import InvalidCallback
from bwhooks.events import Event
from bwhooks.http import CallbackRequest, Headers
from bwhooks.observe import event_ids

__all__ = ["ENVELOPE_VERSION", "DeadLetter", "Envelope", "EnvelopeError"]

ENVELOPE_VERSION = 1


class EnvelopeError(ValueError):
    """A message that is not a bwhooks envelope this version can run."""


@attrs.frozen
class Envelope:
    """One queued ``(event, handler)``: the event as it came over the wire, and the request.

    ``payload`` is the event's JSON object (``None`` for a GET callback, whose fields are
    the ``query``); ``array`` tells a Messaging v2 element. ``key`` identifies the event and
    handler across every receiver and worker. Serialized as a small versioned JSON object.
    """

    key: str
    handler: str
    payload: Mapping[str, Any] | None
    array: bool
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    received_at: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form that travels through the broker."""
        return {
            "v": ENVELOPE_VERSION,
            "key": self.key,
            "handler": self.handler,
            "payload": self.payload,
            "array": self.array,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": [list(pair) for pair in self.headers],
            "received_at": self.received_at,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Envelope:
        """Read an envelope; :class:`EnvelopeError` for anything else (a field of another
        type included). What its payload and query hold is read by :meth:`request`."""
        if not isinstance(data, Mapping) or data.get("v") != ENVELOPE_VERSION:
            version = data.get("v") if isinstance(data, Mapping) else None
            shown = repr(version) if version is None or isinstance(version, int) else "?"
            raise EnvelopeError(f"not a version {ENVELOPE_VERSION} envelope (v={shown})")
        try:
            payload = data["payload"]
            if payload is not None and not isinstance(payload, Mapping):
                raise TypeError("payload is not an object")
            headers = tuple(_header(pair) for pair in data["headers"])
            key, handler, method, path, query, received_at = (
                data[name] for name in ("key", "handler", "method", "path", "query", "received_at")
            )
            texts = (key, handler, method, path, query, received_at)
            if not all(isinstance(text, str) for text in texts):
                raise TypeError("a text field is not text")
            array = data["array"]
            if not isinstance(array, bool):
                raise TypeError("array is not true or false")
            return cls(
                key=key,
                handler=handler,
                payload=payload,
                array=array,
                method=method,
                path=path,
                query=query,
                headers=headers,
                received_at=received_at,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EnvelopeError(f"malformed envelope ({type(exc).__name__}: {exc})") from None

    def request(self) -> CallbackRequest:
        """The request as a worker's handler sees it (:func:`~bwhooks.current_request`): its
        body is this one event (in an array for a Messaging v2 element).

        :class:`~bwhooks.InvalidCallback` for a payload no receiver would have accepted
        (nested deeper than :data:`~bwhooks.decoding.parsing.MAX_DEPTH` levels) or a query that no
        request carries (not Latin-1 text)."""
        body = b""
        if self.payload is not None:
            if nests_deeper(self.payload):
                raise InvalidCallback(f"payload nested deeper than {MAX_DEPTH} levels")
            body = json.dumps([self.payload] if self.array else self.payload).encode()
        try:
            query = self.query.encode("latin-1")
        except UnicodeEncodeError:
            raise InvalidCallback("query string is not Latin-1 text") from None
        return CallbackRequest(self.method, self.path, Headers(self.headers), body, query)

    def event(self, request: CallbackRequest | None = None) -> Event:
        """The typed event again, by the receiver's own decoding."""
        (event,) = decode(request or self.request())
        return event


@attrs.frozen
class DeadLetter:
    """Work given up on: the envelope, why, after how many attempts, when; ``id`` names it
    on the dead-letter stream, to re-queue it
    (:meth:`~bwhooks.queue.tasks.TaskQueue.requeue_dead_letter`); ``""`` for a letter built
    elsewhere (``DeadLetter(**record)`` of an older record)."""

    envelope: Mapping[str, Any]
    error: str
    attempts: int
    at: str
    id: str = ""

    def record(self) -> dict[str, Any]:
        """What the store keeps of it (the stream names it: no ``id``)."""
        return {
            "envelope": self.envelope,
            "error": self.error,
            "attempts": self.attempts,
            "at": self.at,
        }


def event_or_none(envelope: Envelope) -> Event | None:
    """The envelope's event, or ``None`` when this process cannot read it."""
    try:
        return envelope.event()
    except InvalidCallback:
        return None


def about(envelope: Envelope, event: Event | None) -> str:
    """``"sms event (ids)"`` for logs (the key when the event cannot be read)."""
    if event is None:
        return f"unreadable event {envelope.key}"
    return f"{event.event_type} event ({event_ids(event)})"


def storable(message: Mapping[str, Any]) -> dict[str, Any]:
    """A dead letter's message as the store can keep it: each value as it came, but one
    nested deeper than :data:`~bwhooks.decoding.parsing.MAX_DEPTH` levels (which would exhaust the
    recursion of any encoder) replaced by a note, and anything but JSON by its ``repr``."""
    kept: dict[str, Any] = {}
    for name, value in message.items():
        if nests_deeper(value):
            kept[str(name)] = f"(not kept: nested deeper than {MAX_DEPTH} levels)"
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            kept[str(name)] = repr(value)
        else:
            kept[str(name)] = value
    return kept


def _header(pair: Any) -> tuple[str, str]:
    """One ``[name, value]`` pair of an envelope's headers."""
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        raise TypeError("a header is not a [name, value] pair")
    name, value = pair
    if not isinstance(name, str) or not isinstance(value, str):
        raise TypeError("a header name or value is not text")
    return name, value
