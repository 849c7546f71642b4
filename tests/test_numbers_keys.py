"""The idempotency keys of Numbers webhooks (XML): what names the change a notification tells,
and two deliveries of one notification answered once, with MemoryStore and RedisStore."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import AUTH, PASSWORD, USER

from bwhooks import (
    AccountNotificationEvent,
    BasicAuth,
    CallbackRequest,
    CallbackResponse,
    NumbersEvent,
    OrderNotificationEvent,
    PortOutAnswer,
    PortOutValidationEvent,
    Receiver,
    UnknownNumbersEvent,
    parse_xml,
)
from bwhooks.idempotency import IdempotencyStore, MemoryStore, RedisStore, idempotency_key

MORE = Path(__file__).parent / "examples" / "more"
HEADERS = {"Content-Type": "application/xml; charset=utf-8", "Authorization": AUTH}


def order(*, status: str | None = "COMPLETE", **elements: str | None) -> bytes:
    """An order notification with these elements (``None``: left out)."""
    values: dict[str, str | None] = {
        "SubscriptionId": "sub-1",
        "OrderType": "portins",
        "OrderId": "order-1",
        "Status": status,
        "LastModifiedDate": "2024-05-02T18:03:11.120Z",
        **elements,
    }
    children = "".join(f"<{k}>{v}</{k}>" for k, v in values.items() if v is not None)
    return f"<Notification>{children}</Notification>".encode()


def key(body: bytes) -> str:
    return idempotency_key(parse_xml(body))


def test_two_deliveries_of_one_order_notification_share_its_key() -> None:
    body = (MORE / "numbers" / "note-1.xml").read_bytes()
    reformatted = b"<?xml version='1.0'?>\n" + body.split(b"?>", 1)[1].replace(b"    ", b"\t")
    assert key(body) == key(reformatted)
    assert key(order()) == key(order(SubscriptionId="another-subscription"))  # the same change
    assert key(order()).startswith("orderNotification:order-1:")


def test_any_other_content_of_one_order_is_a_new_key() -> None:
    """Bandwidth never sends a notification again: two changes sharing a key would lose
    one (a status told twice, its FOC date moved or numbers added, without a
    LastModifiedDate, as real captures come)."""
    keys = {
        key(order()),
        key(order(status="FOC")),
        key(order(LastModifiedDate="2024-05-03T09:00:00.000Z")),
        key(order(Note="Losing carrier rejected the port")),
        key(order(Note="Supplemented: account number corrected")),
        key(order(OrderType="orders")),
        key(order(OrderId="order-2")),
        key(order(Message="Order complete")),
        key(order(LastModifiedDate=None, ActualFocDate="2024-05-09T00:00:00Z")),
        key(order(LastModifiedDate=None, ActualFocDate="2024-05-10T00:00:00Z")),
        key(order(CompletedTelephoneNumbers="<TelephoneNumber>9195551234</TelephoneNumber>")),
    }
    assert len(keys) == 11


def test_an_order_notification_without_an_order_id_is_keyed_by_its_content() -> None:
    without_id = order(OrderId=None)
    assert key(without_id) == key(order(OrderId=None, SubscriptionId="sub-2"))
    assert key(without_id) != key(order(OrderId=None, CustomerOrderId="mine"))
    assert key(without_id).startswith("orderNotification:")
    assert ":order-1:" not in key(without_id)


def test_account_notifications_by_type_and_content_not_subscription() -> None:
    def account(*numbers: str, subscription: str = "sub-1", kind: str = "MESSAGING_LOST") -> str:
        listed = "".join(f"<TelephoneNumber>{n}</TelephoneNumber>" for n in numbers)
        body = (
            f"<Notification><SubscriptionId>{subscription}</SubscriptionId>"
            f"<EventType>{kind}</EventType>"
            f"<ImpactedTelephoneNumbers>{listed}</ImpactedTelephoneNumbers></Notification>"
        )
        event = parse_xml(body)
        assert isinstance(event, AccountNotificationEvent)
        return idempotency_key(event)

    assert account("9195550100", "9195550101") == account("9195550101", "9195550100")
    assert account("9195550100").startswith("MESSAGING_LOST:")
    assert account("9195550100") == account("9195550100", subscription="sub-2")  # one event
    others = {
        account("9195550100"),
        account("9195550101"),
        account("9195550100", kind="NUMBER_RELEASED"),
    }
    assert len(others) == 3
    assert account("1", kind="a b|c").startswith("sha256-")  # odd text: digested


def port_out(pon: str, pin: str = "4321", account: str = "ACCT-778899") -> bytes:
    return (
        f"<PortOutValidationRequest><PON>{pon}</PON><Pin>{pin}</Pin>"
        f"<AccountNumber>{account}</AccountNumber><ZipCode>27606</ZipCode>"
        "<SubscriberName>Zebulon Quixote</SubscriberName>"
        "<TelephoneNumbers><TelephoneNumber>9195551234</TelephoneNumber></TelephoneNumbers>"
        "</PortOutValidationRequest>"
    ).encode()


def test_a_port_out_key_is_its_pon_and_the_requests_digest_never_its_secrets() -> None:
    first = key(port_out("PON-42"))
    assert first == key(port_out("PON-42"))
    assert first.startswith("portOutValidation:PON-42:")
    assert key(port_out("PON-42", pin="9999")) != first  # another request of the same PON
    assert key(port_out("PON-42", account="ACCT-1")) != first
    for secret in ("4321", "ACCT-778899", "Zebulon", "Quixote", "27606"):
        assert secret not in first
    hostile = key(port_out("a|b c\u00e9" + "x" * 80))
    assert hostile.startswith("portOutValidation:sha256-")
    assert "|" not in hostile
    assert " " not in hostile


def test_an_unknown_document_is_keyed_by_its_root_and_body() -> None:
    first = parse_xml(b"<LsrOrderUpdate><Id>1</Id></LsrOrderUpdate>")
    assert isinstance(first, UnknownNumbersEvent)
    second = parse_xml(b"<LsrOrderUpdate><Id>2</Id></LsrOrderUpdate>")
    assert idempotency_key(first).startswith("LsrOrderUpdate:")
    assert idempotency_key(first) != idempotency_key(second)


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[IdempotencyStore]:
    if request.param == "memory":
        yield MemoryStore()
        return
    import redis

    client = redis.Redis(port=request.getfixturevalue("redis_server"))
    yield RedisStore(client, prefix=f"numbers-keys:{request.node.name}:")
    client.close()


def test_a_duplicate_notification_runs_its_handler_once_a_new_status_again(
    store: IdempotencyStore,
) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), idempotency=store)
    seen: list[NumbersEvent] = []
    receiver.on(OrderNotificationEvent)(seen.append)

    def deliver(body: bytes) -> CallbackResponse:
        return receiver.handle(CallbackRequest("POST", "/numbers", HEADERS, body))

    assert [deliver(order()).status for _ in range(3)] == [200, 200, 200]
    assert deliver(order(SubscriptionId="another-subscription")).status == 200
    assert len(seen) == 1
    assert deliver(order(status="FOC")).status == 200
    assert deliver(order(Note="a note")).status == 200
    assert [event.status for event in seen] == ["COMPLETE", "FOC", "COMPLETE"]
    assert seen[2].note == "a note"


def test_a_port_out_retry_gets_the_answer_given_once(store: IdempotencyStore) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), idempotency=store)
    asked: list[str | None] = []

    @receiver.on(PortOutValidationEvent)
    def validate(event: PortOutValidationEvent) -> PortOutAnswer:
        asked.append(event.pon)
        return PortOutAnswer.deny(7513)

    body = port_out("PON-7")
    answers = [receiver.handle(CallbackRequest("POST", "/", HEADERS, body)) for _ in range(2)]
    assert answers[0].status == answers[1].status == 200
    assert answers[0].body == answers[1].body
    assert b"<Code>7513</Code>" in answers[0].body
    assert asked == ["PON-7"]
