"""The app of tests/test_fencing.py: a receiver (built in the test's process) and Celery
workers (``celery -A fencing_app:celery_app worker -P threads``) from one module.

Its one queued handler says, in Redis, what its run saw: ``starts`` gets each run's attempt
and token as it starts; the run then waits until the test pushes to ``release:<attempt>``,
and ``woke`` gets what it saw then (:attr:`~bwhooks.queue.Run.lost` before and after
:meth:`~bwhooks.queue.Run.still_held`). The metrics hook pushes each outcome to ``outcomes``.

Configured by the environment: ``FENCING_REDIS_URL`` (broker and store), ``FENCING_PREFIX``
(the Redis keys and the queue's name of one test).
"""

from __future__ import annotations

import json
import os
import time

import redis
from celery import Celery

from bwhooks import BasicAuth, Event, Receiver
from bwhooks.queue import QueueOutcome, current_run
from bwhooks.queue.celery import CeleryQueue

URL = os.environ.get("FENCING_REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = os.environ.get("FENCING_PREFIX", "fencing:")
USER, PASSWORD = "fencing", "fencing-pass"
#: The queue's limits: a run may last TIME_LIMIT seconds; its lease, renewed every third of
#: LEASE, lapses LEASE seconds after its last renewal.
TIME_LIMIT, LEASE = 3.0, 2.0

celery_app = Celery("fencing_app", broker=URL)
celery_app.conf.update(
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    task_default_queue=f"{PREFIX}tasks",
    # No redelivery by the broker within a test: work a run lost comes back by the sweep.
    broker_transport_options={"visibility_timeout": 60},
)
store = redis.Redis.from_url(URL)


def measured(outcome: QueueOutcome) -> None:
    store.rpush(f"{PREFIX}outcomes", f"{outcome.name} {outcome.attempt}")


queue = CeleryQueue(
    celery_app,
    name=PREFIX.rstrip(":"),
    spool=None,
    soft_time_limit=TIME_LIMIT - 0.5,
    time_limit=TIME_LIMIT,
    lease=LEASE,
    max_attempts=3,
    retry_backoff=0.2,
    retry_backoff_max=0.5,
    orphan_after=1.0,
    metrics=measured,
)
receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))


@receiver.on(Event, queue=queue)
def fenced(event: Event) -> None:
    """Say what this run is, wait to be released, then say what it saw."""
    run = current_run()
    assert run is not None
    started = {"attempt": run.attempt, "token": run.token, "key": run.key, "pid": os.getpid()}
    store.rpush(f"{PREFIX}starts", json.dumps(started))
    deadline = time.monotonic() + 60
    while not store.blpop([f"{PREFIX}release:{run.attempt}"], timeout=1):
        if time.monotonic() > deadline:
            break
    lost_before = run.lost
    held = run.still_held()
    woke = {"attempt": run.attempt, "lost_before": lost_before, "held": held, "lost": run.lost}
    store.rpush(f"{PREFIX}woke", json.dumps(woke))
