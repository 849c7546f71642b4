"""The claim protocol checked as a whole: a stateful model (hypothesis) against a real
redis-server.

Receivers, workers and a sweeper are the real roles (``Publisher.claim_and_publish``,
``Worker.run``, ``OrphanSweeper.republish``) over one Redis, with an in-memory broker whose
publishes land, fail, or land and then fail, and handlers that block until the model tells
them to succeed, fail or crash (each run is a thread, held inside its handler). Time is the
model's: the claims' clock is a counter, and a lease lapses when the model deletes its key,
which is what a lapse is. Every step's outcome is compared with a model of the claims, and
after every step: at most one run of a work holds a live lease while its handler runs. At
the end the model drains everything (every message delivered, every lost run's lease
lapsed, swept with ``idle=0`` until nothing moves): each work acknowledged to Bandwidth is
completed exactly once or dead-lettered exactly once.

Longer runs locally: ``BWHOOKS_MODEL_EXAMPLES=5000 .venv/bin/python -m pytest -p
no:cacheprovider -q tests/test_claims_model.py`` (about 40 ms an example; the default, 800,
keeps CI under half a minute).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import attrs
import pytest
import redis
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from processes import start_redis
from support import free_port

from bwhooks import CallbackRequest, parse_delivery
from bwhooks.errors import RetryLater
from bwhooks.events import Event
from bwhooks.queue import claims as claims_module
from bwhooks.queue import running
from bwhooks.queue.claims import ENQUEUING, RUNNING, RedisClaims, Start, key_prefix
from bwhooks.queue.running import Ran, Verdict
from bwhooks.queue.tasks import Envelope, TaskQueue
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(300)

EXAMPLES = int(os.environ.get("BWHOOKS_MODEL_EXAMPLES", "800"))
KEYS = ("k0", "k1")
HANDLER = "model:handler"
MAX_ATTEMPTS = 3
LEASE = 600.0  # never lapses by itself: the model deletes the lease key instead
TTL = 3600.0  # done work is remembered longer than any example (its expiry is not modelled)
WAIT = 10.0  # the longest a step waits for a worker thread
WORKER_NODES = ("a", "a", "b")  # two workers on one machine, one on another
# A publish: the broker took it; it failed; the broker took it and the client saw an error
# (a lost reply); it landed and marking it `queued` failed; it failed and so did the abandon.
OUTCOMES = ("lands", "fails", "lands-then-raises", "lands-queued-fails", "fails-abandon-fails")
PREFIX = key_prefix("model")


class Crash(BaseException):
    """The worker's process killed mid-run: nothing after the handler runs."""


class HandlerFailed(Exception):
    """The handler raised."""


class Broker:
    """The messages waiting for a worker; a publish lands or fails as the model says."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.outcome = "lands"

    def publish(self, envelope: Envelope) -> None:
        outcome, self.outcome = self.outcome, "lands"
        if outcome in ("fails", "fails-abandon-fails"):
            raise ConnectionError("the broker is down")
        self.messages.append(envelope.to_dict())
        if outcome == "lands-then-raises":
            raise ConnectionError("the broker's reply was lost")


class ModelClaims(RedisClaims):
    """The real claims; ``queued`` or ``abandon`` fail once when told to (the store
    blinked), and every settle's result is kept."""

    def __init__(self, client: Any, settled: list[tuple[str, str, str, bool]]) -> None:
        super().__init__(client, prefix=PREFIX)
        self.settled = settled
        self.fail_queued = self.fail_abandon = False

    def queued(self, key: str, token: str, ttl: float, envelope: str, **options: Any) -> Any:
        if self.fail_queued:
            self.fail_queued = False
            raise ConnectionError("the claims store blinked")
        return super().queued(key, token, ttl, envelope, **options)

    def abandon(self, key: str, token: str) -> bool:
        if self.fail_abandon:
            self.fail_abandon = False
            raise ConnectionError("the claims store blinked")
        return super().abandon(key, token)

    def finish(self, key: str, token: str, ttl: float) -> bool:
        return self._kept("finish", key, token, super().finish(key, token, ttl))

    def give_back(self, key: str, token: str, ttl: float) -> bool:
        return self._kept("give_back", key, token, super().give_back(key, token, ttl))

    def bury(self, key: str, token: str, ttl: float) -> bool:
        return self._kept("bury", key, token, super().bury(key, token, ttl))

    def _kept(self, what: str, key: str, token: str, result: bool) -> bool:
        self.settled.append((what, key, token, result))
        return result


