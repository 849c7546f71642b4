"""The answer to an Emergency Calling API routing query: :class:`EmergencyRoute`.

A handler of :class:`~bwhooks.EmergencyCallEvent` returns one; bwhooks sends it ``200``
``application/json`` with Bandwidth's keys (``aeui``, ``location_id``, ``lat``, ``lon``,
``radius``, ``callback``, ``name``; ``None`` left out). Bandwidth sends the 911 call to its
emergency call center on anything it cannot read, so a route is checked where it is built,
in the handler: a mistake is a ``ValueError`` or ``TypeError`` there, never a JSON
Bandwidth refuses in the middle of a 911 call.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import attrs

__all__ = ["EmergencyRoute"]

# C0 and C1 control characters, DEL, and lone surrogates (which UTF-8 cannot carry).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}", re.ASCII)
_WIRE_KEYS = ("aeui", "location_id", "lat", "lon", "radius", "callback", "name")


def _required(name: str, value: Any) -> str:
    """``value`` when a route can carry it as the text ``name``: a non-empty string
    without control characters."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty")
    bad = _CONTROL.search(value)
    if bad is not None:
        raise ValueError(f"{name} holds a control character ({bad.group()!r})")
    return value


def _text(name: str, value: Any) -> str | None:
    """As :func:`_required`, ``None`` allowed."""
    return None if value is None else _required(name, value)


def _number(name: str, value: Any, low: float, high: float) -> float | None:
    """``value`` when it is a finite number within ``[low, high]`` (or ``None``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    try:
        number = float(value)  # an int past float's range: OverflowError
    except OverflowError:
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number")
    if not low <= number <= high:
        raise ValueError(f"{name} must be a number between {low:g} and {high:g}")
    return value


def _aeui(value: Any) -> str:
    return _required("aeui", value)


def _location_id(value: Any) -> str | None:
    return _text("location_id", value)


def _name(value: Any) -> str | None:
    return _text("name", value)


def _lat(value: Any) -> float | None:
    return _number("lat", value, -90, 90)


def _lon(value: Any) -> float | None:
    return _number("lon", value, -180, 180)


def _radius(value: Any) -> float | None:
    radius = _number("radius", value, -math.inf, math.inf)
    if radius is not None and not radius > 0:
        raise ValueError("radius must be a positive number of meters")
    return radius


def _callback(value: Any) -> str | None:
    text = _text("callback", value)
    if text is not None and not _E164.fullmatch(text):
        # the value (a caller's number, often) is not repeated: the error reaches the logs
        raise ValueError("callback must be an E.164 number (+ and 8 to 15 digits)")
    return text


@attrs.frozen(kw_only=True)
class EmergencyRoute:
    """Where a 911 call goes: a handler's answer to an
    :class:`~bwhooks.EmergencyCallEvent`.

    ``aeui`` (required) identifies the caller's account to the emergency network; the
    location is ``location_id`` (a location provisioned with Bandwidth) and/or ``lat`` and
    ``lon`` (degrees, both or neither), within ``radius`` meters (Bandwidth's default: 50).
    ``callback`` is the E.164 number a dispatcher calls back, ``name`` the caller's name.
    Checked when built (``ValueError``, ``TypeError``); sent ``200`` JSON with Bandwidth's
    keys, ``None`` left out (:meth:`to_json`).
    """

    aeui: str = attrs.field(converter=_aeui)
    location_id: str | None = attrs.field(default=None, converter=_location_id)
    lat: float | None = attrs.field(default=None, converter=_lat)
    lon: float | None = attrs.field(default=None, converter=_lon)
    radius: float | None = attrs.field(default=None, converter=_radius)
    callback: str | None = attrs.field(default=None, converter=_callback)
    name: str | None = attrs.field(default=None, converter=_name)

    def __attrs_post_init__(self) -> None:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together: give both or neither")
        if self.location_id is None and self.lat is None:
            raise ValueError("a route needs a location: location_id, or lat and lon (or all)")

    def to_wire(self) -> dict[str, Any]:
        """The route as Bandwidth reads it: its keys, ``None`` left out."""
        values = {key: getattr(self, key) for key in _WIRE_KEYS}
        return {key: value for key, value in values.items() if value is not None}

    def to_json(self) -> bytes:
        """The JSON body of the answer (ASCII, compact)."""
        return json.dumps(self.to_wire(), separators=(",", ":")).encode()
