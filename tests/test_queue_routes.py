"""Operations of a queue: a name per service, handlers routed (broker queue, priority, rate
limit), and the broker's transport options bwhooks needs kept when the app replaces them.

The routed handlers run on real ``celery worker`` processes (tests/routes_app.py), one per
broker queue, against a private redis-server.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import redis
from celery import Celery
from processes import Service, imported, start_redis, start_worker
from support import free_port

from bwhooks import CallbackRequest, Event, Receiver
from bwhooks.auth import BasicAuth, basic_authorization
from bwhooks.queue.celery import CeleryQueue, service_name
from bwhooks.queue.claims import key_prefix
from bwhooks.queue.routes import RouteOptions, task_name
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(120)
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": basic_authorization("routes", "routes-pass"),
}


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    directory = tmp_path_factory.mktemp("routes")
    port = free_port()
    server = start_redis(port, directory)
    try:
        yield port
    finally:
        server.kill()


def eventually(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


# -- a name per service -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("main", "expected"),
    [
        ("orders", "orders"),
        ("billing.tasks", "billing.tasks"),
        ("my service!", "my-service"),
        (None, "bwhooks"),
        ("__main__", "bwhooks"),
        ("***", "bwhooks"),
    ],
)
def test_a_queue_is_named_after_its_celery_app(main: str | None, expected: str) -> None:
    app = Celery(main, broker="redis://127.0.0.1:1/0")
    assert service_name(app) == expected
    queue = CeleryQueue(app, spool=None)
    assert queue.name == expected
    assert queue.task.name == f"bwhooks.{expected}.run"
    assert queue.make_claims().prefix == key_prefix(expected)


def test_two_services_on_one_redis_keep_their_tasks_claims_and_dead_letters_apart(
    redis_port: int,
) -> None:
    url = f"redis://127.0.0.1:{redis_port}/0"
    orders = CeleryQueue(Celery("orders", broker=url), spool=None)
    billing = CeleryQueue(Celery("billing", broker=url), spool=None)
    assert orders.task.name != billing.task.name
    orders.claims.add_dead_letter({"envelope": {"key": "o"}}, max_length=10)
    assert billing.claims.dead_letters(10) == []
    assert [record["envelope"]["key"] for record in orders.claims.dead_letters(10)] == ["o"]
    assert orders.claims.enqueue("same-work", "token", 30) is None
    assert billing.claims.enqueue("same-work", "token", 30) is None  # not the other's claim


def test_an_explicit_name_wins_over_the_app_s(redis_port: int) -> None:
    app = Celery("orders", broker=f"redis://127.0.0.1:{redis_port}/0")
    assert CeleryQueue(app, name="eu-orders", spool=None).task.name == "bwhooks.eu-orders.run"


# -- routes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"queue": "has space"},
        {"queue": ""},
        {"priority": -1},
        {"priority": 256},
        {"rate_limit": "ten per second"},
        {"rate_limit": "10/d"},
    ],
)
def test_a_bad_route_is_refused_when_it_is_made(options: dict[str, Any]) -> None:
    queue = CeleryQueue(Celery("svc", broker="redis://127.0.0.1:1/0"), spool=None)
    with pytest.raises(ValueError, match="route"):
        queue.route(**options)


def test_each_rate_limit_has_a_task_of_its_own_registered_when_the_route_is_made() -> None:
    app = Celery("svc", broker="redis://127.0.0.1:1/0")
    queue = CeleryQueue(app, spool=None)
    queue.route(rate_limit="10/m")
    queue.route(rate_limit="10/m", queue="other")  # the same task
    queue.route(rate_limit="1.5")
    limited = app.tasks[task_name("svc", "10/m")]
    assert limited.name == "bwhooks.svc.run.per-10-m"
    assert limited.rate_limit == "10/m"
    assert limited.acks_late
    assert limited.reject_on_worker_lost
    assert app.tasks[task_name("svc", "1.5")].rate_limit == "1.5"
    assert app.tasks["bwhooks.svc.run"].rate_limit is None
    assert RouteOptions(queue="q", priority=3).publish_options() == {"queue": "q", "priority": 3}
    assert RouteOptions().publish_options() == {}


def test_a_handler_routed_twice_differently_is_refused() -> None:
    queue = CeleryQueue(Celery("svc", broker="redis://127.0.0.1:1/0"), spool=None)
    receiver = Receiver(auth=BasicAuth(("u", "p")))

    def handler(event: Event) -> None: ...

    receiver.on(Event, queue=queue.route(queue="a"))(handler)
    receiver.on(Event, queue=queue.route(queue="a"))(handler)  # the same route: fine
    with pytest.raises(ValueError, match="routed twice"):
        receiver.on(Event, queue=queue.route(queue="b"))(handler)


class Service2:
    """tests/routes_app.py, with a worker on the default queue and one on the slow queue."""

    def __init__(self, port: int, directory: Path) -> None:
        self.prefix = f"routes{port}:"
        self.env = {"ROUTES_REDIS_URL": f"redis://127.0.0.1:{port}/0", "ROUTES_PREFIX": self.prefix}
        app = "routes_app:celery_app"
        self.workers: list[Service] = [
            start_worker("default", self.env, directory, app=app, queues=f"{self.prefix}tasks"),
            start_worker("slow", self.env, directory, app=app, queues=f"{self.prefix}slow"),
        ]


@pytest.fixture(scope="module")
def routed(redis_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    service = Service2(redis_port, tmp_path_factory.mktemp("routed"))
    try:
        yield imported("routes_app", service.env)
    finally:
        for worker in service.workers:
            worker.kill()


def runs(app: ModuleType, handler: str) -> list[dict[str, Any]]:
    return [json.loads(entry) for entry in app.store.lrange(f"{app.PREFIX}runs:{handler}", 0, -1)]


def post(app: ModuleType, text: str) -> None:
    body = json.dumps(fake_payload("message-received", message__text=text)).encode()
    answer = app.receiver.handle(CallbackRequest("POST", "/callbacks", HEADERS, body))
    assert answer.status == 200, answer.body


def test_routed_handlers_run_on_their_queue_with_their_priority_also_when_retried(
    routed: ModuleType,
) -> None:
    post(routed, "again")  # the slow handler fails once: its retry stays on its queue
    post(routed, "once")
    eventually(lambda: len(runs(routed, "slow")) == 3, "two slow runs and a retry")
    eventually(lambda: len(runs(routed, "plain")) == 2, "the plain handler's two runs")
    slow = runs(routed, "slow")
    assert {run["worker"].split("@")[0] for run in slow} == {"slow"}
    assert {run["priority"] for run in slow} == {7}
    assert sorted(run["text"] for run in slow) == ["again", "again", "once"]
    assert {run["worker"].split("@")[0] for run in runs(routed, "plain")} == {"default"}
    assert {run["task"] for run in runs(routed, "plain")} == {"bwhooks.routes-service.run"}


def test_a_rate_limited_handler_runs_no_faster_than_its_limit(routed: ModuleType) -> None:
    before = len(runs(routed, "limited"))
    for number in range(4):
        post(routed, f"limited {number}")
    eventually(lambda: len(runs(routed, "limited")) == before + 4, "four limited runs")
    limited = runs(routed, "limited")[before:]
    assert {run["task"] for run in limited} == {"bwhooks.routes-service.run.per-2-s"}
    times = sorted(run["at"] for run in limited)
    # 2/s: Celery's bucket lets the first run at once and each next one half a second later
    # (unlimited, the four take milliseconds on this worker)
    assert times[-1] - times[0] >= 1.2, times


# -- transport options ----------------------------------------------------------------------


def _pooled_options(app: Celery) -> dict[str, Any]:
    with app.pool.acquire(block=True, timeout=5) as connection:
        return dict(connection.transport_options)


def test_transport_options_replaced_after_the_queue_was_built_keep_its_timeouts(
    redis_port: int,
) -> None:
    app = Celery("late", broker=f"redis://127.0.0.1:{redis_port}/0")
    queue = CeleryQueue(app, spool=None, publish_timeout=2.5)
    app.conf.broker_transport_options = {"visibility_timeout": 7200}  # the user's, later
    receiver = Receiver(auth=BasicAuth(("routes", "routes-pass")))
    receiver.on(Event, queue=queue)(lambda event: None)
    body = json.dumps(fake_payload("message-received")).encode()
    assert receiver.handle(CallbackRequest("POST", "/", HEADERS, body)).status == 200
    options = _pooled_options(app)
    assert options["socket_timeout"] == 2.5
    assert options["socket_connect_timeout"] == 2.5
    assert options["visibility_timeout"] == 7200  # the user's own kept


def test_rabbitmq_confirms_are_kept_when_the_options_are_replaced(redis_port: int) -> None:
    app = Celery("rabbit", broker=f"pyamqp://guest@127.0.0.1:{free_port()}//")
    store = redis.Redis(port=redis_port, socket_timeout=2, socket_connect_timeout=2)
    queue = CeleryQueue(app, redis=store, spool=None)
    app.conf.broker_transport_options = {"max_retries": 1}
    receiver = Receiver(auth=BasicAuth(("routes", "routes-pass")))
    receiver.on(Event, queue=queue)(lambda event: None)
    body = json.dumps(fake_payload("message-received")).encode()
    # no RabbitMQ listens there: a Messaging callback is answered 500 (retried by Bandwidth)
    assert receiver.handle(CallbackRequest("POST", "/", HEADERS, body)).status == 500
    options = _pooled_options(app)
    assert options["confirm_publish"] is True
    assert options["max_retries"] == 1


def test_options_replaced_after_the_connections_were_made_are_reported(
    redis_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    app = Celery("later", broker=f"redis://127.0.0.1:{redis_port}/0")
    queue = CeleryQueue(app, spool=None)
    receiver = Receiver(auth=BasicAuth(("routes", "routes-pass")))
    receiver.on(Event, queue=queue)(lambda event: None)

    def deliver() -> int:
        body = json.dumps(fake_payload("message-received")).encode()
        return receiver.handle(CallbackRequest("POST", "/", HEADERS, body)).status

    assert deliver() == 200
    app.conf.broker_transport_options = {}
    with caplog.at_level(logging.WARNING, logger="bwhooks.queue"):
        assert deliver() == 200
    assert any("replaced after" in record.getMessage() for record in caplog.records)