class ModelQueue(TaskQueue):
    """One receiver's or worker's queue: the real roles, publishing to the model's broker."""

    def __init__(self, claims: ModelClaims, broker: Broker) -> None:
        super().__init__(
            claims,
            name="model",
            lease=LEASE,
            max_attempts=MAX_ATTEMPTS,
            done_ttl=TTL,
            enqueue_ttl=30.0,
            publish_timeout=WAIT,
            renew_leases=False,  # renewal is a rule of the model (the same call)
            logger=QUIET,
        )
        self.broker = broker
        self.handlers[HANDLER] = handler

    def publish(self, envelope: Envelope) -> None:
        self.broker.publish(envelope)


QUIET = logging.getLogger("bwhooks.tests.model")
QUIET.disabled = True
_current = threading.local()


def handler(event: Event) -> None:
    """The queued handler: it tells the model it started, then does what it is told."""
    run: Run = _current.run
    run.signals.put("started")
    command = run.commands.get(timeout=WAIT)
    if command == "fail":
        raise HandlerFailed(run.token)
    if command == "crash":
        raise Crash(run.token)


@dataclass
class Run:
    """One message taken by a worker: its thread, and the model's view of its lease."""

    token: str
    key: str
    node: str
    worker: ModelQueue
    signals: queue.Queue[str] = field(default_factory=queue.Queue)
    commands: queue.Queue[str] = field(default_factory=queue.Queue)
    ran: Ran | None = None
    attempt: int = 0
    live: bool = False  # its lease is live (the model's account)
    lapsed: bool = False  # the model lapsed its lease at least once

    def work(self, data: dict[str, Any]) -> None:
        _current.run = self
        try:
            self.ran = self.worker.run(data)
        except Crash:
            pass
        finally:
            self.signals.put("ended")

    def wait(self) -> str:
        try:
            return self.signals.get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"run {self.token} did not move within {WAIT}s") from None


@dataclass
class Work:
    """The model of one key's claim, lease, pending entry and history."""

    claim: str | None = None
    lease: str | None = None  # the token of the live lease
    pending_at: float | None = None  # its time in the pending index, None when not pending
    attempts: int = 0
    acknowledged: bool = False  # a receiver answered 2xx for it (published or duplicate)
    completed: int = 0  # finish returned True
    buried: int = 0  # bury returned True
    dead_letters: int = 0  # dead letters written (never by a late run: its bury is refused)


class World:
    """What lasts across examples: the Redis client, the claims' clock, and the example's
    machine (the patched ``run_token`` and ``holder_is_dead`` ask it)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.now = 1_000_000.0
        self.machine: ClaimsModel | None = None

    def time(self) -> float:
        return self.now

    def run_token(self) -> str:
        assert self.machine is not None
        return self.machine.next_token

    def holder_is_dead(self, holder: str) -> bool:
        assert self.machine is not None
        return self.machine.holder_is_dead(holder)


def envelopes_of(queue_: TaskQueue) -> dict[str, dict[str, Any]]:
    """An envelope of a real SMS event under each of the model's keys."""
    body = json.dumps(fake_payload("sms")).encode()
    request = CallbackRequest("POST", "/", {"Content-Type": "application/json"}, body)
    (event,) = parse_delivery(json.loads(body))
    envelope = queue_.envelope(HANDLER, event, request)
    return {key: attrs.evolve(envelope, key=key).to_dict() for key in KEYS}


