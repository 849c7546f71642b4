"""Toll-free verification results, Subscriptions v2 notifications and endpoint events on queued
handlers, wired for real: a redis-server of this module as broker and store, a real `celery
worker` process of tests/queue_app.py, signed receivers in this process. The worker's handler
gets the event typed as the receiver typed it (class, attributes, raw); a handler of a base
class gets every shape; the broker's message never holds the signature nor the secret; a
result Bandwidth retries is answered 500 while the broker is down, one it may not retry is
spooled."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from processes import QueueStack, imported

from bwhooks import (
    CallbackRequest,
    CallbackResponse,
    Event,
    HmacSignature,
    Receiver,
)
from bwhooks.auth import BasicAuth, basic_authorization
from bwhooks.events._base import thaw
from bwhooks.idempotency import idempotency_key
from bwhooks.queue.tasks import TaskQueue

pytestmark = pytest.mark.timeout(120)
MORE = Path(__file__).parent / "examples" / "more"
AUTHORIZATION = basic_authorization("queue", "queue-pass")
TOLL_FREE_SECRET = "tfv-secret-0123456789abcdef"
SUBSCRIPTIONS_SECRET = "subscriptions-secret-fedcba9876543210"
SIGNATURES = {
    "toll_free": HmacSignature.toll_free(TOLL_FREE_SECRET),
    "subscriptions": HmacSignature.subscriptions(SUBSCRIPTIONS_SECRET),
    "endpoints": None,
}


def example(path: str) -> dict[str, Any]:
    return dict(json.loads((MORE / path).read_bytes()))


def device(event_type: str, device_id: str, **more: Any) -> dict[str, Any]:
    body = example("endpoints/device-disconnected-1.json")
    name = {"deviceId": device_id, "deviceName": "Zoë's laptop", "status": "CONNECTED"}
    return {**body, "eventType": event_type, "device": name, **more}


CASES = [
    ("toll_free", "TollFreeStatusEvent", example("tollfree/verified-1.json")),
    ("toll_free", "TollFreeDenialEvent", example("tollfree/denial-1.json")),
    ("toll_free", "TollFreeDenialEvent", example("tollfree/denial-2022.json")),
    ("toll_free", "TollFreeFailureEvent", example("tollfree/failure-1.json")),
    ("toll_free", "TollFreeBlockedEvent", example("tollfree/blocked-1.json")),
    (
        "subscriptions",
        "SubscriptionNotificationEvent",
        example("subscriptions/messaging-transfer-confirmation-1.json"),
    ),
    ("endpoints", "DeviceDisconnectedEvent", example("endpoints/device-disconnected-1.json")),
    ("endpoints", "DeviceConnectedEvent", device("DEVICE_CONNECTED", "d-1")),
    ("endpoints", "UnknownEndpointEvent", device("DEVICE_RENAMED", "d-2", extra={"a": [1]})),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueueStack]:
    stack = QueueStack(tmp_path_factory.mktemp("more-queue"), "more", "more:")
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def app(stack: QueueStack) -> ModuleType:
    return imported("queue_app", stack.env)


@pytest.fixture(scope="module")
def receivers(app: ModuleType) -> dict[str, Receiver]:
    """A receiver per family, signed as Bandwidth signs it, each with the app's queued
    handler of its family (the worker runs the handler of the same name)."""
    made = {}
    for family, signature in SIGNATURES.items():
        receiver = Receiver(auth=BasicAuth(("queue", "queue-pass")), signature=signature)
        receiver.on(Event, queue=app.queue)(app.record)
        receiver.on(*_bases(family), queue=app.queue)(getattr(app, family))
        made[family] = receiver
    return made


def _bases(family: str) -> tuple[type[Event], ...]:
    from bwhooks import EndpointEvent, SubscriptionNotificationEvent, TollFreeVerificationEvent

    return {
        "toll_free": (TollFreeVerificationEvent,),
        "subscriptions": (SubscriptionNotificationEvent,),
        "endpoints": (EndpointEvent,),
    }[family]


def request_of(family: str, payload: dict[str, Any]) -> CallbackRequest:
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Authorization": AUTHORIZATION}
    signature = SIGNATURES[family]
    if signature is not None:
        headers.update(signature.headers_for(body))
    return CallbackRequest("POST", "/more", headers, body)


def post(receivers: dict[str, Receiver], family: str, payload: dict[str, Any]) -> CallbackResponse:
    return receivers[family].handle(request_of(family, payload))


def eventually(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def seen_by_worker(app: ModuleType, handler: str, key: str) -> dict[str, Any] | None:
    found = app.store.hget(app.PREFIX + handler, key)
    return None if found is None else dict(json.loads(found))


def typed(receivers: dict[str, Receiver], family: str, payload: dict[str, Any]) -> Event:
    found = receivers[family].accept_all(request_of(family, payload))
    assert isinstance(found, tuple), found
    (event,) = found
    return event


@pytest.mark.parametrize(("family", "class_name", "payload"), CASES)
def test_a_queued_handler_of_the_base_class_gets_the_very_same_event_on_a_worker(
    app: ModuleType,
    receivers: dict[str, Receiver],
    family: str,
    class_name: str,
    payload: dict[str, Any],
) -> None:
    event = typed(receivers, family, payload)
    assert type(event).__name__ == class_name
    key = idempotency_key(event)
    response = post(receivers, family, payload)
    assert (response.status, response.body) == (204, b"")
    eventually(lambda: seen_by_worker(app, family, key) is not None, "the worker ran it")
    seen = seen_by_worker(app, family, key)
    assert seen is not None
    assert seen["class"] == class_name
    assert seen["repr"] == repr(event)  # every attribute
    assert seen["raw"] == thaw(event.raw)  # and the payload as read
    assert json.loads(base64.b64decode(seen["body"])) == payload  # current_request()'s body
    assert "authorization" not in seen["headers"]
    assert not any("signature" in name for name in seen["headers"])
    eventually(lambda: int(app.store.hget(app.PREFIX + "completions", key) or 0) == 1, "Event's")


class BrokerMonitor:
    """Every command the broker's Redis runs while it is open (``MONITOR``), as text."""

    def __init__(self, app: ModuleType) -> None:
        self.commands: list[str] = []
        self._monitor = app.store.monitor()
        self._connection = self._monitor.__enter__()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        try:
            for command in self._connection.listen():
                self.commands.append(str(command.get("command", "")))
        except Exception:  # noqa: S110  (the connection closed: done)
            pass

    def close(self) -> None:
        self._monitor.__exit__(None, None, None)
        self._thread.join(5)


