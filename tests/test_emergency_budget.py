"""A 911 routing query's budget: counted from when the query was read, for all its handlers
in turn; on async servers a ``def`` handler is awaited no longer than the budget either, and
runs on a pool of its own that other families' slow handlers cannot fill.

Real servers where it matters: uvicorn serving the ASGI middleware and FastAPI, and every
other way in (``connect``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from frameworks import TRANSPORTS, fastapi_app
from support import AUTH, JSON, PASSWORD, USER, Req, Send, http_request, sender, uvicorn_serving

from bwhooks import (
    BasicAuth,
    CallbackRequest,
    CallbackResponse,
    EmergencyCallEvent,
    EmergencyRoute,
    Event,
    Receiver,
)
from bwhooks.adapters import asgi
from bwhooks.events import MessageReceivedEvent
from bwhooks.testing import HttpSender, fake_event
from bwhooks.testing.delivery import wire_body

Connect = Callable[[Receiver], Send]
QUERY = b"to=933&from=%2B19195551234"
ROUTE = EmergencyRoute(aeui="myaeui", location_id="mylocationid")
BUDGET = 0.2
SYNC = ("handle", "wsgi", "flask", "django")  # a def handler runs in the request's thread
WAIT = 10.0  # what a test waits at most for something it started; never asserted


def receiver(**options: Any) -> Receiver:
    return Receiver(auth=BasicAuth((USER, PASSWORD)), **options)


@contextmanager
def on_uvicorn(app: Any) -> Iterator[Send]:
    with uvicorn_serving(app) as base_url:

        def deliver(r: Req) -> CallbackResponse:
            target = r.path + ("?" + r.query.decode() if r.query else "")
            return http_request(base_url, r.method, target, r.body, r.headers)

        yield sender(deliver)


WAYS_IN: dict[str, Callable[[Receiver], Any]] = {
    **{name: transport.open for name, transport in TRANSPORTS.items()},
    "uvicorn-asgi": lambda r: on_uvicorn(asgi.make_app(r)),
    "uvicorn-fastapi": lambda r: on_uvicorn(fastapi_app(r)),
}


def _connect(names: list[str]) -> Any:
    @pytest.fixture(params=sorted(names))
    def fixture(request: pytest.FixtureRequest) -> Iterator[Connect]:
        with ExitStack() as stack:
            yield lambda r: stack.enter_context(WAYS_IN[request.param](r))

    return fixture


connect_any = _connect(list(WAYS_IN))
connect_sync = _connect(list(SYNC))
# Django's test client returns no answer before its thread-sensitive thread is free again.
connect_async_answered = _connect([n for n in WAYS_IN if n not in (*SYNC, "django-async")])


def query(send: Send) -> CallbackResponse:
    return send("GET", query=QUERY, headers={"Authorization": AUTH})


def no_route(answer: CallbackResponse) -> None:
    assert (answer.status, json.loads(answer.body)) == (503, {"error": "no emergency route"})


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    with caplog.at_level(logging.DEBUG, "bwhooks"):
        yield lambda: [
            r.getMessage()
            for r in caplog.records
            if r.levelno >= logging.ERROR and r.name.startswith("bwhooks")
        ]


def until(condition: Callable[[], bool]) -> None:
    """Wait for what a test started (at most WAIT seconds; the assertions follow)."""
    deadline = time.monotonic() + WAIT
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)


async def until_async(condition: Callable[[], bool]) -> None:
    """:func:`until` on a loop, in a thread of its own (the default pool may be full)."""
    with ThreadPoolExecutor(1) as waiter:
        await asyncio.wrap_future(waiter.submit(until, condition))


def past(event: EmergencyCallEvent, share: float) -> bool:
    return bool(time.monotonic() - event.received > share * BUDGET)


# -- the budget covers the whole query ----------------------------------------------------


def test_two_async_handlers_share_the_budget(
    connect_any: Connect, errors: Callable[[], list[str]]
) -> None:
    """Each within the budget alone, together past it: the second gets what is left and is
    cancelled at the deadline; its route is never sent."""
    bwhooks_receiver = receiver(emergency_budget=BUDGET)
    cancelled: list[str] = []

    @bwhooks_receiver.on(EmergencyCallEvent)
    async def look_up(event: EmergencyCallEvent) -> None:
        await asyncio.sleep(0.6 * BUDGET)  # started after the query was read

    @bwhooks_receiver.on(EmergencyCallEvent)
    async def route(event: EmergencyCallEvent) -> EmergencyRoute:
        try:
            await asyncio.sleep(0.6 * BUDGET)  # within the budget alone
        except asyncio.CancelledError:
            cancelled.append(event.to)
            raise
        return ROUTE

    no_route(query(connect_any(bwhooks_receiver)))
    assert cancelled == ["933"]
    over, routed = errors()
    assert "route of the emergencyCall request (no ids) ran past the budget: cancelled" in over
    assert "the 200 ms budget ran out; answered 503" in routed


def test_no_handler_starts_once_the_budget_ran_out(
    connect_sync: Connect, errors: Callable[[], list[str]]
) -> None:
    """On a sync server a ``def`` handler may take the whole budget (async servers stop
    it at the deadline): the next one is not started, the query is answered 503."""
    bwhooks_receiver = receiver(emergency_budget=BUDGET)
    started: list[str] = []

    @bwhooks_receiver.on(EmergencyCallEvent)
    def look_up(event: EmergencyCallEvent) -> None:
        while not past(event, 1.2):
            time.sleep(0.005)

    @bwhooks_receiver.on(EmergencyCallEvent)
    async def route(event: EmergencyCallEvent) -> EmergencyRoute:
        started.append(event.to)
        return ROUTE

    no_route(query(connect_sync(bwhooks_receiver)))
    assert started == []
    over, routed = errors()
    assert "route of the emergencyCall request (no ids) was not started: the budget had" in over
    assert "the 200 ms budget ran out; answered 503" in routed


# -- a def handler on an async server -----------------------------------------------------


def test_a_def_handler_past_the_budget_on_an_async_server_is_dropped(
    connect_async_answered: Connect, errors: Callable[[], list[str]]
) -> None:
    """Answered 503 at the deadline; the handler finishes in its thread, its late route is
    logged and never sent."""
    bwhooks_receiver = receiver(emergency_budget=BUDGET)
    release, returned = threading.Event(), threading.Event()

    @bwhooks_receiver.on(EmergencyCallEvent)
    def slow(event: EmergencyCallEvent) -> EmergencyRoute:
        release.wait(WAIT)
        returned.set()
        return ROUTE

    no_route(query(connect_async_answered(bwhooks_receiver)))
    assert not returned.is_set()  # answered while the handler still ran
    release.set()
    until(lambda: len(errors()) >= 3)
    over, routed, dropped = errors()
    assert "slow of the emergencyCall request (no ids) ran past the budget: left running" in over
    assert "the 200 ms budget ran out; answered 503" in routed
    assert "slow of the emergencyCall request (no ids) returned its result (EmergencyRoute)" in (
        dropped
    )
    assert "after its budget ran out: dropped" in dropped


def test_a_def_handler_past_the_budget_on_a_sync_server_is_sent_late(
    connect_sync: Connect, errors: Callable[[], list[str]]
) -> None:
    """Nothing can stop it there: its route is sent, logged as late."""
    bwhooks_receiver = receiver(emergency_budget=0.01)

    @bwhooks_receiver.on(EmergencyCallEvent)
    def slow(event: EmergencyCallEvent) -> EmergencyRoute:
        while time.monotonic() - event.received <= 0.02:  # past the budget, surely
            time.sleep(0.005)
        return ROUTE

    answer = query(connect_sync(bwhooks_receiver))
    assert (answer.status, json.loads(answer.body)) == (200, ROUTE.to_wire())
    (line,) = errors()
    assert "slow answered the emergencyCall query (no ids)" in line
    assert "past the 10 ms budget: Bandwidth may have sent the 911 call" in line


# -- a pool full of other families' slow handlers -----------------------------------------

MESSAGES = 40  # more than any default pool has threads (32 at most)
DEFAULT_POOL = ThreadPoolExecutor()._max_workers  # what asyncio's default pool would have


class Crowd:
    """Messaging callbacks whose ``def`` handler holds a thread of the loop's default pool
    until released; the 911 handler tells what it saw of them when it ran."""

    def __init__(self, bwhooks_receiver: Receiver) -> None:
        self.gate = threading.Event()
        self.started: list[Event] = []
        self.finished: list[Event] = []
        self.seen: list[tuple[int, int]] = []  # (started, finished) when the route was made
        bwhooks_receiver.on(MessageReceivedEvent)(self.slow)
        bwhooks_receiver.on(EmergencyCallEvent)(self.route)

    def slow(self, event: Event) -> None:
        self.started.append(event)
        self.gate.wait(WAIT / 2)
        self.finished.append(event)

    def route(self, event: EmergencyCallEvent) -> EmergencyRoute:
        self.seen.append((len(self.started), len(self.finished)))
        return ROUTE

    def full(self) -> bool:
        return len(self.started) >= DEFAULT_POOL

    def check(self, answer: CallbackResponse) -> None:
        """The route came while every thread of the default pool was taken."""
        self.gate.set()
        assert (answer.status, json.loads(answer.body)) == (200, ROUTE.to_wire())
        assert self.seen == [(DEFAULT_POOL, 0)]


MESSAGE_BODY = json.dumps(wire_body(fake_event("message-received"))).encode()


@pytest.mark.parametrize("serve", [asgi.make_app, fastapi_app], ids=["asgi", "fastapi"])
def test_a_def_route_runs_while_the_default_pool_is_full_on_uvicorn(
    serve: Callable[[Receiver], Any],
) -> None:
    bwhooks_receiver = receiver()
    crowd = Crowd(bwhooks_receiver)
    with uvicorn_serving(serve(bwhooks_receiver)) as base_url:
        url = f"{base_url}/callbacks"

        def message() -> None:
            HttpSender(url, (USER, PASSWORD)).send(fake_event("message-received"))

        threads = [threading.Thread(target=message) for _ in range(MESSAGES)]
        for thread in threads:
            thread.start()
        until(crowd.full)
        try:
            answer = HttpSender(url, (USER, PASSWORD)).send(
                fake_event("emergencyCall", to="933"), method="GET"
            )
        finally:
            crowd.gate.set()
            for thread in threads:
                thread.join()
    crowd.check(answer)


def test_a_def_route_runs_while_the_default_pool_is_full_through_handle_async() -> None:
    bwhooks_receiver = receiver()
    crowd = Crowd(bwhooks_receiver)
    headers = {"Authorization": AUTH, "Content-Type": JSON}
    message = CallbackRequest("POST", "/", headers, MESSAGE_BODY)
    emergency = CallbackRequest("GET", "/", {"Authorization": AUTH}, b"", QUERY)

    async def scene() -> CallbackResponse:
        messages = [
            asyncio.create_task(bwhooks_receiver.handle_async(message)) for _ in range(MESSAGES)
        ]
        await until_async(crowd.full)
        try:
            return await bwhooks_receiver.handle_async(emergency)
        finally:
            crowd.gate.set()
            await asyncio.gather(*messages)

    crowd.check(asyncio.run(scene()))


def test_a_def_route_behind_the_servers_own_full_runner_is_never_started(
    errors: Callable[[], list[str]],
) -> None:
    """A server's ``run_sync`` (Django's) is kept: a route waiting there past the budget
    is answered 503 on time, and never runs once a thread is free."""
    bwhooks_receiver = receiver(emergency_budget=BUDGET)
    crowd = Crowd(bwhooks_receiver)
    one_thread = ThreadPoolExecutor(1)

    async def run_sync(handler: Callable[[Event], Any], event: Event) -> Any:
        return await asyncio.get_running_loop().run_in_executor(one_thread, handler, event)

    headers = {"Authorization": AUTH, "Content-Type": JSON}
    message = CallbackRequest("POST", "/", headers, MESSAGE_BODY)
    emergency = CallbackRequest("GET", "/", {"Authorization": AUTH}, b"", QUERY)

    async def scene() -> CallbackResponse:
        busy = asyncio.create_task(bwhooks_receiver.handle_async(message, run_sync=run_sync))
        await until_async(lambda: bool(crowd.started))
        try:
            return await bwhooks_receiver.handle_async(emergency, run_sync=run_sync)
        finally:
            crowd.gate.set()
            await busy

    no_route(asyncio.run(scene()))
    one_thread.shutdown(wait=True)  # whatever was waiting for its thread has had it
    assert crowd.seen == []
    over, _ = errors()
    assert "route of the emergencyCall request (no ids) was not started" in over
