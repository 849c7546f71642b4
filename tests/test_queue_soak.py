"""Queued handlers under load, with failures: real processes only. Run by `.ci/run`
(`pytest -m soak`), not by `make test` (tests/test_queue.py keeps the quick wiring).

A durable redis-server (broker and store), two `celery worker` processes (prefork), one
gunicorn with three receiver processes on 127.0.0.1, clients that deliver like Bandwidth
(again after a 409 or a 5xx) a burst of v1, Voice v2 and Messaging v2 callbacks with
duplicates, some racing, some late. Mid-burst a worker child is SIGKILLed twice and the
other worker is killed whole and started again. Then the broker is stopped: messaging
must be answered 5xx (never a false 2xx), voice spooled; the broker comes back and
everything completes.

Checked: every callback completed by every handler, exactly once except runs a kill
interrupted; no 5xx while the broker is up; the poison callbacks, and only they, in the dead
letters; no claim left running, no message left in the broker.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import redis
from processes import Service, start_gunicorn, start_redis, start_worker, wait_for
from support import free_port

from bwhooks import parse_delivery
from bwhooks.auth import basic_authorization
from bwhooks.events import VoiceEvent
from bwhooks.idempotency import idempotency_key
from bwhooks.testing import fake_payload

pytestmark = [pytest.mark.soak, pytest.mark.timeout(600)]

CALLBACKS = int(os.environ.get("BWHOOKS_QUEUE_CALLBACKS", "1200"))
PREFIX = "qsoak:"
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": basic_authorization("queue", "queue-pass"),
}
V1_KINDS = ["sms", "mms", "v1:answer", "v1:dtmf", "hangup", "v1:gather"]
V2_KINDS = ["v2:answer", "v2:disconnect", "v2:gather", "v2:redirect"]
MESSAGING_KINDS = ["message-received", "message-delivered", "message-failed"]


class Callback:
    """One callback to deliver, and the handler runs it must cause."""

    def __init__(self, payload: Any) -> None:
        self.body = json.dumps(payload).encode()
        events = parse_delivery(payload)
        self.keys = [idempotency_key(event) for event in events]
        self.voice = [idempotency_key(e) for e in events if isinstance(e, VoiceEvent)]


def make_callbacks(rng: random.Random, count: int) -> list[Callback]:
    callbacks = []
    for number in range(count):
        kind = rng.choice(V1_KINDS + V2_KINDS + MESSAGING_KINDS)
        overrides: dict[str, Any] = {}
        if kind in ("v1:answer", "v1:dtmf", "hangup", "v1:gather"):
            overrides["call_id"] = f"c-soak-{number}"
        if kind in MESSAGING_KINDS:
            overrides["count"] = rng.choice([1, 1, 1, 2, 3])
        callbacks.append(Callback(fake_payload(kind, **overrides)))
    return callbacks


class Client:
    """Delivers like Bandwidth: the same body again after a 409 or a 5xx, until a 2xx."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.lock = threading.Lock()
        self.statuses: dict[int, int] = {}
        self.latencies: list[float] = []

    def post(self, body: bytes) -> int:
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            connection.request("POST", "/callbacks", body=body, headers=HEADERS)
            response = connection.getresponse()
            response.read()
            status = response.status
        finally:
            connection.close()
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.latencies.append(time.perf_counter() - started)
        return status

    def deliver(self, body: bytes) -> None:
        for _ in range(400):
            status = self.post(body)
            if status < 300:
                return
            assert status == 409 or status >= 500, status
            time.sleep(0.05)
        raise AssertionError("never acknowledged")

    def count(self, predicate: Any) -> int:
        with self.lock:
            return sum(n for status, n in self.statuses.items() if predicate(status))


