"""Faults (handlers that raise, overrun, are cancelled) and what the receiver tells about them."""

from __future__ import annotations

import asyncio
import json
import logging
import sys

import pytest
from support import AUTH, JSON, PASSWORD, USER

from bwhooks import BasicAuth, CallbackRequest, Receiver, events
from bwhooks.auth import basic_authorization
from bwhooks.events import Event
from bwhooks.idempotency import MemoryStore
from bwhooks.observe import Outcome, mask_payload
from bwhooks.testing import fake_payload


def request(
    kind: str = "v1:answer", authorization: str | None = AUTH, **overrides: object
) -> CallbackRequest:
    headers = {"Content-Type": JSON}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = json.dumps(fake_payload(kind, **overrides)).encode()
    return CallbackRequest("POST", "/callbacks", headers, body)


@pytest.mark.parametrize("via", ["handle", "handle_async"])
def test_an_async_handler_past_its_time_is_cancelled_and_answered_500(
    via: str, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), handler_timeout=0.05)
    cancelled: list[bool] = []

    @receiver.on(events.AnswerEvent)
    async def slow(event: events.AnswerEvent) -> None:
        try:
            await asyncio.Event().wait()  # never set: it runs until cancelled
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    sent = request(call_id="c-slow")
    with caplog.at_level(logging.ERROR, logger="bwhooks"):
        if via == "handle":
            response = receiver.handle(sent)
        else:
            response = asyncio.run(receiver.handle_async(sent))
    assert response.status == 500
    assert cancelled == [True]
    assert "ran past 0.05s" in caplog.text
    assert "call_id=c-slow" in caplog.text
    assert receiver.handle(request("sms")).status == 200  # and the next request is served


@pytest.mark.skipif(
    sys.version_info < (3, 11), reason="3.10 has no Task.cancelling(): see _being_cancelled"
)
def test_a_handler_raising_cancelled_error_is_a_failure_not_a_cancellation() -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))

    @receiver.on(Event)
    async def gives_up(event: Event) -> None:
        raise asyncio.CancelledError

    assert asyncio.run(receiver.handle_async(request())).status == 500


def test_def_handlers_are_not_timed_out() -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), handler_timeout=0.01)

    @receiver.on(Event)
    def blocking(event: Event) -> None:
        import time

        time.sleep(0.05)  # a thread cannot be stopped: documented

    assert receiver.handle(request()).status == 200
    assert asyncio.run(receiver.handle_async(request())).status == 200


def test_metrics_hook_sees_every_outcome() -> None:
    outcomes: list[Outcome] = []
    receiver = Receiver(
        auth=BasicAuth((USER, PASSWORD)), idempotency=MemoryStore(), metrics=outcomes.append
    )

    @receiver.on(events.HangupEvent)
    def boom(event: events.HangupEvent) -> None:
        raise RuntimeError("no")

    ok = request("sms")
    receiver.handle(ok)
    receiver.handle(ok)  # duplicate
    receiver.handle(request("v1:answer", authorization=None))
    receiver.handle(request("v1:answer", authorization=basic_authorization(USER, "nope")))
    receiver.handle(
        CallbackRequest("POST", "/callbacks", {"Content-Type": JSON, "Authorization": AUTH}, b"{")
    )
    receiver.handle(request("hangup"))
    assert [o.name for o in outcomes] == [
        "handled",
        "duplicate",
        "challenged",
        "rejected",
        "refused",
        "failed",
    ]
    assert outcomes[0].event_type == "sms"
    assert outcomes[0].ids.startswith("message_id=m-")
    assert outcomes[5].status == 500
    assert all(o.duration >= 0 for o in outcomes)


def test_a_failing_metrics_hook_does_not_fail_the_callback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(outcome: Outcome) -> None:
        raise ValueError("statsd is down")

    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), metrics=broken)
    with caplog.at_level(logging.ERROR, logger="bwhooks"):
        assert receiver.handle(request()).status == 200
    assert "metrics hook failed" in caplog.text


def test_one_info_line_per_callback(caplog: pytest.LogCaptureFixture) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    receiver.on(Event)(lambda event: None)
    with caplog.at_level(logging.INFO, logger="bwhooks"):
        receiver.handle(request("v1:dtmf", call_id="c-info"))
    lines = [
        r for r in caplog.records if r.name == "bwhooks.receiver" and r.levelno == logging.INFO
    ]
    assert len(lines) == 1
    assert "callback dtmf (call_id=c-info): 200 handled in" in lines[0].getMessage()


def test_debug_payloads_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    receiver.on(Event)(lambda event: None)
    with caplog.at_level(logging.DEBUG, logger="bwhooks"):
        receiver.handle(
            request("sms", from_="+19195551234", to="+13125550000", text="my card is 4111 1111")
        )
    assert "4111 1111" not in caplog.text
    assert "+19195551234" not in caplog.text
    assert "1234" in caplog.text  # the last four digits stay, to tell numbers apart
    assert mask_payload({"from": "+19195551234", "text": "hi", "callId": "c-1"}) == {
        "from": "+*******1234",
        "text": "<2 chars>",
        "callId": "c-1",
    }


def test_credentials_never_reach_logs_on_any_path(caplog: pytest.LogCaptureFixture) -> None:
    receiver = Receiver(
        auth=BasicAuth((USER, PASSWORD)), idempotency=MemoryStore(), metrics=lambda outcome: None
    )

    @receiver.on(Event)
    def explode(event: Event) -> None:
        raise RuntimeError("handler failed")

    token = AUTH.split()[1]
    wrong = basic_authorization(USER, PASSWORD + "x")
    with caplog.at_level(logging.DEBUG):
        for sent in [
            request(),
            request(authorization=None),
            request(authorization=wrong),
            request(authorization="Basic " + token[:-2]),
            request(authorization="Bearer " + token),
            CallbackRequest("PUT", "/callbacks", {"Authorization": AUTH}, b""),
            CallbackRequest("POST", "/callbacks", {"Authorization": AUTH}, b"{}"),
            CallbackRequest(
                "POST", "/callbacks", {"Authorization": AUTH, "Content-Type": JSON}, b"[1]"
            ),
        ]:
            response = receiver.handle(sent)
            assert PASSWORD.encode() not in response.body
            assert token.encode() not in response.body
            assert token not in repr(sent)
    assert PASSWORD not in caplog.text
    assert token not in caplog.text
    assert wrong.split()[1] not in caplog.text


def test_v2_debug_payloads_are_masked_in_nested_objects_and_lists(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from support import load_v2_example

    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    receiver.on(Event)(lambda event: None)
    body = json.dumps(load_v2_example("message-received-5.json")).encode()
    with caplog.at_level(logging.DEBUG, logger="bwhooks"):
        headers = {"Content-Type": JSON, "Authorization": AUTH}
        answer = receiver.handle(CallbackRequest("POST", "/callbacks", headers, body))
    assert answer.status == 200
    assert "Hey, check this out!" not in caplog.text  # message.text
    assert "+12345678903" not in caplog.text  # message.to, a list
    assert "+*******8903" in caplog.text
    assert "message_id=14762070468292kw2fuqty55yp2b2" in caplog.text


def test_an_event_the_queue_could_not_take_is_a_500_that_says_so() -> None:
    from bwhooks.errors import QueueUnavailable

    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))

    @receiver.on(Event)
    def queued(event: Event) -> None:
        raise QueueUnavailable("broker down")

    response = receiver.handle(request("sms"))
    assert response.status == 500
    assert json.loads(response.body) == {"error": "could not queue the event"}
