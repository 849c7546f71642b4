"""Observation around a delivery, not through it: dispatch logs nothing and notes what it
found; the receiver reports each request once, after dispatch, through every way in."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from support import AUTH, JSON, PASSWORD, USER, Send, load_v2_example

import bwhooks
from bwhooks import BasicAuth, CallbackRequest, Receiver, events
from bwhooks.auth import basic_authorization
from bwhooks.decoding.parsing import parse_delivery
from bwhooks.dispatch import Dispatcher
from bwhooks.errors import RetryLater
from bwhooks.events import Event
from bwhooks.idempotency import MemoryStore
from bwhooks.notes import Fact, Note
from bwhooks.observe import Outcome
from bwhooks.registry import HandlerRegistry
from bwhooks.testing import fake_payload

Connect = Callable[[Receiver], Send]
OBSERVE = str(Path(bwhooks.__file__).parent / "observe.py")
PACKAGE = str(Path(bwhooks.__file__).parent)


def body(kind: str = "v1:answer", **overrides: object) -> bytes:
    return json.dumps(fake_payload(kind, **overrides)).encode()


def request(data: bytes) -> CallbackRequest:
    return CallbackRequest(
        "POST", "/callbacks", {"Content-Type": JSON, "Authorization": AUTH}, data
    )


def messaging_array() -> bytes:
    elements = [
        load_v2_example("message-received-1.json")[0],
        load_v2_example("message-delivered-3.json")[0],
        {**load_v2_example("message-failed-1.json")[0], "type": "message-queued"},
    ]
    return json.dumps(elements).encode()


@contextmanager
def entries_into_observe() -> Iterator[list[str]]:
    """The calls made into ``bwhooks/observe.py`` from another bwhooks module, on every
    thread (servers answer on threads of their own), while the block runs."""
    entered: list[str] = []
    active = True

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if not active or event != "call" or frame.f_code.co_filename != OBSERVE:
            return
        caller = frame.f_back
        if caller is None:
            return
        name = caller.f_code.co_filename
        if name.startswith(PACKAGE) and name != OBSERVE:
            entered.append(frame.f_code.co_name)

    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        yield entered
    finally:
        active = False
        sys.setprofile(None)
        threading.setprofile(None)


def _receiver(scenario: str, outcomes: list[Outcome]) -> Receiver:
    store = MemoryStore() if scenario in ("duplicate", "array") else None
    receiver = Receiver(
        auth=BasicAuth((USER, PASSWORD)), idempotency=store, metrics=outcomes.append
    )

    @receiver.on(events.AnswerEvent, events.MessageDeliveredEvent)
    def answer(event: Event) -> str | None:
        if scenario == "failing" or isinstance(event, events.MessageDeliveredEvent):
            raise RuntimeError("the CRM is down")
        if scenario == "retry":
            raise RetryLater("not yet")
        return "<Response/>"

    return receiver


SCENARIOS = {
    "handled": body(),
    "no handler": body("v1:dtmf"),
    "unknown": body("v1:answer", eventType="brand-new"),
    "failing": body(),
    "retry": body(),
    "duplicate": body(),
    "array": messaging_array(),  # no handler, then a failure: the delivery stops
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_each_request_enters_observation_once(
    connect: Connect, scenario: str, caplog: pytest.LogCaptureFixture
) -> None:
    outcomes: list[Outcome] = []
    refusals = [
        {"Content-Type": JSON, "Authorization": basic_authorization(USER, "wrong")},
        {"Content-Type": "text/plain", "Authorization": AUTH},
    ]
    sent = SCENARIOS[scenario]
    # Profiled before the way in starts: its server threads are profiled too.
    with caplog.at_level(logging.DEBUG, logger="bwhooks"), entries_into_observe() as entered:
        send = connect(_receiver(scenario, outcomes))
        if scenario == "duplicate":
            assert send(body=sent).status == 200  # the first delivery: the next is a duplicate
        entered.clear()
        send(body=sent)
        # Once, after dispatch: the receiver may ask first whether anyone listens (a metrics
        # hook, INFO), so that an unobserved request pays for no timing; never dispatch.
        assert entered in (["report"], ["enabled", "report"])
        for headers in refusals:  # refused before the body: reported once too
            entered.clear()
            assert send(body=sent, headers=headers).status in (401, 415)
            assert entered == ["report"]
    assert len(outcomes) == (4 if scenario == "duplicate" else 3)


@pytest.mark.parametrize("asynchronous", [False, True])
def test_dispatch_logs_nothing_and_notes_what_the_report_tells(
    asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    registry = HandlerRegistry()
    failure = RuntimeError("the CRM is down")

    def delivered(event: Event) -> None:
        raise failure

    def received(event: Event) -> str:
        return "<Response/>"  # BXML for a message: Bandwidth ignores it, it is not sent

    registry.add(received, events.MessageReceivedEvent)
    registry.add(delivered, events.MessageDeliveredEvent)
    delivery = parse_delivery(json.loads(messaging_array()))
    dispatcher = Dispatcher(registry)
    notes: list[Note] = []
    with caplog.at_level(logging.DEBUG):
        if asynchronous:
            dispatching = dispatcher.dispatch_async(request(b""), delivery, notes)
            response, duplicate = asyncio.run(dispatching)
        else:
            response, duplicate = dispatcher.dispatch(request(b""), delivery, notes)
    assert (response.status, duplicate) == (500, False)
    assert [r for r in caplog.records if r.name.startswith("bwhooks")] == []
    assert notes == [
        Note(Fact.IGNORED_BXML, delivery[0], received.__qualname__),
        Note(Fact.FAILED, delivery[1], delivered.__qualname__, failure),
    ]


def test_what_dispatch_noted_is_told_in_order_before_the_outcome(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = _receiver("array", [])
    with caplog.at_level(logging.INFO, logger="bwhooks"):
        response = connect(receiver)(body=messaging_array())
    assert response.status == 500
    lines = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "bwhooks.receiver"]
    assert [(level, text.split(" (")[0]) for level, text in lines] == [
        (logging.INFO, "no handler for message-received event"),
        (logging.ERROR, f"handler {_handler_name(receiver)} failed on message-delivered event"),
        (logging.INFO, "callback message-received,message-delivered,message-queued"),
    ]
    assert ": 500 failed in " in lines[-1][1]


def _handler_name(receiver: Receiver) -> str:
    (registration,) = receiver.registry.handlers_for(events.MessageDeliveredEvent)
    return registration.name


class UnreachableOnRelease(MemoryStore):
    """A store that claims and completes, but cannot be reached to release a claim."""

    def release(self, key: str) -> None:
        raise ConnectionError("the store is unreachable")


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_failure_is_told_and_so_is_a_store_that_fails_afterwards(
    asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """The handler failed, then the store could not release its claim: the failure's
    answer stands (the server never answers a 500 of its own), and the report tells both,
    with the outcome."""
    outcomes: list[Outcome] = []
    receiver = Receiver(
        auth=BasicAuth((USER, PASSWORD)),
        idempotency=UnreachableOnRelease(),
        metrics=outcomes.append,
    )

    @receiver.on(Event)
    def failing(event: Event) -> None:
        raise RuntimeError("the CRM is down")

    sent = request(body(call_id="c-lost"))
    with caplog.at_level(logging.INFO, logger="bwhooks"):
        answer = asyncio.run(receiver.handle_async(sent)) if asynchronous else receiver.handle(sent)
    assert answer.status == 500
    failed, store = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "failed on answer event (call_id=c-lost" in failed.getMessage()
    assert failed.exc_info is not None
    assert "the CRM is down" in str(failed.exc_info[1])
    assert "idempotency store failed on the answer event (call_id=c-lost" in store.getMessage()
    assert "ConnectionError: the store is unreachable" in store.getMessage()
    assert [outcome.status for outcome in outcomes] == [500]


def test_a_refusal_before_dispatch_is_one_outcome() -> None:
    outcomes: list[Outcome] = []
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), metrics=outcomes.append)
    assert receiver.handle(request(b"{")).status == 400
    assert [(o.name, o.status, o.event_type, o.ids, o.duration) for o in outcomes] == [
        ("refused", 400, None, "", 0.0)
    ]


@pytest.mark.parametrize("handler_fails", [False, True])
def test_unobserved_a_request_is_not_reported_but_its_notes_are_told(
    caplog: pytest.LogCaptureFixture, handler_fails: bool
) -> None:
    """With no metrics hook and INFO off, the outcome costs nothing (no report), but what
    dispatch noted (a failing handler: ERROR) is still logged."""
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))

    @receiver.on(Event)
    def handle(event: Event) -> None:
        if handler_fails:
            raise RuntimeError("boom")

    with caplog.at_level(logging.WARNING, logger="bwhooks"), entries_into_observe() as entered:
        response = receiver.handle(request(body()))
    assert response.status == (500 if handler_fails else 200)
    assert entered == (["enabled", "report"] if handler_fails else ["enabled"])
    assert [r.levelname for r in caplog.records] == (["ERROR"] if handler_fails else [])
