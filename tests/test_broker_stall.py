"""A broker that stalls (redis-server frozen with SIGSTOP: a VM pause, a Redis blocked on
its disk) and comes back: the worker consumes again. Real redis-server, a real prefork
``celery worker`` serving tests/queue_app.py, its receiver in this process."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from processes import imported, running, start_redis, start_worker, wait_for
from support import free_port

from bwhooks import CallbackRequest, parse_delivery
from bwhooks.auth import basic_authorization
from bwhooks.idempotency import idempotency_key
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(150)
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": basic_authorization("queue", "queue-pass"),
}
STALL = 18.0  # past kombu's point of no return (~15 s) with a 3 s socket timeout


def test_a_worker_consumes_again_after_the_broker_stalled(tmp_path: Path) -> None:
    port = free_port()
    env = {
        "QUEUE_REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "QUEUE_PREFIX": "stall:",
        "QUEUE_SLEEP": "1",
        # A run cut by the stall whose retry cannot be published (Celery rejects it) is
        # pending work: the sweep publishes it again once it has been idle this long.
        "QUEUE_ORPHAN_AFTER": "5",
    }
    redis_server = start_redis(port, tmp_path)
    with running(redis_server):
        app = imported("queue_app", env)
        worker = start_worker("stall", env, tmp_path, concurrency=2)
        with running(worker):

            def deliver() -> str:
                payload = fake_payload("message-received")
                body = json.dumps(payload).encode()
                answer = app.receiver.handle(CallbackRequest("POST", "/callbacks", HEADERS, body))
                assert answer.status == 200
                return idempotency_key(parse_delivery(payload)[0])

            def completed(key: str) -> int:
                return int(app.store.hget(f"{app.PREFIX}completions", key) or 0)

            before = [deliver() for _ in range(3)]  # running while the broker stalls
            time.sleep(0.5)
            os.kill(redis_server.pid, signal.SIGSTOP)
            try:
                time.sleep(STALL)
            finally:
                os.kill(redis_server.pid, signal.SIGCONT)
            after = deliver()
            wait_for(
                lambda: [completed(key) for key in [*before, after]] == [1, 1, 1, 1],
                "every callback completed once after the stall",
                worker,
                timeout=90,
            )
