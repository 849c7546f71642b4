"""``replicas=``: a callback answered only once a replica of the claims Redis has it.

A real redis-server and a real replica of it (``--replicaof``); the replica frozen with
SIGSTOP plays a replica that lags (a failover then would lose what only the primary has).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from processes import Service, start, start_redis, wait_for
from support import free_port

from bwhooks import CallbackRequest, Event, Receiver
from bwhooks.auth import BasicAuth, basic_authorization
from bwhooks.queue.celery import CeleryQueue
from bwhooks.queue.claims import RedisClaims
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(90)
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": basic_authorization("replicas", "replicas-pass"),
}


class Pair:
    """A primary and its replica."""

    def __init__(self, directory: Path) -> None:
        self.port, self.replica_port = free_port(), free_port()
        self.primary = start_redis(self.port, directory)
        replica_dir = directory / "replica"
        replica_dir.mkdir()
        self.replica: Service = start(
            [
                "redis-server",
                "--port",
                str(self.replica_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--replicaof",
                "127.0.0.1",
                str(self.port),
                "--dir",
                str(replica_dir),
            ],
            replica_dir / "redis.log",
        )
        self.client = redis.Redis(port=self.port)
        self.replica_client = redis.Redis(port=self.replica_port)
        wait_for(self.linked, "the replica in sync", self.replica)

    def linked(self) -> bool:
        try:
            return bool(self.replica_client.info("replication")["master_link_status"] == "up")
        except redis.ConnectionError:
            return False


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    pair = Pair(tmp_path_factory.mktemp("replicas"))
    try:
        yield pair
    finally:
        os.kill(pair.replica.pid, signal.SIGCONT)
        pair.replica.kill()
        pair.primary.kill()


def receiver_for(pair: Pair, tmp_path: Path, **options: Any) -> tuple[Receiver, CeleryQueue]:
    app = Celery("replicated", broker=f"redis://127.0.0.1:{pair.port}/0")
    queue = CeleryQueue(app, spool=tmp_path / "spool.sqlite3", publish_timeout=1.0, **options)
    receiver = Receiver(auth=BasicAuth(("replicas", "replicas-pass")))
    receiver.on(Event, queue=queue)(lambda event: None)
    return receiver, queue


def deliver(receiver: Receiver, payload: Any) -> int:
    body = json.dumps(payload).encode()
    return receiver.handle(CallbackRequest("POST", "/callbacks", HEADERS, body)).status


def claims_on(client: redis.Redis, queue: CeleryQueue) -> RedisClaims:
    return RedisClaims(client, prefix=queue.make_claims().prefix)


def test_an_answer_waits_for_the_replica_to_hold_the_claim_and_the_message(
    pair: Pair, tmp_path: Path
) -> None:
    pair.client.flushall()
    receiver, queue = receiver_for(pair, tmp_path, replicas=1)
    payload = fake_payload("message-received")
    assert deliver(receiver, payload) == 200
    # read at once from the replica: WAIT returned only once it had every write
    pending = pair.replica_client.hkeys(queue.make_claims().prefix + "pending")
    (work,) = [key.decode() if isinstance(key, bytes) else key for key in pending]
    assert claims_on(pair.replica_client, queue).state(work) == "queued"
    assert pair.replica_client.llen("celery") == 1


def test_a_lagging_replica_fails_the_answer_within_the_deadline(pair: Pair, tmp_path: Path) -> None:
    pair.client.flushall()
    wait_for(lambda: pair.replica_client.dbsize() == 0, "the replica emptied")
    receiver, queue = receiver_for(pair, tmp_path, replicas=1)
    (tmp_path / "other").mkdir()
    unreplicated, _ = receiver_for(pair, tmp_path / "other")
    messaging = fake_payload("message-received")
    voice = fake_payload("v2:disconnect")
    os.kill(pair.replica.pid, signal.SIGSTOP)
    try:
        began = time.monotonic()
        assert deliver(receiver, messaging) == 500  # Bandwidth retries Messaging v2
        assert time.monotonic() - began < 2.5  # publish_timeout, 1 s, and a margin
        assert deliver(receiver, voice) == 200  # never retried: kept in the spool
        assert queue.spool is not None
        assert len(queue.spool) == 1
        assert deliver(unreplicated, fake_payload("message-received")) == 200  # no replicas=
    finally:
        os.kill(pair.replica.pid, signal.SIGCONT)
    wait_for(pair.linked, "the replica back")
    time.sleep(1.0)  # Bandwidth retries later than the publish_timeout a stall is given
    message_id, call_id = messaging[0]["message"]["id"], voice["callId"]
    assert published(pair.client, message_id) == 1  # before the replica failed the answer
    assert deliver(receiver, messaging) == 200  # Bandwidth's retry: the work is queued
    assert published(pair.client, message_id) == 1  # nothing published twice
    queue.drain_spool()  # the voice event (unless the drainer did): published already
    spool = queue.spool
    wait_for(lambda: len(spool) == 0, "the spool drained")
    assert published(pair.client, call_id) == 1  # a duplicate: nothing published


def published(client: redis.Redis, marker: str) -> int:
    """How many messages in the broker's queue carry ``marker`` (an id of one callback):
    counted by callback, as other work (a sweep's republish of another receiver's) may
    land in the queue meanwhile."""
    count = 0
    for item in client.lrange("celery", 0, -1):
        message = json.loads(item)
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body).decode()
        count += marker in body
    return count


def test_replicas_is_a_count(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="replicas"):
        CeleryQueue(Celery("x", broker="redis://127.0.0.1:1/0"), spool=None, replicas=-1)
