"""Reading the declared type of an event attribute."""

from __future__ import annotations

import typing
from typing import Any

__all__ = ["declared_type"]


def declared_type(hint: Any) -> Any:
    """``X`` of an attribute hinted ``X | None`` (any other hint as it is)."""
    args = [t for t in typing.get_args(hint) if t is not type(None)]
    return args[0] if len(args) == 1 and typing.get_origin(hint) is not tuple else hint
