"""Duplicate deliveries: keys, the in-memory and Redis stores, and the receiver's answers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support import AUTH, JSON, PASSWORD, USER, Send

from bwhooks import BasicAuth, CallbackRequest, CallbackResponse, Receiver, events
from bwhooks.decoding.parsing import decode_query, encode_query, parse_event
from bwhooks.errors import RetryLater
from bwhooks.events import Event
from bwhooks.idempotency import (
    Claim,
    IdempotencyStore,
    MemoryStore,
    RedisStore,
    idempotency_key,
)
from bwhooks.testing import fake_payload

Connect = Callable[[Receiver], Send]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def redis_store(redis_server: int, request: pytest.FixtureRequest) -> Iterator[RedisStore]:
    import redis

    client = redis.Redis(port=redis_server)
    yield RedisStore(client, prefix=f"test:{request.node.name}:", in_flight_ttl=2)
    client.close()


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> IdempotencyStore:
    if request.param == "memory":
        return MemoryStore()
    store: IdempotencyStore = request.getfixturevalue("redis_store")
    return store


ANSWER = CallbackResponse(200, [("Content-Type", "application/xml")], b"<Response/>")


def test_claim_complete_release(store: IdempotencyStore) -> None:
    assert store.claim("k").claim is Claim.NEW
    assert store.claim("k").claim is Claim.IN_FLIGHT
    store.complete("k", ANSWER)
    done = store.claim("k")
    assert done.claim is Claim.DONE
    assert done.response == ANSWER
    assert store.claim("other").claim is Claim.NEW
    store.release("other")
    assert store.claim("other").claim is Claim.NEW


def test_one_claim_wins_among_concurrent_deliveries(store: IdempotencyStore) -> None:
    results: list[Claim] = []
    barrier = threading.Barrier(16)

    def claim() -> None:
        barrier.wait()
        results.append(store.claim("race").claim)

    threads = [threading.Thread(target=claim) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(Claim.NEW) == 1
    assert results.count(Claim.IN_FLIGHT) == 15


def test_memory_store_expires_keys() -> None:
    clock = Clock()
    store = MemoryStore(ttl=100, in_flight_ttl=10, clock=clock)
    store.claim("crashed")
    clock.now += 11  # the delivery holding it never finished: the key frees itself
    assert store.claim("crashed").claim is Claim.NEW
    store.complete("crashed", ANSWER)
    clock.now += 99
    assert store.claim("crashed").claim is Claim.DONE
    clock.now += 2
    assert store.claim("crashed").claim is Claim.NEW


def test_memory_store_stays_bounded() -> None:
    store = MemoryStore(max_keys=100)
    for index in range(1000):
        store.claim(f"k{index}")
    assert len(store) <= 100


def test_redis_in_flight_claims_expire(redis_store: RedisStore) -> None:
    assert redis_store.claim("crash").claim is Claim.NEW
    assert redis_store.claim("crash").claim is Claim.IN_FLIGHT
    # in_flight_ttl=2: the claim of a crashed delivery carries Redis's expiry...
    name = redis_store.prefix + "crash"
    assert 0 < redis_store.client.pttl(name) <= 2000
    deadline = time.monotonic() + 30  # ...which frees the key (a bounded wait for it)
    while redis_store.client.exists(name):
        assert time.monotonic() < deadline, "the in-flight claim never expired"
        time.sleep(0.05)
    assert redis_store.claim("crash").claim is Claim.NEW


def test_keys_follow_content_not_encoding() -> None:
    payload = fake_payload("sms", text="hello")
    post = parse_event(payload)
    get = parse_event(decode_query(encode_query(payload).encode()))
    reordered = parse_event(dict(reversed(list(payload.items()))))
    assert idempotency_key(post) == idempotency_key(get) == idempotency_key(reordered)
    changed = parse_event({**payload, "state": "sent"})
    assert idempotency_key(changed) != idempotency_key(post)
    assert idempotency_key(post).startswith("sms:")


def receiver_with(store: IdempotencyStore) -> tuple[Receiver, list[Event]]:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), idempotency=store)
    calls: list[Event] = []

    @receiver.on(events.AnswerEvent)
    def answer(event: events.AnswerEvent) -> str:
        calls.append(event)
        return f"<Response><Speak>{len(calls)}</Speak></Response>"

    @receiver.on(events.SmsEvent)
    def sms(event: events.SmsEvent) -> None:
        calls.append(event)

    return receiver, calls


def test_duplicates_are_answered_again_without_dispatch(
    connect: Connect, store: IdempotencyStore
) -> None:
    receiver, calls = receiver_with(store)
    send = connect(receiver)
    body = json.dumps(fake_payload("v1:answer", call_id="c-dup")).encode()
    first, second = send(body=body), send(body=body)
    assert first.status == second.status == 200
    assert first.body == second.body == b"<Response><Speak>1</Speak></Response>"
    assert len(calls) == 1
    sms = json.dumps(fake_payload("sms")).encode()
    assert [send(body=sms).status for _ in range(3)] == [200, 200, 200]
    assert len(calls) == 2


def test_a_failed_delivery_is_processed_on_retry(store: IdempotencyStore) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), idempotency=store)
    attempts: list[int] = []

    @receiver.on(Event)
    def flaky(event: Event) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database is down")

    request = CallbackRequest(
        "POST",
        "/callbacks",
        {"Content-Type": JSON, "Authorization": AUTH},
        json.dumps(fake_payload("v1:dtmf")).encode(),
    )
    assert receiver.handle(request).status == 500
    assert receiver.handle(request).status == 200
    assert receiver.handle(request).status == 200  # now a duplicate
    assert len(attempts) == 2


def test_a_handler_asking_for_a_later_delivery_runs_again_on_it(
    connect: Connect, store: IdempotencyStore
) -> None:
    """RetryLater's 409 asks Bandwidth to deliver again: that delivery must run the
    handlers, not be answered the 409 again from the store until Bandwidth gives up."""
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), idempotency=store)
    attempts: list[Event] = []

    @receiver.on(Event)
    def not_yet(event: Event) -> None:
        attempts.append(event)
        if len(attempts) == 1:
            raise RetryLater("the account is still being created")

    send = connect(receiver)
    body = json.dumps(fake_payload("sms")).encode()
    first = send(body=body)
    assert first.status == 409
    assert first.headers["Retry-After"] == "5"
    assert send(body=body).status == 200  # the later delivery runs the handler
    assert send(body=body).status == 200  # and is then a duplicate
    assert len(attempts) == 2


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_duplicate_during_the_first_delivery_is_asked_to_retry(
    store: IdempotencyStore, asynchronous: bool
) -> None:
    import asyncio

    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), idempotency=store)
    request = CallbackRequest(
        "POST",
        "/callbacks",
        {"Content-Type": JSON, "Authorization": AUTH},
        json.dumps(fake_payload("v1:gather")).encode(),
    )
    during: list[CallbackResponse] = []

    if asynchronous:

        @receiver.on(Event)
        async def slow_async(event: Event) -> None:
            during.append(await receiver.handle_async(request))  # the retry arrives now

        first = asyncio.run(receiver.handle_async(request))
    else:

        @receiver.on(Event)
        def slow(event: Event) -> Any:
            during.append(receiver.handle(request))  # the retry arrives now

        first = receiver.handle(request)
    assert first.status == 200
    assert during[0].status == 409
    assert during[0].headers["Retry-After"] == "5"
    assert json.loads(during[0].body) == {"error": "being handled, retry later"}


def test_cancelled_async_delivery_releases_its_key() -> None:
    import asyncio

    store = MemoryStore()
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), idempotency=store)
    started = asyncio.Event()

    @receiver.on(Event)
    async def hangs(event: Event) -> None:
        started.set()
        await asyncio.sleep(3600)

    request = CallbackRequest(
        "POST",
        "/callbacks",
        {"Content-Type": JSON, "Authorization": AUTH},
        json.dumps(fake_payload("hangup")).encode(),
    )

    async def main() -> None:
        task = asyncio.create_task(receiver.handle_async(request))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert store.claim(idempotency_key(parse_event(json.loads(request.body)))).claim is Claim.NEW
