"""Queued handlers: a callback answered once the broker has it, its handler run on a worker.

Above the core, imported only when a receiver is given a queue. The engine-neutral part:
:mod:`bwhooks.queue.tasks` (:class:`~bwhooks.queue.tasks.TaskQueue`, which composes the
roles), :mod:`bwhooks.queue.envelopes` (what travels through the broker, dead letters),
:mod:`bwhooks.queue.publishing` (a receiver's side: claim, publish, spool),
:mod:`bwhooks.queue.draining` (the spool's drainer), :mod:`bwhooks.queue.running` (a worker's
side: lease, run, retry, dead-letter) with :mod:`bwhooks.queue.leases`,
:mod:`bwhooks.queue.sweeping` (work a broker lost, published again; the gauges),
:mod:`bwhooks.queue.requeuing` (dead letters published again), :mod:`bwhooks.queue.routes`
(a handler's broker queue, priority and rate limit) and
:mod:`bwhooks.queue.context` (what the roles read of their queue, the outcomes they report);
:mod:`bwhooks.queue.claims`, the Redis claims that make each piece of work complete once;
:mod:`bwhooks.queue.spool`, the on-disk spool for a broker that is down. The engine:
:mod:`bwhooks.queue.celery` (also importable as :mod:`bwhooks.celery`).

A handler running on a worker reads its run with :func:`current_run` (a :class:`Run`: its
attempt, a fencing token; whether its lease was lost).
"""

from bwhooks.queue.context import QueueOutcome
from bwhooks.queue.envelopes import DeadLetter, Envelope
from bwhooks.queue.leases import Run, current_run

__all__ = ["DeadLetter", "Envelope", "QueueOutcome", "Run", "current_run"]