class Runs:
    """The start and finish markers the handler writes, read back."""

    def __init__(self, store: Any) -> None:
        self.records: list[tuple[str, str, int, float]] = []
        for line in store.lrange(f"{PREFIX}runs", 0, -1):
            what, key, pid, at = line.decode().split()
            self.records.append((what, key, int(pid), float(at)))

    def interrupted_by(self, pid: int, killed_at: float) -> list[str]:
        """The key ``pid`` was last working on when it was killed: the last it started (a
        run whose handler finished may not be marked done yet: it runs again)."""
        started = [
            key
            for what, key, run_pid, at in self.records
            if what == "start" and run_pid == pid and at <= killed_at
        ]
        return started[-1:]

    def unfinished(self) -> list[tuple[str, int, float]]:
        """Runs that started and never finished: ``(key, pid, started at)``."""
        open_runs: dict[tuple[str, int], list[float]] = {}
        for what, key, pid, at in self.records:
            if what == "start":
                open_runs.setdefault((key, pid), []).append(at)
            elif open_runs.get((key, pid)):
                open_runs[key, pid].pop(0)
        return [(key, pid, at) for (key, pid), ats in open_runs.items() for at in ats]

    def around(self, start: float, end: float) -> set[str]:
        """The keys with a run starting or finishing between ``start`` and ``end``."""
        return {key for _, key, _, at in self.records if start <= at <= end}

    def next_start(self, key: str, after: float) -> float | None:
        starts = [at for what, k, _, at in self.records if what == "start" and k == key]
        return min((at for at in starts if at > after), default=None)


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in reversed(started):
        service.kill()


