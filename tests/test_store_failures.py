"""An idempotency store that cannot be reached never crashes a callback: an event Bandwidth
never delivers again runs without a claim, a port-out request gets its fallback, one that
is retried gets a clean ``500``; a store that fails once the handlers ran leaves their
answer as it is. Every case is logged at ERROR."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from support import AUTH, free_port

from bwhooks import (
    BasicAuth,
    CallbackRequest,
    CallbackResponse,
    Event,
    PortOutAnswer,
    PortOutValidationEvent,
    Receiver,
    parse_xml,
)
from bwhooks.idempotency import MemoryStore, RedisStore
from bwhooks.testing import fake_payload

USER, PASSWORD = "bw-user", "s3cret-pässword"


def unreachable() -> RedisStore:
    """A RedisStore whose server is not there (nothing listens on the port)."""
    no_retries = Retry(NoBackoff(), 0)  # refused at once, as a server that is down
    return RedisStore(redis.Redis(port=free_port(), socket_connect_timeout=1, retry=no_retries))


class ForgetfulStore(MemoryStore):
    """Claims like MemoryStore, then cannot keep an answer (the store went down)."""

    def complete(self, key: str, response: CallbackResponse) -> None:
        raise redis.ConnectionError("the store went away")


def request(kind: str) -> CallbackRequest:
    payload = fake_payload(kind)
    xml = isinstance(payload, str)
    body = payload.encode() if xml else json.dumps(payload).encode()
    content_type = "application/xml" if xml else "application/json"
    headers = {"Content-Type": content_type, "Authorization": AUTH}
    return CallbackRequest("POST", "/callbacks", headers, body)


def receiver_with(store: Any, ran: list[str]) -> Receiver:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), idempotency=store)

    @receiver.on(Event)
    def handle(event: Event) -> Any:
        ran.append(event.event_type)
        if isinstance(event, PortOutValidationEvent):
            return PortOutAnswer.allow()
        return None

    return receiver


def store_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.ERROR and "idempotency store failed" in r.getMessage()
    ]


@pytest.mark.parametrize("asynchronous", [False, True], ids=["handle", "handle_async"])
@pytest.mark.parametrize(
    ("kind", "status", "runs"),
    [
        ("orderNotification", 200, True),  # never retried: handled without a claim
        ("v2:disconnect", 200, True),  # Voice v2: never retried after a 4xx/5xx either
        ("message-received", 500, False),  # retried for 24 hours: a clean 500
    ],
)
def test_an_unreachable_store_never_crashes_a_callback(
    kind: str, status: int, runs: bool, asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []
    receiver = receiver_with(unreachable(), ran)
    with caplog.at_level(logging.ERROR, "bwhooks"):
        if asynchronous:
            response = asyncio.run(receiver.handle_async(request(kind)))
        else:
            response = receiver.handle(request(kind))
    assert response.status == status
    assert bool(ran) is runs
    (told,) = store_errors(caplog)
    assert ("handled without it" if runs else "not handled") in told
    assert "ConnectionError" in told


def test_a_port_out_request_gets_its_fallback_when_the_store_is_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 500 would approve the port-out: the fallback answers (a review by default)."""
    ran: list[str] = []
    with caplog.at_level(logging.ERROR, "bwhooks"):
        response = receiver_with(unreachable(), ran).handle(request("portOutValidation"))
    assert response.status == 200
    answer = parse_xml(response.body).raw
    assert (answer["Portable"], answer["Errors"]["Error"]["Code"]) == ("false", "7598")
    assert ran == []
    assert store_errors(caplog)
    assert any("exception for a person" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("kind", ["orderNotification", "message-received", "portOutValidation"])
def test_a_store_failing_once_the_handlers_ran_leaves_their_answer(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []
    with caplog.at_level(logging.ERROR, "bwhooks"):
        response = receiver_with(ForgetfulStore(), ran).handle(request(kind))
    assert response.status == 200
    assert len(ran) == 1
    if kind == "portOutValidation":
        assert parse_xml(response.body).raw["Portable"] == "true"  # the handler's answer
    (told,) = store_errors(caplog)
    assert "its answer is sent all the same" in told
