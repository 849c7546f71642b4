"""What became of each callback: outcomes for metrics and logs, payloads masked for DEBUG."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["OUTCOMES", "Outcome", "mask_payload"]

#: Every outcome name; each request ends with exactly one of them.
OUTCOMES = ("handled", "duplicate", "challenged", "rejected", "refused", "failed")
_PHONE = re.compile(r"\+?\d{7,15}")
_PRIVATE = frozenset({"text", "digits", "dtmfDigit", "displayName"})


@attrs.frozen
class Outcome:
    """One callback request's outcome, as given to ``Receiver(metrics=...)``.

    ``name``: ``handled`` (2xx from the handlers), ``duplicate`` (answered from the
    idempotency store, or asked to retry), ``challenged`` (401 without credentials),
    ``rejected`` (401 with wrong ones), ``refused`` (another 4xx) or ``failed`` (5xx).
    ``duration`` is the seconds spent dispatching (0 for requests refused before).
    """

    name: str
    status: int
    event_type: str | None
    ids: str
    duration: float


def mask_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A payload fit for DEBUG logs: phone numbers keep their last 4 digits, message text
    and digits only their length; ids, states and times are kept."""
    masked: dict[str, Any] = {}
    for key, value in payload.items():
        if key in _PRIVATE and isinstance(value, str):
            masked[key] = f"<{len(value)} chars>"
        elif isinstance(value, str) and _PHONE.fullmatch(value):
            masked[key] = value[:-4].translate(_STARS) + value[-4:]
        elif isinstance(value, Mapping):
            masked[key] = mask_payload(value)
        else:
            masked[key] = value
    return masked


_STARS = str.maketrans("0123456789", "**********")
