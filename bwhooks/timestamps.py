"""Lenient ISO-8601 timestamps, as Bandwidth writes them, to aware datetimes and back."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta, timezone

__all__ = ["format_timestamp", "parse_timestamp"]

# Forms seen in Bandwidth payloads: 2012-11-14T16:28:31.536Z, 2014-07-31T01:01:27Z,
# 2013-07-12T16:26:55.685-02:00, 2014-04-23T11:53:43-03. No offset means UTC.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(?:\s*([Zz]|[+-]\d{2}(?::?\d{2})?))?",
    re.ASCII,
)
_OFFSETS: dict[str, timezone] = {}
_NATIVE = sys.version_info >= (3, 11)


def _offset(text: str | None) -> timezone:
    if text is None or text in ("Z", "z"):
        return timezone.utc
    zone = _OFFSETS.get(text)
    if zone is None:
        digits = text[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:] or 0)
        if minutes >= 24 * 60 or int(digits[2:] or 0) >= 60:
            raise ValueError("UTC offset out of range")
        sign = -1 if text[0] == "-" else 1
        zone = timezone.utc if minutes == 0 else timezone(timedelta(minutes=sign * minutes))
        if len(_OFFSETS) < 256:  # a bounded cache: offsets come from untrusted input
            _OFFSETS[text] = zone
    return zone


def _plain_offset(text: str) -> bool:
    """Ends in ``Z``, ``±HH`` or ``±HH:MM`` with valid minutes (what Bandwidth writes)."""
    if text[-1] == "Z":
        return True
    if text[-3] in "+-":
        return text[-2:].isdigit()
    return text[-6] in "+-" and text[-3] == ":" and text[-2] in "012345" and text[-1].isdigit()


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO-8601 date-time into an aware ``datetime``; no offset means UTC.

    Accepts ``Z``, ``±HH:MM``, ``±HHMM`` and hour-only ``±HH`` offsets, any number of
    fractional-second digits (kept to the microsecond) and optional seconds.
    Raises ``ValueError`` for anything else.
    """
    if _NATIVE and len(text) >= 20 and text[10] == "T" and text[4] == "-" and _plain_offset(text):
        try:  # Python 3.11+ parses every form Bandwidth sends, in C
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass  # the general parser decides, and explains
        else:
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise ValueError("not an ISO-8601 date-time")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    return datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second or 0),
        micro,
        tzinfo=_offset(offset),
    )


def format_timestamp(value: datetime) -> str:
    """Write ``value`` the way Bandwidth does: ISO-8601, milliseconds when exact, ``Z`` for UTC.

    A naive ``datetime`` is taken to be UTC.
    """
    offset = value.utcoffset()
    if offset is None:
        value = value.replace(tzinfo=timezone.utc)
        offset = timedelta(0)
    timespec = "milliseconds" if value.microsecond % 1000 == 0 else "microseconds"
    if not value.microsecond:
        timespec = "seconds"
    text = value.isoformat(timespec=timespec)
    return text[:-6] + "Z" if not offset else text
