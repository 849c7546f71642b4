"""A service whose handlers are routed (tests/test_queue_routes.py): one to its own broker
queue with a priority, one rate limited, one on the default queue. Every run is recorded in
Redis with the worker that ran it. Configured by ``ROUTES_REDIS_URL`` and ``ROUTES_PREFIX``.
"""

from __future__ import annotations

import json
import os
import time

import redis
from celery import Celery, current_task

from bwhooks import BasicAuth, Receiver
from bwhooks.events import MessagingEvent
from bwhooks.queue.celery import CeleryQueue

URL = os.environ.get("ROUTES_REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = os.environ.get("ROUTES_PREFIX", "routes:")
SLOW, DEFAULT = f"{PREFIX}slow", f"{PREFIX}tasks"

celery_app = Celery("routes-service", broker=URL)  # the queue is named after it
celery_app.conf.update(
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    task_default_queue=DEFAULT,
    broker_transport_options={"visibility_timeout": 60},
)
store = redis.Redis.from_url(URL)
queue = CeleryQueue(
    celery_app, soft_time_limit=5, time_limit=6, lease=8, retry_backoff=0.1, retry_backoff_max=0.2
)
receiver = Receiver(auth=BasicAuth(("routes", "routes-pass")))


def _record(name: str, event: MessagingEvent) -> None:
    request = current_task.request
    store.rpush(
        f"{PREFIX}runs:{name}",  # not the broker queue {PREFIX}slow
        json.dumps(
            {
                "text": event.raw.get("message", {}).get("text"),
                "worker": request.hostname,
                "priority": (request.delivery_info or {}).get("priority"),
                "task": current_task.name,
                "at": time.time(),
            }
        ),
    )


@receiver.on(MessagingEvent, queue=queue.route(queue=SLOW, priority=7))
def slow(event: MessagingEvent) -> None:
    """Routed to the slow queue: it fails once for a text of ``again``."""
    _record("slow", event)
    text = event.raw.get("message", {}).get("text")
    if text == "again" and store.incr(f"{PREFIX}failed-once") == 1:
        raise RuntimeError("fails once, retried on the same queue")


@receiver.on(MessagingEvent, queue=queue.route(rate_limit="2/s"))
def limited(event: MessagingEvent) -> None:
    """At most two runs a second on a worker."""
    _record("limited", event)


@receiver.on(MessagingEvent, queue=queue)
def plain(event: MessagingEvent) -> None:
    """Not routed: the app's default queue."""
    _record("plain", event)
