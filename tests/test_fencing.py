"""Fencing: a run that may overlap another knows it, and never marks done what another owns.

A lease cannot stop a run: a worker frozen past its lease (docker pause, a VM stall) keeps
running once thawed, beside the run that took the work over. So a handler can read its run
(``current_run()``: its attempt, a fencing token; ``lost``; ``still_held()``), a lost lease
is reported (``lease-lost``), and on a pool that cannot stop a handler (threads, solo) a run
past the queue's time limit stops renewing its lease, so that the work runs again elsewhere.

In this process with a real redis-server (``TaskQueue`` driven by the test), and with real
``celery worker -P threads`` processes serving tests/fencing_app.py.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest
import redis
from processes import Service, imported, running, start_redis, start_worker, wait_for
from support import free_port

import bwhooks.celery
from bwhooks import CallbackRequest, Event, parse_delivery
from bwhooks.auth import basic_authorization
from bwhooks.dispatch import handling
from bwhooks.queue import QueueOutcome, Run, current_run
from bwhooks.queue.claims import RUNNING, RedisClaims, Start
from bwhooks.queue.tasks import Envelope, TaskQueue, Verdict
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(90)
QUEUE_LOGGER = "bwhooks.queue"


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    service = start_redis(port, tmp_path_factory.mktemp("fencing"))
    try:
        yield port
    finally:
        service.kill()


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    """Threads that run messages, as a worker's pool does."""
    executor = ThreadPoolExecutor(4)
    try:
        yield executor
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


# -- in this process: a TaskQueue whose broker is a list ------------------------------------


class Local(TaskQueue):
    """An engine of a list: what it publishes, what its metrics hook was given."""

    def __init__(self, claims: RedisClaims, **settings: Any) -> None:
        self.outcomes: list[QueueOutcome] = []
        self.published: list[Envelope] = []
        super().__init__(claims, metrics=self.outcomes.append, **settings)

    def publish(self, envelope: Envelope) -> None:
        self.published.append(envelope)

    def names(self) -> list[str]:
        return [outcome.name for outcome in self.outcomes]


def local_queue(redis_port: int, **settings: Any) -> Local:
    claims = RedisClaims(redis.Redis(port=redis_port), prefix=f"fencing-{time.time_ns()}:")
    return Local(claims, retry_backoff=0.05, retry_backoff_max=0.1, **settings)


def queued(queue: Local, handler: Callable[[Event], Any]) -> Envelope:
    """One callback for ``handler``, published by ``queue``'s receiver side."""
    publish = queue.bind(handler)
    payload = fake_payload("sms")
    request = CallbackRequest("POST", "/callbacks", {}, json.dumps(payload).encode())
    (event,) = parse_delivery(payload)
    with handling(request):
        publish(event)
    return queue.published[-1]


