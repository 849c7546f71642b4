"""Decoding: a callback request's body (or GET query string) to the events it carries.

A POST carries JSON, a GET its fields in the query string. Anything that cannot be a
callback raises :class:`~bwhooks.InvalidCallback`, which the receiver answers with ``400``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bwhooks.events import Event
from bwhooks.http import CallbackRequest
from bwhooks.parsing import decode_json_body, decode_query, parse_event, quick_parse

__all__ = ["decode", "quick_decode"]


def decode(request: CallbackRequest) -> tuple[Event, ...]:
    """The events of ``request``, in delivery order; :class:`~bwhooks.InvalidCallback` for
    a body or query string that is not a callback."""
    payload: Mapping[str, Any]
    if request.method == "GET":
        payload = decode_query(request.query_string)
    else:
        payload = decode_json_body(request.body)
    return (parse_event(MappingProxyType(payload)),)


def quick_decode(body: bytes) -> tuple[Event, ...] | None:
    """The common POST body's events in one step; ``None`` sends anything else to
    :func:`decode`, which handles (and explains) it."""
    event = quick_parse(body)
    return None if event is None else (event,)
