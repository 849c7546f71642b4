"""The idempotency keys of toll-free verification results, Subscriptions v2 notifications and
endpoint events: a retry of one delivery is a duplicate, a new result or event is not; no
secret nor phone number in clear; two deliveries of one answered once with MemoryStore and a
real RedisStore."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import AUTH, PASSWORD, USER

from bwhooks import (
    BasicAuth,
    CallbackRequest,
    DeviceConnectedEvent,
    EndpointEvent,
    Event,
    HmacSignature,
    Receiver,
    SubscriptionNotificationEvent,
    TollFreeStatusEvent,
    TollFreeVerificationEvent,
)
from bwhooks.idempotency import IdempotencyStore, MemoryStore, RedisStore, idempotency_key

MORE = Path(__file__).parent / "examples" / "more"
HEADERS = {"Content-Type": "application/json; charset=utf-8", "Authorization": AUTH}
SECRET = "tfv-secret-0123456789abcdef"
TICKET = "acde070d-8c4c-4f0d-9d8a-162843c10333"
ENDPOINT = "e-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85"
PERSON = "+19195551234"


def signed(body: bytes) -> dict[str, str]:
    return {**HEADERS, **dict(HmacSignature.toll_free(SECRET).headers_for(body))}


SIGNED = Receiver(auth=BasicAuth((USER, PASSWORD)), signature=HmacSignature.toll_free(SECRET))


def example(path: str) -> dict[str, Any]:
    return dict(json.loads((MORE / path).read_bytes()))


def event_of(payload: dict[str, Any]) -> Event:
    body = json.dumps(payload).encode()
    found = SIGNED.accept_all(CallbackRequest("POST", "/", signed(body), body))
    assert isinstance(found, tuple), found
    (event,) = found
    return event


def key(payload: dict[str, Any]) -> str:
    return idempotency_key(event_of(payload))


def status(value: str = "VERIFIED", ticket: str | None = TICKET, **more: Any) -> dict[str, Any]:
    payload = {"accountId": "9900900", "phoneNumber": "+18885555555", "status": value, **more}
    if ticket is not None:
        payload["internalTicketNumber"] = ticket
    return payload


def denial(ticket: str = TICKET, code: int = 511) -> dict[str, Any]:
    return {**status("UNVERIFIED", ticket), "denialStatusCode": code, "resubmitAllowed": True}


def test_a_toll_free_result_retried_is_one_key_in_any_key_order_and_spacing() -> None:
    body = example("tollfree/denial-1.json")
    reordered = dict(reversed(list(body.items())))
    assert key(body) == key(reordered)
    assert key(body).startswith(f"tollFreeDenial:{TICKET}:")
    assert key(example("tollfree/verified-1.json")).startswith("tollFreeStatus:")


def test_a_new_toll_free_result_for_the_same_number_is_a_new_key() -> None:
    keys = {
        key(denial()),
        key(status("VERIFIED")),  # a later VERIFIED after the denial
        key(status("UNVERIFIED")),
        key(denial(ticket="0f0e0d0c-8c4c-4f0d-9d8a-162843c10333")),  # a new request's denial
        key(denial(code=512)),
        key({**status("UNVERIFIED"), "blocked": True, "blockedReason": "spam"}),
        key({**status(ticket=None), "errorCode": "400", "errorMessage": "Invalid"}),
        key(status("VERIFIED", ticket=None)),
    }
    assert len(keys) == 8


def test_subscriptions_v2_keys_by_request_type_and_content() -> None:
    body = example("subscriptions/messaging-transfer-confirmation-1.json")
    first = key(body)
    assert first.startswith("PORTOUT_REQUEST:5f1d2c3b-8a9e-4b7c-9d0e-1f2a3b4c5d6e:")
    assert key(dict(reversed(list(body.items())))) == first
    assert key({**body, "requestId": "another-request"}) != first
    assert key({**body, "notificationType": "PORTOUT_CANCELLED"}) != first
    assert key({**body, "activation": "2026-01-16T17:00:00Z"}) != first  # new content


def connected(**changes: Any) -> dict[str, Any]:
    body = example("endpoints/device-disconnected-1.json")
    device = {"deviceId": "d-1", "deviceName": "Zoë's laptop", "status": "CONNECTED"}
    return {**body, "eventType": "DEVICE_CONNECTED", "status": "CONNECTED", "device": device}


def test_endpoint_events_key_by_type_endpoint_time_and_device() -> None:
    body = connected()
    first = key(body)
    assert first.startswith(f"DEVICE_CONNECTED:{ENDPOINT}:")
    assert key(dict(reversed(list(body.items())))) == first
    assert key({**body, "tag": "retagged"}) == first  # the same connection told again
    assert key({**body, "eventTime": "2021-01-01T00:00:05Z"}) != first
    assert key({**body, "device": {**body["device"], "deviceId": "d-2"}}) != first
    assert key({**body, "eventType": "DEVICE_DISCONNECTED"}) != first
    assert key({**body, "endpointId": "e-other"}) != first
    timeless = {k: v for k, v in body.items() if k != "eventTime"}
    assert key(timeless) != key({**timeless, "tag": "retagged"})  # no time: all it holds


@pytest.mark.parametrize(
    "payload",
    [
        status(ticket=PERSON),
        {**example("subscriptions/messaging-transfer-confirmation-1.json"), "requestId": PERSON},
        {**connected(), "endpointId": PERSON[1:]},
        {**connected(), "endpointId": "e-1", "eventType": f"call {PERSON}\nforged"},
    ],
    ids=["ticket", "request", "endpoint", "event-type"],
)
def test_no_phone_number_nor_secret_is_in_a_key_in_clear(payload: dict[str, Any]) -> None:
    found = key(payload)
    assert PERSON[1:] not in found
    assert "5555555" not in found
    assert SECRET not in found
    assert "Zoë" not in found
    assert re.fullmatch(r"[A-Za-z0-9._:-]+", found), found


def test_the_key_of_an_event_built_in_code_is_that_of_its_delivery() -> None:
    built = TollFreeStatusEvent(
        account_id="9900900", phone_number="+18885555555", status="VERIFIED"
    )
    read = event_of({"accountId": "9900900", "phoneNumber": "+18885555555", "status": "VERIFIED"})
    assert idempotency_key(built) == idempotency_key(read)
    device = DeviceConnectedEvent(endpoint_id="e-1")
    assert idempotency_key(device).startswith("DEVICE_CONNECTED:e-1:")


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[IdempotencyStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    import redis

    client = redis.Redis(port=request.getfixturevalue("redis_server"))
    name = re.sub(r"\W", "-", request.node.name)  # no glob characters: KEYS lists them
    yield RedisStore(client, prefix=f"more-keys:{name}:")
    client.close()


def test_retries_run_their_handler_once_new_results_again(store: IdempotencyStore) -> None:
    receiver = Receiver(
        auth=BasicAuth((USER, PASSWORD)),
        idempotency=store,
        signature=HmacSignature.toll_free(SECRET),
    )
    seen: list[Event] = []
    receiver.on(TollFreeVerificationEvent, SubscriptionNotificationEvent, EndpointEvent)(
        seen.append
    )

    def deliver(payload: dict[str, Any]) -> int:
        body = json.dumps(payload).encode()
        return receiver.handle(CallbackRequest("POST", "/", signed(body), body)).status

    transfer = example("subscriptions/messaging-transfer-confirmation-1.json")
    sent = [denial(), denial(), status("VERIFIED"), status("VERIFIED"), transfer, transfer]
    sent += [connected(), connected(), {**connected(), "eventTime": "2021-01-01T00:00:09Z"}]
    assert [deliver(payload) for payload in sent] == [204] * len(sent)
    assert [type(event).__name__ for event in seen] == [
        "TollFreeDenialEvent",
        "TollFreeStatusEvent",
        "SubscriptionNotificationEvent",
        "DeviceConnectedEvent",
        "DeviceConnectedEvent",
    ]
    if isinstance(store, RedisStore):
        stored = [name.decode() for name in store.client.keys(store.prefix + "*")]
        assert len(stored) == 5
        assert not any(PERSON[1:] in name or "5555555" in name for name in stored)