class ClaimsModel(RuleBasedStateMachine):
    """Receivers, workers, a broker and a sweeper, interleaved; each step's outcome checked
    against the model of the claims (:class:`Work`)."""

    world: ClassVar[World]  # the test's

    def __init__(self) -> None:
        super().__init__()
        self.world.machine = self
        self.world.client.flushdb()
        self.broker = Broker()
        self.settled: list[tuple[str, str, str, bool]] = []
        self.receivers = [ModelQueue(self._claims(), self.broker) for _ in range(2)]
        self.workers = [(ModelQueue(self._claims(), self.broker), n) for n in WORKER_NODES]
        self.sweeper = ModelQueue(self._claims(), self.broker)
        self.envelopes = envelopes_of(self.sweeper)
        self.works = {key: Work() for key in KEYS}
        self.active: dict[str, Run] = {}  # runs whose handler is running
        self.crashed: dict[str, str] = {}  # token -> node, of runs whose process died
        self.known_dead: set[str] = set()  # of those, the ones whose machine can tell
        self.runs = 0
        self.next_token = ""
        self.node = ""

    def _claims(self) -> ModelClaims:
        return ModelClaims(self.world.client, self.settled)

    @property
    def claims(self) -> ModelClaims:
        return cast(ModelClaims, self.sweeper.claims)

    # -- receivers --------------------------------------------------------------------------

    @rule(key=st.sampled_from(KEYS), receiver=st.integers(0, 1), outcome=st.sampled_from(OUTCOMES))
    def deliver_callback(self, key: str, receiver: int, outcome: str) -> None:
        """Bandwidth delivers the callback of ``key`` (again: a duplicate delivery) to a
        receiver, whose publish has ``outcome``."""
        work, held = self.works[key], self.works[key].claim
        answer, landed = self._claim_and_publish(self.receivers[receiver], key, outcome)
        if held is not None:  # nothing published: a duplicate, or a publish under way
            retry = held.startswith(ENQUEUING)
            assert (answer, landed) == ("retry later" if retry else "duplicate", 0)
            work.acknowledged |= not retry
            if held not in ("done", "dead") and work.pending_at is None:
                work.pending_at = self.world.now  # answered as handled: pending again
            return
        published = outcome in ("lands", "lands-queued-fails")
        assert (answer, landed) == (
            "published" if published else "failed",
            int(outcome in ("lands", "lands-then-raises", "lands-queued-fails")),
        )
        work.acknowledged |= published
        kept, work.pending_at = work.pending_at is not None, self.world.now
        if outcome in ("fails", "lands-then-raises"):  # abandoned: free, pending if it was
            work.claim = None
            work.pending_at = work.pending_at if kept else None
        elif outcome == "lands":
            work.claim = "queued"
        else:  # `enqueuing` stays (until it lapses)
            work.claim = self.claims.state(key) or ""
            assert work.claim.startswith(ENQUEUING), work.claim
            assert work.claim.endswith("+pending") == kept, work.claim

    def _claim_and_publish(self, receiver: ModelQueue, key: str, outcome: str) -> tuple[str, int]:
        """A receiver's claim and publish: what it answered (``published``, ``duplicate``,
        ``retry later`` or ``failed``), and how many messages the broker took."""
        claims, sent = cast(ModelClaims, receiver.claims), len(self.broker.messages)
        self.broker.outcome = outcome
        claims.fail_queued = outcome == "lands-queued-fails"
        claims.fail_abandon = outcome == "fails-abandon-fails"
        try:
            envelope = Envelope.from_dict(self.envelopes[key])
            answer = "published" if receiver.publisher.claim_and_publish(envelope) else "duplicate"
        except RetryLater:
            answer = "retry later"
        except ConnectionError:
            answer = "failed"
        finally:
            self.broker.outcome = "lands"
            claims.fail_queued = claims.fail_abandon = False
        return answer, len(self.broker.messages) - sent

    @precondition(
        lambda self: any(w.claim and w.claim.startswith(ENQUEUING) for w in self.works.values())
    )
    @rule(data=st.data())
    def enqueuing_claim_lapses(self, data: st.DataObject) -> None:
        """A receiver's ``enqueuing`` claim reaches its ``enqueue_ttl``."""
        keys = [k for k, w in self.works.items() if w.claim and w.claim.startswith(ENQUEUING)]
        key = data.draw(st.sampled_from(keys))
        self.world.client.delete(f"{PREFIX}claim:{key}")
        self.works[key].claim = None

    # -- the broker -------------------------------------------------------------------------

    @precondition(lambda self: self.broker.messages)
    @rule(data=st.data(), worker=st.integers(0, len(WORKER_NODES) - 1), again=st.booleans())
    def deliver_message(self, data: st.DataObject, worker: int, again: bool) -> None:
        """The broker hands a message to a worker; ``again``: it keeps a copy, delivered
        again later (a redelivery)."""
        index = data.draw(st.integers(0, len(self.broker.messages) - 1))
        message = self.broker.messages[index] if again else self.broker.messages.pop(index)
        self._start(message, worker)

    @precondition(lambda self: self.broker.messages)
    @rule(data=st.data())
    def lose_message(self, data: st.DataObject) -> None:
        """The broker loses a message."""
        self.broker.messages.pop(data.draw(st.integers(0, len(self.broker.messages) - 1)))

    # -- workers ----------------------------------------------------------------------------

    def _start(self, message: dict[str, Any], worker: int) -> None:
        """A worker runs ``message``: the model says how ``begin`` ends, the run shows it."""
        key, (queue_, node) = message["key"], self.workers[worker]
        self.runs += 1
        run = Run(f"{node}.run{self.runs}", key, node, queue_)
        self.next_token, self.node = run.token, node
        expected, settled = self._begin(self.works[key], run), len(self.settled)
        event(f"a run: {expected}")
        threading.Thread(target=run.work, args=(message,), daemon=True).start()
        moved = run.wait()
        if expected == "run":
            assert moved == "started", f"{run.token}: expected the handler to run"
            self.active[run.token] = run
            return
        assert moved == "ended", f"{run.token}: expected {expected}"
        assert run.ran is not None
        assert len(self.settled) - settled == (expected == "give-up")
        if expected == "give-up":  # lost worker after lost worker: dead-lettered
            self._settled(run, "bury")
        retry = expected == "busy"
        assert run.ran.verdict is (Verdict.RETRY if retry else Verdict.ACK), expected
        if retry:
            self.broker.messages.append(message)  # again after the lease's time left

    def _begin(self, work: Work, run: Run) -> str:
        """What ``begin`` does to the model, and what the worker then does."""
        held = work.claim
        if held in ("done", "dead"):
            return held
        if held is not None and held.startswith(RUNNING) and work.lease is not None:
            if not self.holder_is_dead(held[len(RUNNING) :]):
                return "busy"
            event("a run: takes over from a dead holder")
        for other in self.active.values():  # what `begin` must never do
            assert not (other.key == run.key and other.live), f"{run.token} beside {other.token}"
        work.claim, work.lease = RUNNING + run.token, run.token
        work.attempts += 1
        run.attempt, run.live = work.attempts, True
        if work.pending_at is not None:
            work.pending_at = self.world.now
        return "give-up" if work.attempts > MAX_ATTEMPTS else "run"

    def holder_is_dead(self, holder: str) -> bool:
        """The patched ``holder_is_dead``: a crashed run's process, seen from its machine."""
        return holder in self.known_dead and self.crashed[holder] == self.node

    @precondition(lambda self: self.active)
    @rule(data=st.data())
    def handler_succeeds(self, data: st.DataObject) -> None:
        """A running handler returns: the worker marks the work done."""
        run = self._end(data.draw(st.sampled_from(sorted(self.active))), "succeed")
        assert run.ran is not None
        assert run.ran.verdict is Verdict.ACK
        self._settled(run, "finish")

    @precondition(lambda self: self.active)
    @rule(data=st.data())
    def handler_fails(self, data: st.DataObject) -> None:
        """A running handler raises: retried, or dead-lettered on its last attempt."""
        run = self._end(data.draw(st.sampled_from(sorted(self.active))), "fail")
        assert run.ran is not None
        ours = self.works[run.key].claim == RUNNING + run.token
        if run.attempt >= MAX_ATTEMPTS:
            assert run.ran.verdict is Verdict.ACK
            self._settled(run, "bury")
        else:
            self._settled(run, "give_back")
            # a late run leaves the work to the run that took it over: no retry
            assert run.ran.verdict is (Verdict.RETRY if ours else Verdict.ACK)
            if ours:
                self.broker.messages.append(self.envelopes[run.key])  # the retry's message

    @precondition(lambda self: self.active)
    @rule(data=st.data(), message_returns=st.booleans())
    def worker_crashes(self, data: st.DataObject, message_returns: bool) -> None:
        """A running handler's process dies: its message goes back to the broker and its
        machine can tell the holder is dead, or the node is lost with the message."""
        run = self._end(data.draw(st.sampled_from(sorted(self.active))), "crash")
        assert run.ran is None
        run.live = False  # not running: its lease (still live in Redis) holds nobody's run
        self.crashed[run.token] = run.node
        if message_returns:
            self.known_dead.add(run.token)
            self.broker.messages.append(self.envelopes[run.key])

    def _end(self, token: str, command: str) -> Run:
        run = self.active.pop(token)
        before = len(self.settled)
        run.commands.put(command)
        assert run.wait() == "ended", f"{token} did not end"
        assert len(self.settled) - before == (command != "crash")
        return run

    def _settled(self, run: Run, what: str) -> None:
        """Check the worker's last settle (``what``) against the model, and apply it."""
        work = self.works[run.key]
        done, key, token, result = self.settled[-1]
        assert (done, key, token) == (what, run.key, run.token)
        ours = work.claim == RUNNING + run.token
        assert result == ours, f"{what} of {token}: {result}, the claim is {work.claim}"
        run.live = False
        if what == "bury" and ours:
            work.dead_letters += 1  # a late run whose bury was refused writes none
        if not ours:  # a late run: another took the work over after its lease lapsed
            assert run.lapsed, f"{what} of {token} refused, but its lease never lapsed"
            event(f"a late run: {what} refused")
            return
        work.lease = None
        if what == "give_back":
            work.claim = "queued"
            if work.pending_at is not None:
                work.pending_at = self.world.now
            return
        work.claim, work.pending_at = ("done", None) if what == "finish" else ("dead", None)
        work.completed += what == "finish"
        work.buried += what == "bury"

    @precondition(lambda self: self.active)
    @rule(data=st.data())
    def renew(self, data: st.DataObject) -> None:
        """A running handler's lease is renewed (the call ``Lease`` makes)."""
        run = self.active[data.draw(st.sampled_from(sorted(self.active)))]
        work = self.works[run.key]
        renewed = run.worker.claims.renew(run.key, run.token, LEASE)
        assert renewed == (work.claim == RUNNING + run.token)
        if renewed:
            work.lease, run.live = run.token, True

    @precondition(lambda self: any(w.lease for w in self.works.values()))
    @rule(data=st.data())
    def lease_lapses(self, data: st.DataObject) -> None:
        """A lease reaches its end (its key deleted: what a lapse is)."""
        key = data.draw(st.sampled_from([k for k, w in self.works.items() if w.lease]))
        self._lapse(key)

    @precondition(lambda self: any(self.works[r.key].lease == t for t, r in self.active.items()))
    @rule(data=st.data(), worker=st.integers(0, len(WORKER_NODES) - 1))
    def run_outlives_its_lease(self, data: st.DataObject, worker: int) -> None:
        """A handler runs past its lease, and the broker hands its message to a worker
        again (a visibility timeout): the two rules above, at once."""
        leased = [t for t, r in self.active.items() if self.works[r.key].lease == t]
        run = self.active[data.draw(st.sampled_from(sorted(leased)))]
        self._lapse(run.key)
        self._start(self.envelopes[run.key], worker)

    def _lapse(self, key: str) -> None:
        work = self.works[key]
        assert self.world.client.delete(f"{PREFIX}lease:{key}") == 1
        holder = self.active.get(work.lease or "")
        if holder is not None:
            holder.live, holder.lapsed = False, True
        work.lease = None

    # -- the sweeper ------------------------------------------------------------------------

    @rule()
    def tick(self) -> None:
        """A second passes on the claims' clock."""
        self.world.now += 1

    @rule(idle=st.sampled_from([0.0, 1.0, 2.0]), fails=st.booleans())
    def sweep(self, idle: float, fails: bool) -> None:
        """A worker's sweep publishes again the work nothing moved for ``idle`` seconds;
        ``fails``: the broker refuses the first of them."""
        cutoff, now = self.world.now - idle, self.world.now
        passed = sorted(
            (w.pending_at, k)
            for k, w in self.works.items()
            if w.pending_at is not None and w.pending_at <= cutoff
        )
        expected = []
        for _, key in passed:
            work = self.works[key]
            if work.claim in ("done", "dead"):
                work.pending_at = None
                continue
            work.pending_at = now
            if not (work.claim and work.claim.startswith(RUNNING) and work.lease):
                expected.append(key)
        sent = len(self.broker.messages)
        self.broker.outcome = "fails" if fails else "lands"
        try:
            count = self.sweeper.sweeper.republish(idle)
        except ConnectionError:
            assert fails
            assert expected
            count = 0
        self.broker.outcome = "lands"
        landed = [m["key"] for m in self.broker.messages[sent:]]
        assert (count, sorted(landed)) == ((0, []) if fails else (len(expected), sorted(expected)))
        for _, key in passed:  # what the sweep passed is not done work any more
            assert self.claims.state(key) not in ("done", "dead") or not self._pending(key)

    # -- after every step -------------------------------------------------------------------

    @invariant()
    def redis_agrees(self) -> None:
        """The claim, the lease and the pending entry of each key are the model's."""
        for key, work in self.works.items():
            assert self.claims.state(key) == work.claim, key
            lease = self.world.client.get(f"{PREFIX}lease:{key}")
            assert lease == (work.lease.encode() if work.lease else None), key
            assert self._pending(key) == (work.pending_at is not None), key

    @invariant()
    def one_live_run_per_work(self) -> None:
        """No two handlers of one work run at once while both hold live leases."""
        for key in KEYS:
            live = [r.token for r in self.active.values() if r.key == key and r.live]
            assert len(live) <= 1, f"{key}: {live} run at once under live leases"

    @invariant()
    def finished_work_is_not_pending(self) -> None:
        """Done or dead work has left the pending index."""
        for key, work in self.works.items():
            assert not (work.claim in ("done", "dead") and work.pending_at is not None), key

    def _pending(self, key: str) -> bool:
        return self.world.client.zscore(f"{PREFIX}pending-at", key) is not None

    # -- the end ----------------------------------------------------------------------------

    def teardown(self) -> None:
        """Drain, then check every acknowledged work was completed or dead-lettered once.
        After a failed step, only stop the runs still held in their handler."""
        try:
            if sys.exc_info()[0] is None:  # called in a `finally`: no step failed
                self.drain()
                self.check_outcomes()
        finally:
            for run in self.active.values():
                run.commands.put("crash")

    def drain(self) -> None:
        """Every running handler completes, every lost run's lease lapses, every message is
        delivered and the sweep runs with ``idle=0``, until nothing is left to do."""
        for token in sorted(self.active):
            self._settled(self._end(token, "succeed"), "finish")
        for _ in range(50):
            for key, work in self.works.items():
                if work.lease is not None:
                    self._lapse(key)  # no handler runs: its holder crashed
            while self.broker.messages:
                self._start(self.broker.messages.pop(0), 0)
                for token in sorted(self.active):
                    self._settled(self._end(token, "succeed"), "finish")
            self.world.now += 1
            self.sweep(0.0, fails=False)
            if not self.broker.messages:
                return
        raise AssertionError("the work did not settle within 50 rounds")

    def check_outcomes(self) -> None:
        """Each work marked done or dead once at most, and exactly once if acknowledged;
        its dead letters the ones the model counted."""
        letters: dict[str, int] = {}
        for letter in self.claims.dead_letters(1000):
            letters[letter["envelope"]["key"]] = letters.get(letter["envelope"]["key"], 0) + 1
        for key, work in self.works.items():
            assert letters.get(key, 0) == work.dead_letters == work.buried, key  # one each
            outcomes = work.completed + work.buried
            assert outcomes <= 1, f"{key}: completed {work.completed}, buried {work.buried}"
            if work.acknowledged:
                assert outcomes == 1, f"{key} was acknowledged, and never completed"


SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def model_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.Redis]:
    port = free_port()
    service = start_redis(port, tmp_path_factory.mktemp("model"))
    try:
        yield redis.Redis(port=port)
    finally:
        service.kill()


def test_the_claim_protocol_keeps_its_promises_in_every_interleaving(
    model_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = World(model_redis)
    monkeypatch.setattr(ClaimsModel, "world", world, raising=False)
    monkeypatch.setattr(claims_module, "time", world)
    monkeypatch.setattr(running, "run_token", world.run_token)
    monkeypatch.setattr(running, "holder_is_dead", world.holder_is_dead)
    run_state_machine_as_test(ClaimsModel, settings=SETTINGS)


def test_a_duplicate_of_work_a_worker_took_from_an_abandoned_publish_makes_it_pending(
    model_redis: redis.Redis,
) -> None:
    """Found by the model. A publish the broker took though the receiver saw it fail (a lost
    reply) is abandoned: the claim freed, the work no longer pending. A worker runs its
    message on the free claim, and its node is lost with the message. Bandwidth's retry
    then finds ``running:`` and is answered as a duplicate: the work must be pending again,
    or nothing would ever run it."""
    model_redis.flushdb()
    broker = Broker()
    queue_ = ModelQueue(ModelClaims(model_redis, []), broker)
    queue_.handlers[HANDLER] = lambda event: None
    envelope = Envelope.from_dict(envelopes_of(queue_)["k0"])
    broker.outcome = "lands-then-raises"
    with pytest.raises(ConnectionError):
        queue_.publisher.claim_and_publish(envelope)  # answered 500, yet the broker has it
    assert broker.messages == [envelope.to_dict()]
    assert queue_.claims.state("k0") is None
    begun = queue_.claims.begin("k0", "lost", LEASE, TTL)  # the worker's, on a lost node
    assert begun.start is Start.RUN
    broker.messages.clear()  # lost with the node
    model_redis.delete(f"{PREFIX}lease:k0")  # and its lease lapses
    assert queue_.publisher.claim_and_publish(envelope) is False  # Bandwidth's retry: 2xx
    assert queue_.republish_orphans(idle=0) == 1
    (message,) = broker.messages
    assert queue_.run(message).verdict is Verdict.ACK
    assert queue_.claims.state("k0") == "done"


def test_a_failed_publish_keeps_the_pending_entry_of_an_earlier_acknowledged_one(
    model_redis: redis.Redis,
) -> None:
    """Found by the model. A publish that landed (answered 2xx) but whose ``queued`` mark
    failed keeps its ``enqueuing`` claim, which lapses; the work stays pending. The broker
    loses the message, and a duplicate delivery claims the work again and fails to publish:
    its abandon frees its own claim, but must not forget the earlier publish's pending entry,
    or the acknowledged work would never run."""
    model_redis.flushdb()
    broker = Broker()
    claims = ModelClaims(model_redis, [])
    queue_ = ModelQueue(claims, broker)
    queue_.handlers[HANDLER] = lambda event: None
    envelope = Envelope.from_dict(envelopes_of(queue_)["k0"])
    claims.fail_queued = True
    assert queue_.publisher.claim_and_publish(envelope) is True  # answered 2xx
    assert (claims.state("k0") or "").startswith(ENQUEUING)
    model_redis.delete(f"{PREFIX}claim:k0")  # the `enqueuing` claim lapses
    broker.messages.clear()  # and the broker loses the message
    broker.outcome = "fails"
    with pytest.raises(ConnectionError):
        queue_.publisher.claim_and_publish(envelope)  # a duplicate, the broker down: 500
    assert claims.state("k0") is None
    assert queue_.republish_orphans(idle=0) == 1
    (message,) = broker.messages
    assert queue_.run(message).verdict is Verdict.ACK
    assert claims.state("k0") == "done"
