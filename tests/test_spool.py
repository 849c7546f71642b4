"""The spool keeps what it acknowledged: a voice callback answered ``2xx`` while the broker
failed is published later, whatever the broker raised, by receivers and workers alike.

Real processes: a redis-server of this module (claims, broker), receivers on werkzeug's real
server, a real ``celery worker`` (tests/queue_app.py) for what a worker drains.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import redis
from processes import Service, running, start_gunicorn, start_redis, start_worker, wait_for
from support import free_port, wsgi_server

from bwhooks import CallbackRequest, InsecureReceiverWarning, Receiver, parse_delivery
from bwhooks.events import VoiceEvent
from bwhooks.idempotency import idempotency_key
from bwhooks.queue.claims import RedisClaims
from bwhooks.queue.publishing import Publisher
from bwhooks.queue.spool import Spool
from bwhooks.queue.tasks import Envelope, TaskQueue, Verdict
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(120)


class Redis:
    """This module's redis-server, and a client of it."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.service: Service = start_redis(self.port, directory)
        self.client = redis.Redis.from_url(self.url)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    server = Redis(tmp_path_factory.mktemp("spool"))
    try:
        yield server
    finally:
        server.service.kill()


def eventually(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def open_receiver() -> Receiver:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureReceiverWarning)
        return Receiver(auth=None)


def fast(queue: TaskQueue) -> None:
    """The drainer of ``queue`` looking every 50 ms, and after failures every 200 ms."""
    queue.publisher.drainer.interval = 0.05
    queue.publisher.drainer.backoff_max = 0.2


def spooled_envelope(handler: str, payload: Any) -> tuple[Envelope, str]:
    """The envelope a receiver spools for ``payload`` and ``handler``, and its work's key."""
    body = json.dumps(payload).encode()
    request = CallbackRequest("POST", "/callbacks", {"Content-Type": "application/json"}, body)
    (event,) = parse_delivery(payload)
    envelope = Publisher(SimpleNamespace()).envelope(handler, event, request)
    return envelope, idempotency_key(event)


class FailingBroker(TaskQueue):
    """An engine whose broker raises ``error`` while ``failing`` is set; every attempt is
    counted, and ``attempted`` is set once ``wanted`` attempts were made."""

    def __init__(self, *args: Any, error: Exception, wanted: int, **options: Any) -> None:
        super().__init__(*args, **options)
        self.error, self.wanted = error, wanted
        self.failing = True
        self.attempts = 0
        self.attempted = threading.Event()
        self.published: list[Envelope] = []
        self.landed = threading.Event()

    def publish(self, envelope: Envelope) -> None:
        self.attempts += 1
        if self.attempts >= self.wanted:
            self.attempted.set()
        if self.failing:
            raise self.error
        self.published.append(envelope)
        self.landed.set()


@pytest.mark.parametrize(
    "error",
    [
        ValueError("the broker refused the message"),  # a kombu/redis error that is a ValueError
        UnicodeEncodeError("ascii", "é", 0, 1, "a ValueError too"),
        ConnectionError("the broker is down"),
    ],
    ids=["ValueError", "UnicodeEncodeError", "ConnectionError"],
)
def test_a_spooled_callback_is_kept_while_publishing_fails_then_published_once(
    server: Redis, tmp_path: Path, error: Exception
) -> None:
    """Answered ``200`` over HTTP and spooled; the drainer's publish raises again and again
    (a ValueError included, which the drainer once read as "unreadable" and deleted): the
    row stays, and once the broker takes it, it is published and runs once."""
    queue = FailingBroker(
        RedisClaims(server.client, prefix=f"spool-kept-{type(error).__name__}:"),
        spool=Spool(tmp_path / "spool.sqlite3"),
        error=error,
        wanted=3,  # the receiver's own try, then at least two of the drainer's
    )
    fast(queue)
    ran: list[str] = []
    receiver = open_receiver()

    @receiver.on(VoiceEvent, queue=queue)
    def hung_up(event: VoiceEvent) -> None:
        ran.append(event.event_type)

    assert queue.spool is not None
    with wsgi_server(receiver) as send:
        answer = send(body=json.dumps(fake_payload("v2:disconnect")).encode())
    assert answer.status == 200  # acknowledged: Bandwidth will not send it again
    assert queue.attempted.wait(30), queue.attempts  # the drainer tried, and failed, again
    assert len(queue.spool) == 1  # kept through every failed publish
    queue.failing = False
    assert queue.landed.wait(30), "the spooled callback was never published"
    (envelope,) = queue.published
    assert queue.run(json.loads(json.dumps(envelope.to_dict()))).verdict is Verdict.ACK
    assert ran == ["disconnect"]
    assert queue.claims.state(envelope.key) == "done"
    spool = queue.spool
    eventually(lambda: len(spool) == 0, "the published row removed")


