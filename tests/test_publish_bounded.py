"""Publishing is bounded (issue 23, item 4): a receiver's claim and publish end within the
queue's ``publish_timeout`` together, so a broker (or claims store) that accepts
connections and never answers cannot hold a callback past Bandwidth's 10 s.

Real processes and sockets: a TCP server that accepts and never answers (a thread of this
test) is the broker, a redis-server the claims store (or the silent server is both, as by
default), the receiver serves on werkzeug on 127.0.0.1, and 24 callbacks arrive at once:
more than Celery's pool of 10 producers.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from processes import Service, start_redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from support import free_port

from bwhooks import BasicAuth, Receiver
from bwhooks.adapters import wsgi
from bwhooks.auth import basic_authorization
from bwhooks.devtools.demo import serving
from bwhooks.events import Event, MessagingEvent, VoiceEvent
from bwhooks.idempotency import idempotency_key
from bwhooks.queue.celery import CeleryQueue
from bwhooks.queue.claims import RedisClaims
from bwhooks.queue.context import Deadline, PublishTimeout, publish_deadline
from bwhooks.queue.envelopes import Envelope
from bwhooks.queue.tasks import TaskQueue
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(180)  # today's main takes 20 s and more: let it fail, not hang

DEADLINE = 2.0  # the publish_timeout of these queues
SLACK = 2.0  # the answer's own way through the server, on a loaded machine
BURST = 24  # more callbacks at once than Celery's 10 pooled producers
CREDENTIALS = ("bandwidth", "bounded-pass")
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": basic_authorization(*CREDENTIALS),
}


class Silent:
    """A TCP server on 127.0.0.1 that accepts every connection and never answers."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0), backlog=4 * BURST)
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, name="silent-broker", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.server.getsockname()[1]}/0"

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:  # closed
                return
            self.accepted.append(connection)  # held open, never read, never answered

    def close(self) -> None:
        self.server.close()
        self.thread.join(timeout=5)
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent() -> Iterator[Silent]:
    server = Silent()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def drained() -> Iterator[list[CeleryQueue]]:
    """The queues a test spools into: their drainer threads stopped when it ends (a
    drainer left running keeps logging its broker's failures into later tests)."""
    queues: list[CeleryQueue] = []
    yield queues
    for queue in queues:
        queue.publisher.drainer.stop()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    port = free_port()
    service: Service = start_redis(port, tmp_path_factory.mktemp("bounded-redis"))
    try:
        yield redis.Redis(port=port, socket_timeout=DEADLINE, socket_connect_timeout=DEADLINE)
    finally:
        service.kill()


def queued_voice(event: VoiceEvent) -> None:
    """A queued voice handler (never runs here: no worker)."""


def queued_messaging(event: MessagingEvent) -> None:
    """A queued messaging handler (never runs here: no worker)."""


def post(base_url: str, body: bytes) -> tuple[int, float]:
    """POST one callback; its status and how long its answer took."""
    port = int(base_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    started = time.monotonic()
    try:
        connection.request("POST", "/callbacks", body=body, headers=HEADERS)
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        connection.close()


def burst(base_url: str, bodies: list[bytes]) -> list[tuple[int, float]]:
    """Send ``bodies`` all at once (released together by a barrier)."""
    barrier = threading.Barrier(len(bodies))

    def send(body: bytes) -> tuple[int, float]:
        barrier.wait(timeout=30)
        return post(base_url, body)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(send, bodies))


def eventually(check: Any, what: str, timeout: float = 10) -> None:
    limit = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < limit, f"not within {timeout}s: {what}"
        time.sleep(0.01)


STORES: dict[str, Callable[[Silent, redis.Redis], Any]] = {
    "a redis-server": lambda silent, store: store,
    # the default: the broker's Redis, as CeleryQueue builds its client
    "the silent broker's": lambda silent, store: None,
    # a client of the user's, as redis-py builds it by default: it retries a timed-out call
    "a silent one of the user's": lambda silent, store: redis.Redis.from_url(
        silent.url, socket_timeout=DEADLINE, retry=Retry(NoBackoff(), 10)
    ),
}


