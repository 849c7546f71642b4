"""Exceptions and warnings raised by bwhooks."""

from __future__ import annotations

import warnings

__all__ = [
    "FieldConversionWarning",
    "InsecureReceiverWarning",
    "InvalidCallback",
    "QueueUnavailable",
    "RetryLater",
]


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


class FieldConversionWarning(UserWarning):
    """A Voice v2 or Messaging v2 field could not be converted: the attribute is ``None``,
    its value stays in ``raw``, and the event is dispatched all the same.

    The report of every such callback is a WARNING on the ``bwhooks.decoding.parsing`` logger. This
    warning goes with it, hidden by default as ``DeprecationWarning`` is: your own filters
    come first (``-W default::bwhooks.FieldConversionWarning`` shows it, and
    ``pytest.warns`` catches it). A filter that turns it into an error never fails the
    callback.
    """


# The default filter of FieldConversionWarning: at the end of the list, so that any filter
# of the user's (-W, PYTHONWARNINGS, filterwarnings, pytest.warns) comes first.
_HIDDEN = ("ignore", None, FieldConversionWarning, None, 0)


def _hide_by_default() -> None:
    """Put :class:`FieldConversionWarning`'s default filter (``ignore``) at the end of the
    warnings filters, unless it is there: ``warnings.catch_warnings()`` drops it when it
    was added inside one (pytest imports its plugins, bwhooks' with them, inside one)."""
    if _HIDDEN not in warnings.filters:
        warnings.filterwarnings("ignore", category=FieldConversionWarning, append=True)


_hide_by_default()


class RetryLater(Exception):
    """Raised by a handler (or a queue) to ask Bandwidth to deliver again later: the callback
    is answered ``409`` with ``Retry-After``, logged at INFO, never as a failure."""


class QueueUnavailable(Exception):
    """A queued handler's event could not be handed to the queue (broker down, publish
    timed out): the callback is answered ``500`` so that Bandwidth delivers it again."""
