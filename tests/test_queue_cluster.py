"""Claims on a Redis Cluster, for real: a one-node cluster (redis-server
``--cluster-enabled yes``, every slot on it) holds the claims, through redis-py's
``RedisCluster``; the broker is a plain redis-server (Celery's Redis broker does not speak
Cluster). And the start-up self-check's probe of the claims scripts, against stores where
a script fails: keys on two slots, a user denied scripting, a read-only replica, no store.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from processes import running, start_redis, start_worker, wait_for
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry
from stores import free_cluster_port, start_cluster, start_server
from support import free_port

from bwhooks import CallbackRequest, parse_delivery
from bwhooks.auth import basic_authorization
from bwhooks.idempotency import idempotency_key
from bwhooks.queue.celery import CeleryQueue
from bwhooks.queue.claims import RedisClaims, Start, key_prefix
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def cluster_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_cluster_port()  # a node's bus port is 10,000 higher
    with running(start_cluster(port, tmp_path_factory.mktemp("cluster"))):
        yield port


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    with running(start_redis(port, tmp_path_factory.mktemp("plain"))):
        yield port


@pytest.fixture
def cluster(cluster_port: int) -> Iterator[RedisCluster]:
    client = RedisCluster(host="127.0.0.1", port=cluster_port, socket_timeout=3)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The claims' clock, the test's: "idle for a second" is exact."""
    now = SimpleNamespace(now=1_000_000.0)
    monkeypatch.setattr("bwhooks.queue.claims.time", SimpleNamespace(time=lambda: now.now))
    return now


def unique(name: str) -> str:
    return f"{name}-{time.time_ns()}"


def test_key_prefixes_carry_one_hash_tag_per_queue() -> None:
    assert key_prefix() == "{bwhooks}:"
    assert key_prefix("orders") == "{bwhooks:orders}:"
    assert key_prefix("orders-eu.v2") == "{bwhooks:orders-eu.v2}:"


def test_the_claims_protocol_runs_on_a_redis_cluster(
    cluster: RedisCluster, clock: SimpleNamespace
) -> None:
    """Every call of RedisClaims on a cluster: each script's keys in the queue's one slot."""
    claims = RedisClaims(cluster, prefix=key_prefix(unique("protocol")))
    assert claims.enqueue("a", "receiver", 30, '{"v": "a"}') is None
    assert claims.enqueue("a", "again", 30, '{"v": "a"}') == "enqueuing:receiver"
    assert claims.abandon("a", "receiver")
    assert claims.state("a") is None
    assert claims.enqueue("a", "receiver", 30, '{"v": "a"}') is None
    claims.queued("a", "receiver", 60, '{"v": "a"}')
    assert claims.state("a") == "queued"
    first = claims.begin("a", "one", 60, 60)
    assert (first.start, first.attempt) == (Start.RUN, 1)
    assert claims.renew("a", "one", 60)
    assert claims.lease_left("a") > 0
    busy = claims.begin("a", "two", 60, 60)
    assert (busy.start, busy.holder) == (Start.BUSY, "one")
    assert claims.give_back("a", "one", 60)
    assert claims.state("a") == "queued"
    second = claims.begin("a", "two", 60, 60)
    assert (second.start, second.attempt) == (Start.RUN, 2)
    assert claims.finish("a", "two", 60)
    assert claims.state("a") == "done"
    assert claims.begin("a", "three", 60, 60).start is Start.DONE

    assert claims.enqueue("b", "receiver", 30, '{"v": "b"}') is None
    claims.queued("b", "receiver", 60, '{"v": "b"}')
    clock.now += 10
    assert claims.sweep(idle=5) == ['{"v": "b"}']  # lost by its broker: published again
    assert claims.sweep(idle=5) == []  # by one sweeper
    assert claims.begin("b", "four", 60, 60).start is Start.RUN
    assert claims.bury("b", "four", 60)
    assert claims.state("b") == "dead"
    letter = claims.add_dead_letter({"envelope": {"key": "b"}}, max_length=10)
    assert claims.dead_letters(5) == [{"envelope": {"key": "b"}, "id": letter}]
    clock.now += 10
    assert claims.sweep(idle=5) == []  # done and dead work left the pending index

    written = [
        name.decode() for name in cluster.keys(f"{claims.prefix}*") if isinstance(name, bytes)
    ]
    assert sorted(written) == sorted(
        f"{claims.prefix}{name}"
        for name in ("claim:a", "claim:b", "attempts:a", "attempts:b", "dead")
    )
    assert len({cluster.keyslot(name) for name in written}) == 1  # type: ignore[no-untyped-call]


def test_the_probe_passes_on_a_cluster_and_leaves_nothing_behind(
    cluster: RedisCluster,
) -> None:
    claims = RedisClaims(cluster, prefix=key_prefix(unique("probe")))
    assert claims.probe() == []
    assert claims.probe() == []  # again: nothing left from the first one collides
    assert cluster.keys(f"{claims.prefix}*") == []


