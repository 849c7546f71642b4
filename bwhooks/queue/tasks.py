"""Queued handlers, engine-neutral: what a receiver publishes and what a worker runs.

A handler registered with ``on(..., queue=queue)`` is not called by the receiver: the
queue's publisher is. It claims the ``(event, handler)`` pair in the shared claims store
(:mod:`bwhooks.queue.claims`), publishes an :class:`Envelope` (the event's wire payload and the
request's method, path, query and headers, never ``Authorization``) and returns, so the
callback is answered ``2xx`` only once the broker took it. A worker re-types the envelope
with the same parser and calls the same function under a lease: :meth:`TaskQueue.run`.

:class:`TaskQueue` composes the roles, each a class of its own: the
:class:`~bwhooks.queue.publishing.Publisher` (claim, publish within a bound, spool while the
broker is down) and its :class:`~bwhooks.queue.draining.SpoolDrainer`, the
:class:`~bwhooks.queue.running.Worker` (lease, run, retry, dead-letter, done), the
:class:`~bwhooks.queue.sweeping.OrphanSweeper` (work whose message a broker lost; the gauges)
and the :class:`~bwhooks.queue.requeuing.Requeuer` (dead letters sent back to work). A task
engine plugs in by subclassing :class:`TaskQueue` with :meth:`TaskQueue.publish` (bounding each
wait by :func:`publish_deadline`) and a worker task that calls :meth:`TaskQueue.run` and acts
on its :class:`Verdict` (:class:`bwhooks.queue.celery.CeleryQueue` does this for Celery).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from bwhooks.events import Event
from bwhooks.http import CallbackRequest
from bwhooks.idempotency import DAY
from bwhooks.queue.claims import DEFAULT_QUEUE, RedisClaims
from bwhooks.queue.context import Deadline, PublishTimeout, QueueOutcome, publish_deadline
from bwhooks.queue.envelopes import ENVELOPE_VERSION, DeadLetter, Envelope, EnvelopeError
from bwhooks.queue.leases import holder_is_dead, run_token
from bwhooks.queue.publishing import Publisher
from bwhooks.queue.requeuing import Requeuer
from bwhooks.queue.running import Ran, Verdict, Worker
from bwhooks.queue.spool import Spool
from bwhooks.queue.sweeping import OrphanSweeper
from bwhooks.registry import Handler, Queue

__all__ = [
    "ENVELOPE_VERSION",
    "DeadLetter",
    "Deadline",
    "Envelope",
    "EnvelopeError",
    "PublishTimeout",
    "Queue",
    "QueueOutcome",
    "Ran",
    "TaskQueue",
    "Verdict",
    "holder_is_dead",
    "publish_deadline",
    "run_token",
]

#: What a queue may be named: it names the Celery task, the Redis keys and the spool file.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", re.ASCII)


def _check_settings(
    name: str, max_attempts: int, publish_timeout: float, enqueue_ttl: float, replicas: int
) -> None:
    """Raise :class:`ValueError` for a queue's setting it cannot work with."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"queue name {name!r}: 1 to 64 letters, digits, '_', '-' or '.', beginning "
            "with a letter or digit (it names the task, the Redis keys and the spool file)"
        )
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    if not 0 < publish_timeout < enqueue_ttl:
        raise ValueError("publish_timeout must be positive and shorter than enqueue_ttl")
    if replicas < 0:
        raise ValueError("replicas must be 0 or more")