def test_only_a_row_that_holds_no_envelope_is_dropped(server: Redis, tmp_path: Path) -> None:
    """A damaged row (not JSON, not an envelope) is dropped; a readable one beside it whose
    publish fails is kept."""
    queue = FailingBroker(
        RedisClaims(server.client, prefix="spool-damaged:"),
        spool=Spool(tmp_path / "spool.sqlite3"),
        error=ValueError("refused"),
        wanted=1,
    )
    payload = fake_payload("v2:disconnect")
    body = json.dumps(payload).encode()
    request = CallbackRequest("POST", "/", {"Content-Type": "application/json"}, body)
    (event,) = parse_delivery(payload)
    good = queue.envelope("tests:handler", event, request)
    spool = queue.spool
    assert spool is not None
    spool.put("{not json")
    spool.put(json.dumps({"v": 999}))
    spool.put(json.dumps(good.to_dict()))
    assert queue.drain_spool() == 0
    assert len(spool) == 1
    assert queue.attempts == 1
    queue.failing = False
    assert queue.drain_spool() == 1
    assert queue.published == [good]
    assert len(spool) == 0


def test_a_queue_without_a_claims_store_is_refused_when_built() -> None:
    """A RabbitMQ broker and no ``redis=``: refused at once, not a ``ValueError`` at the
    first callback (which spooled voice and lost it)."""
    from celery import Celery

    from bwhooks.queue.celery import CeleryQueue

    rabbit = Celery("rabbit", broker="amqp://guest:secret@127.0.0.1:1//")
    with pytest.raises(ValueError, match="needs Redis for its claims") as refused:
        CeleryQueue(rabbit, spool=None)
    assert "secret" not in str(refused.value)
    unset = Celery("unset")  # Celery's default broker is RabbitMQ's
    with pytest.raises(ValueError, match="needs Redis for its claims"):
        CeleryQueue(unset, spool=None)
    with_claims = CeleryQueue(rabbit, name="rabbit", redis=redis.Redis(port=1), spool=None)
    assert with_claims.claims.prefix == "{bwhooks:rabbit}:"
    with pytest.raises(ValueError, match="has no claims store"):
        TaskQueue(None)

    class Engine(TaskQueue):
        def make_claims(self) -> RedisClaims:
            return RedisClaims(redis.Redis(port=1))

    assert Engine(None).claims.prefix == "{bwhooks}:"


class Recording(TaskQueue):
    """An engine whose broker keeps what it is given."""

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self.published: list[Envelope] = []

    def publish(self, envelope: Envelope) -> None:
        self.published.append(envelope)


