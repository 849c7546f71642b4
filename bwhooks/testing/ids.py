"""Identifiers and times in the shapes Bandwidth's APIs write them (for fakes)."""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timezone

__all__ = ["bandwidth_id", "catapult_id", "iso", "iso_now", "message_id"]

_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def bandwidth_id(prefix: str) -> str:
    """An id like Bandwidth's: ``c-95ac8d6e-1a31c52e-b38f-4198-93c1-51633ec68f8d``
    (``c`` for calls, ``conf`` conferences, ``s`` streams, ``t`` transcriptions)."""
    return f"{prefix}-" + "-".join(secrets.token_hex(n) for n in (4, 4, 2, 2, 2, 6))


def catapult_id(prefix: str) -> str:
    """A v1 (Catapult) id: the prefix and 24 hex digits, ``c-95ac8d6e1a31c52eb38f4198``."""
    return prefix + secrets.token_hex(12)


def message_id() -> str:
    """A Messaging v2 id: epoch milliseconds and 16 base-36 characters."""
    suffix = "".join(secrets.choice(_BASE36) for _ in range(16))
    return f"{int(time.time() * 1000)}{suffix}"


def iso(moment: datetime) -> str:
    """``2026-01-02T03:04:05.678Z``: UTC, milliseconds, ``Z``."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_now() -> str:
    """:func:`iso` of now."""
    return iso(datetime.now(timezone.utc))
