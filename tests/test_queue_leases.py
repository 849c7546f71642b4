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
from typing import Any

import pytest
import redis
from processes import Service, running, start_gunicorn, start_redis, start_worker, wait_for
from support import free_port

from bwhooks import parse_delivery
from bwhooks.auth import basic_authorization
from bwhooks.idempotency import idempotency_key
from bwhooks.queue.claims import RedisClaims, key_prefix
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
