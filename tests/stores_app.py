"""The app of the tests whose claims store is not the broker's plain Redis: a Redis Cluster,
a Sentinel's master, a store that goes away. A Celery worker runs it
(``celery -A stores_app:celery_app worker``); a test builds the same app in its own process
with :func:`build` and receives callbacks through its receiver, so both sides bind the one
handler, ``stores_app:record``.

Configured by the environment (or the mapping given to :func:`build`): ``STORES_BROKER``
(the broker URL: ``redis://`` or ``sentinel://...;sentinel://...``), ``STORES_MASTER`` (the
Sentinel's master name, for a ``sentinel://`` broker), ``STORES_CLAIMS`` (``cluster://host:port``
for a Redis Cluster, a ``redis://`` URL for a Redis of its own, unset: the broker's),
``STORES_COUNTS`` (a ``redis://`` URL where the handler counts its completions) and
``STORES_NAME`` (the queue's name, and the prefix of this run's other keys).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import redis
from celery import Celery
from redis.cluster import RedisCluster

from bwhooks import BasicAuth, Event, Receiver
from bwhooks.idempotency import idempotency_key
from bwhooks.queue.celery import CeleryQueue

USER, PASSWORD = "stores", "stores-pass"
TIMEOUT = 3.0  # as the claims client CeleryQueue builds: publish_timeout
NAME = os.environ.get("STORES_NAME", "stores")
COUNTS = redis.Redis.from_url(os.environ.get("STORES_COUNTS", "redis://127.0.0.1:1/0"))


def claims_client(url: str) -> Any:
    """The claims client ``STORES_CLAIMS`` names, with socket timeouts; ``None`` for the
    broker's."""
    if not url:
        return None
    if url.startswith("cluster://"):
        parts = urlsplit(url)
        return RedisCluster(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            socket_timeout=TIMEOUT,
            socket_connect_timeout=TIMEOUT,
        )
    return redis.Redis.from_url(url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT)


def build(env: Mapping[str, str]) -> tuple[Celery, CeleryQueue, Receiver]:
    """The Celery app, its queue and a receiver (Basic credentials :data:`USER` and
    :data:`PASSWORD`) that ``env`` describes, with :func:`record` bound to the queue."""
    name = env.get("STORES_NAME", "stores")
    options: dict[str, Any] = {
        # Test-sized timeouts, in the documented order: soft 2 < hard 3 < lease 4 <
        # visibility 6, and a lost worker's messages restored every second.
        "visibility_timeout": 6,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": 3,
    }
    if env.get("STORES_MASTER"):
        options["master_name"] = env["STORES_MASTER"]
    app = Celery("stores_app", broker=env.get("STORES_BROKER", "redis://127.0.0.1:1/0"))
    app.conf.update(
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        task_default_queue=f"{name}-tasks",
        broker_transport_options=options,
    )
    queue = CeleryQueue(
        app,
        name=name,
        redis=claims_client(env.get("STORES_CLAIMS", "")),
        spool=None,
        soft_time_limit=2,
        time_limit=3,
        lease=4,
        max_attempts=3,
        retry_backoff=0.2,
        retry_backoff_max=0.5,
        orphan_after=30,
    )
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    receiver.on(Event, queue=queue)(record)
    return app, queue, receiver


def record(event: Event) -> None:
    """Counts each completed run of ``event``, in ``STORES_COUNTS``."""
    COUNTS.hincrby(f"{NAME}:completions", idempotency_key(event), 1)


celery_app, queue, receiver = build(os.environ)