def test_the_brokers_message_never_holds_the_signature_nor_the_secret(
    app: ModuleType, receivers: dict[str, Receiver]
) -> None:
    marker = "ticket-in-the-broker-0001"
    signed = {**example("tollfree/denial-1.json"), "internalTicketNumber": marker}
    notified = {
        **example("subscriptions/messaging-transfer-confirmation-1.json"),
        "requestId": marker,
    }
    sent = [("toll_free", signed), ("subscriptions", notified)]
    signatures = [dict(request_of(f, p).headers) for f, p in sent]
    monitor = BrokerMonitor(app)
    try:
        for family, payload in sent:
            event = typed(receivers, family, payload)
            assert post(receivers, family, payload).status == 204
            key = idempotency_key(event)
            ran = lambda f=family, k=key: seen_by_worker(app, f, k) is not None  # noqa: E731
            eventually(ran, "the worker ran it")
    finally:
        monitor.close()
    published = [c for c in monitor.commands if c.upper().startswith("LPUSH")]
    # one message per queued handler (Event's and the family's); kombu writes its body in base64
    bodies = [
        m for c in published for m in re.findall(r'body\\?"\s*:\s*\\?"([A-Za-z0-9+/=]{16,})', c)
    ]
    assert len(bodies) >= 4, published
    carried = "\n".join(base64.b64decode(body).decode() for body in bodies)
    assert marker in carried  # the payload travels
    for secret in (TOLL_FREE_SECRET, SUBSCRIPTIONS_SECRET, AUTHORIZATION, "queue-pass"):
        assert secret not in carried
        assert secret not in "\n".join(monitor.commands)
    for headers in signatures:
        for name, value in headers.items():
            if "signature" in name.lower():
                assert name.lower() not in carried.lower()
                assert value not in carried


def test_broker_down_a_toll_free_result_gets_500_an_endpoint_event_is_spooled(
    app: ModuleType, stack: QueueStack, receivers: dict[str, Receiver]
) -> None:
    status = {**example("tollfree/verified-1.json"), "internalTicketNumber": "spool-0001"}
    endpoint = device("DEVICE_CONNECTED", "d-spooled")
    endpoint_key = idempotency_key(typed(receivers, "endpoints", endpoint))
    status_key = idempotency_key(typed(receivers, "toll_free", status))
    queue: TaskQueue = app.queue
    spool = queue.spool
    assert spool is not None
    stack.redis.kill()
    try:
        # Bandwidth retries a toll-free result for 24 hours: a 5xx has it sent again
        assert post(receivers, "toll_free", status).status == 500
        # an endpoint event's retry is not documented: on disk before the 204
        assert post(receivers, "endpoints", endpoint).status == 204
        assert len(spool) == 2  # Event's handler and EndpointEvent's
    finally:
        stack.restart_redis()
    eventually(lambda: seen_by_worker(app, "endpoints", endpoint_key) is not None, "spooled", 60)
    eventually(lambda: len(spool) == 0, "the spool emptied", 60)
    assert post(receivers, "toll_free", status).status == 204  # Bandwidth's retry
    eventually(lambda: seen_by_worker(app, "toll_free", status_key) is not None, "the retry ran")
