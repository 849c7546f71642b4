"""Every row of the behaviour table, through handle, handle_async, WSGI (real server) and ASGI."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from support import AUTH, JSON, PASSWORD, USER, Send, load_json_example

from bwhooks import BasicAuth, CallbackResponse, Receiver, events
from bwhooks.auth import basic_authorization
from bwhooks.decoding.parsing import encode_query
from bwhooks.events import Event
from bwhooks.testing import fake_payload

Connect = Callable[[Receiver], Send]
ANSWER = json.dumps(load_json_example("answer-3.json")).encode()
CHALLENGE = 'Basic realm="bwhooks"'


def record(receiver: Receiver, cls: type[Event] = Event) -> list[Event]:
    seen: list[Event] = []
    receiver.on(cls)(seen.append)
    return seen


def error_of(response: CallbackResponse) -> str:
    assert response.headers["Content-Type"] == "application/json"
    body = json.loads(response.body)
    assert list(body) == ["error"]
    return str(body["error"])


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods_are_405(connect: Connect, receiver: Receiver, method: str) -> None:
    seen = record(receiver)
    response = connect(receiver)(method, body=ANSWER)
    assert response.status == 405
    assert response.headers["Allow"] == "GET, HEAD, POST"
    assert error_of(response)
    assert seen == []


def test_head_is_200_empty_without_auth(connect: Connect, receiver: Receiver) -> None:
    seen = record(receiver)
    response = connect(receiver)("HEAD", headers={})
    assert (response.status, response.body, seen) == (200, b"", [])


def test_missing_credentials_get_the_challenge(connect: Connect, receiver: Receiver) -> None:
    seen = record(receiver)
    response = connect(receiver)(body=ANSWER, headers={"Content-Type": JSON})
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    assert error_of(response) == "unauthorized"
    assert seen == []


@pytest.mark.parametrize(
    "authorization",
    [basic_authorization(USER, "wrong"), "Basic %%%", "Bearer abc", "Basic " + "é" * 8],
)
def test_bad_credentials_get_401_and_the_challenge(
    connect: Connect, receiver: Receiver, authorization: str
) -> None:
    seen = record(receiver)
    response = connect(receiver)(
        body=ANSWER, headers={"Content-Type": JSON, "Authorization": authorization}
    )
    assert response.status == 401
    assert response.headers["WWW-Authenticate"] == CHALLENGE
    assert PASSWORD not in response.body.decode("utf-8", "replace")
    assert seen == []


def test_rotated_credentials_both_work(connect: Connect) -> None:
    receiver = Receiver(auth=BasicAuth(("old", "old-pass"), ("new", "new-pass")))
    seen = record(receiver)
    send = connect(receiver)
    for user, password in [("old", "old-pass"), ("new", "new-pass")]:
        auth = basic_authorization(user, password)
        response = send(body=ANSWER, headers={"Content-Type": JSON, "Authorization": auth})
        assert response.status == 200
    assert len(seen) == 2


def test_challenge_then_credentials_exchange(connect: Connect, receiver: Receiver) -> None:
    seen = record(receiver)
    send = connect(receiver)
    first = send(body=ANSWER, headers={"Content-Type": JSON})
    assert first.status == 401
    assert first.headers["WWW-Authenticate"].startswith("Basic ")
    second = send(body=ANSWER)
    assert second.status == 200
    assert [type(e) for e in seen] == [events.AnswerEvent]


def test_body_over_the_limit_is_413(connect: Connect) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), max_body_size=1000)
    seen = record(receiver)
    payload = fake_payload("sms", text="x" * 2000)
    response = connect(receiver)(body=json.dumps(payload).encode())
    assert response.status == 413
    assert error_of(response)
    assert seen == []


def test_chunked_body_over_the_limit_is_413(connect_chunked: Connect) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), max_body_size=10_000)
    seen = record(receiver)
    body = json.dumps(fake_payload("sms", text="x" * 20_000)).encode()
    response = connect_chunked(receiver)(body=body, chunked=True)
    assert response.status == 413
    assert seen == []


def test_chunked_body_under_the_limit_is_read(connect_chunked: Connect, receiver: Receiver) -> None:
    seen = record(receiver)
    body = json.dumps(fake_payload("sms", text="y" * 9000)).encode()
    response = connect_chunked(receiver)(body=body, chunked=True)
    assert response.status == 200
    assert isinstance(seen[0], events.SmsEvent)
    assert seen[0].text == "y" * 9000


LIMIT = 3_000  # over Django's DATA_UPLOAD_MAX_MEMORY_SIZE in tests/frameworks.py: ours wins
# The one-step path takes the exact credentials header and a JSON content type it knows
# verbatim; any other spelling of either takes the general path (early_response, _decode).
PATHS = {
    "one-step": {"Content-Type": JSON, "Authorization": AUTH},
    "general, by content type": {"Content-Type": "application/json;charset=UTF-8"},
    "general, by credentials": {"Authorization": "basic " + AUTH.split()[1]},
}


def padded(size: int) -> bytes:
    """A callback body of exactly ``size`` bytes (JSON allows trailing whitespace)."""
    body = json.dumps(fake_payload("sms", text="at the limit")).encode()
    assert len(body) < size
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_body_of_exactly_the_limit_is_read_one_byte_more_is_413(
    connect: Connect, path: str
) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), max_body_size=LIMIT)
    seen = record(receiver)
    send = connect(receiver)
    headers = {"Content-Type": JSON, "Authorization": AUTH, **PATHS[path]}
    for size, status in [(LIMIT, 200), (LIMIT + 1, 413), (LIMIT - 1, 200)]:
        body = padded(size)
        # stated by the client too, so that Content-Length is checked on every transport
        response = send(body=body, headers={**headers, "Content-Length": str(size)})
        assert response.status == status, (size, response.body)
    assert len(seen) == 2


@pytest.mark.parametrize("path", sorted(PATHS))
def test_a_chunked_body_of_exactly_the_limit_is_read_one_byte_more_is_413(
    connect_chunked: Connect, path: str
) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), max_body_size=LIMIT)
    seen = record(receiver)
    send = connect_chunked(receiver)
    headers = {"Content-Type": JSON, "Authorization": AUTH, **PATHS[path]}
    for size, status in [(LIMIT, 200), (LIMIT + 1, 413)]:
        response = send(body=padded(size), headers=headers, chunked=True)
        assert response.status == status, (size, response.body)
    assert len(seen) == 1


def test_limit_is_checked_before_credentials_are_trusted(connect: Connect) -> None:
    """Credentials come first: an anonymous oversized request gets the challenge, not 413."""
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), max_body_size=10)
    response = connect(receiver)(body=ANSWER, headers={"Content-Type": JSON})
    assert response.status == 401


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "text/json"]
)
def test_post_that_is_not_json_is_415(
    connect: Connect, receiver: Receiver, content_type: str | None
) -> None:
    seen = record(receiver)
    headers = {"Authorization": AUTH}
    if content_type:
        headers["Content-Type"] = content_type
    response = connect(receiver)(body=ANSWER, headers=headers)
    assert response.status == 415
    assert error_of(response)
    assert seen == []


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json;",
        "APPLICATION/JSON; charset=UTF-8",
        "application/vnd.bandwidth+json",
    ],
)
def test_json_content_types_are_accepted(
    connect: Connect, receiver: Receiver, content_type: str
) -> None:
    response = connect(receiver)(
        body=ANSWER, headers={"Content-Type": content_type, "Authorization": AUTH}
    )
    assert response.status == 200


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "malformed JSON"),
        (b"", "empty body"),
        (b"[1, 2]", "a callback must be a JSON object"),
        (b'{"callId": "c-1"}', "missing eventType"),
        (b'{"eventType": "answer", "time": "half past nine"}', "invalid time"),
        (b'{"eventType": "conference-member", "hold": "perhaps"}', "invalid hold"),
    ],
)
def test_bad_bodies_are_400_without_echoing_them(
    connect: Connect, receiver: Receiver, body: bytes, reason: str
) -> None:
    seen = record(receiver)
    response = connect(receiver)(body=body)
    assert response.status == 400
    assert error_of(response).startswith(reason)
    assert b"half past nine" not in response.body
    assert b"perhaps" not in response.body
    assert seen == []


def test_unknown_event_is_200_and_logged(
    connect: Connect, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    seen = record(receiver)
    body = json.dumps({"eventType": "pizzaDelivered", "callId": "c-77"}).encode()
    with caplog.at_level(logging.INFO, logger="bwhooks"):
        response = connect(receiver)(body=body)
    assert (response.status, response.body) == (200, b"")
    assert type(seen[0]) is events.UnknownEvent
    assert "pizzaDelivered" in caplog.text
    assert "callId=c-77" in caplog.text


def test_event_without_handler_is_200_and_logged(
    connect: Connect, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bwhooks"):
        response = connect(receiver)(body=ANSWER)
    assert response.status == 200
    assert "no handler for answer event" in caplog.text


class Bxml:
    def to_bxml(self) -> str:
        return "<Response><Hangup/></Response>"


@pytest.mark.parametrize(
    "answer",
    ["<Response><Hangup/></Response>", b"<Response><Hangup/></Response>", Bxml()],
    ids=["str", "bytes", "to_bxml"],
)
def test_handler_answer_is_bxml(connect: Connect, receiver: Receiver, answer: object) -> None:
    receiver.on(events.AnswerEvent)(lambda event: answer)
    response = connect(receiver)(body=ANSWER)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    assert response.body == b"<Response><Hangup/></Response>"


def test_handler_callback_response_is_sent_exactly(connect: Connect, receiver: Receiver) -> None:
    mine = CallbackResponse(201, [("X-Mine", "yes"), ("Content-Type", "text/plain")], b"made")
    receiver.on(events.AnswerEvent)(lambda event: mine)
    response = connect(receiver)(body=ANSWER)
    assert (response.status, response.body) == (201, b"made")
    assert response.headers["X-Mine"] == "yes"
    assert response.headers["Content-Type"] == "text/plain"


def test_two_answers_are_a_500_and_logged(
    connect: Connect, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    receiver.on(events.AnswerEvent)(lambda event: "<Response/>")
    receiver.on(Event)(lambda event: "<Response><Hangup/></Response>")
    with caplog.at_level(logging.ERROR, logger="bwhooks"):
        response = connect(receiver)(body=ANSWER)
    assert response.status == 500
    assert error_of(response) == "several handlers answered"
    assert "one author" in caplog.text


def test_unusable_answer_is_a_500(connect: Connect, receiver: Receiver) -> None:
    receiver.on(events.AnswerEvent)(lambda event: {"not": "bxml"})
    assert connect(receiver)(body=ANSWER).status == 500


def test_handler_failure_is_500_logged_with_ids_without_secrets(
    connect: Connect, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    @receiver.on(events.AnswerEvent)
    def explode(event: events.AnswerEvent) -> None:
        ran.append("explode")
        raise RuntimeError("database is down")

    @receiver.on(Event)
    def after(event: Event) -> None:
        ran.append("after")

    with caplog.at_level(logging.DEBUG, logger="bwhooks"):
        response = connect(receiver)(body=ANSWER)
    assert response.status == 500
    assert error_of(response) == "handler failed"
    assert b"database" not in response.body
    assert ran == ["explode"]
    assert "explode" in caplog.text
    assert "call_id=c-jjm3aiicnpngixjjelyomda" in caplog.text
    assert "database is down" in caplog.text  # the traceback is logged
    assert PASSWORD not in caplog.text
    assert AUTH.split()[1] not in caplog.text


def test_get_callback_is_parsed_from_the_query(connect: Connect, receiver: Receiver) -> None:
    seen = record(receiver)
    payload = fake_payload("v1:answer", call_id="c-get", from_="+19195551234")
    query = encode_query(payload).encode()
    response = connect(receiver)("GET", query=query, headers={"Authorization": AUTH})
    assert response.status == 200
    event = seen[0]
    assert isinstance(event, events.AnswerEvent)
    assert (event.call_id, event.from_) == ("c-get", "+19195551234")


def test_get_without_event_type_is_400(connect: Connect, receiver: Receiver) -> None:
    response = connect(receiver)("GET", query=b"callId=c-1", headers={"Authorization": AUTH})
    assert response.status == 400


def test_raw_body_reaches_the_core_byte_for_byte(connect: Connect, receiver: Receiver) -> None:
    body = '{"eventType":"sms","text":"héllo ✓ \\u00e9","media":[],"x":1.0}'.encode()
    seen: list[Any] = []

    @receiver.on(Event)
    def capture(event: Event) -> None:
        from bwhooks import current_request

        seen.append(current_request().body)

    assert connect(receiver)(body=body).status == 200
    assert seen == [body]


def test_open_receiver_accepts_without_credentials(
    connect: Connect, open_receiver: Receiver
) -> None:
    seen = record(open_receiver)
    response = connect(open_receiver)(body=ANSWER, headers={"Content-Type": JSON})
    assert response.status == 200
    assert len(seen) == 1


def test_other_paths_reach_the_users_app_byte_for_byte(
    connect_adapter: Connect, receiver: Receiver
) -> None:
    seen = record(receiver)
    payload = bytes(range(256)) * 8
    send = connect_adapter(receiver)
    for path in ("/orders/42", "/callbacks/extra", "/"):
        response = send("POST", path=path, body=payload, headers={"Content-Type": "x/raw"})
        assert response.status == 299
        assert response.headers["X-App"] == "user"
        assert response.body == path.encode() + b"|" + payload
    assert seen == []


def test_large_body_under_our_limit_is_accepted(connect: Connect, receiver: Receiver) -> None:
    """10 kB: over Django's DATA_UPLOAD_MAX_MEMORY_SIZE in the test project, under ours."""
    seen = record(receiver)
    body = json.dumps(fake_payload("sms", text="z" * 10_000)).encode()
    assert connect(receiver)(body=body).status == 200
    assert isinstance(seen[0], events.SmsEvent)
