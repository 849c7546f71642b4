"""MFA (2FA) delivery receipts, one JSON object with a ``platform``, and the old spelling
``location-request-response``: typed by the Messaging v2 classes, on both decoding paths."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from bandwidth_delivery import as_bandwidth, load_more, more_names
from support import PASSWORD, USER, Send

from bwhooks import (
    BasicAuth,
    CallbackMessage,
    Event,
    MessageDeliveredEvent,
    MessageFailedEvent,
    MessagingEvent,
    Receiver,
    RequestedLocationResponseEvent,
    UnknownMessagingEvent,
    parse_delivery,
    parse_event,
    to_payload,
)
from bwhooks.decoding.compiled import decode_body
from bwhooks.families import DEFAULT, MessagingV2

Connect = Callable[[Receiver], Send]
SENT = datetime(2016, 9, 14, 18, 20, 16, tzinfo=timezone.utc)
MESSAGE = CallbackMessage(id="14762070468292kw2fuqty55yp2b2")


def test_both_receipts_are_typed_with_their_platform() -> None:
    assert more_names("mfa") == ["message-delivered-1.json", "message-failed-1.json"]
    delivered = parse_event(json.loads(load_more("mfa", "message-delivered-1.json")))
    assert delivered == MessageDeliveredEvent(
        time=SENT,
        description="Message delivered to carrier.",
        platform="NorthAmericaSMS",
        message=MESSAGE,
    )
    failed = parse_event(json.loads(load_more("mfa", "message-failed-1.json")))
    assert failed == MessageFailedEvent(
        time=SENT,
        description="forbidden to country",
        platform="NorthAmericaSMS",
        message=MESSAGE,
        error_code=4432,
    )
    assert parse_event(to_payload(failed)) == failed


@pytest.mark.parametrize("name", ["message-delivered-1.json", "message-failed-1.json"])
def test_a_receipt_is_received_through_every_way_in(connect: Connect, name: str) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    seen: list[Event] = []
    receiver.on(MessagingEvent)(seen.append)
    answered = as_bandwidth(connect(receiver), load_more("mfa", name))
    assert answered.status == 200
    (event,) = seen
    assert type(event) is (MessageDeliveredEvent if "delivered" in name else MessageFailedEvent)
    assert event.platform == "NorthAmericaSMS"  # type: ignore[attr-defined]


def test_an_object_with_type_and_platform_is_messaging_even_without_message() -> None:
    receipt = {"type": "message-delivered", "platform": "GlobalSMS", "time": "2026-01-01T00:00:00Z"}
    assert MessagingV2().class_for(receipt) is MessageDeliveredEvent
    assert [f for f in DEFAULT.members if f.class_for(receipt)] == [DEFAULT.members[0]]
    unknown = {"type": "message-queued", "platform": "GlobalSMS"}
    assert type(parse_event(unknown)) is UnknownMessagingEvent
    assert MessagingV2().class_for({"type": "x"}) is None  # neither message nor platform


def test_the_compiled_path_defers_the_object_and_agrees_on_the_array() -> None:
    for name in more_names("mfa"):
        body = load_more("mfa", name)
        assert decode_body(body) is None  # one object: the general path
        element = json.loads(body)
        array = json.dumps([element]).encode()
        compiled = decode_body(array)
        assert compiled is not None
        assert compiled == parse_delivery([element])
        assert compiled[0].platform == "NorthAmericaSMS"  # type: ignore[attr-defined]


LOCATION = {
    "time": "2026-05-01T10:00:00.000Z",
    "to": "+19195551234",
    "description": "Incoming location",
    "message": {
        "id": "m-1",
        "owner": "+19195551234",
        "direction": "in",
        "locationResponse": {"latitude": "35.78", "longitude": "-78.64"},
    },
}


@pytest.mark.parametrize("spelling", ["requested-location-response", "location-request-response"])
def test_both_spellings_of_the_location_response_are_one_class_on_both_paths(
    spelling: str,
) -> None:
    element = {"type": spelling, **LOCATION}
    body = json.dumps([element]).encode()
    general = parse_delivery([element])
    compiled = decode_body(body)
    assert compiled == general
    (event,) = general
    assert isinstance(event, RequestedLocationResponseEvent)
    assert event.event_type == "requested-location-response"
    assert event.raw["type"] == spelling
    assert event.message is not None
    assert event.message.location_response is not None
    assert event.message.location_response.latitude == "35.78"
    assert type(parse_event({"type": spelling, **LOCATION})) is RequestedLocationResponseEvent


def test_the_old_spelling_is_received_through_every_way_in(connect: Connect) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    seen: list[Event] = []
    receiver.on(RequestedLocationResponseEvent)(seen.append)
    answered = as_bandwidth(connect(receiver), [{"type": "location-request-response", **LOCATION}])
    assert answered.status == 200
    assert [e.event_type for e in seen] == ["requested-location-response"]