class TaskQueue:
    """The engine-neutral half of a queue; an engine subclasses it with :meth:`publish`.

    ``claims`` is the shared store (``None`` only for an engine whose :meth:`make_claims`
    builds it; a queue without one is refused when built); ``spool`` (a
    :class:`~bwhooks.queue.spool.Spool`, or ``None``) keeps events Bandwidth would not retry
    while the broker is down. A worker holds a ``lease`` (seconds) on each run, gives up
    after ``max_attempts`` runs (dead letter), and
    retries after ``retry_backoff * 2**(attempt-1)`` seconds (at most ``retry_backoff_max``,
    with jitter). A completed run is remembered for ``done_ttl`` seconds.

    A receiver's claim and publish of an event end within ``publish_timeout`` seconds
    together (one :class:`~bwhooks.queue.context.Deadline`): past it the callback is
    answered as when the broker is down. Its ``enqueuing`` claim is kept ``enqueue_ttl``
    seconds at most, longer than that bound. With ``replicas`` (``1``: Redis ``WAIT``), the
    callback is answered only once that many replicas of the claims Redis acknowledged its
    claim (and the message, when the broker is that Redis), within the same bound.

    Where the engine cannot stop a handler at its time limit (``renew_leases``: threads,
    solo), the lease is renewed while the handler runs, and renewal stops once the run lasted
    ``time_limit`` seconds (``None``: renewed for as long as it runs): the lease lapses, and
    another worker takes the work over (counted as an attempt). A handler reads its run with
    :func:`~bwhooks.queue.leases.current_run`.

    Its roles read these settings when they use them: :attr:`publisher` (with its
    ``drainer``), :attr:`worker` and :attr:`sweeper`.
    """

    def __init__(
        self,
        claims: RedisClaims | None,
        *,
        name: str = DEFAULT_QUEUE,
        spool: Spool | None = None,
        lease: float = 120.0,
        max_attempts: int = 8,
        retry_backoff: float = 2.0,
        retry_backoff_max: float = 300.0,
        done_ttl: float = 2 * DAY,
        enqueue_ttl: float = 30.0,
        publish_timeout: float = 3.0,
        replicas: int = 0,
        renew_leases: bool = True,
        time_limit: float | None = None,
        on_dead_letter: Callable[[DeadLetter], Any] | None = None,
        metrics: Callable[[QueueOutcome], Any] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        _check_settings(name, max_attempts, publish_timeout, enqueue_ttl, replicas)
        if claims is None and type(self).make_claims is TaskQueue.make_claims:
            raise ValueError(f"queue {name!r} has no claims store: pass claims=RedisClaims(...)")
        self._claims = claims
        self.name = name
        self.spool = spool
        self.lease = lease
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.retry_backoff_max = retry_backoff_max
        self.done_ttl = done_ttl
        self.enqueue_ttl = enqueue_ttl
        self.publish_timeout = publish_timeout
        self.replicas = replicas
        self.renew_leases = renew_leases
        self.time_limit = time_limit
        self.on_dead_letter = on_dead_letter
        self.metrics = metrics
        self.logger = logger or logging.getLogger("bwhooks.queue")
        self.handlers: dict[str, Handler] = {}
        #: A receiver's side: claim, publish, spool (and drain the spool).
        self.publisher = Publisher(self)
        #: A worker's side: lease, run, retry, dead-letter, done.
        self.worker = Worker(self)
        #: Work whose message the broker lost, published again; the gauges.
        self.sweeper = OrphanSweeper(self)
        #: Dead letters sent back to work.
        self.requeuer = Requeuer(self)

    @property
    def claims(self) -> RedisClaims:
        """The shared claims store (built by :meth:`make_claims` when first needed)."""
        if self._claims is None:
            self._claims = self.make_claims()
        return self._claims

    # -- the engine's part ------------------------------------------------------------------

    def make_claims(self) -> RedisClaims:
        """The claims store, when none was given."""
        raise ValueError(f"queue {self.name!r} has no claims store")

    def publish(self, envelope: Envelope) -> None:
        """Hand ``envelope`` to the broker within
        :func:`~bwhooks.queue.context.publish_deadline` (else ``publish_timeout``); raise
        if it was not accepted."""
        raise NotImplementedError

    # -- receivers: the publisher's ---------------------------------------------------------

    def bind(self, handler: Handler) -> Callable[[Event], None]:
        """Register ``handler`` under its ``module:qualname`` and return its publisher; the
        spool's drainer starts in this process (what an earlier process left is published)."""
        publish = self.publisher.bind(handler)
        self.publisher.drainer.ensure_running()
        return publish

    def envelope(self, handler: str, event: Event, request: CallbackRequest) -> Envelope:
        """The envelope of ``event`` for ``handler``, from the request that carried it."""
        return self.publisher.envelope(handler, event, request)

    def enqueue(self, envelope: Envelope, event: Event) -> None:
        """Claim and publish ``envelope``; when the broker (or the store) fails, spool it if
        Bandwidth would not retry the event, else raise :class:`QueueUnavailable`."""
        self.publisher.enqueue(envelope, event)

    def drain_spool(self, limit: int = 100) -> int:
        """Publish what the spool holds, oldest first, until it is empty or the broker
        fails again; returns how many envelopes left the spool."""
        return self.publisher.drainer.drain(limit)

    def republish_orphans(self, idle: float, limit: int = 100) -> int:
        """Publish again the work still ``queued`` that nothing moved for ``idle`` seconds
        (its message lost by the broker); returns how many. A duplicate message is
        harmless: the claims run the work once."""
        return self.sweeper.republish(idle, limit)

    # -- workers: the worker's --------------------------------------------------------------

    def run(self, data: Any, task_id: str | None = None) -> Ran:
        """Run one message on a worker: take the lease, re-type the event, call the handler
        with :func:`~bwhooks.current_request` set, then mark it done, retry it, or
        dead-letter it. Never raises for the handler's failure. ``task_id``: the engine's
        id of the message, at the start of each line logged for it (``[task <id>]``)."""
        return self.worker.run(data, task_id)

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number ``attempt``: exponential, capped, with jitter."""
        return self.worker.backoff(attempt)

    def dead_letters(self, count: int = 100) -> list[DeadLetter]:
        """The newest ``count`` dead letters, oldest first, each with its ``id``."""
        return self.worker.dead_letters(count)

    # -- operators: dead letters and gauges -------------------------------------------------

    def requeue_dead_letter(self, letter_id: str) -> bool:
        """Send dead letter ``letter_id`` back to work: publishable again with
        ``max_attempts`` attempts, pending, published; the letter is removed once the broker
        took it (a letter whose work was done meanwhile is removed, nothing published).
        ``True`` when the letter is gone; ``False`` when there is no such letter, or it
        stays: its work queued or running again (a re-send), no envelope in it, or the
        publish failed (its work is then free for the next delivery)."""
        return self.requeuer.requeue(letter_id).removed

    def requeue_dead_letters(self, ids: list[str] | None = None, handler: str | None = None) -> int:
        """:meth:`requeue_dead_letter` each of ``ids`` (every letter when ``None``), only the
        letters for ``handler`` (``module:qualname``) when given; how many are gone."""
        return sum(done.removed for done in self.requeuer.requeue_many(ids, handler))

    def gauges(self) -> dict[str, float]:
        """``spool-depth``, ``pending``, ``pending-oldest-age`` (seconds) and ``dead-letters``,
        now (each worker reports them to ``metrics`` after each sweep)."""
        return self.sweeper.gauges()
