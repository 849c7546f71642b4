"""Decoding: a callback request's body (or GET query string) to the events it carries.

A POST carries JSON: one object (a v1 or Voice v2 callback, or one Messaging v2 element) or
a Messaging v2 array, one event per element, in order. A GET carries one callback's fields
in its query string. Anything that cannot be a callback raises
:class:`~bwhooks.InvalidCallback`, which the receiver answers with ``400``.
"""

from __future__ import annotations

from bwhooks.decoding.compiled import decode_body
from bwhooks.decoding.parsing import decode_json, decode_query, parse_delivery
from bwhooks.events import Event
from bwhooks.http import CallbackRequest

__all__ = ["decode", "quick_decode"]


def decode(request: CallbackRequest) -> tuple[Event, ...]:
    """The events of ``request``, in delivery order; :class:`~bwhooks.InvalidCallback` for
    a body or query string that is not a callback."""
    if request.method == "GET":
        return parse_delivery(decode_query(request.query_string))
    return parse_delivery(decode_json(request.body))


#: The common POST body's events on the compiled path
#: (:func:`bwhooks.decoding.compiled.decode_body`); ``None`` sends anything else to
#: :func:`decode`, which handles (and explains) it.
quick_decode = decode_body
