"""Fake payloads of Bandwidth's other JSON webhooks: toll-free verification results,
Subscriptions v2 notifications, endpoint events, MFA delivery receipts.

Kind spellings (none can clash with a v1 or v2 type: a family prefix, or the wire
``eventType`` of an endpoint event, upper case):

- ``tollfree:verified``, ``tollfree:unverified`` (the status shape), ``tollfree:denial``
  (with ``additionalDenialReasons``), ``tollfree:failure``, ``tollfree:blocked``;
- ``subscriptions:PORTOUT_REQUEST`` (Messaging Transfer Confirmation);
- ``DEVICE_CONNECTED``, ``DEVICE_DISCONNECTED`` (WebRTC endpoints);
- ``mfa:message-delivered``, ``mfa:message-failed`` (one object, with ``platform``).

Values follow Bandwidth's field tables: E.164 toll-free numbers, UUID ticket and request
ids, ``e-`` endpoint ids, current UTC times. Overrides take the wire name (``phoneNumber=``)
or its attribute spelling (``phone_number=``; an endpoint's ``type`` is ``endpoint_type``),
a nested field by its path with ``__`` (``device__deviceName=``, ``message__id=``); ``None``
leaves a field out. ``denial_reason_description=`` writes the spelling used before 2025 in
place of ``declineReasonDescription``.
"""

from __future__ import annotations

import copy
import re
import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

from bwhooks.events import (
    DeviceConnectedEvent,
    DeviceDisconnectedEvent,
    EndpointEvent,
    Event,
    MessageDeliveredEvent,
    MessageFailedEvent,
    SubscriptionNotificationEvent,
    TollFreeBlockedEvent,
    TollFreeDenialEvent,
    TollFreeFailureEvent,
    TollFreeStatusEvent,
    TollFreeVerificationEvent,
)
from bwhooks.testing.ids import bandwidth_id, iso, message_id

__all__ = [
    "CLASS_KINDS",
    "MORE_KINDS",
    "TOLL_FREE_PREFIXES",
    "fake_more_payload",
    "family_of",
    "signature_family",
]

#: The area codes of North American toll-free numbers.
TOLL_FREE_PREFIXES = ("800", "833", "844", "855", "866", "877", "888")

_Make = Callable[[datetime], dict[str, Any]]


def _toll_free_number() -> str:
    return f"+1{secrets.choice(TOLL_FREE_PREFIXES)}555{secrets.randbelow(10_000):04d}"


def _number() -> str:
    return f"+1919555{secrets.randbelow(10_000):04d}"


def _account() -> str:
    return str(10_000_000 + secrets.randbelow(90_000_000))


def _toll_free(status: str | None, **extra: Any) -> _Make:
    def make(now: datetime) -> dict[str, Any]:
        payload: dict[str, Any] = {"accountId": _account(), "phoneNumber": _toll_free_number()}
        if status is not None:
            payload["status"] = status
        payload["internalTicketNumber"] = str(uuid.uuid4())
        payload.update(copy.deepcopy(extra))  # its lists are the caller's to change
        return payload

    return make


def _portout_request(now: datetime) -> dict[str, Any]:
    return {
        "notificationType": "PORTOUT_REQUEST",
        "phoneNumber": _number(),
        "oldNnid": str(100_000 + secrets.randbelow(900_000)),
        "newNnid": str(100_000 + secrets.randbelow(900_000)),
        "overwriterCarrier": "Example Wireless",
        "requestId": str(uuid.uuid4()),
        "activation": iso(now),
    }


def _device_event(event_type: str, status: str) -> _Make:
    def make(now: datetime) -> dict[str, Any]:
        created = now - timedelta(minutes=30)
        return {
            "endpointId": bandwidth_id("e"),
            "type": "WEBRTC",
            "status": status,
            "creationTimestamp": iso(created),
            "expirationTimestamp": iso(created + timedelta(hours=24)),
            "eventTime": iso(now),
            "eventType": event_type,
            "tag": "agent-1234",
            "device": {
                "deviceId": str(uuid.uuid4()),
                "deviceName": "Chrome on macOS",
                "status": status,
                "creationTimestamp": iso(now - timedelta(seconds=5)),
            },
        }

    return make


def _mfa(message_type: str, description: str, **extra: Any) -> _Make:
    def make(now: datetime) -> dict[str, Any]:
        return {
            "type": message_type,
            "time": iso(now),
            "description": description,
            "platform": "NorthAmericaSMS",
            "message": {"id": message_id()},
            **extra,
        }

    return make


_DENIAL = {
    "denialStatusCode": 511,
    "declineReasonDescription": (
        "Invalid Information - Can't Validate URL - Website is not accessible / not available"
    ),
    "resubmitAllowed": True,
    "additionalDenialReasons": [
        {"statusCode": 512, "reason": "Opt-in workflow image is missing", "resubmitAllowed": True}
    ],
    "blocked": False,
}
_FAILURE = {
    "errorCode": "400",
    "errorMessage": "Invalid toll free phone number",
    "errors": ["optInWorkflowImageURLs: Entries must be a valid array of objects."],
}
_BLOCKED = {"blocked": True, "blockedReason": "Toll-free number was used to send spam messages"}

