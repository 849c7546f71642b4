"""Testing helpers: realistic fake callbacks, clients that deliver them like Bandwidth,
and a fake Bandwidth REST API. The pytest plugin (``bw_fake``, ``bw_client``,
``bandwidth_api``) is in :mod:`bwhooks.testing.plugin`."""

from __future__ import annotations

from bwhooks.testing.bandwidth_api import FakeBandwidthApi, RecordedRequest
from bwhooks.testing.bandwidth_api_v2 import FakeBandwidthApiV2
from bwhooks.testing.client import CallbackClient
from bwhooks.testing.fakes import (
    KINDS,
    AmbiguousKindWarning,
    UnknownKindError,
    fake_event,
    fake_payload,
)
from bwhooks.testing.sender import HttpSender

__all__ = [
    "KINDS",
    "AmbiguousKindWarning",
    "CallbackClient",
    "FakeBandwidthApi",
    "FakeBandwidthApiV2",
    "HttpSender",
    "RecordedRequest",
    "UnknownKindError",
    "fake_event",
    "fake_payload",
]
