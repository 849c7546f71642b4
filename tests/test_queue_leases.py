"""Leases that lapse, with real processes: a redis-server (broker and claims), `celery worker`
processes and a gunicorn receiver serving tests/queue_app.py on 127.0.0.1.

A lease lapsing is never the end of the work: a node lost with the broker's copy of its
message leaves work a sweep publishes again, and a run that ends after its lease lapsed
(nobody took the work over) is marked done all the same.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from processes import Service, running, start_gunicorn, start_redis, start_worker, wait_for
from support import free_port

from bwhooks import CallbackRequest, parse_delivery
from bwhooks.auth import basic_authorization
from bwhooks.dispatch import handling
from bwhooks.errors import QueueUnavailable
from bwhooks.idempotency import idempotency_key
from bwhooks.queue.claims import RedisClaims, Start, key_prefix
from bwhooks.queue.tasks import Envelope, TaskQueue, Verdict
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(180)
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": basic_authorization("queue", "queue-pass"),
}
LEASE = 4.0  # tests/queue_app.py's
HANDLER = "queue_app:record"


class Node:
    """One test's services and what they wrote: the handler's start and completion counts
    (tests/queue_app.py), the claims, the broker's lists."""

    def __init__(self, port: int, directory: Path, prefix: str, **env: str) -> None:
        self.directory, self.prefix = directory, prefix
        self.env = {
            "QUEUE_REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "QUEUE_PREFIX": prefix,
            "QUEUE_SPOOL": "",
            **env,
        }
        self.store = redis.Redis(port=port)
        self.claims = RedisClaims(self.store, prefix=key_prefix(prefix.rstrip(":")))

    def count(self, name: str, key: str) -> int:
        return int(self.store.hget(self.prefix + name, key) or 0)

    def broker_holds(self) -> int:
        """Messages in the broker: waiting in the queue, or delivered and unacknowledged."""
        return int(self.store.llen(f"{self.prefix}tasks")) + int(self.store.hlen("unacked"))

    def pending(self) -> int:
        return int(self.store.zcard(f"{self.claims.prefix}pending-at"))


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    service = start_redis(port, tmp_path_factory.mktemp("leases"))
    try:
        yield port
    finally:
        service.kill()


def receiver(node: Node) -> tuple[Service, int]:
    port = free_port()
    return start_gunicorn(port, node.env, node.directory, workers=1), port


