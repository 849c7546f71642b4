"""What travels through a broker and what is kept of work given up on.

An :class:`Envelope` is one queued ``(event, handler)``: the event as it came over the wire
and the request that carried it (never ``Authorization``), a small versioned JSON object. A
:class:`DeadLetter` is an envelope a worker gave up on, with why.

Version 1 carries a JSON event (its ``payload``, or a GET callback's ``query``); version 2
adds ``body`` and ``body_encoding``: an XML body (a Numbers notification) as received, as
text when it is UTF-8 (readable in a dead letter), else in base64. A receiver writes version
1 whenever it can, so that workers of the previous release still run JSON events during a
rolling deploy; a worker reads both.
"""

from __future__ import annotations

import base64
import binascii
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

__all__ = ["ENVELOPE_VERSION", "ENVELOPE_VERSIONS", "DeadLetter", "Envelope", "EnvelopeError"]

#: The newest envelope version: written for an event that travels as its body (XML).
ENVELOPE_VERSION = 2
#: The versions a worker runs: 1 (JSON events; what a receiver writes for them) and 2.
ENVELOPE_VERSIONS = (1, 2)
#: How a version-2 envelope's ``body`` is written: UTF-8 text as is, anything else base64.
BODY_ENCODINGS = ("utf-8", "base64")


class EnvelopeError(ValueError):
    """A message that is not a bwhooks envelope this version can run."""


@attrs.frozen
class Envelope:
    """One queued ``(event, handler)``: the event as it came over the wire, and the request.

    ``payload`` is the event's JSON object (``None`` for a GET callback, whose fields are
    the ``query``, and for an XML body); ``array`` tells a Messaging v2 element; ``body``
    is an XML body as received (``None`` for a JSON event), decoded by ``body_encoding``
    (``"utf-8"`` or ``"base64"``, see :meth:`for_body`). ``key`` identifies the event and
    handler across every receiver and worker. Serialized as a small versioned JSON object:
    version 1 without a body, version 2 with one.
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
    body: str | None = None
    body_encoding: str = "utf-8"

    @staticmethod
    def for_body(body: bytes) -> tuple[str, str]:
        """``(body, body_encoding)`` of a body as received: its text when it is UTF-8,
        else its base64 (a body in UTF-16 or ISO-8859-1 comes back byte for byte)."""
        try:
            return body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return base64.b64encode(body).decode("ascii"), "base64"

    def body_bytes(self) -> bytes:
        """The body as received (``b""`` for a JSON event); :class:`EnvelopeError` for a
        ``body`` that its ``body_encoding`` cannot decode."""
        if self.body is None:
            return b""
        if self.body_encoding == "utf-8":
            return self.body.encode("utf-8")  # UnicodeEncodeError: a lone surrogate
        try:
            return base64.b64decode(self.body.encode("ascii"), validate=True)
        except (UnicodeEncodeError, binascii.Error):
            raise EnvelopeError("malformed envelope (body is not base64)") from None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form that travels through the broker: version 1 for a JSON
        event (what workers of every release read), version 2 with an XML body."""
        data = self._fields()
        if self.body is not None:
            data.update(v=ENVELOPE_VERSION, body=self.body, body_encoding=self.body_encoding)
        return data

    def _fields(self) -> dict[str, Any]:
        return {
            "v": 1,
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
        version = data.get("v") if isinstance(data, Mapping) else None
        if not isinstance(data, Mapping) or not _known(version):
            shown = repr(version) if version is None or isinstance(version, int) else "?"
            raise EnvelopeError(f"not a version 1 or 2 envelope (v={shown})")
        try:
            body, body_encoding = _body(data) if version == 2 else (None, "utf-8")
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
                body=body,
                body_encoding=body_encoding,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EnvelopeError(f"malformed envelope ({type(exc).__name__}: {exc})") from None

    def request(self) -> CallbackRequest:
        """The request as a worker's handler sees it (:func:`~bwhooks.current_request`): its
        body is this one event (in an array for a Messaging v2 element), or the XML body as
        received.

        :class:`~bwhooks.InvalidCallback` for a payload no receiver would have accepted
        (nested deeper than :data:`~bwhooks.decoding.parsing.MAX_DEPTH` levels), a body that
        is not what its encoding says, or a query that no request carries (not Latin-1
        text)."""
        body = b""
        if self.body is not None:
            try:
                body = self.body_bytes()
            except (EnvelopeError, UnicodeEncodeError) as exc:
                raise InvalidCallback(f"unreadable body ({exc})") from None
        elif self.payload is not None:
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


def _known(version: Any) -> bool:
    """Whether ``version`` is one this release reads (an ``int``: ``True`` is no ``1``)."""
    return version.__class__ is int and version in ENVELOPE_VERSIONS


def _body(data: Mapping[str, Any]) -> tuple[str, str]:
    """A version-2 envelope's ``body`` and ``body_encoding``."""
    body, encoding = data["body"], data["body_encoding"]
    if not isinstance(body, str):
        raise TypeError("body is not text")
    if data.get("payload") is not None:  # one event, carried once
        raise TypeError("an envelope with a body has no payload")
    if encoding not in BODY_ENCODINGS:
        raise ValueError("body_encoding is neither utf-8 nor base64")
    return body, encoding


def _header(pair: Any) -> tuple[str, str]:
    """One ``[name, value]`` pair of an envelope's headers."""
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        raise TypeError("a header is not a [name, value] pair")
    name, value = pair
    if not isinstance(name, str) or not isinstance(value, str):
        raise TypeError("a header name or value is not text")
    return name, value
