"""The claims store failing after a callback was answered ``2xx``: never silent.

A receiver whose ``queued`` mark fails after the publish landed logs an error (the work runs
all the same: it is pending since the claim). A worker that cannot reach the store to take
its lease logs an error for each try of the message, backs off with the queue's backoff,
and keeps the message (a dead letter is written to that same store): once the store is back
the work runs once. For real: redis-servers, a `celery worker` (tests/stores_app.py).
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import redis
from processes import running, start_redis, start_worker, wait_for
from support import free_port

from bwhooks import BasicAuth, CallbackRequest, Event, Receiver, parse_delivery
from bwhooks.auth import basic_authorization
from bwhooks.idempotency import idempotency_key
from bwhooks.queue.claims import RedisClaims, key_prefix
from bwhooks.queue.tasks import Envelope, TaskQueue, Verdict
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(120)
USER, PASSWORD = "stores", "stores-pass"
HEADERS = {"Content-Type": "application/json", "Authorization": basic_authorization(USER, PASSWORD)}


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    with running(start_redis(port, tmp_path_factory.mktemp("failures"))):
        yield port


def test_a_landed_publish_whose_queued_mark_fails_is_an_error_and_still_runs(
    redis_port: int, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    published: list[Envelope] = []
    ran: list[Event] = []

    class Recording(TaskQueue):
        def publish(self, envelope: Envelope) -> None:
            published.append(envelope)

    def blinked(*args: object, **options: object) -> None:
        raise redis.ConnectionError("Connection reset by peer")

    store = redis.Redis(port=redis_port)
    queue = Recording(RedisClaims(store, prefix=key_prefix(f"landed-{time.time_ns()}")))
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))

    @receiver.on(Event, queue=queue)
    def handled(event: Event) -> None:
        ran.append(event)

    monkeypatch.setattr(queue.claims, "queued", blinked)
    caplog.set_level(logging.INFO, "bwhooks.queue")
    body = json.dumps(fake_payload("sms")).encode()
    assert receiver.handle(CallbackRequest("POST", "/callbacks", HEADERS, body)).status == 200
    (envelope,) = published
    (logged,) = [r for r in caplog.records if "could not mark it queued" in r.getMessage()]
    assert logged.levelno == logging.ERROR
    assert envelope.key in logged.getMessage()
    assert "ConnectionError: Connection reset by peer" in logged.getMessage()
    assert (queue.claims.state(envelope.key) or "").startswith("enqueuing:")
    assert store.hexists(f"{queue.claims.prefix}pending", envelope.key)  # since the claim
    assert queue.run(envelope.to_dict()).verdict is Verdict.ACK  # the worker's run
    assert [
        f"{idempotency_key(event)}|{handled.__module__}:{handled.__qualname__}" for event in ran
    ] == [envelope.key]
    assert queue.claims.state(envelope.key) == "done"
    assert store.hlen(f"{queue.claims.prefix}pending") == 0
    store.close()


TRY = re.compile(
    r"^\[(?P<at>[\d-]+ [\d:,]+): ERROR/[^\]]*\] \[task [\w-]+\] "
    r"could not run (?P<work>\S+) \(try (?P<try>\d+) "
    r"of this message\): the claims store failed \((?P<reason>[^)]*)\); kept in the broker, "
    r"tried again in (?P<wait>[\d.]+)s$",
    re.MULTILINE,
)


def test_a_worker_whose_claims_store_is_down_backs_off_and_runs_the_work_once_it_is_back(
    redis_port: int, tmp_path: Path
) -> None:
    """The callback is claimed and published, then the claims store goes down: the worker's
    start-up check says so; each try of the message is an error with its count and reason,
    retried after the queue's backoff (0.2 s doubling, at most 0.5 s; never at once); past
    ``max_attempts`` (3) tries the message is still kept, not dead-lettered; the store comes
    back (its append-only file kept the claim) and the work runs once."""
    import stores_app

    claims_port = free_port()
    name = f"down-{time.time_ns()}"
    env = {
        "STORES_BROKER": f"redis://127.0.0.1:{redis_port}/2",
        "STORES_CLAIMS": f"redis://127.0.0.1:{claims_port}/0",
        "STORES_COUNTS": f"redis://127.0.0.1:{redis_port}/2",
        "STORES_NAME": name,
    }
    _, queue, receiver = stores_app.build(env)
    payload = fake_payload("sms")
    (event,) = parse_delivery(payload)
    key = idempotency_key(event)
    work = f"{key}|stores_app:record"
    request = CallbackRequest("POST", "/callbacks", HEADERS, json.dumps(payload).encode())
    claims_store = start_redis(claims_port, tmp_path, durable=True)
    with running(claims_store):
        assert receiver.handle(request).status == 200
        assert queue.claims.state(work) == "queued"
    worker = start_worker("down", env, tmp_path, app="stores_app:celery_app")
    with running(worker):
        wait_for(lambda: len(TRY.findall(worker.text())) >= 5, "five tries logged", worker)
        claims_store = start_redis(claims_port, tmp_path, durable=True)
        with running(claims_store):
            wait_for(lambda: queue.claims.state(work) == "done", "done once back", worker)
            counts = redis.Redis(port=redis_port, db=2)
            assert int(counts.hget(f"{name}:completions", key) or 0) == 1
            counts.close()
            assert queue.claims.dead_letters(5) == []
    text = worker.text()
    assert f"bwhooks queue {name!r}: the claims script enqueue fails" in text  # at start-up
    tries = [match.groupdict() for match in TRY.finditer(text)]
    assert [int(t["try"]) for t in tries[:5]] == [1, 2, 3, 4, 5]  # counted past max_attempts
    assert all(t["work"] == work and "ConnectionError" in t["reason"] for t in tries)
    waits = [float(t["wait"]) for t in tries]
    assert 0.1 <= waits[0] <= 0.2
    assert all(0.1 <= wait <= 0.5 for wait in waits)
    times = [datetime.strptime(t["at"], "%Y-%m-%d %H:%M:%S,%f") for t in tries[:5]]
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    assert all(gap >= 0.09 for gap in gaps), gaps  # backed off each time, never at once
    assert "dead-lettered" not in text
