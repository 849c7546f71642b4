"""Subscriptions v2 notifications: typed, answered ``204``, signed bodies verified through
every way in; a receiver without a signature warns when given the family explicitly, and
otherwise logs once at the first notification it could not verify."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import warnings
from collections.abc import Callable
from datetime import datetime, timezone

import pytest
from bandwidth_delivery import as_bandwidth, load_more
from support import PASSWORD, USER, Send

from bwhooks import (
    BasicAuth,
    Event,
    FieldConversionWarning,
    HmacSignature,
    InsecureReceiverWarning,
    Receiver,
    SubscriptionNotificationEvent,
    parse_event,
    to_payload,
)
from bwhooks import events as bwhooks_events
from bwhooks.decoding.compiled import decode_body
from bwhooks.families import DEFAULT, MessagingV2, SubscriptionsV2, VoiceV2

Connect = Callable[[Receiver], Send]
SECRET = "subscription-secret"
HEADER = "X-Bandwidth-Signature-SHA-256"
EXAMPLE = "messaging-transfer-confirmation-1.json"
UNVERIFIED = "a Subscriptions v2 body's signature was not verified"


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {HEADER: base64.b64encode(digest).decode()}


def collecting(receiver: Receiver) -> list[Event]:
    seen: list[Event] = []
    receiver.on(SubscriptionNotificationEvent)(seen.append)
    return seen


def test_the_example_is_typed_with_every_documented_field() -> None:
    event = parse_event(json.loads(load_more("subscriptions", EXAMPLE)))
    assert event == SubscriptionNotificationEvent(
        event_type="PORTOUT_REQUEST",
        notification_type="PORTOUT_REQUEST",
        phone_number="+19195551234",
        old_nnid="103462",
        new_nnid="204519",
        overwriter_carrier="Example Wireless",
        request_id="5f1d2c3b-8a9e-4b7c-9d0e-1f2a3b4c5d6e",
        activation=datetime(2026, 1, 15, 17, 0, tzinfo=timezone.utc),
    )
    assert parse_event(to_payload(event)) == event
    assert bwhooks_events.SubscriptionNotificationEvent is SubscriptionNotificationEvent


def test_activation_is_read_when_present_and_other_types_and_keys_are_kept() -> None:
    event = parse_event({"notificationType": "SOMETHING_NEW", "extra": {"a": [1]}})
    assert isinstance(event, SubscriptionNotificationEvent)
    assert (event.notification_type, event.activation, event.phone_number) == (
        "SOMETHING_NEW",
        None,
        None,
    )
    assert event.raw["extra"] == {"a": [1]}


def test_a_field_that_cannot_be_converted_is_none_with_a_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FieldConversionWarning)
        event = parse_event({"notificationType": "PORTOUT_REQUEST", "activation": "soon"})
    assert isinstance(event, SubscriptionNotificationEvent)
    assert event.activation is None
    assert event.raw["activation"] == "soon"
    assert [w.category for w in caught] == [FieldConversionWarning]


@pytest.mark.parametrize(
    "payload",
    [
        {"notificationType": "", "phoneNumber": "+19195551234"},
        {"notificationType": 5},
        {"notificationType": "PORTOUT_REQUEST", "eventType": "answer"},
        {"notificationType": "PORTOUT_REQUEST", "type": "message-received", "message": {}},
    ],
)
def test_only_a_non_empty_notification_type_without_others_keys_is_a_notification(
    payload: dict[str, object],
) -> None:
    assert SubscriptionsV2().class_for(payload) is None
    claimed = [f for f in DEFAULT.members if f.class_for(payload) is SubscriptionNotificationEvent]
    assert claimed == []
    example = json.loads(load_more("subscriptions", EXAMPLE))
    assert SubscriptionsV2().class_for(example, in_array=True) is None
    assert MessagingV2().class_for(example) is None
    assert VoiceV2().class_for(example) is None


def test_the_compiled_path_leaves_it_to_the_general_one() -> None:
    assert decode_body(load_more("subscriptions", EXAMPLE)) is None


# -- signed bodies -----------------------------------------------------------------------


def signed_receiver() -> tuple[Receiver, list[Event]]:
    signature = HmacSignature.subscriptions(SECRET)
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), signature=signature)
    return receiver, collecting(receiver)


def test_a_signed_notification_is_accepted_with_the_right_secret_and_answered_204(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    receiver, seen = signed_receiver()
    body = load_more("subscriptions", EXAMPLE)
    with caplog.at_level(logging.WARNING):
        answered = as_bandwidth(connect(receiver), body, signed(body))
    assert (answered.status, answered.body) == (204, b"")
    assert [e.notification_type for e in seen] == ["PORTOUT_REQUEST"]  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if UNVERIFIED in r.getMessage()]


def test_a_wrong_or_missing_signature_is_refused_403_and_no_handler_runs(
    connect: Connect,
) -> None:
    receiver, seen = signed_receiver()
    send = connect(receiver)
    body = load_more("subscriptions", EXAMPLE)
    hexed = {HEADER: hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}
    for headers in (signed(body, "other-secret"), {}, hexed, signed(body + b" ")):
        refused = as_bandwidth(send, body, headers)  # the challenge comes first
        assert refused.status == 403
        assert json.loads(refused.body) == {"error": "forbidden"}
    assert seen == []


# -- without a signature -------------------------------------------------------------------


def test_a_default_receiver_logs_once_that_it_did_not_verify(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # constructing it warns of nothing
        receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    seen = collecting(receiver)
    send = connect(receiver)
    body = load_more("subscriptions", EXAMPLE)
    voice = {"eventType": "disconnect", "eventTime": "2026-01-01T00:00:00Z", "callId": "c"}
    with caplog.at_level(logging.WARNING, "bwhooks.receiver"):
        assert as_bandwidth(send, voice).status == 200  # not signed by Bandwidth: nothing
        assert not [r for r in caplog.records if UNVERIFIED in r.getMessage()]
        for _ in range(3):
            assert as_bandwidth(send, body).status == 204
    told = [r for r in caplog.records if UNVERIFIED in r.getMessage()]
    assert len(told) == 1
    assert told[0].levelno == logging.WARNING
    assert "signature=" in told[0].getMessage()
    assert len(seen) == 3
    other = Receiver(auth=BasicAuth((USER, PASSWORD)))  # once per receiver, not per process
    caplog.clear()
    with caplog.at_level(logging.WARNING, "bwhooks.receiver"):
        assert as_bandwidth(connect(other), body).status == 204
    assert len([r for r in caplog.records if UNVERIFIED in r.getMessage()]) == 1


def test_a_receiver_given_the_family_explicitly_warns_without_a_signature() -> None:
    with pytest.warns(InsecureReceiverWarning, match="Subscriptions v2 bodies are signed"):
        Receiver(auth=BasicAuth((USER, PASSWORD)), families=(SubscriptionsV2(),))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Receiver(
            auth=BasicAuth((USER, PASSWORD)),
            families=(SubscriptionsV2(),),
            signature=HmacSignature.subscriptions(SECRET),
        )


def test_a_notification_built_in_code_goes_to_the_wire_and_back() -> None:
    built = SubscriptionNotificationEvent(notification_type="PORTOUT_REQUEST", request_id="r-1")
    assert built.event_type == "PORTOUT_REQUEST"
    assert to_payload(built) == {"notificationType": "PORTOUT_REQUEST", "requestId": "r-1"}
    assert parse_event(to_payload(built)) == built
