"""What the roles of a queue share: the queue that composes them, as they see it, and the
outcomes they report.

A queue is composed of roles, each a class of its own: the
:class:`~bwhooks.queue.publishing.Publisher` (a receiver's side), its
:class:`~bwhooks.queue.draining.SpoolDrainer`, the :class:`~bwhooks.queue.running.Worker`
(a worker's side) and the :class:`~bwhooks.queue.sweeping.OrphanSweeper`. Each is given the
queue that composes it (a :class:`QueueContext`, such as
:class:`~bwhooks.queue.tasks.TaskQueue`) and reads its settings when it uses them, so that a
setting or hook changed on the queue later counts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import attrs

from bwhooks.events import Event
from bwhooks.observe import event_ids
from bwhooks.queue.claims import RedisClaims
from bwhooks.queue.envelopes import DeadLetter, Envelope
from bwhooks.queue.spool import Spool
from bwhooks.registry import Handler

__all__ = ["QueueContext", "QueueOutcome", "report"]


@attrs.frozen
class QueueOutcome:
    """One step of queued work, as given to ``metrics``.

    ``name`` on a receiver: ``queued``, ``duplicate`` (already queued or done),
    ``spooled``, ``unspooled`` (published from the spool) or ``unqueued`` (the broker was
    down: ``500``); on a worker: ``handled``, ``skipped`` (done before), ``retried``,
    ``deferred`` (another worker's live lease), ``dead-lettered`` or ``republished`` (its
    message lost by the broker). ``duration`` is the handler's run time on a worker.
    """

    name: str
    event_type: str | None
    ids: str
    handler: str
    attempt: int = 0
    duration: float = 0.0


class QueueContext(Protocol):
    """A queue as its roles see it: its settings and hooks (see
    :class:`~bwhooks.queue.tasks.TaskQueue` for each), the handlers bound to it by name, its
    claims store, and its engine's :meth:`publish`."""

    name: str
    spool: Spool | None
    lease: float
    max_attempts: int
    retry_backoff: float
    retry_backoff_max: float
    done_ttl: float
    enqueue_ttl: float
    renew_leases: bool
    on_dead_letter: Callable[[DeadLetter], Any] | None
    metrics: Callable[[QueueOutcome], Any] | None
    logger: logging.Logger
    handlers: dict[str, Handler]

    @property
    def claims(self) -> RedisClaims:
        """The shared claims store."""

    def publish(self, envelope: Envelope) -> None:
        """Hand ``envelope`` to the broker within a bounded time; raise if it was not taken."""


def report(
    queue: QueueContext,
    name: str,
    event: Event | None,
    handler: str,
    *,
    attempt: int = 0,
    duration: float = 0.0,
) -> None:
    """Give the :class:`QueueOutcome` ``name`` to the queue's ``metrics`` hook, if any; a
    failing hook is logged, never raised."""
    if queue.metrics is None:
        return
    outcome = QueueOutcome(
        name,
        event.event_type if event else None,
        event_ids(event) if event else "",
        handler,
        attempt,
        duration,
    )
    try:
        queue.metrics(outcome)
    except Exception:
        queue.logger.exception("the metrics hook failed")
