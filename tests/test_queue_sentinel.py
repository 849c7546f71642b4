"""A Celery broker behind Redis Sentinel (``sentinel://host:port;sentinel://host2:port`` with
``broker_transport_options={"master_name": ...}``): the claims go to the Sentinel's master,
through a client built as the broker's is. For real: a redis-server with a password, a
Sentinel watching it (quorum 1), a `celery worker` whose broker URL is ``sentinel://``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from processes import running, start_worker, wait_for
from stores import MASTER, start_sentinel, start_server
from support import free_port

from bwhooks import CallbackRequest, parse_delivery
from bwhooks.auth import basic_authorization
from bwhooks.idempotency import idempotency_key
from bwhooks.queue.celery import CeleryQueue
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(120)
PASSWORD = "master-pw"


def test_a_sentinel_broker_without_master_name_is_refused_when_built() -> None:
    celery_app = Celery("sentinel", broker="sentinel://127.0.0.1:26379;sentinel://h2:26380")
    with pytest.raises(ValueError, match="master_name"):
        CeleryQueue(celery_app, spool=None)


def test_the_claims_client_of_a_sentinel_broker_is_its_masters() -> None:
    """Built from the URLs (every Sentinel, the first one's password and database) and the
    transport options, with the timeouts of the client built from a ``redis://`` URL; no
    connection is made until it is used."""
    from redis.sentinel import SentinelConnectionPool

    first, second = free_port(), free_port()  # nothing answers there
    celery_app = Celery(
        "sentinel", broker=f"sentinel://:p%40ss@127.0.0.1:{first}/2;sentinel://127.0.0.1:{second}"
    )
    celery_app.conf.broker_transport_options = {
        "master_name": "mymaster",
        "sentinel_kwargs": {"password": "sentinels-pw"},
    }
    queue = CeleryQueue(celery_app, spool=None, publish_timeout=2.5)
    pool = queue.redis.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "mymaster"
    manager = pool.sentinel_manager
    sentinels = [client.connection_pool.connection_kwargs for client in manager.sentinels]
    assert [(s["host"], s["port"]) for s in sentinels] == [
        ("127.0.0.1", first),
        ("127.0.0.1", second),
    ]
    assert all(s["password"] == "sentinels-pw" for s in sentinels)
    assert all(s["socket_timeout"] == s["socket_connect_timeout"] == 2.5 for s in sentinels)
    master = pool.connection_kwargs
    assert (master["db"], master["password"]) == (2, "p@ss")
    assert master["socket_timeout"] == master["socket_connect_timeout"] == 2.5
    assert master["retry"].get_retries() == 0
    visibility = {"visibility_timeout": 60, "master_name": "mymaster"}
    celery_app.conf.broker_transport_options = visibility
    assert any("visibility_timeout (60s)" in p for p in queue.check("solo"))  # a Redis broker


def test_a_sentinel_broker_asks_the_next_sentinel_at_once_when_one_is_down() -> None:
    """Celery's connections to the Sentinels, and the claims client's, are bounded and never
    retry a Sentinel that is down (redis-py 8.1 retries it for about 4 s, past the
    publish's deadline); what the app set in ``sentinel_kwargs`` is kept."""
    celery_app = Celery("sentinel", broker="sentinel://127.0.0.1:1;sentinel://127.0.0.1:2")
    celery_app.conf.broker_transport_options = {
        "master_name": MASTER,
        "sentinel_kwargs": {"password": "sentinel-secret"},
    }
    queue = CeleryQueue(celery_app, spool=None, publish_timeout=2.5)
    kwargs = celery_app.conf.broker_transport_options["sentinel_kwargs"]
    assert kwargs["password"] == "sentinel-secret"
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (2.5, 2.5)
    assert kwargs["retry"].get_retries() == 0
    for sentinel in queue.redis.connection_pool.sentinel_manager.sentinels:
        options = sentinel.connection_pool.connection_kwargs
        assert options["retry"].get_retries() == 0
        assert options["socket_connect_timeout"] == 2.5


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """(the master's port, the Sentinel's port)."""
    directory = tmp_path_factory.mktemp("sentinel")
    master_port, sentinel_port = free_port(), free_port()
    master = start_server(master_port, directory, "--requirepass", PASSWORD)
    with running(master), running(start_sentinel(sentinel_port, master_port, directory, PASSWORD)):
        yield master_port, sentinel_port


def test_a_callback_runs_once_through_a_sentinel_broker(
    sentinel: tuple[int, int], tmp_path: Path
) -> None:
    """A real worker and this process's receiver, both given ``sentinel://`` URLs (a
    Sentinel that is down first: the next one answers): the callback runs once, its claim
    ``done`` in the master's database 3, the worker's start-up check content."""
    import stores_app

    master_port, sentinel_port = sentinel
    name = f"sentinel-{time.time_ns()}"
    env = {
        "STORES_BROKER": (
            f"sentinel://:{PASSWORD}@127.0.0.1:{free_port()}/3;sentinel://127.0.0.1:{sentinel_port}"
        ),
        "STORES_MASTER": MASTER,
        "STORES_COUNTS": f"redis://:{PASSWORD}@127.0.0.1:{master_port}/3",
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
    master = redis.Redis(port=master_port, password=PASSWORD, db=3)
    worker = start_worker("sentinel", env, tmp_path, app="stores_app:celery_app")
    with running(worker):
        assert receiver.handle(request).status == 200
        wait_for(lambda: queue.claims.state(work) == "done", "done", worker)
        assert master.get(f"{{bwhooks:{name}}}:claim:{work}") == b"done"  # in the master
        assert int(master.hget(f"{name}:completions", key) or 0) == 1
        assert receiver.handle(request).status == 200  # the duplicate: nothing published
        assert int(master.hget(f"{name}:completions", key) or 0) == 1
        text = worker.text()
        assert "bwhooks queue" not in text, text
    master.close()