def until(condition: Callable[[], bool], timeout: float = 10) -> bool:
    """Whether ``condition()`` became true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == QUEUE_LOGGER and r.levelno == level]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_current_run_is_none_outside_a_queued_run_and_its_run_inside(
    redis_port: int, kind: str
) -> None:
    """Inside a handler (``def`` or ``async def``) ``current_run()`` is its run: the work's
    key, the token the claims store holds it by, the attempt counted there; ``None``
    outside, before, after and in another thread."""
    queue = local_queue(redis_port, max_attempts=3)
    seen: list[tuple[Run, bool, str | None]] = []

    def look() -> None:
        run = current_run()
        assert run is not None
        seen.append((run, run.still_held(), queue.claims.state(run.key)))
        if run.attempt == 1:
            raise RuntimeError("the first attempt fails")

    def handler(event: Event) -> None:
        look()

    async def handler_async(event: Event) -> None:
        look()

    envelope = queued(queue, handler if kind == "sync" else handler_async)
    assert current_run() is None
    assert queue.run(envelope.to_dict()).verdict is Verdict.RETRY
    assert current_run() is None  # reset after a failed run too
    assert queue.run(envelope.to_dict()).verdict is Verdict.ACK
    assert current_run() is None
    with ThreadPoolExecutor(1) as other:
        assert other.submit(current_run).result() is None
    assert [run.attempt for run, _, _ in seen] == [1, 2]
    assert {run.key for run, _, _ in seen} == {envelope.key}
    assert [state for _, _, state in seen] == [RUNNING + run.token for run, _, _ in seen]
    assert seen[0][0].token != seen[1][0].token
    assert all(held and not run.lost for run, held, _ in seen)
    assert not seen[1][0].still_held()  # done: no run holds it any more
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        seen[0][0].attempt = 9  # type: ignore[misc]
    assert bwhooks.celery.current_run is current_run


def test_a_run_whose_work_was_taken_over_is_flagged_lost_reported_once_and_marks_nothing(
    redis_port: int, pool: ThreadPoolExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    """Renewal finds the claim another run's: the run is flagged lost (one WARNING, one
    ``lease-lost``), ``still_held()`` says so, and when the handler returns, its finish is
    refused: the work stays the newer run's, and it is not counted ``handled``."""
    caplog.set_level(logging.INFO, QUEUE_LOGGER)
    queue = local_queue(redis_port, lease=1.5, renew_leases=True)
    runs: list[Run] = []
    taken, observed = threading.Event(), []

    def slow(event: Event) -> None:
        run = current_run()
        assert run is not None
        runs.append(run)
        assert taken.wait(10)
        observed.append((until(lambda: run.lost), run.still_held(), run.lost))

    envelope = queued(queue, slow)
    ran = pool.submit(queue.run, envelope.to_dict())
    assert until(lambda: len(runs) == 1)
    other = queue.claims.begin(envelope.key, "other", 60, 60, take_over=RUNNING + runs[0].token)
    assert (other.start, other.attempt) == (Start.RUN, 2)
    taken.set()
    assert ran.result(timeout=20).verdict is Verdict.ACK
    assert observed == [(True, False, True)]
    assert queue.claims.state(envelope.key) == RUNNING + "other"  # not marked done
    assert [(o.name, o.attempt) for o in queue.outcomes if o.name != "queued"] == [
        ("lease-lost", 1)
    ]
    lost = [m for m in messages(caplog, logging.WARNING) if envelope.key in m]
    assert len(lost) == 1, lost
    assert "another run" in lost[0]
    assert any("not marked done" in m for m in messages(caplog, logging.INFO))
    assert queue.claims.finish(envelope.key, "other", 60)  # the newer run's finish counts


@pytest.mark.parametrize("max_attempts", [1, 3])
def test_a_run_that_fails_after_its_work_was_taken_over_neither_retries_nor_dead_letters(
    redis_port: int, caplog: pytest.LogCaptureFixture, max_attempts: int
) -> None:
    """The newer run decides the work's end: the older one's failure (on its last attempt,
    or not) is acknowledged with a WARNING, no retry, no dead letter, the claim untouched."""
    caplog.set_level(logging.INFO, QUEUE_LOGGER)
    queue = local_queue(redis_port, max_attempts=max_attempts, renew_leases=False)
    letters: list[Any] = []
    queue.on_dead_letter = letters.append

    def overtaken(event: Event) -> None:
        run = current_run()
        assert run is not None
        queue.claims.begin(run.key, "other", 60, 60, take_over=RUNNING + run.token)
        raise RuntimeError("failed, after another run took the work over")

    envelope = queued(queue, overtaken)
    assert queue.run(envelope.to_dict()).verdict is Verdict.ACK
    assert queue.claims.state(envelope.key) == RUNNING + "other"
    assert letters == []
    assert queue.dead_letters() == []
    assert [o.name for o in queue.outcomes if o.name != "queued"] == []
    assert any("left to that run" in m for m in messages(caplog, logging.WARNING))


