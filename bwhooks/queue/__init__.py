"""Queued handlers: a callback answered once the broker has it, its handler run on a worker.

Above the core, imported only when a receiver is given a queue. :mod:`bwhooks.queue.tasks` is
the engine-neutral part (envelopes, running work once, retries, dead letters),
:mod:`bwhooks.queue.claims` the Redis claims that make each piece of work complete once,
:mod:`bwhooks.queue.spool` the on-disk spool for a broker that is down, and
:mod:`bwhooks.queue.celery` the Celery engine (also importable as :mod:`bwhooks.celery`).
"""

from bwhooks.queue.context import QueueOutcome
from bwhooks.queue.envelopes import DeadLetter, Envelope

__all__ = ["DeadLetter", "Envelope", "QueueOutcome"]
