"""Endpoint events (Bandwidth WebRTC endpoints): a device connected to, or disconnected
from, an endpoint created with an ``eventCallbackUrl``.

A JSON object with an ``eventType`` (``DEVICE_CONNECTED``, ``DEVICE_DISCONNECTED``) and an
``endpointId``. Every field is optional; a field that cannot be converted is left ``None``
(its value stays in ``raw``) with a warning. The answer is an empty ``204``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import attrs

from bwhooks.events._base import Event, Reply, event_type_field, raw_field, wire_field


@attrs.frozen(kw_only=True)
class EndpointDevice:
    """The device of an endpoint event (``device``): ``device_id``, ``device_name``,
    ``status`` (``CONNECTED``, ``DISCONNECTED``), ``creation_timestamp``; other keys in
    ``raw``."""

    device_id: str | None = None
    device_name: str | None = None
    status: str | None = None
    creation_timestamp: datetime | None = None
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen(kw_only=True)
class EndpointEvent(Event):
    """Base class of the endpoint events: register it to receive them all.

    ``endpoint_id``; ``endpoint_type`` the wire ``type`` (``WEBRTC``); ``status`` the
    endpoint's (``CONNECTED``, ``DISCONNECTED``); ``creation_timestamp`` and
    ``expiration_timestamp`` the endpoint's; ``event_time`` when the event happened;
    ``tag`` the endpoint's tag; ``device`` the device concerned, when given.
    """

    GENERATION: ClassVar[int] = 2  # a field that cannot be converted is left None
    REPLY: ClassVar[Reply] = Reply.NO_CONTENT

    endpoint_id: str | None = None
    endpoint_type: str | None = wire_field("type")
    status: str | None = None
    creation_timestamp: datetime | None = None
    expiration_timestamp: datetime | None = None
    event_time: datetime | None = None
    tag: str | None = None
    device: EndpointDevice | None = None


@attrs.frozen(kw_only=True)
class DeviceConnectedEvent(EndpointEvent):
    """``DEVICE_CONNECTED``: a device connected to the endpoint."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("DEVICE_CONNECTED",)


@attrs.frozen(kw_only=True)
class DeviceDisconnectedEvent(EndpointEvent):
    """``DEVICE_DISCONNECTED``: the endpoint's device disconnected."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("DEVICE_DISCONNECTED",)


@attrs.frozen(kw_only=True)
class UnknownEndpointEvent(EndpointEvent):
    """An endpoint event whose ``eventType`` bwhooks does not know (yet): the common
    fields are typed, the rest is in ``raw``."""

    event_type: str = event_type_field(required=True)


#: Every endpoint event class with a known ``eventType``.
ENDPOINT_CLASSES: tuple[type[EndpointEvent], ...] = (DeviceConnectedEvent, DeviceDisconnectedEvent)
