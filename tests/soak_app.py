"""The app the soak test serves with gunicorn (``soak_app:wsgi_app``) and uvicorn
(``soak_app:asgi_app``): a receiver with a Redis idempotency store whose handler counts
each callback in Redis, so the test can check that every one was handled exactly once."""

from __future__ import annotations

import os
import time
import zlib

import redis

from bwhooks import BasicAuth, Event, Receiver
from bwhooks.adapters import asgi, wsgi
from bwhooks.idempotency import RedisStore

PREFIX = os.environ.get("SOAK_PREFIX", "soak:")
client = redis.Redis(port=int(os.environ.get("SOAK_REDIS_PORT", "6379")))


def _receiver() -> Receiver:
    receiver = Receiver(
        auth=BasicAuth(("soak", "soak-pass")),
        idempotency=RedisStore(client, prefix=PREFIX + "keys:"),
    )

    @receiver.on(Event)
    def count(event: Event) -> None:
        ident = str(event.raw.get("callId") or event.raw.get("messageId"))
        if zlib.crc32(ident.encode()) % 4 == 0:  # a slow one: duplicates catch it in flight
            time.sleep(0.05)
        client.incr(f"{PREFIX}handled:{ident}")

    return receiver


wsgi_app = wsgi.make_app(_receiver())
asgi_app = asgi.make_app(_receiver())
