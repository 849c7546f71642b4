"""Lenient ISO-8601 timestamps and durations, as Bandwidth writes them, and back."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["Duration", "format_duration", "format_timestamp", "parse_duration", "parse_timestamp"]

# Forms seen in Bandwidth payloads: 2012-11-14T16:28:31.536Z, 2014-07-31T01:01:27Z,
# 2013-07-12T16:26:55.685-02:00, 2014-04-23T11:53:43-03. No offset means UTC.
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"(?:\s*([Zz]|[+-]\d{2}(?::?\d{2})?))?",
    re.ASCII,
)
_OFFSETS: dict[str, timezone] = {}
_NATIVE = sys.version_info >= (3, 11)
_MICROSECOND = timedelta(microseconds=1)


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
    fractional-second digits (rounded to the microsecond, half up) and optional seconds.
    Raises ``ValueError`` for anything else.
    """
    if (
        _NATIVE
        and len(text) >= 20
        and text[10] == "T"
        and text[4] == "-"
        and _plain_offset(text)
        and not (len(text) > 26 and text[19] == "." and text[26].isdigit())  # 7+ digits
    ):
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
    parsed = datetime(
        int(year),
        int(month),
        int(day),
        int(hour),
        int(minute),
        int(second or 0),
        micro,
        tzinfo=_offset(offset),
    )
    if fraction is not None and len(fraction) > 6 and fraction[6] >= "5":
        try:  # rounded to the nearest microsecond, half up, as msgspec reads it
            return parsed + _MICROSECOND
        except OverflowError:
            raise ValueError("date-time out of range") from None
    return parsed


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


_DURATION = re.compile(
    r"([+-])?P(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,](\d+))?S)?)?",
    re.ASCII,
)


class Duration(timedelta):
    """An ISO-8601 duration (``PT20.056S``) as a ``timedelta``, its exact text in ``iso``.

    A ``timedelta`` holds microseconds; Bandwidth writes up to nine fractional digits
    (``PT5.045329368S``), which ``iso`` keeps. Equal durations compare equal whatever
    their text.
    """

    __slots__ = ("iso",)
    iso: str

    def __new__(cls, iso: str, value: timedelta) -> Duration:
        """A duration of ``value`` written as ``iso`` (use :func:`parse_duration`)."""
        duration = super().__new__(cls, value.days, value.seconds, value.microseconds)
        duration.iso = iso
        return duration

    def __repr__(self) -> str:
        return f"Duration({self.iso!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (parse_duration, (self.iso,))


def parse_duration(text: str) -> Duration:
    """Parse an ISO-8601 duration of weeks, days, hours, minutes and seconds.

    Years and months (of no fixed length) are refused with ``ValueError``, as is anything
    that is not a duration or is longer than a ``timedelta`` holds.
    """
    match = _DURATION.fullmatch(text.strip())
    if match is None or text.strip().rstrip("T").endswith("P") or text.strip().endswith("T"):
        raise ValueError("not an ISO-8601 duration")
    sign, weeks, days, hours, minutes, seconds, fraction = match.groups()
    try:
        value = timedelta(
            weeks=int(weeks or 0),
            days=int(days or 0),
            hours=int(hours or 0),
            minutes=int(minutes or 0),
            seconds=int(seconds or 0),
            microseconds=int((fraction or "0")[:6].ljust(6, "0")),
        )
    except OverflowError:  # past timedelta's ~2.7 million years
        raise ValueError("ISO-8601 duration out of range") from None
    return Duration(text, -value if sign == "-" else value)


def format_duration(value: timedelta) -> str:
    """Write ``value`` as ISO-8601 (``PT1M52.217257S``); a :class:`Duration` keeps its text."""
    if isinstance(value, Duration):
        return value.iso
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.days * 86400 + value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    fraction = f".{value.microseconds:06d}".rstrip("0") if value.microseconds else ""
    if seconds or fraction or text.endswith("T"):
        text += f"{seconds}{fraction}S"
    return text