def deliver(port: int, payload: Any) -> int:
    """POST ``payload`` to the receiver on 127.0.0.1:``port``, as Bandwidth does."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request("POST", "/callbacks", body=json.dumps(payload).encode(), headers=HEADERS)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def key_of(payload: Any) -> str:
    (event,) = parse_delivery(payload)
    return idempotency_key(event)


def test_a_node_lost_with_the_broker_copy_of_its_message_completes_the_work_once(
    redis_port: int, tmp_path: Path
) -> None:
    """A worker node is SIGKILLed (the whole process group) mid-handler, and the broker's
    unacknowledged copy of the message is removed: the lease lapses, the sweep of another
    node publishes the work again, and it completes once, without waiting for a visibility
    timeout (there is no copy left to redeliver)."""
    node = Node(redis_port, tmp_path, "nodeloss:", QUEUE_SLEEP="1.5", QUEUE_ORPHAN_AFTER="1")
    gunicorn, port = receiver(node)
    lost = start_worker("lost", node.env, tmp_path)
    with running(gunicorn, lost):
        payload = fake_payload("sms")
        key = key_of(payload)
        work = f"{key}|{HANDLER}"
        assert deliver(port, payload) == 200
        wait_for(lambda: node.count("starts", key) == 1, "the handler started", lost)
        lost.kill()  # the node is gone, its run half done...
        assert node.count("completions", key) == 0
        assert node.store.hlen("unacked") == 1  # ...and the broker's copy of the message:
        node.store.delete("unacked", "unacked_index")  # lost (a failover, kombu's pop)
        assert node.broker_holds() == 0
        state = node.claims.state(work)
        assert (state or "").startswith("running:")  # a lease of a dead node: it lapses
        survivor = start_worker("survivor", node.env, tmp_path)
        with running(survivor):
            wait_for(lambda: node.claims.state(work) == "done", "done on another node", survivor)
            wait_for(lambda: node.pending() == 0, "the pending index emptied", survivor)
            wait_for(lambda: node.broker_holds() == 0, "no message left", survivor)
            assert node.count("completions", key) == 1
            assert node.count("starts", key) == 2  # the killed run, and the one completed
            assert "published the" in survivor.text()  # by the sweep, not a redelivery


def test_a_run_that_ends_after_its_lease_lapsed_is_done_and_not_run_again(
    redis_port: int, tmp_path: Path
) -> None:
    """A worker (solo pool: no time limit stops it) frozen mid-handler until its lease
    lapsed, then thawed: its run completes, nobody took the work over, so the work is
    ``done``, and a later duplicate delivery is not published nor run again."""
    node = Node(redis_port, tmp_path, "late:", QUEUE_SLEEP="1")
    gunicorn, port = receiver(node)
    worker = start_worker("late", node.env, tmp_path, pool="solo")
    with running(gunicorn, worker):
        payload = fake_payload("sms")
        key = key_of(payload)
        work = f"{key}|{HANDLER}"
        assert deliver(port, payload) == 200
        wait_for(lambda: node.count("starts", key) == 1, "the handler started", worker)
        os.killpg(worker.pid, signal.SIGSTOP)  # docker pause, a VM stall
        frozen_until = time.monotonic() + LEASE
        try:
            wait_for(
                lambda: time.monotonic() > frozen_until and node.claims.lease_left(work) == 0,
                "the lease lapsed",
            )
        finally:
            os.killpg(worker.pid, signal.SIGCONT)
        wait_for(lambda: node.count("completions", key) == 1, "the thawed run completed", worker)
        wait_for(lambda: node.claims.state(work) == "done", "done after the lapse", worker)
        assert node.pending() == 0
        assert "another run took it over" not in worker.text()
        assert deliver(port, payload) == 200  # Bandwidth's duplicate: not published again
        assert node.broker_holds() == 0
        assert node.count("starts", key) == 1
        assert node.count("completions", key) == 1


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The claims' clock, the test's: "idle for a second" is exact, whatever the load (a
    lease still lapses in Redis's own time)."""
    now = SimpleNamespace(now=1_000_000.0)
    monkeypatch.setattr("bwhooks.queue.claims.time", SimpleNamespace(time=lambda: now.now))
    return now


def claims_on(redis_port: int, prefix: str) -> RedisClaims:
    return RedisClaims(redis.Redis(port=redis_port), prefix=f"{prefix}-{time.time_ns()}:")


def test_a_lapsed_lease_is_swept_once_taken_over_and_its_late_holder_clobbers_nothing(
    redis_port: int, clock: SimpleNamespace
) -> None:
    claims = claims_on(redis_port, "lapsed")
    sweeper = RedisClaims(claims.client, prefix=claims.prefix)  # another worker's sweep
    assert claims.enqueue("k", "receiver", 30, '{"v": 1}') is None
    claims.queued("k", "receiver", 60, '{"v": 1}')
    assert claims.begin("k", "first", 0.2, 60).start is Start.RUN
    clock.now += 1
    assert claims.sweep(idle=1) == []  # a live lease: the work is moving
    assert claims.state("k") == "running:first"
    wait_for(lambda: claims.lease_left("k") == 0, "the lease lapsed")
    assert claims.state("k") == "running:first"  # lapsed, still pending: never "absent"
    assert claims.sweep(idle=1) == []  # moved a moment ago (the live lease was seen)
    clock.now += 1
    assert claims.sweep(idle=1) == ['{"v": 1}']  # published again, by one sweeper:
    assert sweeper.sweep(idle=1) == []
    second = claims.begin("k", "second", 60, 60)  # the republished message: taken over
    assert (second.start, second.attempt) == (Start.RUN, 2)
    assert not claims.renew("k", "first", 60)  # the late holder: no longer its work
    assert not claims.finish("k", "first", 60)
    assert not claims.give_back("k", "first", 60)
    assert claims.state("k") == "running:second"
    assert claims.lease_left("k") > 0
    busy = claims.begin("k", "third", 60, 60)
    assert (busy.start, busy.holder) == (Start.BUSY, "second")
    assert claims.finish("k", "second", 60)
    assert claims.state("k") == "done"
    assert claims.lease_left("k") == 0
    clock.now += 2
    assert claims.sweep(idle=1) == []
    assert claims.client.zcard(f"{claims.prefix}pending-at") == 0


