"""bwhooks: receive Bandwidth HTTP callbacks safely and simply.

Verify (HTTP Basic, with rotation; signed bodies), parse into typed attrs events (Bandwidth
v1, Voice v2, Messaging v2, toll-free verification, Subscriptions v2 and endpoint events as
JSON, Numbers notifications and port-out validation as XML, the Emergency Calling API's
routing queries, on one URL), dispatch to your handlers, answer; the same core behind WSGI,
ASGI, Flask, FastAPI and Django.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bwhooks import events as _events
from bwhooks.auth import Authenticator, AuthResult, BasicAuth
from bwhooks.decoding.documents import parse_xml, to_xml
from bwhooks.decoding.parsing import make_converter, parse_delivery, parse_event, to_payload
from bwhooks.errors import FieldConversionWarning, InsecureReceiverWarning, InvalidCallback
from bwhooks.events import __all__ as _event_names
from bwhooks.families.emergency_route import EmergencyRoute
from bwhooks.families.porting import AcceptableValues, PortOutAnswer, PortOutError, PortOutFallback
from bwhooks.http import CallbackRequest, CallbackResponse, Headers
from bwhooks.receiver import Receiver, current_request
from bwhooks.signatures import HmacSignature, SignatureEncoding

if TYPE_CHECKING:
    from bwhooks.events import *  # noqa: F403  (the event classes are part of the top-level API)

__version__ = "0.1.0.dev0"

__all__ = [  # noqa: PLE0604  (the event names are added from bwhooks.events)
    "AcceptableValues",
    "AuthResult",
    "Authenticator",
    "BasicAuth",
    "CallbackRequest",
    "CallbackResponse",
    "EmergencyRoute",
    "FieldConversionWarning",
    "Headers",
    "HmacSignature",
    "InsecureReceiverWarning",
    "InvalidCallback",
    "PortOutAnswer",
    "PortOutError",
    "PortOutFallback",
    "Receiver",
    "SignatureEncoding",
    "current_request",
    "make_converter",
    "parse_delivery",
    "parse_event",
    "parse_xml",
    "to_payload",
    "to_xml",
    *_event_names,
]


def __getattr__(name: str) -> Any:
    """An event class of :mod:`bwhooks.events`, its module imported on first use."""
    if name not in _EVENT_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_events, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


_EVENT_NAMES = frozenset(_event_names)