@pytest.mark.parametrize("claims", list(STORES))
def test_a_broker_that_never_answers_gets_every_callback_answered_within_the_deadline(
    silent: Silent, store: redis.Redis, tmp_path: Path, claims: str, drained: list[CeleryQueue]
) -> None:
    """24 concurrent callbacks, half voice (not retried by Bandwidth: spooled, 2xx), half
    messaging (retried: 500), all answered within ``publish_timeout`` and some slack,
    whatever the claims store. Before the fix, with a redis-server: up to 12 s (the pool's
    wait had no timeout, each publish tried three times); with a client that retries a
    silent store's call: 20 s and more. The broker's own Redis was bounded already."""
    celery_app = Celery("bounded", broker=silent.url)
    name = f"bounded_{uuid.uuid4().hex[:8]}"  # an identifier: Celery compiles it
    queue = CeleryQueue(
        celery_app,
        name=name,
        redis=STORES[claims](silent, store),
        spool=tmp_path / "spool.sqlite3",
        publish_timeout=DEADLINE,
    )
    drained.append(queue)
    receiver = Receiver(auth=BasicAuth(CREDENTIALS))
    receiver.on(VoiceEvent, queue=queue)(queued_voice)
    receiver.on(MessagingEvent, queue=queue)(queued_messaging)
    voice = [fake_payload("v2:disconnect") for _ in range(BURST // 2)]
    messaging = [fake_payload("message-delivered") for _ in range(BURST // 2)]
    mixed = [payload for pair in zip(voice, messaging, strict=True) for payload in pair]
    bodies = [json.dumps(payload).encode() for payload in mixed]

    with serving(wsgi.make_app(receiver)) as base_url:
        # A first callback of each family builds the receiver's decoders (a cold start the
        # deadline is not about); then the burst, each answer timed
        warm = [fake_payload("v2:disconnect"), fake_payload("message-delivered")]
        assert [status for status, _ in burst(base_url, [json.dumps(w).encode() for w in warm])]
        answers = burst(base_url, bodies)

    slowest = max(took for _, took in answers)
    assert slowest < DEADLINE + SLACK, f"answers took up to {slowest:.1f}s: {answers}"
    assert [status for status, _ in answers] == [200, 500] * (BURST // 2)
    assert queue.spool is not None
    expected = sorted(f"{_key(p)}|{_handler_name(queued_voice)}" for p in [*voice, warm[0]])
    rows: list[tuple[int, str]] = []  # taken (leased), so the drainer no longer tries them

    def all_taken() -> bool:
        rows.extend(queue.spool.take(2 * BURST, lease=60) if queue.spool else [])
        return len(rows) >= len(expected)  # a row the drainer holds is taken once it lets go

    eventually(all_taken, "every spooled row taken", timeout=4 * DEADLINE)
    assert sorted(json.loads(text)["key"] for _, text in rows) == expected  # no messaging
    for row_id, _ in rows:
        queue.spool.remove(row_id)
    if claims == "a redis-server":  # each claim freed once its publish gave up: a retry publishes
        left = RedisClaims(store, prefix=f"{{bwhooks:{name}}}:")
        keys = [f"{_key(p)}|{_handler_name(queued_messaging)}" for p in messaging]
        eventually(
            lambda: all(left.state(key) is None for key in keys),
            "the messaging claims freed",
            timeout=4 * DEADLINE,
        )


def _key(payload: Any) -> str:
    from bwhooks import parse_delivery

    (event,) = parse_delivery(payload)
    return idempotency_key(event)


def _handler_name(handler: Any) -> str:
    return f"{handler.__module__}:{handler.__qualname__}"


class Recording(TaskQueue):
    """An engine that records the deadline it was given."""

    def __init__(self, claims: RedisClaims, **options: Any) -> None:
        super().__init__(claims, spool=None, **options)
        self.deadlines: list[Deadline | None] = []

    def publish(self, envelope: Envelope) -> None:
        self.deadlines.append(publish_deadline())


class Stalling(RedisClaims):
    """Claims whose ``enqueue`` returns only once the publish deadline has passed."""

    def enqueue(self, key: str, token: str, ttl: float, envelope: str = "") -> str | None:
        held = super().enqueue(key, token, ttl, envelope)
        deadline = publish_deadline()
        assert deadline is not None, "the claim runs within the deadline"
        limit = time.monotonic() + 30
        while deadline.remaining() > 0:  # the condition, bounded: no wall-clock threshold
            assert time.monotonic() < limit
            time.sleep(0.01)
        return held


def envelope_for(queue: TaskQueue, event: Event) -> Envelope:
    from bwhooks.http import CallbackRequest

    request = CallbackRequest("POST", "/", {"Content-Type": "application/json"}, b"{}")
    return queue.envelope("tests:handler", event, request)


def test_the_claim_and_the_publish_share_one_deadline(store: redis.Redis) -> None:
    from bwhooks import parse_delivery

    queue = Recording(RedisClaims(store, prefix="bounded-share:"), publish_timeout=5.0)
    (event,) = parse_delivery(fake_payload("v2:disconnect"))
    before = time.monotonic()
    assert queue.publisher.claim_and_publish(envelope_for(queue, event))
    (deadline,) = queue.deadlines
    assert deadline is not None
    assert before + 5.0 <= deadline.at <= time.monotonic() + 5.0  # begun before the claim
    assert publish_deadline() is None  # and only for the claim-and-publish


def test_a_claim_that_used_the_whole_deadline_publishes_nothing_and_frees_the_claim(
    store: redis.Redis,
) -> None:
    from bwhooks import parse_delivery

    claims = Stalling(store, prefix="bounded-stall:")
    queue = Recording(claims, publish_timeout=0.2)
    (event,) = parse_delivery(fake_payload("v2:disconnect"))
    envelope = envelope_for(queue, event)
    with pytest.raises(PublishTimeout):
        queue.publisher.claim_and_publish(envelope)
    eventually(lambda: claims.state(envelope.key) is None, "the claim freed for the next delivery")
    assert queue.deadlines == []  # never handed to the broker: the deadline had passed


class Blocked(TaskQueue):
    """An engine whose publish blocks (a broker read that takes no deadline) until told."""

    def __init__(self, claims: RedisClaims, **options: Any) -> None:
        super().__init__(claims, spool=None, **options)
        self.entered = threading.Event()
        self.release = threading.Event()

    def publish(self, envelope: Envelope) -> None:
        self.entered.set()
        assert self.release.wait(timeout=30)


def test_a_publish_blocked_past_the_deadline_is_answered_then_finishes_the_claim(
    store: redis.Redis,
) -> None:
    """The caller gets PublishTimeout at the deadline, however long the engine blocks; the
    publish, when it lands after all, still moves the claim on (``queued``), so a later
    delivery (a retry, the spool) is a duplicate, not a second message."""
    from bwhooks import parse_delivery

    claims = RedisClaims(store, prefix="bounded-blocked:")
    queue = Blocked(claims, publish_timeout=0.3)
    (event,) = parse_delivery(fake_payload("message-delivered"))
    envelope = envelope_for(queue, event)
    with pytest.raises(PublishTimeout, match="took longer than the deadline"):
        queue.publisher.claim_and_publish(envelope)
    assert queue.entered.is_set()
    assert not queue.release.is_set()  # answered while the publish was still blocked
    queue.release.set()
    eventually(lambda: claims.state(envelope.key) == "queued", "the late publish marked queued")
    assert queue.publisher.claim_and_publish(envelope) is False  # a duplicate now


def test_publish_timeout_must_be_inside_the_enqueuing_claim(store: redis.Redis) -> None:
    claims = RedisClaims(store, prefix="bounded-options:")
    with pytest.raises(ValueError, match="publish_timeout"):
        Recording(claims, publish_timeout=30.0, enqueue_ttl=30.0)
    with pytest.raises(ValueError, match="publish_timeout"):
        Recording(claims, publish_timeout=0)


def test_a_broken_pooled_connection_is_replaced_within_the_deadline(
    store: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A publish that fails on a broken pooled connection (a broker restarted under it) is
    tried once more on a fresh connection, within the same deadline."""
    from bwhooks import parse_delivery

    port = store.connection_pool.connection_kwargs["port"]
    celery_app = Celery("bounded-stale", broker=f"redis://127.0.0.1:{port}/0")
    tasks = f"bounded-stale-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_default_queue = tasks
    queue = CeleryQueue(celery_app, name="bounded_stale", redis=store, spool=None)
    original = queue.task.apply_async
    failures = [redis.exceptions.ConnectionError("Connection reset by peer")]

    def broken_once(*args: Any, **options: Any) -> Any:
        if failures:
            raise failures.pop()
        return original(*args, **options)

    monkeypatch.setattr(queue.task, "apply_async", broken_once)
    (event,) = parse_delivery(fake_payload("message-delivered"))
    queue.publish(envelope_for(queue, event))
    assert failures == []
    assert store.llen(tasks) == 1  # published once, on the fresh connection


def test_a_pooled_connection_is_waited_for_until_the_deadline_only(store: redis.Redis) -> None:
    """Every connection of Celery's pool busy (held longer than the deadline, as by
    publishes stuck on a silent broker): the publish gives up at its deadline, it does not
    queue behind them (kombu's own waits have no timeout)."""
    from bwhooks import parse_delivery

    port = store.connection_pool.connection_kwargs["port"]
    celery_app = Celery("bounded-pool", broker=f"redis://127.0.0.1:{port}/0")
    celery_app.conf.broker_pool_limit = 1
    queue = CeleryQueue(
        celery_app, name="bounded_pool", redis=store, spool=None, publish_timeout=0.3
    )
    (event,) = parse_delivery(fake_payload("message-delivered"))
    envelope = envelope_for(queue, event)
    held = celery_app.pool.acquire(block=True, timeout=5)
    try:
        with ThreadPoolExecutor(1) as pool:
            publishing = pool.submit(queue.publish, envelope)
            with pytest.raises(PublishTimeout, match="pooled broker connections"):
                publishing.result(timeout=30)  # kombu's wait would still be waiting
    finally:
        held.release()
    queue.publish(envelope)  # the producer back: published


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX")
def test_a_forked_child_claims_and_publishes_on_threads_of_its_own(store: redis.Redis) -> None:
    """A process that published, then forked (a Celery worker's parent that drained a
    spool, a receiver preloaded by gunicorn): its child publishes within the deadline, on
    threads of its own (the parent's are not in the child)."""
    import warnings

    from bwhooks import parse_delivery

    queue = Recording(RedisClaims(store, prefix="bounded-fork:"), publish_timeout=5.0)
    (first, second) = parse_delivery(fake_payload("message-delivered", count=2))
    assert queue.publisher.claim_and_publish(envelope_for(queue, first))  # threads started
    with warnings.catch_warnings():  # Python 3.12+: fork() of a process with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        child = os.fork()
    if child == 0:  # the child: 0 when published within the deadline
        code = 1
        try:
            code = 0 if queue.publisher.claim_and_publish(envelope_for(queue, second)) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize("name", ["orders-eu", "orders-2", "orders.v2", "2-orders_eu.v1"])
def test_a_queue_named_with_any_characters_publishes(store: redis.Redis, name: str) -> None:
    """Celery compiles a function named after the queue's task: a queue name that is no
    Python identifier (a hyphen, a dot) made every publish fail with SyntaxError."""
    from bwhooks import parse_delivery

    port = store.connection_pool.connection_kwargs["port"]
    celery_app = Celery("bounded-names", broker=f"redis://127.0.0.1:{port}/0")
    tasks = f"bounded-names-{uuid.uuid4().hex[:8]}"
    celery_app.conf.task_default_queue = tasks
    queue = CeleryQueue(celery_app, name=name, redis=store, spool=None)
    (event,) = parse_delivery(fake_payload("message-delivered"))
    queue.publish(envelope_for(queue, event))
    assert store.llen(tasks) == 1
    assert queue.task.name == f"bwhooks.{name}.run"  # the task's name is the queue's


def test_a_claims_client_without_socket_timeout_is_warned_about(
    store: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """A ``redis=`` client that waits forever for a silent store would hold a publishing
    thread for good (the callback is answered at the deadline all the same): said once,
    when the queue is built."""
    port = store.connection_pool.connection_kwargs["port"]
    celery_app = Celery("bounded-warned", broker=f"redis://127.0.0.1:{port}/0")
    caplog.set_level("WARNING", "bwhooks.queue")
    CeleryQueue(celery_app, name="bounded_timed", redis=store, spool=None)
    assert caplog.text == ""
    forever = redis.Redis(port=port, socket_timeout=None)
    CeleryQueue(celery_app, name="bounded_forever", redis=forever, spool=None)
    assert "'bounded_forever': the redis= client has no socket_timeout" in caplog.text


def test_callbacks_after_a_publish_ran_out_of_time_are_answered_at_once(
    silent: Silent, store: redis.Redis, tmp_path: Path, drained: list[CeleryQueue]
) -> None:
    """A server that answers one request at a time (werkzeug's, unthreaded) and a broker
    that never answers: twelve callbacks one after the other. The first waits
    ``publish_timeout``; the next ones, for as long again, are answered at once as when the
    broker is down (voice spooled, Messaging 500), never one ``publish_timeout`` each
    (24 s here before). Then a callback waits for the broker again."""
    from werkzeug.serving import make_server

    celery_app = Celery("stalled", broker=silent.url)
    name = f"stalled_{uuid.uuid4().hex[:8]}"
    queue = CeleryQueue(
        celery_app, name=name, redis=store, spool=tmp_path / "s.sqlite3", publish_timeout=DEADLINE
    )
    drained.append(queue)
    receiver = Receiver(auth=BasicAuth(CREDENTIALS))
    receiver.on(VoiceEvent, queue=queue)(queued_voice)
    receiver.on(MessagingEvent, queue=queue)(queued_messaging)
    kinds = ["v2:disconnect", "message-delivered"] * 6
    server = make_server("127.0.0.1", 0, wsgi.make_app(receiver), threaded=False)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        base_url = f"http://127.0.0.1:{server.server_port}"
        started = time.monotonic()
        answers = [post(base_url, json.dumps(fake_payload(kind)).encode()) for kind in kinds]
        took = time.monotonic() - started
        time.sleep(DEADLINE)  # the broker is asked again once as long has passed
        status, again = post(base_url, json.dumps(fake_payload("message-delivered")).encode())
    finally:
        server.shutdown()
        thread.join()
    assert [status for status, _ in answers] == [200, 500] * 6
    assert took < 2 * DEADLINE + SLACK, answers  # one wait, not twelve
    assert (status, again >= DEADLINE) == (500, True)  # it waited for the broker again
