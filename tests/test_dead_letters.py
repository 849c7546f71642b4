"""Dead letters listed and re-queued, the queue's gauges, and the Celery task id in a worker's
log lines: a redis-server of this module (broker and claims), real `celery worker` processes
of two releases of tests/deadletter_app.py (a rolling deploy), and `bwhooks dead-letters`
run as a command."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import redis
from processes import Service, imported, running, start_redis, start_worker, wait_for
from support import free_port

from bwhooks import CallbackRequest, Event, parse_delivery
from bwhooks.auth import basic_authorization
from bwhooks.cli import main
from bwhooks.dispatch import handling
from bwhooks.idempotency import idempotency_key
from bwhooks.observe import event_ids
from bwhooks.queue.claims import RedisClaims, key_prefix
from bwhooks.queue.context import QueueOutcome
from bwhooks.queue.envelopes import DeadLetter, Envelope
from bwhooks.queue.spool import Spool
from bwhooks.queue.tasks import TaskQueue, Verdict
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(120)
HERE = Path(__file__).parent
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": basic_authorization("dead", "dead-pass"),
}
GAUGES = ("spool-depth", "pending", "pending-oldest-age", "dead-letters")


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    service = start_redis(port, tmp_path_factory.mktemp("dead-letters"))
    try:
        yield port
    finally:
        service.kill()


class Deploy:
    """One test's queue of tests/deadletter_app.py (a name of its own), its receiver in this
    process, its workers, and the command run against it."""

    def __init__(self, port: int, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = f"{name}-{time.time_ns()}"
        self.env = {"DEAD_REDIS_URL": f"redis://127.0.0.1:{port}/0", "DEAD_QUEUE": self.name}
        self.store = redis.Redis(port=port)
        self.claims = RedisClaims(self.store, prefix=key_prefix(self.name))

    def app(self) -> ModuleType:
        """tests/deadletter_app.py, the new release, imported with this queue's environment."""
        return imported("deadletter_app", self.env)

    def worker(self, version: int) -> Service:
        env = {**self.env, "DEAD_VERSION": str(version)}
        app = "deadletter_app:celery_app"
        return start_worker(f"{self.name}-v{version}", env, self.directory, app=app)

    def command(self, *argv: str, queue: str = "queue") -> subprocess.CompletedProcess[str]:
        """``bwhooks dead-letters --queue deadletter_app:<queue> ...``, run from tests/."""
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "bwhooks",
                "dead-letters",
                "--queue",
                f"deadletter_app:{queue}",
                *argv,
            ],
            check=False,
            cwd=HERE,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def count(self, what: str, key: str) -> int:
        return int(self.store.hget(f"{self.name}:{what}", key) or 0)

    def broker_holds(self) -> int:
        """Messages in the broker: waiting in the queue's list, or delivered unacknowledged."""
        return int(self.store.llen(f"{self.name}-tasks")) + int(self.store.hlen("unacked"))

    def pending(self) -> list[str]:
        entries: Any = self.store.hkeys(f"{self.claims.prefix}pending")
        return sorted(entry.decode() for entry in entries)


def deliver(app: ModuleType, payload: Any) -> int:
    """``payload`` as Bandwidth POSTs it, to the app's receiver in this process."""
    request = CallbackRequest("POST", "/callbacks", HEADERS, json.dumps(payload).encode())
    return int(app.receiver.handle(request).status)


def key_of(payload: Any) -> str:
    (event,) = parse_delivery(payload)
    return idempotency_key(event)


def ids_of(payload: Any) -> str:
    (event,) = parse_delivery(payload)
    return event_ids(event)


def task_ids_received(log: str) -> set[str]:
    """The ids of the tasks a Celery worker says it received."""
    return set(re.findall(r"Task bwhooks\.\S+\.run\[([^\]]+)\] received", log))


def assert_lines_carry_task_ids(log: str, phrases: list[str]) -> None:
    """Each line of ``log`` with one of ``phrases`` (there is one, at least) begins its
    message with ``[task <id>]``, ``<id>`` a task the worker received."""
    received = task_ids_received(log)
    assert received, log[-3000:]
    for phrase in phrases:
        lines = [line for line in log.splitlines() if phrase in line]
        assert lines, f"no line with {phrase!r}:\n{log[-3000:]}"
        for line in lines:
            found = re.search(r"\] \[task ([^\]]+)\] ", line)
            assert found is not None, line
            assert found.group(1) in received, (line, received)