def test_the_drainer_starts_with_the_process_and_outlives_a_spool_it_cannot_read(
    server: Redis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A process that binds a handler drains what an earlier one left, with no callback
    received; a spool that cannot be opened (here a directory in the file's place) is
    logged and tried again, and what it holds once it is back is published."""
    path = tmp_path / "spool.sqlite3"
    left, _ = spooled_envelope("tests:earlier", fake_payload("v2:disconnect"))
    Spool(path).put(json.dumps(left.to_dict()))  # spooled, then that process went away
    queue = Recording(RedisClaims(server.client, prefix="spool-restart:"), spool=Spool(path))
    fast(queue)
    caplog.set_level(logging.ERROR, "bwhooks.queue")
    try:
        queue.bind(lambda event: None)  # its start-up: no callback arrives
        eventually(lambda: queue.published == [left], "the earlier process's envelope published")
        broken = tmp_path / "spool-away.sqlite3"
        path.rename(broken)
        path.mkdir()  # the file cannot be opened: SQLite raises on every look
        eventually(lambda: "could not drain the spool" in caplog.text, "the failure logged")
        later, _ = spooled_envelope("tests:later", fake_payload("v2:disconnect"))
        Spool(broken).put(json.dumps(later.to_dict()))
        path.rmdir()
        broken.rename(path)  # the spool is back, with a row in it
        eventually(lambda: queue.published == [left, later], "drained after the failure")
        eventually(lambda: len(Spool(path)) == 0, "the spool emptied once published")
    finally:
        queue.publisher.drainer.stop()


def queue_env(server: Redis, prefix: str, spool: Path) -> dict[str, str]:
    """tests/queue_app.py's environment: this module's Redis, keys under ``prefix``."""
    return {"QUEUE_REDIS_URL": server.url, "QUEUE_PREFIX": prefix, "QUEUE_SPOOL": str(spool)}


def test_a_receiver_process_drains_at_start_up_with_no_callback(
    server: Redis, tmp_path: Path
) -> None:
    """gunicorn serving tests/queue_app.py, started after a receiver died with a spooled
    voice callback: it publishes it (the work is ``queued`` in the claims) before any
    callback reaches it."""
    path = tmp_path / "spool.sqlite3"
    envelope, _ = spooled_envelope("queue_app:record", fake_payload("v2:disconnect"))
    Spool(path).put(json.dumps(envelope.to_dict()))
    claims = RedisClaims(server.client, prefix="{bwhooks:spoolreceiver}:")
    receivers = start_gunicorn(free_port(), queue_env(server, "spoolreceiver:", path), tmp_path)
    with running(receivers):
        wait_for(lambda: claims.state(envelope.key) == "queued", "published", receivers, 60)
        wait_for(lambda: len(Spool(path)) == 0, "the spool emptied", receivers)


def test_a_worker_drains_its_hosts_spool_at_start_up_and_periodically(
    server: Redis, tmp_path: Path
) -> None:
    """A real Celery worker given the receivers' spool path publishes, then runs, what a
    receiver left there before it started, and what lands there while it runs."""
    path = tmp_path / "spool.sqlite3"
    first, first_key = spooled_envelope("queue_app:record", fake_payload("v2:disconnect"))
    Spool(path).put(json.dumps(first.to_dict()))
    worker = start_worker("spool", queue_env(server, "spoolworker:", path), tmp_path)

    def completions(key: str) -> int:
        return int(server.client.hget("spoolworker:completions", key) or 0)

    with running(worker):
        wait_for(lambda: completions(first_key) == 1, "the first row run", worker, 60)
        second, second_key = spooled_envelope("queue_app:record", fake_payload("v2:answer"))
        Spool(path).put(json.dumps(second.to_dict()))  # a receiver beside it spooled it
        wait_for(lambda: completions(second_key) == 1, "the second row run", worker, 60)
        wait_for(lambda: len(Spool(path)) == 0, "the spool emptied", worker)
    assert completions(first_key) == completions(second_key) == 1


@pytest.mark.parametrize(
    ("environment", "container", "warned"),
    [
        ({"HOME": "TMP/home"}, False, "is in a temporary folder"),
        ({"HOME": "/nonexistent-home"}, True, "in the container's own filesystem"),
        ({"HOME": "/nonexistent-home"}, False, None),
        ({"HOME": "TMP/home", "XDG_STATE_HOME": "TMP/state"}, True, None),
        ({"HOME": "TMP/home", "BWHOOKS_SPOOL_DIR": "TMP/volume"}, True, None),
    ],
    ids=["tmp-home", "container", "no-container", "xdg-chosen", "dir-chosen"],
)
def test_a_default_spool_that_would_be_lost_is_warned_about(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    *,
    environment: dict[str, str],
    container: bool,
    warned: str | None,
) -> None:
    """The default spool, placed by nobody, in a temporary folder or a container's own
    filesystem: the queue warns when built, naming the option and the variable."""
    from celery import Celery

    from bwhooks.queue import spool
    from bwhooks.queue.celery import CeleryQueue

    for name in ("HOME", "XDG_STATE_HOME", "BWHOOKS_SPOOL_DIR", "KUBERNETES_SERVICE_HOST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value.replace("TMP", str(tmp_path)))
    mark = tmp_path / "dockerenv"
    if container:
        mark.touch()
    monkeypatch.setattr(spool, "CONTAINER_MARKS", (mark,))
    caplog.set_level(logging.WARNING, "bwhooks.queue")
    queue = CeleryQueue(Celery("placed", broker="redis://127.0.0.1:1/0"), name="placed")
    assert queue.spool is not None
    if "BWHOOKS_SPOOL_DIR" in environment:
        assert queue.spool.path == tmp_path / "volume" / "spool-placed.sqlite3"
    if warned is None:
        assert "spool" not in caplog.text
    else:
        assert warned in caplog.text
        assert "pass spool= or set BWHOOKS_SPOOL_DIR to a volume" in caplog.text
        assert str(queue.spool.path) in caplog.text
    explicit = CeleryQueue(Celery("chosen", broker="redis://127.0.0.1:1/0"), spool=mark)
    assert explicit.spool is not None
    assert explicit.spool.path == mark
    assert caplog.text.count("bwhooks queue") == (warned is not None)  # the chosen one: none


def _spool_at_once(path: str, tag: int, go: Any, threads: int) -> None:
    """A process that never spooled: ``threads`` threads put (and take) at the same moment,
    as a warm receiver's do when the broker first stops answering."""
    import os
    import sys

    spool = Spool(path)
    go.wait()
    errors: list[str] = []

    def put(number: int) -> None:
        try:
            for round_ in range(3):
                spool.put(json.dumps({"key": f"{tag}-{number}-{round_}"}))
                spool.take(2, lease=0.01)
        except Exception as exc:
            errors.append(repr(exc))

    workers = [threading.Thread(target=put, args=(number,)) for number in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        sys.stderr.write(f"{len(errors)} errors: {errors[0]}\n")
        os._exit(3)


def test_a_fresh_spool_taken_by_many_threads_of_many_processes_at_once_keeps_every_row(
    tmp_path: Path,
) -> None:
    """The first use of a spool, by 3 processes of 6 threads at once (an outage's first
    moment on a warm gunicorn): no process dies (SIGBUS), nothing fails, no row is missing.
    Checking the file's mode closed descriptors of it while other threads held SQLite
    connections, dropping this process's locks: corrupt files and lost rows."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        for round_ in range(6):
            path = str(tmp_path / f"spool-{round_}.sqlite3")
            go = context.Event()
            processes = [
                context.Process(target=_spool_at_once, args=(path, tag, go, 6)) for tag in range(3)
            ]
            for process in processes:
                process.start()
            go.set()
            for process in processes:
                process.join(60)
            assert [process.exitcode for process in processes] == [0, 0, 0], round_
            assert len(Spool(path)) == 3 * 6 * 3, round_
