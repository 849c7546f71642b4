"""Exceptions and warnings raised by bwhooks."""

from __future__ import annotations

__all__ = ["InsecureReceiverWarning", "InvalidCallback"]


class InvalidCallback(ValueError):
    """Input that cannot be a Bandwidth callback; a receiver answers it with ``400``.

    ``reason`` is a short description that is safe to send back to the caller: it never
    contains credentials or payload values. ``field`` names the wire field at fault, when
    there is one (``"time"``, ``"diversion.counter"``).
    """

    def __init__(self, reason: str, *, field: str | None = None) -> None:
        self.reason = reason
        self.field = field
        super().__init__(reason)


class InsecureReceiverWarning(UserWarning):
    """A receiver was built without authentication: anyone can post callbacks to it."""
