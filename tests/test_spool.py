"""The spool keeps what it acknowledged: a voice callback answered ``2xx`` while the broker
failed is published later, whatever the broker raised, by receivers and workers alike.

Real processes: a redis-server of this module (claims, broker), receivers on werkzeug's real
server, a real ``celery worker`` (tests/queue_app.py) for what a worker drains.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from processes import Service, start_redis
from support import free_port, wsgi_server

from bwhooks import CallbackRequest, InsecureReceiverWarning, Receiver, parse_delivery
from bwhooks.events import VoiceEvent
from bwhooks.queue.claims import RedisClaims
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
    assert with_claims.claims.prefix == "bwhooks:rabbit:"
    with pytest.raises(ValueError, match="has no claims store"):
        TaskQueue(None)

    class Engine(TaskQueue):
        def make_claims(self) -> RedisClaims:
            return RedisClaims(redis.Redis(port=1))

    assert Engine(None).claims.prefix == "bwhooks:"