def test_the_probe_reports_scripts_whose_keys_fall_on_two_slots(
    cluster: RedisCluster, cluster_port: int
) -> None:
    """A prefix without a hash tag spreads a script's keys over several slots: redis-py's
    cluster client refuses the call, a node given a plain client answers CROSSSLOT."""
    (problem,) = RedisClaims(cluster, prefix="untagged:").probe()
    assert problem.startswith("the claims scripts enqueue, queued, begin, renew")
    assert "must map to the same key slot" in problem
    with redis.Redis(port=cluster_port) as node:
        (problem,) = RedisClaims(node, prefix="untagged:").probe()
    assert "CROSSSLOT" in problem or "same slot" in problem, problem


def test_the_probe_reports_a_user_denied_scripts_and_a_read_only_replica(
    redis_port: int, tmp_path: Path
) -> None:
    with redis.Redis(port=redis_port) as admin:
        admin.execute_command(
            "ACL", "SETUSER", "noscripts", "on", ">secret-pw", "~*", "&*", "+@all", "-@scripting"
        )
    with redis.Redis(port=redis_port, username="noscripts", password="secret-pw") as denied:
        (problem,) = RedisClaims(denied, prefix=key_prefix(unique("acl"))).probe()
    assert "NoPermissionError: this user has no permissions to run the 'evalsha'" in problem
    assert "secret-pw" not in problem
    replica_port = free_port()
    replica = start_server(replica_port, tmp_path, "--replicaof", "127.0.0.1", str(redis_port))
    with running(replica), redis.Redis(port=replica_port) as client:
        (problem,) = RedisClaims(client, prefix=key_prefix(unique("replica"))).probe()
    assert "(ReadOnlyError: You can't write against a read only replica" in problem


def test_the_probe_reports_an_unreachable_store_once() -> None:
    nowhere = redis.Redis(port=free_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    with nowhere:
        (problem,) = RedisClaims(nowhere).probe()
    assert "ConnectionError" in problem
    assert "enqueue" in problem


def test_the_start_up_self_check_runs_the_scripts_against_the_claims_store(
    redis_port: int,
) -> None:
    from celery import Celery

    celery_app = Celery("probed", broker=f"redis://127.0.0.1:{redis_port}/0")
    celery_app.conf.worker_prefetch_multiplier = 1
    assert CeleryQueue(celery_app, name=unique("fine"), spool=None).check("prefork") == []
    with redis.Redis(port=redis_port) as admin:
        admin.execute_command(
            "ACL", "SETUSER", "noeval", "on", ">pw", "~*", "&*", "+@all", "-evalsha", "-eval"
        )
    denied = redis.Redis(port=redis_port, username="noeval", password="pw", socket_timeout=3)
    queue = CeleryQueue(celery_app, name=unique("denied"), redis=denied, spool=None)
    (problem,) = queue.check("prefork")
    assert problem.startswith("the claims scripts enqueue, queued")
    assert "NoPermissionError" in problem
    denied.close()
    unusable = CeleryQueue(celery_app, name=unique("unusable"), redis=object(), spool=None)
    (problem,) = unusable.check("prefork")  # reported, the worker starts all the same
    assert problem.startswith("the claims store cannot be used (AttributeError: ")


def test_a_callback_runs_once_with_its_claims_on_a_cluster(
    cluster_port: int, redis_port: int, tmp_path: Path
) -> None:
    """A real `celery worker` whose broker is a plain redis-server and whose claims are on
    the cluster: a callback received here runs there once, its claim ``done`` on the
    cluster; Bandwidth's duplicate is not published again. The worker's start-up check
    finds nothing wrong."""
    import stores_app

    name = unique("cluster")
    env = {
        "STORES_BROKER": f"redis://127.0.0.1:{redis_port}/1",
        "STORES_CLAIMS": f"cluster://127.0.0.1:{cluster_port}",
        "STORES_COUNTS": f"redis://127.0.0.1:{redis_port}/1",
        "STORES_NAME": name,
    }
    _, queue, receiver = stores_app.build(env)
    headers = {
        "Content-Type": "application/json",
        "Authorization": basic_authorization(stores_app.USER, stores_app.PASSWORD),
    }
    payload = fake_payload("sms")
    request = CallbackRequest("POST", "/callbacks", headers, json.dumps(payload).encode())
    (event,) = parse_delivery(payload)
    key = idempotency_key(event)
    work = f"{key}|stores_app:record"
    counts = redis.Redis(port=redis_port, db=1)
    worker = start_worker("cluster", env, tmp_path, app="stores_app:celery_app")
    with running(worker):
        assert receiver.handle(request).status == 200
        wait_for(lambda: queue.claims.state(work) == "done", "done on the cluster", worker)
        assert int(counts.hget(f"{name}:completions", key) or 0) == 1
        assert receiver.handle(request).status == 200  # the duplicate: nothing published
        assert counts.llen(f"{name}-tasks") == 0
        assert int(counts.hget(f"{name}:completions", key) or 0) == 1
        assert queue.claims.dead_letters(5) == []
        text = worker.text()
        assert "bwhooks queue" not in text, text  # the start-up check: nothing wrong
    counts.close()
