"""What v2 requests carry (a JSON object, a BXML document, E.164 numbers) and what answers
show of a resource (its public fields: those not starting with ``_``)."""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

from werkzeug.wrappers import Request

from bwhooks.testing.fake_api.v2.errors import Errors, voice_error

__all__ = ["E164", "bxml_document", "json_object", "public"]

#: An E.164 telephone number.
E164 = re.compile(r"\+[1-9]\d{6,14}")


def json_object(errors: Errors, payload: Any, request: Request) -> dict[str, Any]:
    """The request's JSON object, or the API's ``415`` (not JSON) or ``400`` (no object)."""
    if not request.mimetype.endswith("json"):
        raise errors.unsupported(request.headers.get("Content-Type", ""))
    if not isinstance(payload, dict):
        raise errors.invalid()
    return payload


def bxml_document(request: Request) -> str:
    """The request's BXML document (XML, root ``<Bxml>`` or ``<Response>``), or voice's
    ``415``/``400``."""
    if request.mimetype not in ("application/xml", "text/xml"):
        content_type = request.headers.get("Content-Type", "")
        raise voice_error(415, "validation", f"Content type '{content_type}' not supported")
    document = request.get_data(as_text=True)
    try:
        root = ElementTree.fromstring(document)  # noqa: S314  (test input, a fake API)
    except ElementTree.ParseError:
        raise voice_error(400, "validation", "Invalid BXML: not an XML document") from None
    if root.tag not in ("Bxml", "Response"):
        raise voice_error(400, "validation", "Invalid BXML: the root element must be <Bxml>")
    return document


def public(resource: dict[str, Any]) -> dict[str, Any]:
    """A stored resource as the API shows it: without the fake's own ``_`` fields."""
    return {k: v for k, v in resource.items() if not k.startswith("_")}