def test_work_only_the_new_release_can_run_is_requeued_after_the_deploy_and_runs_once(
    redis_port: int, tmp_path: Path
) -> None:
    """A rolling deploy: the new receiver publishes work for a handler the old worker does
    not have; the old worker dead-letters it (and a re-send is skipped: dead before). Once
    the new worker runs, `bwhooks dead-letters --requeue-all` sends it back: it completes
    once. Every line the workers log for a message carries its Celery task id."""
    deploy = Deploy(redis_port, tmp_path, "rolling")
    app = deploy.app()
    payload = fake_payload("sms", text="private words")
    key = key_of(payload)
    work = f"{key}|deadletter_app:added"
    old = deploy.worker(1)
    with running(old):
        assert deliver(app, payload) == 200
        wait_for(lambda: deploy.claims.state(work) == "dead", "dead-lettered by the old", old)
        wait_for(lambda: deploy.broker_holds() == 0, "acknowledged", old)
        assert deliver(app, payload) == 200  # Bandwidth's re-send: skipped, dead before
        assert deploy.broker_holds() == 0
    assert deploy.count("starts", key) == 0
    entries: Any = deploy.store.xrange(f"{deploy.claims.prefix}dead")
    ((stream_id, _),) = entries

    listed = deploy.command("--json")
    assert listed.returncode == 0, listed.stderr
    (letter,) = json.loads(listed.stdout)["dead_letters"]
    assert letter["id"] == stream_id.decode()
    assert letter["handler"] == "deadletter_app:added"
    assert letter["attempts"] == 2
    assert letter["error"].startswith("LookupError: no handler deadletter_app:added")
    assert (letter["event_type"], letter["ids"]) == ("sms", ids_of(payload))
    shown = deploy.command()
    assert shown.returncode == 0, shown.stderr
    (line,) = [line for line in shown.stdout.splitlines() if line.startswith(letter["id"])]
    assert "deadletter_app:added" in line
    assert "LookupError" in line
    assert ids_of(payload) in line
    assert "private words" not in listed.stdout + shown.stdout  # no payload by default

    new = deploy.worker(2)
    with running(new):
        requeued = deploy.command("--requeue-all")
        assert requeued.returncode == 0, requeued.stdout + requeued.stderr
        assert f"{letter['id']}: re-queued" in requeued.stdout
        wait_for(lambda: deploy.claims.state(work) == "done", "done by the new", new)
        wait_for(lambda: deploy.broker_holds() == 0, "no message left", new)
        assert deploy.pending() == []
    assert deploy.count("starts", key) == deploy.count("completions", key) == 1
    after = deploy.command("--json")
    assert json.loads(after.stdout)["dead_letters"] == []

    assert_lines_carry_task_ids(old.text(), ["failed on sms event", "dead-lettered the sms"])
    assert_lines_carry_task_ids(new.text(), ["handled sms event"])


def bury(app: ModuleType, payload: Any, handler: str = "deadletter_app:retired") -> Envelope:
    """Dead-letter ``payload``'s work for ``handler`` (which this release no longer has) as a
    worker does: run its message until ``max_attempts`` (2) runs failed."""
    request = CallbackRequest("POST", "/callbacks", HEADERS, json.dumps(payload).encode())
    (event,) = app.receiver.accept_all(request)
    envelope: Envelope = app.queue.envelope(handler, event, request)
    assert app.queue.run(envelope.to_dict()).verdict is Verdict.RETRY
    assert app.queue.run(envelope.to_dict()).verdict is Verdict.ACK
    assert app.queue.claims.state(envelope.key) == "dead"
    return envelope


