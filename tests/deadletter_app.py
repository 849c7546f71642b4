"""The app of tests/test_dead_letters.py, in two releases, as a rolling deploy runs them: the
receiver (this process) and a worker started with ``DEAD_VERSION=2`` know the handler
``added``; a worker of the release before (``DEAD_VERSION=1``) does not, and dead-letters
its work (``celery -A deadletter_app:celery_app worker``). Every run of ``added`` is counted
in Redis.

Configured by the environment: ``DEAD_REDIS_URL`` (broker and store), ``DEAD_QUEUE`` (the
queue's name: its Redis keys and its broker list), ``DEAD_VERSION`` (2 by default).
:data:`offline` is the same queue with a broker that refuses every message.
"""

from __future__ import annotations

import os

import redis
from celery import Celery

from bwhooks import BasicAuth, Event, Receiver
from bwhooks.idempotency import idempotency_key
from bwhooks.queue.celery import CeleryQueue
from bwhooks.queue.claims import RedisClaims, key_prefix
from bwhooks.queue.tasks import Envelope, TaskQueue

URL = os.environ.get("DEAD_REDIS_URL", "redis://127.0.0.1:6379/0")
NAME = os.environ.get("DEAD_QUEUE", "dead-test")
VERSION = int(os.environ.get("DEAD_VERSION", "2"))
TASKS = f"{NAME}-tasks"  # the broker's list of this queue's messages

celery_app = Celery("deadletter_app", broker=URL)
celery_app.conf.update(
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    task_default_queue=TASKS,
    # soft 2 < hard 3 < lease 4 < visibility 6, as tests/queue_app.py
    broker_transport_options={"visibility_timeout": 6, "unacked_restore_interval": 1},
)
store = redis.Redis.from_url(URL, socket_timeout=5, socket_connect_timeout=5)

queue = CeleryQueue(
    celery_app,
    name=NAME,
    spool=None,
    soft_time_limit=2,
    time_limit=3,
    lease=4,
    max_attempts=2,
    retry_backoff=0.1,
    retry_backoff_max=0.2,
    orphan_after=30,
)

#: A broker that refuses every message: nothing listens on port 1 of this machine.
unreachable = Celery("deadletter_unreachable", broker="redis://127.0.0.1:1/0")


class Offline(TaskQueue):
    """The same queue (its claims, its dead letters), publishing its task's messages to the
    broker that refuses them. Not a second CeleryQueue: Celery shares tasks between apps,
    and the one registered last would run this queue's messages on the workers."""

    def publish(self, envelope: Envelope) -> None:
        unreachable.send_task(queue.task.name, (envelope.to_dict(),), retry=False)


offline = Offline(RedisClaims(store, prefix=key_prefix(NAME)), name=NAME)

receiver = Receiver(auth=BasicAuth(("dead", "dead-pass")))

if VERSION >= 2:

    @receiver.on(Event, queue=queue)
    def added(event: Event) -> None:
        """The handler the new release adds: a start and a completion per run."""
        key = idempotency_key(event)
        store.hincrby(f"{NAME}:starts", key, 1)
        store.hincrby(f"{NAME}:completions", key, 1)
