"""The app the queue tests serve: receivers (``queue_app:wsgi_app``, ``queue_app:asgi_app``)
and Celery workers (``celery -A queue_app:celery_app worker``) built from one module, as a
user writes it. Every handler run is counted in Redis, so the tests can tell how many times
each callback started and completed.

Configured by the environment: ``QUEUE_REDIS_URL`` (broker and store), ``QUEUE_PREFIX``
(Redis keys of this run), ``QUEUE_SPOOL`` (the spool file), ``QUEUE_SLEEP`` (seconds each
queued run takes), ``QUEUE_ORPHAN_AFTER`` (the sweep's idle time, 30 s by default).
"""

from __future__ import annotations

import base64
import json
import os
import time

import redis
from celery import Celery

from bwhooks import BasicAuth, Event, Receiver, current_request
from bwhooks.adapters import asgi, wsgi
from bwhooks.events import (
    EndpointEvent,
    MessagingEvent,
    NumbersEvent,
    SubscriptionNotificationEvent,
    TollFreeVerificationEvent,
    VoiceAnswerEvent,
    VoiceEvent,
)
from bwhooks.events._base import thaw
from bwhooks.idempotency import idempotency_key
from bwhooks.queue.celery import CeleryQueue
from bwhooks.queue.tasks import DeadLetter

URL = os.environ.get("QUEUE_REDIS_URL", "redis://127.0.0.1:6379/0")
PREFIX = os.environ.get("QUEUE_PREFIX", "queue-test:")
SLEEP = float(os.environ.get("QUEUE_SLEEP", "0"))
USER, PASSWORD = "queue", "queue-pass"

celery_app = Celery("queue_app", broker=URL)
celery_app.conf.update(
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    worker_cancel_long_running_tasks_on_connection_loss=True,
    task_default_queue=f"{PREFIX}tasks",
    broker_transport_options={
        # Test-sized timeouts, in the documented order: soft 2 < hard 3 < lease 4 <
        # visibility 6, and a lost worker's messages restored every second (kombu >= 5.7).
        "visibility_timeout": 6,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": 3,
    },
)
store = redis.Redis.from_url(URL)


def dead_lettered(letter: DeadLetter) -> None:
    store.rpush(f"{PREFIX}dead-hook", letter.envelope["key"])


queue = CeleryQueue(
    celery_app,
    name=PREFIX.rstrip(":").replace(":", "-"),
    spool=os.environ.get("QUEUE_SPOOL") or None,
    soft_time_limit=2,
    time_limit=3,
    lease=4,
    max_attempts=3,
    retry_backoff=0.2,
    retry_backoff_max=0.5,
    orphan_after=float(os.environ.get("QUEUE_ORPHAN_AFTER", "30")),  # beyond the soak's waits
    on_dead_letter=dead_lettered,
)
receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))


def ident(event: Event) -> str:
    return idempotency_key(event)


@receiver.on(Event, queue=queue)
def record(event: Event) -> None:
    """Every callback, v1 and v2: a start and a completion per run."""
    key = ident(event)
    with store.pipeline() as marks:  # one transaction: a count without its marker is impossible
        marks.hincrby(f"{PREFIX}starts", key, 1)
        marks.rpush(f"{PREFIX}runs", f"start {key} {os.getpid()} {time.time()}")
        marks.execute()
    request = current_request()
    if request.headers.get("Authorization") is not None:
        store.incr(f"{PREFIX}leaked-authorization")
    text = event.raw.get("message", {}).get("text") if isinstance(event, MessagingEvent) else None
    if text == "poison":
        raise RuntimeError("a handler that always fails")
    if SLEEP:
        time.sleep(SLEEP)
    with store.pipeline() as marks:  # one write: a test that sees the completion sees the path
        marks.hset(f"{PREFIX}paths", key, request.path)
        marks.hincrby(f"{PREFIX}completions", key, 1)
        marks.rpush(f"{PREFIX}runs", f"finish {key} {os.getpid()} {time.time()}")
        marks.execute()


@receiver.on(VoiceEvent, queue=queue)
async def record_async(event: VoiceEvent) -> None:
    """An async def handler, on the same queue: it runs on a worker too."""
    store.hincrby(f"{PREFIX}async-completions", ident(event), 1)


@receiver.on(VoiceAnswerEvent)
def answer(event: VoiceAnswerEvent) -> str:
    """Inline, beside the queued ones: the BXML answer is unchanged."""
    return "<Response><SpeakSentence>queued</SpeakSentence></Response>"


@receiver.on(NumbersEvent, queue=queue)
def numbers(event: NumbersEvent) -> None:
    """Numbers notifications (XML): what the worker rebuilt, kept for the tests to compare
    with the receiver's event; fails while ``<PREFIX>numbers-poison`` is set."""
    store.hincrby(f"{PREFIX}numbers-starts", ident(event), 1)
    if store.get(f"{PREFIX}numbers-poison"):
        raise RuntimeError("a Numbers handler failing while asked to")
    request = current_request()
    seen = {
        "repr": repr(event),
        "raw": thaw(event.raw),
        "body": base64.b64encode(request.body).decode(),
        "content_type": request.headers.get("Content-Type"),
        "authorization": request.headers.get("Authorization"),
    }
    store.hset(f"{PREFIX}numbers", ident(event), json.dumps(seen))


def kept(handler: str, event: Event) -> None:
    """What the worker rebuilt of a JSON family's event, and the request its handler sees,
    kept under ``<PREFIX><handler>`` for the tests to compare with the receiver's."""
    request = current_request()
    seen = {
        "class": type(event).__name__,
        "repr": repr(event),
        "raw": thaw(event.raw),
        "body": base64.b64encode(request.body).decode(),
        "headers": [name.lower() for name, _ in request.headers.pairs()],
    }
    store.hset(f"{PREFIX}{handler}", ident(event), json.dumps(seen))


@receiver.on(TollFreeVerificationEvent, queue=queue)
def toll_free(event: TollFreeVerificationEvent) -> None:
    """Every toll-free verification result, whatever its shape."""
    kept("toll_free", event)


@receiver.on(SubscriptionNotificationEvent, queue=queue)
def subscriptions(event: SubscriptionNotificationEvent) -> None:
    kept("subscriptions", event)


@receiver.on(EndpointEvent, queue=queue)
def endpoints(event: EndpointEvent) -> None:
    """Every endpoint event, connected, disconnected or of an unknown type."""
    kept("endpoints", event)


wsgi_app = wsgi.make_app(receiver)
asgi_app = asgi.make_app(receiver)
