"""Testing helpers: realistic fake callbacks, and a sender that speaks HTTP like Bandwidth."""

from __future__ import annotations

from bwhooks.testing.fakes import fake_event, fake_payload
from bwhooks.testing.sender import HttpSender

__all__ = ["HttpSender", "fake_event", "fake_payload"]
