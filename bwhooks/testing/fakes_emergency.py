"""Fake Emergency Calling API routing queries: the values of a 911 call's GET query.

``fake_payload("emergencyCall")`` gives ``{"to": "911", "from": "+1..."}``; send it with
``CallbackClient(...).send(payload, method="GET")`` (a routing query is only ever a GET).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bwhooks.events import EmergencyCallEvent

__all__ = ["EMERGENCY_KINDS", "fake_emergency_payload"]

#: The kind spelling of a routing query.
EMERGENCY_KINDS: Mapping[str, type[EmergencyCallEvent]] = MappingProxyType(
    {"emergencyCall": EmergencyCallEvent}
)
_WIRE = {"to": "to", "from_": "from", "from": "from"}


def fake_emergency_payload(overrides: Mapping[str, Any]) -> dict[str, str]:
    """A routing query's values: ``to`` ``911``, ``from`` a random E.164 caller;
    overridden by attribute (``from_=``) or wire name (``from``; any other name is a
    query key of its own), ``None`` leaves a key out."""
    payload: dict[str, Any] = {"to": "911", "from": f"+1919555{secrets.randbelow(10_000):04d}"}
    for name, value in overrides.items():
        payload[_WIRE.get(name, name)] = value
    return {key: value for key, value in payload.items() if value is not None}