def test_a_letter_whose_publish_fails_stays_listed_its_work_publishable(
    redis_port: int, tmp_path: Path
) -> None:
    """`--requeue ID` through a queue whose broker refuses: exit 1, the letter stays listed,
    and its work is free for the next delivery; through the working broker it is published
    (pending, its attempts counted afresh) and the letter removed."""
    deploy = Deploy(redis_port, tmp_path, "refused")
    app = deploy.app()
    envelope = bury(app, fake_payload("sms"))
    (letter,) = app.queue.dead_letters()
    assert deploy.store.exists(f"{deploy.claims.prefix}attempts:{envelope.key}")

    refused = deploy.command("--requeue", letter.id, queue="offline")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"{letter.id}: not re-queued" in refused.stdout
    assert [kept.id for kept in app.queue.dead_letters()] == [letter.id]
    assert deploy.claims.state(envelope.key) is None  # publishable: a re-send is published
    assert deploy.pending() == []
    assert deploy.broker_holds() == 0

    published = deploy.command("--requeue", letter.id)
    assert published.returncode == 0, published.stdout + published.stderr
    assert f"{letter.id}: re-queued" in published.stdout
    assert app.queue.dead_letters() == []
    assert deploy.claims.state(envelope.key) == "queued"
    assert deploy.pending() == [envelope.key]  # the sweep covers it until it is done
    assert not deploy.store.exists(f"{deploy.claims.prefix}attempts:{envelope.key}")
    (message,) = deploy.store.lrange(f"{deploy.name}-tasks", 0, -1)  # in the broker
    assert json.loads(message)["headers"]["task"] == f"bwhooks.{deploy.name}.run"
    again = deploy.command("--requeue", letter.id)  # gone: nothing to re-queue
    assert again.returncode == 1
    assert f"{letter.id}: not re-queued: no such dead letter" in again.stdout


