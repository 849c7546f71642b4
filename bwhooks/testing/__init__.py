"""Testing helpers: realistic fake callbacks, clients that deliver them like Bandwidth,
and fakes of Bandwidth's REST APIs (v1, v2, Numbers). The pytest plugin (``bw_fake``,
``bw_client``, ``bandwidth_api``, ``bandwidth_api_v2``, ``numbers_api``) is in
:mod:`bwhooks.testing.plugin`."""

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
from bwhooks.testing.numbers_api import FakeNumbersApi
from bwhooks.testing.sender import HttpSender

__all__ = [
    "KINDS",
    "AmbiguousKindWarning",
    "CallbackClient",
    "FakeBandwidthApi",
    "FakeBandwidthApiV2",
    "FakeNumbersApi",
    "HttpSender",
    "RecordedRequest",
    "UnknownKindError",
    "fake_event",
    "fake_payload",
]