_MAKERS: dict[str, tuple[type[Event], _Make]] = {
    "tollfree:verified": (TollFreeStatusEvent, _toll_free("VERIFIED")),
    "tollfree:unverified": (TollFreeStatusEvent, _toll_free("UNVERIFIED")),
    "tollfree:denial": (TollFreeDenialEvent, _toll_free("UNVERIFIED", **_DENIAL)),
    "tollfree:failure": (TollFreeFailureEvent, _toll_free(None, **_FAILURE)),
    "tollfree:blocked": (TollFreeBlockedEvent, _toll_free("UNVERIFIED", **_BLOCKED)),
    "subscriptions:PORTOUT_REQUEST": (SubscriptionNotificationEvent, _portout_request),
    "DEVICE_CONNECTED": (DeviceConnectedEvent, _device_event("DEVICE_CONNECTED", "CONNECTED")),
    "DEVICE_DISCONNECTED": (
        DeviceDisconnectedEvent,
        _device_event("DEVICE_DISCONNECTED", "DISCONNECTED"),
    ),
    "mfa:message-delivered": (
        MessageDeliveredEvent,
        _mfa("message-delivered", "Message delivered to carrier."),
    ),
    "mfa:message-failed": (
        MessageFailedEvent,
        _mfa("message-failed", "forbidden to country", errorCode=4432),
    ),
}

#: Every kind spelling of these webhooks and the class its payload parses into.
MORE_KINDS: Mapping[str, type[Event]] = MappingProxyType(
    {kind: cls for kind, (cls, _) in _MAKERS.items()}
)
#: The kind ``fake_payload`` makes for each class of these webhooks given as the kind
#: (``TollFreeStatusEvent``: ``tollfree:verified``). The Messaging v2 classes of the MFA
#: receipts are not here: given as a class, they make a Messaging v2 array.
CLASS_KINDS: Mapping[type[Event], str] = MappingProxyType(
    {cls: kind for kind, cls in reversed(list(MORE_KINDS.items())) if not kind.startswith("mfa:")}
)

# Fields a payload of the family may carry beyond its defaults (set by an override).
_OPTIONAL: dict[str, tuple[str, ...]] = {
    "tollfree": (
        "status",
        "denialStatusCode",
        "declineReasonDescription",
        "denialReasonDescription",
        "additionalDenialReasons",
        "resubmitAllowed",
        "blocked",
        "blockedReason",
        "errorCode",
        "errorMessage",
        "errors",
        "isBadRequest",
    ),
    "subscriptions": (),
    "endpoint": (),
    "mfa": ("errorCode", "to"),
}
#: Attribute spellings that are not the wire name's snake case.
_ALIASES = {"endpoint": {"endpoint_type": "type"}}
#: An old spelling that takes the place of the current one.
_RENAMED = {"denialReasonDescription": "declineReasonDescription"}


def family_of(kind: object) -> str | None:
    """The family of a kind of this module, a spelling or a class (``tollfree``,
    ``subscriptions``, ``endpoint``, ``mfa``), ``None`` for any other."""
    if isinstance(kind, str):
        if kind not in MORE_KINDS:
            return None
        if kind.startswith("mfa:"):
            return "mfa"
        kind = MORE_KINDS[kind]
    if not isinstance(kind, type):
        return None
    for base, family in _FAMILIES:
        if issubclass(kind, base):
            return family
    return None


_FAMILIES: tuple[tuple[type[Event], str], ...] = (
    (TollFreeVerificationEvent, "tollfree"),
    (SubscriptionNotificationEvent, "subscriptions"),
    (EndpointEvent, "endpoint"),
)


def signature_family(kind: object) -> str | None:
    """The signature Bandwidth puts on a kind (a spelling or a class): ``toll-free``
    (toll-free verification results), ``subscriptions`` (Subscriptions v2 notifications),
    ``None`` (unsigned)."""
    return {"tollfree": "toll-free", "subscriptions": "subscriptions"}.get(family_of(kind) or "")


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _key(name: str, known: Mapping[str, Any], family: str) -> str:
    """The wire key an override ``name`` sets (its wire or attribute spelling)."""
    spellings = {**{_snake(key): key for key in known}, **_ALIASES.get(family, {})}
    if name in known:
        return name
    if name in spellings:
        return spellings[name]
    valid = ", ".join(sorted({*known, *spellings}))
    raise TypeError(f"no field {name!r} in this payload; valid names: {valid}")


def _apply(payload: dict[str, Any], name: str, value: Any, family: str) -> None:
    head, _, rest = name.partition("__")
    known = dict.fromkeys([*payload, *(_OPTIONAL[family] if family else ())])
    key = _key(head, known, family)
    if rest:
        current = payload.get(key)
        if not isinstance(current, dict):
            raise TypeError(f"{key!r} is no object: it has no fields to set")
        inner = dict(current)
        _apply(inner, rest, value, "")
        payload[key] = inner
        return
    if value is None:
        payload.pop(key, None)
        return
    payload[key] = value
    if key in _RENAMED:
        payload.pop(_RENAMED[key], None)


def fake_more_payload(kind: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object Bandwidth posts for ``kind`` (a spelling of :data:`MORE_KINDS`),
    ``overrides`` applied by wire or attribute name (those of the kind's class)."""
    _, make = _MAKERS[kind]
    family = family_of(kind) or ""
    payload = make(datetime.now(timezone.utc))
    for name, value in overrides.items():
        try:
            _apply(payload, name, value, family)
        except TypeError as exc:
            raise TypeError(f"{kind}: {exc}") from None
    return payload
