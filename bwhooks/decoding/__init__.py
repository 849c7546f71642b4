"""Decoding: a callback request's body (or GET query string) to the events it carries.

A POST carries JSON: one object (a v1 or Voice v2 callback, or one Messaging v2 element) or
a Messaging v2 array, one event per element, in order; or one XML document (a Numbers
notification, a port-out validation request), read safely (:mod:`bwhooks.decoding.xml`).
The request's media type chooses the parser (a family's
:attr:`~bwhooks.families.Family.SYNTAX`). A GET carries one callback's fields in its query
string. Which class a payload is, the families say
(:class:`~bwhooks.families.Families`). Anything that cannot be a callback raises
:class:`~bwhooks.InvalidCallback`, which the receiver answers with ``400``.
"""

from __future__ import annotations

from bwhooks.decoding.compiled import decode_body
from bwhooks.decoding.documents import parse_document
from bwhooks.decoding.parsing import decode_json, decode_query, parse_delivery, parse_query
from bwhooks.errors import InvalidCallback
from bwhooks.events import Event
from bwhooks.families import (
    DEFAULT,
    Catapult,
    Endpoints,
    Families,
    MessagingV2,
    Numbers,
    SubscriptionsV2,
    Syntax,
    TollFree,
    VoiceV2,
)
from bwhooks.http import CallbackRequest

__all__ = ["Decoder", "decode", "quick_decode"]


class Decoder:
    """Decodes requests into the events of ``families``: :meth:`decode` for any request,
    :attr:`quick` for the common POST body in one step."""

    def __init__(self, families: Families = DEFAULT) -> None:
        self.families = families
        #: The common POST body's events on the compiled path
        #: (:func:`bwhooks.decoding.compiled.decode_body`), ``None`` for anything else, which
        #: :meth:`decode` handles (and explains). The compiled path reads Voice v2, Messaging
        #: v2 and v1 as they recognize payloads, so it serves the sets that begin with
        #: those three (in any order; bwhooks's families that claim none of their
        #: payloads may stand anywhere); other sets take the general path.
        self.quick = decode_body if _compiled_covers(families) else _general

    def decode(self, request: CallbackRequest) -> tuple[Event, ...]:
        """The events of ``request``, in delivery order; :class:`~bwhooks.InvalidCallback`
        for a body or query string that is not a callback of the families."""
        if request.method == "GET":
            if not self.families.queries:
                raise InvalidCallback("no callback is sent as a GET here")
            return (parse_query(decode_query(request.query_string), families=self.families),)
        content_type = request.headers.get("Content-Type")
        if self.families.syntax_of(content_type) is Syntax.XML:
            from bwhooks.decoding.xml import decode_xml  # defusedxml, loaded when first needed

            root, payload = decode_xml(request.body)
            return (parse_document(root, payload, families=self.families),)
        return parse_delivery(decode_json(request.body), families=self.families)

    def quick_request(self, request: CallbackRequest) -> tuple[Event, ...] | None:
        """:attr:`quick` for a POST whose body is JSON by its ``Content-Type`` (the
        compiled path never reads, nor refuses, an XML body), else ``None``."""
        if request.method != "POST":
            return None
        content_type = request.headers.get("Content-Type")
        if content_type in self.families.content_types or (
            self.families.syntax_of(content_type) is Syntax.JSON
        ):
            return self.quick(request.body)
        return None


def _general(body: bytes) -> None:
    """No compiled path: every body takes the general one."""
    return


#: bwhooks's families that claim none of the payloads the compiled path reads (those of a
#: Voice v2, v1 or Messaging v2 type): wherever they stand, the three decide those payloads.
_BESIDE = frozenset({Endpoints, Numbers, SubscriptionsV2, TollFree})


def _compiled_covers(families: Families) -> bool:
    first = [family for family in families.members if type(family) not in _BESIDE][:3]
    return {type(family) for family in first} == {VoiceV2, MessagingV2, Catapult}


_DEFAULT = Decoder()


def decode(request: CallbackRequest) -> tuple[Event, ...]:
    """The events of ``request`` for every family bwhooks reads (:meth:`Decoder.decode`)."""
    return _DEFAULT.decode(request)


#: The common POST body's events on the compiled path
#: (:func:`bwhooks.decoding.compiled.decode_body`); ``None`` sends anything else to
#: :func:`decode`, which handles (and explains) it.
quick_decode = decode_body