def test_queue_burst_with_kills_restarts_and_a_broker_outage(  # noqa: PLR0915
    tmp_path: Path, services: list[Service]
) -> None:
    rng = random.Random(13)
    redis_port, receiver_port = free_port(), free_port()
    env = {
        "QUEUE_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "QUEUE_PREFIX": PREFIX,
        "QUEUE_SPOOL": str(tmp_path / "spool.sqlite3"),
        "QUEUE_SLEEP": "0.03",
    }
    broker = start_redis(redis_port, tmp_path, durable=True)
    services.append(broker)
    workers = {
        "w1": start_worker("w1", env, tmp_path, concurrency=2),
        "w2": start_worker("w2", env, tmp_path, concurrency=1),
    }
    services.extend(workers.values())
    services.append(start_gunicorn(receiver_port, env, tmp_path, workers=3))
    store: Any = redis.Redis(port=redis_port)  # untyped replies: bytes here
    client = Client(receiver_port)

    callbacks = make_callbacks(rng, CALLBACKS)
    poison = [Callback(fake_payload("message-received", message__text="poison")) for _ in range(3)]
    kills: list[tuple[str, int, float]] = []  # (what, pid, when)
    done = threading.Event()

    def chaos() -> None:
        """Two child kills on w1, then w2 killed whole and started again."""
        for fraction, action in ((0.2, "child"), (0.45, "child"), (0.65, "worker")):
            while client.count(lambda s: s < 300) < fraction * CALLBACKS and not done.is_set():
                time.sleep(0.02)
            if action == "child":
                children = workers["w1"].children()
                assert children, "w1 has no pool children"
                victim = rng.choice(children)
                kills.append(("child", victim, time.time()))
                os.kill(victim, signal.SIGKILL)
            else:
                old = workers["w2"]
                pids = [old.pid, *old.children()]
                when = time.time()
                old.kill(signal.SIGKILL)
                kills.extend(("worker", pid, when) for pid in pids)
                workers["w2"] = start_worker("w2", env, tmp_path, concurrency=1)
                services.append(workers["w2"])

    rolls = [rng.random() for _ in callbacks]
    duplicates = [sum(1 for r in rolls if r < 0.05), sum(1 for r in rolls if r > 0.95)]

    def send(index: int) -> None:
        callback = callbacks[index]
        if rolls[index] < 0.05:  # a duplicate racing the first delivery
            with ThreadPoolExecutor(2) as race:
                list(race.map(client.deliver, [callback.body, callback.body]))
        else:
            client.deliver(callback.body)
        if rolls[index] > 0.95:  # a late duplicate, after the 2xx
            client.deliver(callback.body)

    started = time.monotonic()
    burst_began = time.time()
    chaos_thread = threading.Thread(target=chaos)
    chaos_thread.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(send, range(len(callbacks))))
            list(pool.map(lambda c: client.deliver(c.body), poison))
    finally:
        done.set()
        chaos_thread.join()
    burst_seconds = time.monotonic() - started
    five_xx_up = client.count(lambda s: s >= 500)
    deliveries_up = client.count(lambda s: True)

    # -- the broker goes away ---------------------------------------------------------------
    outage_rng = random.Random(7)
    messaging = [Callback(fake_payload(outage_rng.choice(MESSAGING_KINDS))) for _ in range(20)]
    voice = [Callback(fake_payload(outage_rng.choice(V2_KINDS))) for _ in range(10)]
    voice += [Callback(fake_payload("hangup", call_id=f"c-outage-{n}")) for n in range(10)]
    outage_at = time.time()
    broker.stop()  # SIGTERM: the append-only file keeps every message
    outage_messaging = [client.post(c.body) for c in messaging]
    outage_voice = [client.post(c.body) for c in voice]
    broker = start_redis(redis_port, tmp_path, durable=True)
    back_at = time.time()
    services.append(broker)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda c: client.deliver(c.body), messaging))  # Bandwidth's retries

    # -- everything completes -------------------------------------------------------------
    everything = callbacks + messaging + voice

    def missing() -> list[str]:
        found = store.hgetall(f"{PREFIX}completions")
        found_async = store.hgetall(f"{PREFIX}async-completions")
        return [
            f"{key}|{handler}: {store.get(f'{{bwhooks:qsoak}}:claim:{key}|queue_app:{handler}')!r}"
            for c in everything
            for keys, done_keys, handler in (
                (c.keys, found, "record"),
                (c.voice, found_async, "record_async"),
            )
            for key in keys
            if key.encode() not in done_keys
        ]

    deadline = time.monotonic() + 240
    while missing():
        assert time.monotonic() < deadline, f"never completed: {missing()[:10]}"
        time.sleep(0.2)
    dead_keys = {k for c in poison for k in c.keys}
    dead_hook = f"{PREFIX}dead-hook".encode()
    wait_for(
        lambda: store.llen(dead_hook) >= len(dead_keys), "the poison dead-lettered", timeout=60
    )
    time.sleep(2)  # anything still to run twice would show now

    runs = Runs(store)
    interrupted: set[str] = set()
    requeue_seconds: dict[str, list[float]] = {"child": [], "worker": []}
    for what, pid, when in kills:
        for key in runs.interrupted_by(pid, when):
            interrupted.add(key)
            again = runs.next_start(key, when)
            if again is not None:
                requeue_seconds[what].append(round(again - when, 2))
    completions = {k.decode(): int(v) for k, v in store.hgetall(f"{PREFIX}completions").items()}
    starts = {k.decode(): int(v) for k, v in store.hgetall(f"{PREFIX}starts").items()}
    async_done = {
        k.decode(): int(v) for k, v in store.hgetall(f"{PREFIX}async-completions").items()
    }
    unique_keys = {k for c in everything for k in c.keys}
    # Runs cut short by a kill, or by the outage (their handler's own Redis writes failed):
    # the only ones that may run twice.
    killed_pids = {pid for _, pid, _ in kills}
    unfinished = [run for run in runs.unfinished() if run[0] not in dead_keys]  # poison fails
    in_flight_at_outage = {key for key, pid, _ in unfinished if pid not in killed_pids}
    assert all(at < back_at for _, pid, at in unfinished if pid not in killed_pids)
    # A run that ended as the broker went away could not be marked done: it runs again.
    in_flight_at_outage |= runs.around(outage_at - 0.5, back_at + 0.5)
    twice = {k for k in unique_keys if completions[k] > 1}
    restarted = {k for k in unique_keys if starts[k] > 1}
    claims = [store.get(name) for name in store.scan_iter("{bwhooks:qsoak}:claim:*")]
    leftover = {
        "running claims": sum(1 for v in claims if v and v.startswith(b"running:")),
        "queued messages": store.llen(f"{PREFIX}tasks"),
        "unacked messages": store.hlen("unacked"),
        "spooled": _spooled(tmp_path / "spool.sqlite3"),
    }
    letters = [json.loads(f[b"record"]) for _, f in store.xrange("{bwhooks:qsoak}:dead")]

    figures = {
        "callbacks": len(everything),
        "events": len(unique_keys),
        "deliveries (broker up)": deliveries_up,
        "duplicate deliveries (racing, late)": duplicates,
        "409 while a copy was being queued": client.count(lambda s: s == 409),
        "5xx with the broker up": five_xx_up,
        "child kills": sum(1 for what, _, _ in kills if what == "child"),
        "kills at (s into the burst)": sorted(
            {round(when - burst_began, 2) for _, _, when in kills}
        ),
        "worker restarts": 1,
        "runs interrupted by a kill": len(interrupted),
        "runs interrupted by the outage": len(in_flight_at_outage),
        "completed twice": len(twice),
        "outage: messaging answered 5xx": sum(1 for s in outage_messaging if s >= 500),
        "outage: messaging answered 2xx": sum(1 for s in outage_messaging if s < 300),
        "outage: voice answered 2xx (spooled)": sum(1 for s in outage_voice if s < 300),
        "run again after a child kill (s)": sorted(requeue_seconds["child"]),
        "run again after the worker kill (s)": sorted(requeue_seconds["worker"]),
        "burst callbacks/s (3 receiver processes)": round(len(callbacks) / burst_seconds, 1),
        "delivery latency p50/p95 (ms)": [
            round(statistics.median(client.latencies) * 1000, 1),
            round(statistics.quantiles(client.latencies, n=20)[-1] * 1000, 1),
        ],
        "dead letters": len(letters),
        "republished (lost by the broker)": sum(
            service.text().count("its message was lost") for service in services[1:]
        ),
    }
    figures["publish p50/p99 (ms)"] = publish_latency(env, tmp_path)
    print("\nqueue soak:", json.dumps(figures, indent=1))

    assert five_xx_up == 0
    assert all(status >= 500 for status in outage_messaging)  # never a false 2xx
    assert all(200 <= status < 300 for status in outage_voice)
    cut_short = interrupted | in_flight_at_outage
    assert twice <= cut_short, f"completed twice, not interrupted: {twice - cut_short}"
    assert restarted - dead_keys <= cut_short, restarted - dead_keys - cut_short
    assert len(interrupted) <= 2 + 2  # a child runs one task; the restarted worker one or two
    assert all(async_done[k] <= 2 for c in everything for k in c.voice)
    assert {letter["envelope"]["key"].partition("|")[0] for letter in letters} == dead_keys
    assert all(starts[k] == 3 for k in dead_keys)  # max_attempts, then dead
    wait_for(
        lambda: store.llen(f"{PREFIX}tasks") == 0 and store.hlen("unacked") == 0,
        "the broker drained",
        timeout=30,
    )
    assert leftover["running claims"] == 0
    assert leftover["spooled"] == 0