def test_a_lapsed_lease_nobody_took_over_is_renewed_or_finished_by_its_holder(
    redis_port: int,
) -> None:
    claims = claims_on(redis_port, "late")
    assert claims.enqueue("k", "receiver", 30, '{"v": 1}') is None
    assert claims.begin("k", "run", 0.05, 60).start is Start.RUN
    wait_for(lambda: claims.lease_left("k") == 0, "the lease lapsed")
    assert claims.renew("k", "run", 60)  # still its work: the lease is taken again
    assert claims.lease_left("k") > 0
    assert claims.begin("k", "other", 60, 60).start is Start.BUSY
    assert claims.begin("k", "run-2", 0.05, 60, take_over="running:run").start is Start.RUN
    wait_for(lambda: claims.lease_left("k") == 0, "the second lease lapsed")
    assert claims.finish("k", "run-2", 60)  # completed after the lapse: done all the same
    assert claims.state("k") == "done"
    assert claims.begin("k", "duplicate", 60, 60).start is Start.DONE


def test_a_publish_that_lands_while_marking_it_queued_fails_stays_pending(
    redis_port: int, clock: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pending entry is written with the claim: a publish the broker then lost, whose
    ``queued`` update failed, is published again by the sweep, also once its ``enqueuing``
    claim lapsed; a publish that failed leaves nothing pending."""
    published: list[Envelope] = []

    class Lossy(TaskQueue):
        def publish(self, envelope: Envelope) -> None:
            if failing:
                raise ConnectionError("broker down")
            published.append(envelope)  # and the broker loses it

    def unreachable(*args: object) -> None:
        raise ConnectionError("the claims store blinked")

    failing = True
    queue = Lossy(claims_on(redis_port, "landed"), enqueue_ttl=0.2, publish_timeout=0.1)
    publish = queue.bind(lambda event: None)
    monkeypatch.setattr(queue.claims, "queued", unreachable)
    body = json.dumps(fake_payload("sms")).encode()
    request = CallbackRequest("POST", "/", HEADERS, body)
    (event,) = parse_delivery(json.loads(body))
    with handling(request), pytest.raises(QueueUnavailable):
        publish(event)  # the publish failed: nothing pending, the claim free
    clock.now += 2
    assert queue.republish_orphans(idle=1) == 0
    failing = False
    with handling(request):
        publish(event)  # answered 2xx: the broker took it
    (envelope,) = published
    assert (queue.claims.state(envelope.key) or "").startswith("enqueuing:")  # not queued
    wait_for(lambda: queue.claims.state(envelope.key) is None, "the enqueuing claim lapsed")
    clock.now += 2
    assert queue.republish_orphans(idle=1) == 1
    assert published == [envelope, envelope]
    assert queue.run(envelope.to_dict()).verdict is Verdict.ACK
    assert queue.claims.state(envelope.key) == "done"
    clock.now += 2
    assert queue.republish_orphans(idle=1) == 0