class Local(TaskQueue):
    """An engine of one line: what it publishes is kept in :attr:`published`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.published: list[Envelope] = []

    def publish(self, envelope: Envelope) -> None:
        self.published.append(envelope)


def local_claims(redis_port: int, name: str) -> RedisClaims:
    return RedisClaims(redis.Redis(port=redis_port), prefix=f"{name}-{time.time_ns()}:")


def sms_request() -> tuple[CallbackRequest, Event]:
    body = json.dumps(fake_payload("sms")).encode()
    (event,) = parse_delivery(json.loads(body))
    return CallbackRequest("POST", "/callbacks", HEADERS, body), event


def test_a_letter_whose_work_was_done_meanwhile_is_dropped_without_a_run(
    redis_port: int,
) -> None:
    """The dead claim lapsed (``done_ttl``) and Bandwidth's re-send was published and run:
    the letter is removed, nothing published. While that re-send is still queued, the
    letter stays."""
    runs: list[Event] = []
    failing = [True]
    queue = Local(local_claims(redis_port, "done"), max_attempts=1, done_ttl=0.3)
    outcomes: list[str] = []
    queue.metrics = lambda outcome: outcomes.append(outcome.name)

    def handle(event: Event) -> None:
        runs.append(event)
        if failing:
            raise RuntimeError("a bug, fixed since")

    publish = queue.bind(handle)
    request, event = sms_request()
    with handling(request):
        publish(event)
    (envelope,) = queue.published
    assert queue.run(envelope.to_dict()).verdict is Verdict.ACK  # dead-lettered
    (letter,) = queue.dead_letters()
    wait_for(lambda: queue.claims.state(envelope.key) is None, "the dead claim lapsed")
    queue.done_ttl, failing[:] = 60.0, []
    with handling(request):
        publish(event)  # Bandwidth's re-send
    assert len(queue.published) == 2
    assert not queue.requeue_dead_letter(letter.id)  # its work is queued: the letter stays
    assert [kept.id for kept in queue.dead_letters()] == [letter.id]
    assert queue.run(queue.published[1].to_dict()).verdict is Verdict.ACK
    assert queue.claims.state(envelope.key) == "done"
    assert queue.requeue_dead_letter(letter.id)
    assert queue.dead_letters() == []
    assert len(queue.published) == 2
    assert len(runs) == 2
    assert "requeued" not in outcomes


def test_requeued_work_gets_its_attempts_again_and_is_reported(redis_port: int) -> None:
    """Re-queued by handler: published, pending, reported ``requeued``, and run with
    ``max_attempts`` attempts again before it is dead-lettered anew. Letters that are no
    envelope, or ids that name no letter, are not re-queued."""
    outcomes: list[QueueOutcome] = []
    hooked: list[DeadLetter] = []
    queue = Local(
        local_claims(redis_port, "attempts"),
        max_attempts=2,
        retry_backoff=0.01,
        metrics=outcomes.append,
        on_dead_letter=hooked.append,
    )

    def poisoned(event: Event) -> None:
        raise RuntimeError("always")

    publish = queue.bind(poisoned)
    request, event = sms_request()
    with handling(request):
        publish(event)
    (envelope,) = queue.published
    assert queue.run(envelope.to_dict()).verdict is Verdict.RETRY
    assert queue.run(envelope.to_dict()).verdict is Verdict.ACK  # dead-lettered
    assert queue.run({"v": 99, "key": "not an envelope"}).verdict is Verdict.ACK
    letters = queue.dead_letters()
    assert [letter.attempts for letter in letters] == [2, 0]
    assert [letter.id for letter in letters] == [letter.id for letter in hooked]
    assert all(re.fullmatch(r"\d+-\d+", letter.id) for letter in letters)

    assert not queue.requeue_dead_letter("0-1")
    assert not queue.requeue_dead_letter("not an id")
    assert not queue.requeue_dead_letter(letters[1].id)  # no envelope: it stays
    assert queue.requeue_dead_letters(handler="elsewhere:other") == 0
    assert queue.requeue_dead_letters(handler=envelope.handler) == 1
    assert queue.published == [envelope, envelope]
    assert [letter.id for letter in queue.dead_letters()] == [letters[1].id]
    (requeued,) = [outcome for outcome in outcomes if outcome.name == "requeued"]
    assert (requeued.handler, requeued.event_type) == (envelope.handler, "sms")
    assert queue.claims.state(envelope.key) == "queued"

    outcomes.clear()
    assert queue.run(envelope.to_dict()).verdict is Verdict.RETRY
    assert queue.run(envelope.to_dict()).verdict is Verdict.ACK
    assert [(o.name, o.attempt) for o in outcomes] == [("retried", 1), ("dead-lettered", 2)]
    assert queue.requeue_dead_letters([letters[1].id]) == 0
    assert queue.requeue_dead_letters() == 1  # the letter of the new failure only
    assert len(queue.published) == 3


def test_gauges_are_read_and_reported_after_each_sweep(redis_port: int, tmp_path: Path) -> None:
    claims = local_claims(redis_port, "gauges")
    spool = Spool(tmp_path / "spool.sqlite3")
    spool.put('{"v": 1}')
    spool.put('{"v": 1}')
    outcomes: list[QueueOutcome] = []
    swept = threading.Event()

    def reported(outcome: QueueOutcome) -> None:
        outcomes.append(outcome)
        if outcome.name == GAUGES[-1]:
            swept.set()

    queue = Local(claims, spool=spool, metrics=reported)
    empty = Local(local_claims(redis_port, "empty"), spool=Spool(tmp_path / "never.sqlite3"))
    assert empty.gauges() == dict.fromkeys(GAUGES, 0.0)
    assert not (tmp_path / "never.sqlite3").exists()  # asking does not create the spool
    assert Local(local_claims(redis_port, "none")).gauges()["spool-depth"] == 0

    for number in range(3):
        assert claims.enqueue(f"work-{number}", "receiver", 30, '{"v": 1}') is None
    idle_since = time.time() - 2.5
    claims.client.zadd(f"{claims.prefix}pending-at", {"work-0": idle_since}, xx=True)
    queue.run({"v": 99})  # one dead letter
    gauges = queue.gauges()
    assert {name: gauges[name] for name in GAUGES if name != "pending-oldest-age"} == {
        "spool-depth": 2,
        "pending": 3,
        "dead-letters": 1,
    }
    assert 2.5 <= gauges["pending-oldest-age"] < 30

    stop = threading.Event()
    sweeping = threading.Thread(target=queue.sweeper.keep_sweeping, args=(8.0, stop))
    sweeping.start()  # a sweep every 2 s: work-0 is not idle long enough to be swept
    try:
        assert swept.wait(30)
    finally:
        stop.set()
        sweeping.join(10)
    reported_gauges = [outcome for outcome in outcomes if outcome.name in GAUGES]
    assert [outcome.name for outcome in reported_gauges[:4]] == list(GAUGES)
    values = {outcome.name: outcome.value for outcome in reported_gauges[:4]}
    assert (values["spool-depth"], values["pending"], values["dead-letters"]) == (2, 3, 1)
    assert values["pending-oldest-age"] >= 2.5
    assert all(outcome.handler == "" and outcome.event_type is None for outcome in reported_gauges)


def test_every_line_a_run_logs_carries_its_task_id(
    redis_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The worker's lines, the lease renewal's (another thread) included, begin with
    ``[task <id>]`` and carry ``task_id`` in their record; a run without one is unchanged."""
    queue = Local(local_claims(redis_port, "logs"), lease=0.3, renew_leases=True)

    def taken_over(event: Event) -> None:
        (key,) = [envelope.key for envelope in queue.published]
        queue.claims.client.set(f"{queue.claims.prefix}claim:{key}", "running:someone-else")
        time.sleep(0.35)  # the renewal, every 0.1 s, finds the work no longer its own

    publish = queue.bind(taken_over)
    request, event = sms_request()
    with handling(request):
        publish(event)
    caplog.set_level(logging.INFO, logger="bwhooks.queue")
    assert queue.run(queue.published[0].to_dict(), task_id="t-1").verdict is Verdict.ACK
    assert queue.run({"v": 99}, task_id="t-2").verdict is Verdict.ACK
    records = [record for record in caplog.records if record.name == "bwhooks.queue"]
    messages = [record.getMessage() for record in records]
    assert any(m.startswith("[task t-1] lost the lease of") for m in messages), messages
    assert any(m.startswith("[task t-1] ") and "not marked done" in m for m in messages)
    assert any("[task t-1] " in m and "another run took the work over" in m for m in messages)
    assert any(m.startswith("[task t-2] dead-lettered a message") for m in messages)
    assert all(
        m.startswith(f"[task {getattr(r, 'task_id', None)}] ")
        for r, m in zip(records, messages, strict=True)
    )
    caplog.clear()
    queue.run({"v": 98})
    (record,) = [record for record in caplog.records if record.name == "bwhooks.queue"]
    assert not record.getMessage().startswith("[task")
    assert not hasattr(record, "task_id")