def test_a_renewal_the_store_fails_is_retried_while_the_lease_lasts(
    redis_port: int, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One renewal fails (the store unreachable): it is tried again, and the run is not
    lost: its lease never lapsed."""
    queue = local_queue(redis_port, lease=1.5, renew_leases=True)
    renew, calls = queue.claims.renew, []

    def flaky(key: str, token: str, lease: float) -> bool:
        calls.append(key)
        if len(calls) == 1:
            raise redis.ConnectionError("the store is unreachable")
        return renew(key, token, lease)

    monkeypatch.setattr(queue.claims, "renew", flaky)
    seen: list[tuple[bool, bool]] = []

    def slow(event: Event) -> None:
        run = current_run()
        assert run is not None
        assert until(lambda: len(calls) >= 3)  # failed once, then renewed twice
        seen.append((run.lost, run.still_held()))

    envelope = queued(queue, slow)
    assert queue.run(envelope.to_dict()).verdict is Verdict.ACK
    assert seen == [(False, True)]
    assert "lease-lost" not in queue.names()
    assert queue.claims.state(envelope.key) == "done"
    assert any("could not renew" in m for m in messages(caplog, logging.WARNING))


def test_renewals_failing_for_longer_than_the_lease_flag_the_run_lost(
    redis_port: int, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every renewal fails: once the lease lapsed (renewal could not happen for longer than
    the lease) the run is flagged lost and reported; nobody took the work over, so its
    finish still marks it done."""
    queue = local_queue(redis_port, lease=1.2, renew_leases=True)

    def unreachable(key: str, token: str, lease: float) -> bool:
        raise redis.ConnectionError("the store is unreachable")

    monkeypatch.setattr(queue.claims, "renew", unreachable)
    seen: list[tuple[bool, float, bool]] = []

    def slow(event: Event) -> None:
        run = current_run()
        assert run is not None
        started = time.monotonic()
        flagged = until(lambda: run.lost)
        seen.append((flagged, time.monotonic() - started, run.still_held()))

    envelope = queued(queue, slow)
    assert queue.run(envelope.to_dict()).verdict is Verdict.ACK
    ((flagged, after, held),) = seen
    assert flagged
    assert after >= 1.2 * 0.9  # not before the lease could have lapsed
    assert not held  # its lease lapsed in the store too
    assert [(o.name, o.attempt) for o in queue.outcomes if o.name != "queued"] == [
        ("lease-lost", 1),
        ("handled", 1),
    ]
    assert queue.claims.state(envelope.key) == "done"
    assert any("lapsed" in m for m in messages(caplog, logging.WARNING))


def test_a_hung_handler_past_the_time_limit_is_taken_over_then_dead_lettered(
    redis_port: int, pool: ThreadPoolExecutor, caplog: pytest.LogCaptureFixture
) -> None:
    """On a pool that cannot stop a handler (``renew_leases``), a run past the queue's
    ``time_limit`` stops renewing its lease (one ERROR, ``lease-lost``): the lease lapses,
    the next delivery takes the work over with the next attempt, and after
    ``max_attempts`` the work is dead-lettered like any failure. A hung run that returns
    marks nothing done: not while a newer run holds the work, not once it is dead."""
    queue = local_queue(redis_port, lease=1.2, time_limit=0.6, max_attempts=2)
    runs: list[Run] = []
    release = {1: threading.Event(), 2: threading.Event()}
    woke: list[tuple[int, bool, bool]] = []

    def hung(event: Event) -> None:
        run = current_run()
        assert run is not None
        runs.append(run)
        release[run.attempt].wait(30)
        woke.append((run.attempt, run.lost, run.still_held()))

    envelope = queued(queue, hung)
    key = envelope.key

    def delivered_once_lapsed(count: int) -> Future[Any]:
        """A redelivery (or the sweep's) once the lease lapsed."""
        assert until(lambda: queue.claims.lease_left(key) == 0), "the lease was still renewed"
        ran = pool.submit(queue.run, envelope.to_dict())
        assert until(lambda: len(runs) == count or ran.done())
        return ran

    try:
        first = pool.submit(queue.run, envelope.to_dict())
        assert until(lambda: len(runs) == 1)
        assert until(lambda: runs[0].lost)  # past its time limit
        second = delivered_once_lapsed(2)
        assert [run.attempt for run in runs] == [1, 2]
        release[1].set()  # the hung run returns while the newer one runs
        assert first.result(timeout=10).verdict is Verdict.ACK
        assert woke == [(1, True, False)]
        assert queue.claims.state(key) == RUNNING + runs[1].token  # not marked done
        assert until(lambda: runs[1].lost)  # hung too
        third = delivered_once_lapsed(3)
        assert third.result(timeout=10).verdict is Verdict.ACK  # attempt 3 of 2: given up
        assert len(runs) == 2
        assert queue.claims.state(key) == "dead"
    finally:
        for event in release.values():
            event.set()
    assert second.result(timeout=10).verdict is Verdict.ACK
    assert queue.claims.state(key) == "dead"  # the second hung run's finish refused too
    assert [letter.attempts for letter in queue.dead_letters()] == [2]
    assert [(o.name, o.attempt) for o in queue.outcomes if o.name != "queued"] == [
        ("lease-lost", 1),
        ("lease-lost", 2),
        ("dead-lettered", 2),
    ]
    past = [m for m in messages(caplog, logging.ERROR) if "ran past its time limit" in m]
    assert len(past) == 2, past
    assert "its lease is left to lapse and the work runs again elsewhere" in past[0]


# -- real Celery workers (threads pool) ------------------------------------------------------

HEADERS = {
    "Content-Type": "application/json",
    "Authorization": basic_authorization("fencing", "fencing-pass"),
}


class Fenced:
    """One test's queue: tests/fencing_app.py imported here (to publish) and served by
    workers, under a prefix of its own, and what its handler and metrics hook wrote."""

    def __init__(self, port: int, directory: Path) -> None:
        self.directory = directory
        self.prefix = f"fencing-{time.time_ns()}:"
        self.env = {
            "FENCING_REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "FENCING_PREFIX": self.prefix,
        }
        self.store = redis.Redis(port=port)
        self.app = self._imported()
        self.claims: RedisClaims = self.app.queue.claims

    def _imported(self) -> ModuleType:
        return imported("fencing_app", self.env)

    def worker(self, name: str) -> Service:
        return start_worker(
            name, self.env, self.directory, pool="threads", app="fencing_app:celery_app"
        )

    def deliver(self) -> None:
        """Post one callback to the receiver, as Bandwidth does."""
        payload = fake_payload("sms")
        request = CallbackRequest("POST", "/callbacks", HEADERS, json.dumps(payload).encode())
        assert self.app.receiver.handle(request).status == 200

    def records(self, name: str) -> list[Any]:
        return [json.loads(item) for item in self.store.lrange(self.prefix + name, 0, -1)]

    def outcomes(self) -> list[str]:
        items = self.store.lrange(self.prefix + "outcomes", 0, -1)
        return [item.decode() if isinstance(item, bytes) else str(item) for item in items]

    def release(self, attempt: int) -> None:
        self.store.rpush(f"{self.prefix}release:{attempt}", 1)

    def pending(self) -> int:
        return int(self.store.zcard(f"{self.claims.prefix}pending-at"))


@pytest.fixture
def fenced(redis_port: int, tmp_path: Path) -> Fenced:
    return Fenced(redis_port, tmp_path)


def test_a_handler_hung_past_the_time_limit_on_a_threads_worker_is_taken_over_and_done_once(
    fenced: Fenced,
) -> None:
    """A threads worker's handler hangs past the queue's time limit: its lease is left to
    lapse, another worker's sweep publishes the work again and it runs there (attempt 2).
    The hung run, woken while attempt 2 still runs, sees it lost, and its finish is refused;
    the work is done once, by attempt 2."""
    hung = fenced.worker("hung")
    with running(hung):
        fenced.deliver()
        wait_for(lambda: len(fenced.records("starts")) == 1, "the first run started", hung)
        taker = fenced.worker("taker")
        with running(taker):
            wait_for(lambda: len(fenced.records("starts")) == 2, "taken over", taker, timeout=40)
            first, second = fenced.records("starts")
            work = first["key"]
            assert (first["attempt"], first["pid"]) == (1, hung.pid)
            assert (second["attempt"], second["pid"], second["key"]) == (2, taker.pid, work)
            assert "lease-lost 1" in fenced.outcomes()  # reported at the time limit
            assert "ran past its time limit" in hung.text()
            fenced.release(1)  # the hung run wakes while the newer run still runs
            wait_for(lambda: len(fenced.records("woke")) == 1, "the hung run woke", hung)
            assert fenced.records("woke") == [
                {"attempt": 1, "lost_before": True, "held": False, "lost": True}
            ]
            wait_for(lambda: "not marked done" in hung.text(), "its finish refused", hung)
            assert fenced.claims.state(work) == RUNNING + second["token"]
            fenced.release(2)
            wait_for(lambda: fenced.claims.state(work) == "done", "done by attempt 2", taker)
            wait_for(lambda: fenced.pending() == 0, "nothing pending", taker)
            assert fenced.records("woke")[1] == {
                "attempt": 2,
                "lost_before": False,
                "held": True,
                "lost": False,
            }
            outcomes = fenced.outcomes()
            assert outcomes.count("handled 2") == 1
            assert [o for o in outcomes if o.startswith(("handled", "lease-lost"))] == [
                "lease-lost 1",
                "handled 2",
            ]
            assert len(fenced.records("starts")) == 2


def test_a_frozen_worker_finds_its_run_lost_and_the_work_is_done_once(fenced: Fenced) -> None:
    """A threads worker is frozen (SIGSTOP) mid-handler past its lease; another worker takes
    the work over and completes it. Thawed, the old run sees ``still_held()`` false and
    ``lost``, is reported ``lease-lost``, and its finish marks nothing: done once."""
    frozen = fenced.worker("frozen")
    with running(frozen):
        fenced.deliver()
        wait_for(lambda: len(fenced.records("starts")) == 1, "the first run started", frozen)
        (first,) = fenced.records("starts")
        work = first["key"]
        fenced.release(2)  # the run that takes over completes at once
        os.killpg(frozen.pid, signal.SIGSTOP)  # docker pause, a VM stall
        try:
            taker = fenced.worker("taker")
            with running(taker):
                wait_for(lambda: fenced.claims.state(work) == "done", "done elsewhere", taker, 40)
                starts = fenced.records("starts")
                assert [(s["attempt"], s["pid"]) for s in starts] == [
                    (1, frozen.pid),
                    (2, taker.pid),
                ]
                fenced.release(1)
        finally:
            os.killpg(frozen.pid, signal.SIGCONT)
        wait_for(lambda: len(fenced.records("woke")) == 2, "the thawed run woke", frozen)
        woke = {record["attempt"]: record for record in fenced.records("woke")}
        assert (woke[1]["held"], woke[1]["lost"]) == (False, True)
        assert (woke[2]["held"], woke[2]["lost"]) == (True, False)
        wait_for(lambda: "not marked done" in frozen.text(), "its finish refused", frozen)
        assert fenced.claims.state(work) == "done"
        outcomes = fenced.outcomes()
        assert [o for o in outcomes if o.startswith(("handled", "lease-lost"))] == [
            "handled 2",
            "lease-lost 1",
        ]
        assert len(fenced.records("starts")) == 2
