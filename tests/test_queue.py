"""Queued handlers, wired for real: a redis-server of this module as broker and store, a
real `celery worker` process, the receiver of tests/queue_app.py in this process.

Quick enough for `make test`; the multi-process burst with kills is tests/test_queue_soak.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from processes import QueueStack, imported
from support import EXAMPLES_V2, load_get_example, load_v2_example

from bwhooks import (
    CallbackRequest,
    CallbackResponse,
    Event,
    InsecureReceiverWarning,
    Receiver,
)
from bwhooks.auth import basic_authorization
from bwhooks.decoding.parsing import nests_deeper
from bwhooks.dispatch import handling
from bwhooks.errors import QueueUnavailable
from bwhooks.events import VoiceEvent
from bwhooks.idempotency import MemoryStore, idempotency_key
from bwhooks.queue.claims import RedisClaims, Start
from bwhooks.queue.tasks import Envelope, EnvelopeError, TaskQueue, Verdict
from bwhooks.testing import fake_payload

pytestmark = pytest.mark.timeout(120)
HEADERS = {
    "Content-Type": "application/json",
    "Authorization": basic_authorization("queue", "queue-pass"),
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueStack]:
    stack = QueueStack(tmp_path_factory.mktemp("queue"), "wiring", "wiring:")
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def app(stack: QueueStack) -> ModuleType:
    """tests/queue_app.py, imported with this module's environment."""
    return imported("queue_app", stack.env)


def open_receiver(**options: Any) -> Receiver:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureReceiverWarning)
        return Receiver(auth=None, **options)


def post(app: ModuleType, body: Any, path: str = "/callbacks") -> CallbackResponse:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    receiver: Receiver = app.receiver
    return receiver.handle(CallbackRequest("POST", path, HEADERS, data))