def test_letters_kept_by_an_earlier_version_are_listed_with_their_ids(redis_port: int) -> None:
    claims = local_claims(redis_port, "earlier")
    record: dict[str, Any] = {
        "envelope": {"v": 1, "key": "k|m:h"},
        "error": "RuntimeError: x",
        "attempts": 3,
        "at": "2024-01-02T03:04:05+00:00",
    }
    assert DeadLetter(**record).id == ""  # a record built elsewhere
    stream_id: bytes = claims.client.xadd(f"{claims.prefix}dead", {"record": json.dumps(record)})
    assert Local(claims).dead_letters() == [DeadLetter(**record, id=stream_id.decode())]


def test_dead_letters_usage_errors_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(HERE)
    for argv in (
        ["dead-letters"],
        ["dead-letters", "--queue", "deadletter_app:queue", "--requeue", "1-0", "--requeue-all"],
        ["dead-letters", "--queue", "deadletter_app:queue", "--requeue"],
        ["dead-letters", "--queue", "deadletter_app:queue", "--requeue", "1-0", "--handler", "x"],
    ):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2, argv
    capsys.readouterr()
    for spec, says in (
        ("nosuch:queue", "cannot import 'nosuch'"),
        ("deadletter_app", "--queue takes MODULE:ATTR (e.g. callbacks:queue)"),
        ("deadletter_app:qeue", "has no attribute 'qeue': did you mean 'queue'?"),
        ("deadletter_app:receiver", "is a Receiver, not a bwhooks queue"),
    ):
        sys.modules.pop("deadletter_app", None)
        try:
            assert main(["dead-letters", "--queue", spec]) == 2
        finally:
            sys.modules.pop("deadletter_app", None)
        out, err = capsys.readouterr()
        assert out == ""
        assert err.startswith("bwhooks dead-letters: "), err
        assert says in err
        assert err.count("\n") == 1, err
