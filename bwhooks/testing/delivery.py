"""Bandwidth's way of delivering a callback, independent of how the bytes travel.

A request goes out without credentials; only a ``401`` carrying a ``WWW-Authenticate:
Basic`` challenge makes the sender repeat it with them, as Bandwidth's platform does.
JSON payloads and events travel as JSON (or a GET query); an XML text and a Numbers event
as the XML document Bandwidth posts (``application/xml; charset=utf-8``). A sender given a
:class:`Signer` (an :class:`~bwhooks.HmacSignature`) signs the exact bytes of every attempt,
the challenged one too, as Bandwidth signs toll-free verification results and Subscriptions
v2 notifications.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from bwhooks.auth import basic_authorization
from bwhooks.decoding.documents import to_xml
from bwhooks.decoding.parsing import encode_query, to_payload
from bwhooks.events import Event, NumbersEvent
from bwhooks.http import CallbackResponse
from bwhooks.testing.numbers_xml import XML_CONTENT_TYPE

__all__ = [
    "USER_AGENT",
    "Callback",
    "Deliver",
    "Delivery",
    "OutgoingRequest",
    "Signer",
    "build_request",
    "deliver",
    "retry_after",
    "signed",
    "wire_body",
    "xml_body",
]

USER_AGENT = "BandwidthAPI/v1 (bwhooks)"


@attrs.frozen
class OutgoingRequest:
    """One callback request as a sender puts it on the wire."""

    method: str
    path: str
    query: str
    body: bytes
    headers: Mapping[str, str]

    @property
    def target(self) -> str:
        """``path?query``."""
        return f"{self.path}?{self.query}" if self.query else self.path


Deliver = Callable[[OutgoingRequest], CallbackResponse]
"""Sends one request somewhere (HTTP, a WSGI app, an ASGI app) and returns the answer."""


@attrs.frozen
class Delivery:
    """The final answer to a callback, and the statuses of every attempt (``(401, 200)``)."""

    response: CallbackResponse
    exchange: tuple[int, ...]


class Signer(Protocol):
    """What signs a body: :class:`~bwhooks.HmacSignature` (``toll_free`` or
    ``subscriptions``), or anything giving the headers that sign some bytes."""

    def headers_for(self, body: bytes) -> tuple[tuple[str, str], ...]:
        """``((header, value), ...)`` signing ``body``."""
        ...


def signed(request: OutgoingRequest, signature: Signer | None) -> OutgoingRequest:
    """``request`` with the headers of ``signature`` over its exact body (replacing any of
    the same names it carries); itself without a signature."""
    if signature is None:
        return request
    added = signature.headers_for(request.body)
    names = {name.lower() for name, _ in added}
    headers = {k: v for k, v in request.headers.items() if k.lower() not in names}
    headers.update(added)
    return attrs.evolve(request, headers=headers)


Callback = str | Mapping[str, Any] | Sequence[Mapping[str, Any]] | Event
"""What a sender delivers: a wire payload (an object, a Messaging v2 array, or the XML text
of a Numbers webhook) or an event."""


def wire_body(callback: Callback) -> dict[str, Any] | list[dict[str, Any]]:
    """The JSON Bandwidth would post for ``callback``: Messaging v2 events and bare
    messaging elements (``type`` and ``message``, no ``eventType``) travel in an array, an
    MFA delivery receipt (an element with ``platform``) as the one object it is."""
    if isinstance(callback, str):
        raise TypeError("an XML text travels as XML: see xml_body")
    if isinstance(callback, Event):
        payload = to_payload(callback)
    elif isinstance(callback, Mapping):
        payload = dict(callback)
    else:
        return [dict(element) for element in callback]
    element = "eventType" not in payload and "type" in payload and "message" in payload
    if element and "platform" not in payload:
        return [payload]
    return payload


def xml_body(callback: Callback) -> str | None:
    """The XML text ``callback`` travels as: itself when it is a text, the document of a
    Numbers event; ``None`` for a callback that travels as JSON."""
    if isinstance(callback, str):
        return callback
    if isinstance(callback, NumbersEvent):
        return to_xml(callback).decode()
    return None


def build_request(
    callback: Callback,
    method: str,
    path: str,
    query: str = "",
    *,
    signature: Signer | None = None,
) -> OutgoingRequest:
    """The request carrying ``callback`` (a wire payload or an event) as POST JSON or GET
    query (a GET carries one object: Messaging v2 is POST only); an XML text or a Numbers
    event as a POST of the document, UTF-8; signed over its body by ``signature``."""
    method = method.upper()
    headers = {"User-Agent": USER_AGENT}
    xml = xml_body(callback)
    if xml is not None:
        if method == "GET":
            raise ValueError("an XML document (a Numbers webhook) is sent by POST, not GET")
        headers["Content-Type"] = XML_CONTENT_TYPE
        return signed(OutgoingRequest(method, path, query, xml.encode("utf-8"), headers), signature)
    payload = wire_body(callback)
    if method == "GET":
        if isinstance(payload, list):
            raise ValueError("a Messaging v2 delivery (an array) is sent by POST, not GET")
        encoded = encode_query(payload)
        target = f"{query}&{encoded}" if query else encoded
        return signed(OutgoingRequest(method, path, target, b"", headers), signature)
    headers["Content-Type"] = "application/json; charset=utf-8"
    body = json.dumps(payload).encode()
    return signed(OutgoingRequest(method, path, query, body, headers), signature)


def retry_after(
    request: OutgoingRequest, response: CallbackResponse, credentials: tuple[str, str] | None
) -> OutgoingRequest | None:
    """The request to send after ``response``: ``request`` with credentials when it was a
    ``401`` with a Basic challenge (and there are credentials); otherwise ``None``."""
    challenge = response.headers.get("WWW-Authenticate", "")
    if response.status != 401 or not challenge.lower().startswith("basic") or not credentials:
        return None
    authorization = basic_authorization(*credentials)
    return attrs.evolve(request, headers={**request.headers, "Authorization": authorization})


def deliver(
    send: Deliver, request: OutgoingRequest, credentials: tuple[str, str] | None
) -> Delivery:
    """Send ``request``; after a Basic challenge, send it again with ``credentials``."""
    first = send(request)
    retry = retry_after(request, first, credentials)
    if retry is None:
        return Delivery(first, (first.status,))
    second = send(retry)
    return Delivery(second, (first.status, second.status))