def eventually(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def count(app: ModuleType, name: str, key: str) -> int:
    return int(app.store.hget(app.PREFIX + name, key) or 0)


def completed(app: ModuleType, key: str) -> bool:
    return count(app, "completions", key) == 1


def keys_of(body: Any) -> list[str]:
    from bwhooks import parse_delivery

    return [idempotency_key(event) for event in parse_delivery(body)]


def test_handlers_run_on_a_worker_v1_and_v2_with_the_inline_answer_unchanged(
    app: ModuleType,
) -> None:
    answer = fake_payload("v2:answer")
    bodies = [answer, fake_payload("sms"), fake_payload("message-delivered", count=3)]
    responses = [post(app, body, path="/bw/voice") for body in bodies]
    assert [r.status for r in responses] == [200, 200, 200]
    assert b"<SpeakSentence>queued</SpeakSentence>" in responses[0].body  # the inline handler's
    assert responses[1].body == responses[2].body == b""
    keys = [key for body in bodies for key in keys_of(body)]
    assert len(keys) == 5
    for key in keys:
        eventually(partial(completed, app, key), f"{key} completed")
        assert app.store.hget(app.PREFIX + "paths", key) == b"/bw/voice"  # current_request()
    (voice,) = keys_of(answer)
    eventually(lambda: count(app, "async-completions", voice) == 1, "the async def handler ran")
    assert app.store.get(app.PREFIX + "leaked-authorization") is None


def test_a_get_callback_is_retyped_from_its_query_string(app: ModuleType) -> None:
    query = load_get_example("answer-1.txt")
    receiver: Receiver = app.receiver
    response = receiver.handle(CallbackRequest("GET", "/callbacks", HEADERS, b"", query))
    assert response.status == 200
    (event,) = app.receiver.accept_all(CallbackRequest("GET", "/callbacks", HEADERS, b"", query))
    key = idempotency_key(event)
    eventually(lambda: count(app, "completions", key) == 1, "the GET callback ran on the worker")


def receiver_reports(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What this process's receiver reports for each event it hands to the queue from now
    on: ``queued`` (published) or ``duplicate`` (queued, running or done already)."""
    reported: list[str] = []
    queue: TaskQueue = app.queue
    monkeypatch.setattr(queue, "metrics", lambda outcome: reported.append(outcome.name))
    return reported


def test_duplicates_are_published_once_whichever_delivery_wins(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    reported = receiver_reports(app, monkeypatch)
    body = json.dumps(fake_payload("message-received")).encode()
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _: post(app, body).status, range(6)))
    # The copies racing the first one are asked to retry (409); none is a failure.
    assert set(statuses) <= {200, 409}
    assert 200 in statuses
    for _ in range(3):
        assert post(app, body).status == 200  # a later duplicate: acknowledged, not published
    assert reported.count("queued") == 1  # one message for the worker, whichever won
    assert reported.count("duplicate") == 3 + statuses.count(200) - 1
    (key,) = keys_of(json.loads(body))
    queue: TaskQueue = app.queue
    # done once the worker settled the claim, after the handler's own marks
    eventually(lambda: queue.claims.state(f"{key}|queue_app:record") == "done", "settled")
    assert count(app, "completions", key) == 1
    assert count(app, "starts", key) == 1


def test_a_failing_handler_is_retried_then_dead_lettered(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = fake_payload("message-received", message__text="poison")
    assert post(app, body).status == 200  # queued: the failure happens on the worker
    (key,) = keys_of(body)
    work = f"{key}|queue_app:record"
    dead_hook = app.PREFIX + "dead-hook"
    eventually(lambda: work.encode() in app.store.lrange(dead_hook, 0, -1), "dead-lettered")
    queue: TaskQueue = app.queue
    assert count(app, "starts", key) == queue.max_attempts == 3
    assert queue.claims.state(work) == "dead"
    letter = next(d for d in queue.dead_letters() if d.envelope["key"] == work)
    assert letter.error == "RuntimeError: a handler that always fails"
    assert letter.attempts == 3
    assert "Authorization" not in dict(letter.envelope["headers"])
    reported = receiver_reports(app, monkeypatch)
    assert post(app, body).status == 200  # a later delivery does not run it again:
    assert reported == ["duplicate"]  # nothing is published for a worker to run
    assert count(app, "starts", key) == 3


def test_broker_down_messaging_is_refused_voice_is_spooled_then_published(
    app: ModuleType, stack: QueueStack
) -> None:
    messaging = fake_payload("message-delivered")
    voice = fake_payload("v2:disconnect")
    stack.redis.kill()
    try:
        with ThreadPoolExecutor(1) as pool:  # answered within Bandwidth's 10 s, never held
            refused = pool.submit(post, app, messaging).result(timeout=10)
        assert refused.status == 500  # Bandwidth retries messaging for 24 hours
        assert json.loads(refused.body) == {"error": "could not queue the event"}
        spooled = post(app, voice)
        assert spooled.status == 200  # not retried by Bandwidth: on disk before the 2xx
        queue: TaskQueue = app.queue
        assert queue.spool is not None
        assert len(queue.spool) == 2
    finally:
        stack.restart_redis()
    (voice_key,) = keys_of(voice)
    eventually(lambda: count(app, "completions", voice_key) == 1, "the spooled event ran", 60)
    eventually(lambda: count(app, "async-completions", voice_key) == 1, "both handlers", 60)
    assert len(queue.spool) == 0
    (messaging_key,) = keys_of(messaging)
    assert count(app, "starts", messaging_key) == 0
    assert post(app, messaging).status == 200  # Bandwidth's retry, the broker back
    eventually(lambda: count(app, "completions", messaging_key) == 1, "the retried one ran")


def test_without_a_spool_voice_gets_500_and_says_why(
    app: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    class Down(TaskQueue):
        def publish(self, envelope: Envelope) -> None:
            raise ConnectionError("broker down")

    queue = Down(RedisClaims(app.store, prefix="wiring-down:"), spool=None)
    receiver = open_receiver()
    receiver.on(VoiceEvent, queue=queue)(lambda event: None)
    body = json.dumps(fake_payload("v2:disconnect")).encode()
    caplog.set_level(logging.ERROR, "bwhooks.receiver")
    response = receiver.handle(
        CallbackRequest("POST", "/", {"Content-Type": "application/json"}, body)
    )
    assert response.status == 500
    assert "could not be queued (ConnectionError: broker down)" in caplog.text


def test_a_worker_defers_to_a_live_lease_and_skips_what_is_done(app: ModuleType) -> None:
    queue: TaskQueue = app.queue
    body = fake_payload("v2:answer")
    (event,) = app.receiver.accept_all(
        CallbackRequest("POST", "/x", HEADERS, json.dumps(body).encode())
    )
    envelope = queue.envelope(
        "queue_app:record", event, CallbackRequest("POST", "/x", HEADERS, b"{}")
    )
    begun = queue.claims.begin(envelope.key, "another-worker", 3.0, 60)
    assert begun.start is Start.RUN
    assert begun.attempt == 1
    ran = queue.run(envelope.to_dict())
    assert ran.verdict is Verdict.RETRY
    assert 2.0 < ran.countdown <= 4.0
    assert queue.claims.finish(envelope.key, "another-worker", 60)
    assert queue.run(envelope.to_dict()).verdict is Verdict.ACK  # done: skipped
    assert count(app, "starts", idempotency_key(event)) == 0


def test_work_whose_message_was_lost_is_published_again_until_done(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    published: list[Envelope] = []

    class Lossy(TaskQueue):
        def publish(self, envelope: Envelope) -> None:
            published.append(envelope)  # and the broker loses it

    # The claims' clock is the test's: "idle for a second" is exact, whatever the load.
    clock = SimpleNamespace(now=1_000_000.0)
    monkeypatch.setattr("bwhooks.queue.claims.time", SimpleNamespace(time=lambda: clock.now))
    queue = Lossy(RedisClaims(app.store, prefix="wiring-lost:"))
    publish = queue.bind(lambda event: None)
    request = CallbackRequest("POST", "/", HEADERS, json.dumps(fake_payload("sms")).encode())
    (event,) = app.receiver.accept_all(request)
    with handling(request):
        publish(event)
    assert len(published) == 1
    assert queue.republish_orphans(idle=1) == 0  # not idle long enough yet
    clock.now += 1
    assert queue.republish_orphans(idle=1) == 1
    assert published[1] == published[0]
    assert queue.republish_orphans(idle=1) == 0  # one sweeper takes it, once per idle
    clock.now += 0.5
    assert queue.republish_orphans(idle=1) == 0
    clock.now += 0.5
    assert queue.republish_orphans(idle=1) == 1  # still not done: again
    assert queue.run(published[0].to_dict()).verdict is Verdict.ACK  # a worker runs it
    clock.now += 1
    assert queue.republish_orphans(idle=1) == 0  # done work leaves the index
    assert app.store.zcard("wiring-lost:pending-at") == 0
    assert app.store.hlen("wiring-lost:pending") == 0


def test_a_lease_left_by_a_dead_process_of_this_machine_is_taken_over(app: ModuleType) -> None:
    from bwhooks.queue.tasks import holder_is_dead, run_token

    queue: TaskQueue = app.queue
    request = CallbackRequest("POST", "/x", HEADERS, json.dumps(fake_payload("sms")).encode())
    (event,) = app.receiver.accept_all(request)
    envelope = queue.envelope("queue_app:record", event, request)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    machine = run_token().rsplit(":", 2)[0]
    dead_holder = f"{machine}:{gone.stdout.strip()}:abc"
    live_holder = f"{machine}:{os.getppid()}:abc"
    other_machine = f"elsewhere/12345678:{gone.stdout.strip()}:abc"
    assert holder_is_dead(dead_holder)
    assert not holder_is_dead(live_holder)
    assert not holder_is_dead(other_machine)  # another machine's process: its lease counts
    assert queue.claims.begin(envelope.key, dead_holder, 60.0, 60).start is Start.RUN
    assert queue.run(envelope.to_dict()).verdict is Verdict.ACK  # ran at once, not deferred
    assert completed(app, idempotency_key(event))


def test_a_pool_without_time_limits_renews_the_lease_while_the_handler_runs(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    renewed: list[tuple[str | None, bool]] = []  # the claim before each renewal, its result
    renewals = threading.Condition()

    class Local(TaskQueue):
        def publish(self, envelope: Envelope) -> None:
            published.append(envelope)

    published: list[Envelope] = []
    # The lease is renewed every third of it: four renewals outlast it.
    queue = Local(RedisClaims(app.store, prefix="wiring-renew:"), lease=1.2, renew_leases=True)
    renew = queue.claims.renew

    def counted_renew(key: str, token: str, lease: float) -> bool:
        state = queue.claims.state(key)
        result = renew(key, token, lease)
        with renewals:
            renewed.append((state, result))
            renewals.notify_all()
        return result

    monkeypatch.setattr(queue.claims, "renew", counted_renew)

    def slow(event: Event) -> None:  # runs until its lease was renewed four times
        with renewals:
            assert renewals.wait_for(lambda: len(renewed) >= 4, timeout=30), renewed

    publish = queue.bind(slow)
    request = CallbackRequest("POST", "/", HEADERS, json.dumps(fake_payload("sms")).encode())
    (event,) = app.receiver.accept_all(request)
    with handling(request):
        publish(event)
    assert queue.run(published[0].to_dict()).verdict is Verdict.ACK
    assert len(renewed) >= 4
    assert all(state is not None and state.startswith("running:") for state, _ in renewed)
    assert all(result for _, result in renewed), renewed  # never lost meanwhile
    assert queue.claims.state(published[0].key) == "done"


def test_celery_settings_for_rabbitmq_confirm_publishes() -> None:
    from celery import Celery

    from bwhooks.queue.celery import CeleryQueue

    celery_app = Celery("rabbit", broker="amqp://guest@127.0.0.1:1//")
    CeleryQueue(celery_app, redis=object(), spool=None)
    options = celery_app.conf.broker_transport_options
    assert options["confirm_publish"] is True
    assert options["socket_timeout"] == options["socket_connect_timeout"] == 3.0


@pytest.mark.parametrize(
    ("options", "prefix"),
    [
        ({"name": "bwhooks"}, "{bwhooks}:"),
        ({}, "{bwhooks:keys}:"),  # named after the app, Celery("keys")
        ({"name": "orders"}, "{bwhooks:orders}:"),
        ({"name": "orders-eu.v2"}, "{bwhooks:orders-eu.v2}:"),  # Celery's header: an identifier
    ],
)
def test_every_key_a_queue_writes_is_under_one_prefix(
    stack: QueueStack, options: dict[str, Any], prefix: str
) -> None:
    """A CeleryQueue on a real Redis: the default queue's keys are ``{bwhooks}:...`` (never
    ``{bwhooks:bwhooks}:...``), a named queue's ``{bwhooks:<name>}:...`` (by default the
    app's name); listed as written,
    once queued (claim, pending index) and once dead-lettered (attempts, the stream)."""
    import redis
    from celery import Celery

    from bwhooks.queue.celery import CeleryQueue

    url = f"redis://127.0.0.1:{stack.port}/3"
    store = redis.Redis.from_url(url)
    store.flushdb()
    queue = CeleryQueue(Celery("keys", broker=url), spool=None, max_attempts=1, **options)
    receiver = open_receiver()

    @receiver.on(Event, queue=queue)
    def poisoned(event: Event) -> None:
        raise RuntimeError("dead-lettered at once")

    def written() -> list[str]:
        """The keys in Redis but Celery's own (its queue, kombu's bindings)."""
        names = [name.decode() for name in store.scan_iter()]
        return sorted(n for n in names if n != "celery" and not n.startswith("_kombu."))

    body = fake_payload("message-received")
    sent = CallbackRequest("POST", "/callbacks", HEADERS, json.dumps(body).encode())
    assert receiver.handle(sent).status == 200
    work = f"{keys_of(body)[0]}|{poisoned.__module__}:{poisoned.__qualname__}"
    assert written() == [f"{prefix}claim:{work}", f"{prefix}pending", f"{prefix}pending-at"]
    (envelope,) = store.hvals(f"{prefix}pending")
    assert queue.run(json.loads(envelope)).verdict is Verdict.ACK  # dead-lettered
    assert written() == [f"{prefix}attempts:{work}", f"{prefix}claim:{work}", f"{prefix}dead"]
    assert queue.claims.state(work) == "dead"
    assert [letter.envelope["key"] for letter in queue.dead_letters()] == [work]


@pytest.mark.parametrize("name", ["", "-orders", "a/b", "../spool", "a:b", "a b", "é", "x" * 65])
def test_a_queue_name_that_could_not_name_a_task_key_or_file_is_refused(name: str) -> None:
    from celery import Celery

    from bwhooks.queue.celery import CeleryQueue

    with pytest.raises(ValueError, match="queue name"):
        CeleryQueue(Celery("names", broker="redis://127.0.0.1:1/0"), name=name, spool=None)


def test_queue_outcomes_reach_the_metrics_hook(app: ModuleType) -> None:
    from bwhooks.queue.tasks import QueueOutcome

    outcomes: list[QueueOutcome] = []

    class Local(TaskQueue):
        def publish(self, envelope: Envelope) -> None:
            published.append(envelope)

    published: list[Envelope] = []
    queue = Local(RedisClaims(app.store, prefix="wiring-metrics:"), metrics=outcomes.append)
    publish = queue.bind(lambda event: None)
    request = CallbackRequest("POST", "/", HEADERS, json.dumps(fake_payload("v2:answer")).encode())
    (event,) = app.receiver.accept_all(request)
    with handling(request):
        publish(event)
        publish(event)
    queue.run(published[0].to_dict())
    queue.run(published[0].to_dict())
    assert [o.name for o in outcomes] == ["queued", "duplicate", "handled", "skipped"]
    assert outcomes[2].attempt == 1
    assert outcomes[2].ids == outcomes[0].ids
    assert "call_id=" in outcomes[0].ids
    assert outcomes[0].event_type == "answer"


def test_a_receiver_started_later_drains_what_an_earlier_one_spooled(
    app: ModuleType, tmp_path: Path
) -> None:
    from bwhooks.queue.spool import Spool

    published: list[Envelope] = []

    class Recording(TaskQueue):
        def publish(self, envelope: Envelope) -> None:
            published.append(envelope)

    def noop(event: Event) -> None:
        return None

    path = tmp_path / "spool.sqlite3"
    earlier = Recording(RedisClaims(app.store, prefix="wiring-later:"), spool=Spool(path))
    earlier.bind(noop)
    left = CallbackRequest("POST", "/", HEADERS, json.dumps(fake_payload("v2:answer")).encode())
    (event,) = app.receiver.accept_all(left)
    spooled = earlier.envelope(next(iter(earlier.handlers)), event, left)
    Spool(path).put(json.dumps(spooled.to_dict()))  # spooled, then that process went away

    later = Recording(RedisClaims(app.store, prefix="wiring-later:"), spool=Spool(path))
    publish = later.bind(noop)
    request = CallbackRequest("POST", "/", HEADERS, json.dumps(fake_payload("sms")).encode())
    (sms,) = app.receiver.accept_all(request)
    with handling(request):
        publish(sms)  # its first publish looks for a spool left behind
    eventually(lambda: len(published) == 2, "the spooled envelope published")
    assert spooled in published
    eventually(lambda: len(Spool(path)) == 0, "the spool emptied once published")


def test_envelopes_are_versioned_json_without_credentials(app: ModuleType) -> None:
    queue: TaskQueue = app.queue
    payload = load_v2_example(sorted(p.name for p in EXAMPLES_V2.glob("message-*.json"))[0])
    request = CallbackRequest(
        "POST", "/m", {**HEADERS, "Cookie": "s=1", "X-Trace": "t"}, json.dumps(payload).encode()
    )
    (event, *_) = app.receiver.accept_all(request)
    envelope = queue.envelope("queue_app:record", event, request)
    data = json.loads(json.dumps(envelope.to_dict()))
    assert data["v"] == 1
    assert data["array"] is True
    assert {name.lower() for name, _ in data["headers"]} == {"content-type", "x-trace"}
    again = Envelope.from_dict(data)
    assert again == envelope
    assert again.event() == event
    assert again.request().headers.get("X-Trace") == "t"
    for bad in ({**data, "v": 2}, {**data, "payload": [1]}, {"v": 1}, [data]):
        with pytest.raises(EnvelopeError):
            Envelope.from_dict(bad)


def test_envelopes_carry_no_header_that_names_a_credential(app: ModuleType) -> None:
    queue: TaskQueue = app.queue
    payload = load_v2_example(sorted(p.name for p in EXAMPLES_V2.glob("message-*.json"))[0])
    secrets = {
        "Proxy-Authorization": "Basic proxy-secret",
        "X-Api-Key": "key-secret",
        "X-Auth-Token": "token-secret",
        "X-Session-Id": "session-secret",
        "Set-Cookie": "s=cookie-secret",
        "X-Bandwidth-Signature-SHA-256": "signature-secret",
        "x-bandwidth-signature-hmac-sha256": "hmac-secret",
    }
    request = CallbackRequest(
        "POST", "/m", {**HEADERS, **secrets, "X-Trace": "t"}, json.dumps(payload).encode()
    )
    (event, *_) = app.receiver.accept_all(request)
    data = json.dumps(queue.envelope("queue_app:record", event, request).to_dict())
    assert {n.lower() for n, _ in json.loads(data)["headers"]} == {"content-type", "x-trace"}
    assert not [value for value in secrets.values() if value.split("=")[-1] in data]


def test_a_message_that_is_not_an_envelope_is_dead_lettered(app: ModuleType) -> None:
    queue: TaskQueue = app.queue
    assert queue.run({"v": 99, "key": "k"}).verdict is Verdict.ACK
    error = queue.dead_letters(1)[0].error
    assert error.startswith("EnvelopeError: not a version 1 or 2 envelope (v=99)")


TOO_DEEP_NOTE = "(not kept: nested deeper than 32 levels)"


def deep(depth: int) -> Any:
    """An object nested ``depth`` levels (built without recursion)."""
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def hostile_envelope(app: ModuleType, name: str, **changes: Any) -> dict[str, Any]:
    """The envelope of a real callback, with its own key, and ``changes``."""
    queue: TaskQueue = app.queue
    body = json.dumps(fake_payload("sms", text=name)).encode()
    request = CallbackRequest("POST", "/callbacks", HEADERS, body)
    (event,) = app.receiver.accept_all(request)
    data = queue.envelope("queue_app:record", event, request).to_dict()
    data["key"] = f"hostile-{name}-{time.time_ns()}|queue_app:record"
    data.update(changes)
    return data


def letter_of(queue: TaskQueue, key: str) -> Any:
    return next(d for d in queue.dead_letters(20) if d.envelope.get("key") == key)


@pytest.mark.parametrize(
    ("name", "changes", "error"),
    [
        ("deep", {"payload": {"eventType": "sms", "a": deep(900)}}, "nested deeper than 32"),
        ("deep-300kb", {"payload": {"eventType": "sms", "a": deep(50_000)}}, "nested deeper"),
        (
            "query",
            {"method": "GET", "payload": None, "query": "eventType=sms&text=\u2713"},
            "query string is not Latin-1 text",
        ),
    ],
)
def test_an_envelope_no_receiver_sent_is_dead_lettered_with_its_attempt_counted(
    app: ModuleType, name: str, changes: dict[str, Any], error: str
) -> None:
    queue: TaskQueue = app.queue
    data = hostile_envelope(app, name, **changes)
    assert queue.run(data).verdict is Verdict.ACK  # never an exception: no endless retries
    assert queue.claims.state(data["key"]) == "dead"
    letter = letter_of(queue, data["key"])
    assert letter.attempts == 1
    assert letter.error.startswith("InvalidCallback: ")
    assert error in letter.error
    if name.startswith("deep"):  # kept as far as a store can keep it
        assert letter.envelope["payload"] == TOO_DEEP_NOTE
        assert letter.envelope["handler"] == "queue_app:record"
    assert queue.run(data).verdict is Verdict.ACK  # delivered again: buried, not run again
    assert sum(d.envelope.get("key") == data["key"] for d in queue.dead_letters(50)) == 1


def test_a_worker_dead_letters_a_deep_or_non_latin_1_envelope_once(app: ModuleType) -> None:
    # Deep, but not so deep that the prefork pool cannot pickle it for its child: about 500
    # levels stop the worker itself (billiard's RecursionError) before bwhooks runs at all.
    from bwhooks.queue.celery import CeleryQueue

    queue: CeleryQueue = app.queue
    sent = [
        hostile_envelope(app, "worker-deep", payload={"eventType": "sms", "a": deep(100)}),
        hostile_envelope(app, "worker-query", method="GET", payload=None, query="eventType=✓"),
    ]
    for data in sent:
        queue.task.apply_async((data,))  # through the broker, to the real worker process
    dead_hook = app.PREFIX + "dead-hook"
    for data in sent:
        key = data["key"]
        eventually(
            partial(lambda key: key.encode() in app.store.lrange(dead_hook, 0, -1), key),
            f"{key} dead-lettered",
        )
        assert queue.claims.state(key) == "dead"
        assert letter_of(queue, key).attempts == 1


@pytest.mark.parametrize(
    "message",
    [
        {"headers": "ab"},
        {"headers": [[1, 2]]},
        {"headers": [["X-A", "1", "2"]]},
        {"headers": [deep(900)]},
        {"array": "yes"},
        {"received_at": deep(900)},
        {"key": deep(900)},
        {"payload": [1]},
        {"v": deep(900)},
        {"v": [deep(900)]},
    ],
    ids=",".join,
)
def test_a_message_of_the_wrong_types_is_dead_lettered(
    app: ModuleType, message: dict[str, Any]
) -> None:
    queue: TaskQueue = app.queue
    data = hostile_envelope(app, "types", **message)
    assert queue.run(data).verdict is Verdict.ACK
    letter = queue.dead_letters(1)[0]
    assert letter.error.startswith("EnvelopeError: ")
    assert letter.attempts == 0  # no attempt to count: not an envelope this worker can claim
    for name, value in message.items():  # kept, but what no encoder can write
        assert letter.envelope[name] == (TOO_DEEP_NOTE if nests_deeper(value) else value)


@pytest.mark.parametrize("message", [deep(900), [deep(900)], "text", None, 7])
def test_a_message_that_is_no_object_is_dead_lettered(app: ModuleType, message: Any) -> None:
    queue: TaskQueue = app.queue
    assert queue.run(message).verdict is Verdict.ACK
    letter = queue.dead_letters(1)[0]
    assert letter.error.startswith("EnvelopeError: not a version 1 or 2 envelope (v=None)")
    if isinstance(message, dict):
        assert letter.envelope == {"a": TOO_DEEP_NOTE}
    else:
        assert letter.envelope == {"data": TOO_DEEP_NOTE if nests_deeper(message) else message}


def test_the_start_up_self_check(stack: QueueStack) -> None:
    from celery import Celery

    from bwhooks.queue.celery import CeleryQueue

    celery_app = Celery("check", broker=f"redis://127.0.0.1:{stack.port}/0")  # scripts pass
    celery_app.conf.broker_transport_options = {"visibility_timeout": 60}
    queue = CeleryQueue(celery_app, spool=None)
    problems = queue.check("prefork")
    assert any(p.startswith("worker_prefetch_multiplier is 4") for p in problems)
    assert any("visibility_timeout (60s)" in p for p in problems)
    with pytest.raises(RuntimeError, match="refuses the gevent pool"):
        queue.check("gevent")
    celery_app.conf.worker_prefetch_multiplier = 1
    celery_app.conf.broker_transport_options["visibility_timeout"] = 3600
    assert queue.check("prefork") == []


def test_the_wiring_worker_started_without_warnings(stack: QueueStack) -> None:
    text = stack.worker.text()
    assert "bwhooks queue" not in text, text


def test_an_async_receiver_never_waits_on_redis_or_the_broker(app: ModuleType) -> None:
    """Under ASGI the idempotency store and the publish run in worker threads."""
    threads: list[str] = []

    class Store(MemoryStore):
        blocking = True

        def claim(self, key: str) -> Any:
            threads.append(threading.current_thread().name)
            return super().claim(key)

    class Recording(TaskQueue):
        def publish(self, envelope: Envelope) -> None:
            threads.append(threading.current_thread().name)

    receiver = open_receiver(idempotency=Store())
    receiver.on(Event, queue=Recording(RedisClaims(app.store, prefix="wiring-async:")))(
        lambda event: None
    )
    body = json.dumps(fake_payload("v2:disconnect")).encode()

    async def main() -> tuple[int, str]:
        request = CallbackRequest("POST", "/", {"Content-Type": "application/json"}, body)
        response = await receiver.handle_async(request)
        return response.status, threading.current_thread().name

    status, loop_thread = asyncio.run(main())
    assert status == 200
    assert len(threads) == 2
    assert loop_thread not in threads


def test_import_bwhooks_imports_nothing_of_celery() -> None:
    code = (
        "import sys, bwhooks, bwhooks.queue.tasks\n"
        "print(sorted(m for m in sys.modules if m.partition('.')[0] in ('celery', 'kombu')))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"


def test_two_handlers_with_one_name_on_one_queue_are_refused(app: ModuleType) -> None:
    queue = TaskQueue(RedisClaims(app.store, prefix="wiring-names:"))

    def make() -> Callable[[Event], None]:
        def handler(event: Event) -> None:
            return None

        return handler

    queue.bind(make())
    queue.bind(make())  # the same code again (a factory called twice): the same handler

    def other(event: Event) -> None:
        raise AssertionError("never called")

    other.__qualname__ = make().__qualname__
    with pytest.raises(ValueError, match="two different handlers are named"):
        queue.bind(other)


def test_queue_unavailable_is_raised_for_a_retried_event(app: ModuleType) -> None:
    class Down(TaskQueue):
        def publish(self, envelope: Envelope) -> None:
            raise ConnectionError("down")

    queue = Down(RedisClaims(app.store, prefix="wiring-raise:"))
    publish = queue.bind(lambda event: None)
    body = fake_payload("message-sending")
    (event,) = app.receiver.accept_all(
        CallbackRequest("POST", "/", HEADERS, json.dumps(body).encode())
    )
    with handling(CallbackRequest("POST", "/", HEADERS, b"[]")), pytest.raises(QueueUnavailable):
        publish(event)
    # The claim was given back: the next delivery publishes it.
    key = queue.envelope("x", event, CallbackRequest("POST", "/", HEADERS, b"[]")).key
    assert queue.claims.state(key.replace("|x", "|" + next(iter(queue.handlers)))) is None


def test_another_engine_runs_on_the_roles_the_orphan_sweep_included(app: ModuleType) -> None:
    """An engine of a few lines on the engine-neutral part, a receiver serving it over HTTP:
    its broker (a thread's queue) loses the first message, its worker thread acts on each
    verdict, and the orphan sweep runs in a thread of its own until asked to stop."""
    from queue import Empty, SimpleQueue

    from support import wsgi_server

    from bwhooks.queue import DeadLetter, QueueOutcome
    from bwhooks.queue.tasks import Ran

    broker: SimpleQueue[Any] = SimpleQueue()
    lost: list[str] = []

    class InProcess(TaskQueue):
        def publish(self, envelope: Envelope) -> None:
            if not lost:  # the broker loses the first message it was given
                lost.append(envelope.key)
                return
            broker.put(json.loads(json.dumps(envelope.to_dict())))

    outcomes: list[str] = []
    handled, buried, stop = threading.Event(), threading.Event(), threading.Event()

    def dead_lettered(letter: DeadLetter) -> None:
        buried.set()

    def reported(outcome: QueueOutcome) -> None:
        outcomes.append(outcome.name)
        if outcome.name == "handled":
            handled.set()

    queue = InProcess(
        RedisClaims(app.store, prefix=f"wiring-engine-{time.time_ns()}:"),
        max_attempts=2,
        retry_backoff=0.05,
        retry_backoff_max=0.1,
        on_dead_letter=dead_lettered,
        metrics=reported,
    )
    receiver = open_receiver()

    @receiver.on(Event, queue=queue)
    def handle(event: Event) -> None:
        if event.raw.get("message", {}).get("text") == "poison":
            raise RuntimeError("always fails")

    def work() -> None:  # the engine's worker: each message run, retried when told
        while not stop.is_set():
            try:
                message = broker.get(timeout=0.05)
            except Empty:
                continue
            ran: Ran = queue.worker.run(message)
            if ran.verdict is Verdict.RETRY:
                threading.Timer(ran.countdown, broker.put, (message,)).start()

    threads = [
        threading.Thread(target=work, daemon=True),
        threading.Thread(target=queue.sweeper.keep_sweeping, args=(1.0, stop), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        with wsgi_server(receiver) as send:
            lost_body = fake_payload("sms")
            assert send(body=json.dumps(lost_body).encode()).status == 200
            poison = fake_payload("message-received", message__text="poison")
            assert send(body=json.dumps(poison).encode()).status == 200
        assert lost == [f"{keys_of(lost_body)[0]}|{handle.__module__}:{handle.__qualname__}"]
        assert handled.wait(30), outcomes  # published again by the sweep, then run
        assert buried.wait(30), outcomes  # run twice, then dead-lettered
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in threads)  # the sweep stopped when asked
    assert queue.claims.state(lost[0]) == "done"
    assert outcomes.count("handled") == 1
    assert {"queued", "republished", "retried", "dead-lettered"} <= set(outcomes)


def class_code_lines(package: Path) -> dict[str, int]:
    """Each class of ``package`` in code lines (no docstrings, comments or blank lines), its
    base classes of the same package included."""
    import ast
    import io
    import tokenize

    own: dict[str, tuple[int, list[str]]] = {}
    for path in sorted(package.glob("*.py")):
        source = path.read_text()
        tree = ast.parse(source)
        docs: set[int] = set()
        documented = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        for node in ast.walk(tree):
            if isinstance(node, documented) and ast.get_docstring(node) is not None:
                first = node.body[0]
                docs.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
        skipped = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT}
        skipped |= {tokenize.DEDENT, tokenize.ENDMARKER}
        code = {
            token.start[0]
            for token in tokenize.generate_tokens(io.StringIO(source).readline)
            if token.type not in skipped and token.start[0] not in docs
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                lines = sum(node.lineno <= line <= (node.end_lineno or 0) for line in code)
                bases = [base.id for base in node.bases if isinstance(base, ast.Name)]
                own[node.name] = (lines, bases)

    def total(name: str) -> int:
        lines, bases = own[name]
        return lines + sum(total(base) for base in bases if base in own)

    return {name: total(name) for name in own}


def test_every_class_of_the_queue_is_at_most_250_code_lines_with_its_bases() -> None:
    import bwhooks.queue

    sizes = class_code_lines(Path(bwhooks.queue.__file__).parent)
    assert {name: size for name, size in sizes.items() if size > 250} == {}
    assert {"CeleryQueue", "TaskQueue", "Publisher", "Worker"} <= set(sizes)  # all counted


def test_the_spool_is_owner_only_and_never_written_through_a_link(tmp_path: Path) -> None:
    """The spool holds callback payloads: created 0600, an existing file made so, and a
    symbolic link at the file or at a companion SQLite writes beside it refused."""
    from bwhooks.queue.spool import Spool

    fresh = Spool(tmp_path / "fresh.sqlite3")
    fresh.put('{"v": 1}')
    assert stat.S_IMODE((tmp_path / "fresh.sqlite3").stat().st_mode) == 0o600

    loose = tmp_path / "loose.sqlite3"
    loose.touch(mode=0o644)
    loose.chmod(0o644)
    Spool(loose).put('{"v": 1}')
    assert stat.S_IMODE(loose.stat().st_mode) == 0o600

    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_bytes(b"")
    elsewhere.chmod(0o644)
    (tmp_path / "linked.sqlite3").symlink_to(elsewhere)
    with pytest.raises(OSError, match=r"symbolic link|Too many levels"):
        Spool(tmp_path / "linked.sqlite3").put('{"v": 1}')
    assert elsewhere.read_bytes() == b""
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o644

    (tmp_path / "wal.sqlite3-wal").symlink_to(elsewhere)
    with pytest.raises(OSError, match=r"wal\.sqlite3-wal is a symbolic link"):
        Spool(tmp_path / "wal.sqlite3").put('{"v": 1}')
    assert elsewhere.read_bytes() == b""