_LATENCY = """
import json, statistics, time
import queue_app
from bwhooks.queue.tasks import Envelope

envelope = Envelope("latency", "none", {"eventType": "sms"}, False, "POST", "/", "", (), "")
queue_app.queue.task.apply_async((envelope.to_dict(),), queue="qsoak:latency")  # connect
times = []
for _ in range(1000):
    started = time.perf_counter()
    queue_app.queue.task.apply_async((envelope.to_dict(),), queue="qsoak:latency")
    times.append(time.perf_counter() - started)
queue_app.store.delete("qsoak:latency")
print(json.dumps([statistics.median(times), statistics.quantiles(times, n=100)[-1]]))
"""


def publish_latency(env: dict[str, str], tmp_path: Path) -> list[float]:
    """What one publish costs a receiver: ``apply_async`` to the soak's Redis, with the
    queue's task options, to a queue nobody consumes (emptied afterwards)."""
    found = subprocess.run(
        [sys.executable, "-c", _LATENCY],
        env={**os.environ, **env, "PYTHONPATH": str(Path(__file__).parent)},
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    median, p99 = json.loads(found.stdout.strip().splitlines()[-1])
    return [round(median * 1000, 2), round(p99 * 1000, 2)]


def _spooled(path: Path) -> int:
    from bwhooks.queue.spool import Spool

    return len(Spool(path))
