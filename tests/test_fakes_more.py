"""Fakes of Bandwidth's other JSON webhooks (toll-free verification, Subscriptions v2,
endpoint events, MFA receipts): the shapes bandwidth-sdk's models read, realistic values,
overrides, and `bwhooks send` of each to a real server."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from typing import Any

import pytest
from bandwidth.models import (
    BlockedWebhook,
    EndpointEvent,
    FailureWebhook,
    VerificationDenialWebhook,
    VerificationWebhook,
)
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from bwhooks import events, parse_event
from bwhooks.cli import main
from bwhooks.testing import KINDS, UnknownKindError, fake_event, fake_payload
from bwhooks.testing.fakes_more import MORE_KINDS, TOLL_FREE_PREFIXES, signature_family

SDK_MODELS: dict[str, Any] = {
    "tollfree:verified": VerificationWebhook,
    "tollfree:unverified": VerificationWebhook,
    "tollfree:denial": VerificationDenialWebhook,
    "tollfree:failure": FailureWebhook,
    "tollfree:blocked": BlockedWebhook,
    "DEVICE_CONNECTED": EndpointEvent,
    "DEVICE_DISCONNECTED": EndpointEvent,
}


def utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.tzinfo == timezone.utc
    return moment


@pytest.mark.parametrize("kind", sorted(SDK_MODELS))
def test_each_payload_is_the_shape_the_sdk_reads(kind: str) -> None:
    payload = fake_payload(kind)
    model = SDK_MODELS[kind]
    parsed = model.from_dict(payload)  # pydantic: types, enums, formats checked
    assert parsed.additional_properties == {}  # no key the model does not know
    assert set(parsed.to_dict()) == set(payload)
    assert json.loads(json.dumps(payload)) == payload  # JSON-ready


@pytest.mark.parametrize("kind", [k for k in MORE_KINDS if k.startswith("tollfree:")])
def test_toll_free_values_are_realistic(kind: str) -> None:
    payload = fake_payload(kind)
    number = payload["phoneNumber"]
    assert re.fullmatch(r"\+1\d{10}", number)
    assert number[2:5] in TOLL_FREE_PREFIXES
    assert str(uuid.UUID(payload["internalTicketNumber"])) == payload["internalTicketNumber"]
    assert payload["accountId"].isdigit()
    assert signature_family(kind) == "toll-free"


def test_the_four_toll_free_shapes() -> None:
    assert fake_payload("tollfree:verified")["status"] == "VERIFIED"
    unverified = fake_payload("tollfree:unverified")
    assert unverified["status"] == "UNVERIFIED"
    assert "blocked" not in unverified
    denial = fake_payload("tollfree:denial")
    assert isinstance(denial["denialStatusCode"], int)
    assert denial["declineReasonDescription"]
    (reason,) = denial["additionalDenialReasons"]
    assert set(reason) == {"statusCode", "reason", "resubmitAllowed"}
    failure = fake_payload("tollfree:failure")
    assert "status" not in failure
    assert isinstance(failure["errorCode"], str)
    assert all(isinstance(e, str) for e in failure["errors"])
    blocked = fake_payload("tollfree:blocked")
    assert (blocked["blocked"], bool(blocked["blockedReason"])) == (True, True)


def test_subscriptions_v2_portout_request() -> None:
    payload = fake_payload("subscriptions:PORTOUT_REQUEST")
    assert payload["notificationType"] == "PORTOUT_REQUEST"
    assert re.fullmatch(r"\+1\d{10}", payload["phoneNumber"])
    assert set(payload) == {
        "notificationType",
        "phoneNumber",
        "oldNnid",
        "newNnid",
        "overwriterCarrier",
        "requestId",
        "activation",
    }
    assert payload["oldNnid"].isdigit()
    assert payload["newNnid"].isdigit()
    uuid.UUID(payload["requestId"])
    assert utc(payload["activation"]) <= datetime.now(timezone.utc)
    assert signature_family("subscriptions:PORTOUT_REQUEST") == "subscriptions"


@pytest.mark.parametrize(
    ("kind", "status"), [("DEVICE_CONNECTED", "CONNECTED"), ("DEVICE_DISCONNECTED", "DISCONNECTED")]
)
def test_endpoint_events(kind: str, status: str) -> None:
    payload = fake_payload(kind)
    assert (payload["eventType"], payload["status"], payload["type"]) == (kind, status, "WEBRTC")
    assert payload["endpointId"].startswith("e-")
    created, expires = utc(payload["creationTimestamp"]), utc(payload["expirationTimestamp"])
    assert created < utc(payload["eventTime"]) < expires
    assert payload["device"]["status"] == status
    assert signature_family(kind) is None


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("mfa:message-delivered", events.MessageDeliveredEvent),
        ("mfa:message-failed", events.MessageFailedEvent),
    ],
)
def test_mfa_receipts_are_one_object_typed_by_the_messaging_v2_classes(
    kind: str, cls: type[events.Event]
) -> None:
    payload = fake_payload(kind)
    assert isinstance(payload, dict)
    assert (payload["type"], payload["platform"]) == (kind[4:], "NorthAmericaSMS")
    assert payload["message"]["id"]
    event = fake_event(kind, message__id="m-1")
    assert type(event) is cls
    assert isinstance(event, events.MessagingEvent)
    assert event.message is not None
    assert event.message.id == "m-1"
    if cls is events.MessageFailedEvent:
        assert isinstance(event, events.MessageFailedEvent)
        assert event.error_code == 4432


def test_overrides_by_wire_or_attribute_name_nested_and_none() -> None:
    payload = fake_payload(
        "tollfree:denial",
        phone_number="+18005550100",
        accountId="9900900",
        blocked=None,
        denial_status_code=512,
    )
    assert (payload["phoneNumber"], payload["accountId"], payload["denialStatusCode"]) == (
        "+18005550100",
        "9900900",
        512,
    )
    assert "blocked" not in payload
    old = fake_payload("tollfree:denial", denial_reason_description="Disallowed Content")
    assert old["denialReasonDescription"] == "Disallowed Content"
    assert "declineReasonDescription" not in old  # the 2022 spelling, alone
    device = fake_payload(
        "DEVICE_CONNECTED", endpoint_type="WEBRTC", device__device_name="Firefox", tag=None
    )
    assert device["device"]["deviceName"] == "Firefox"
    assert "tag" not in device
    when = datetime(2026, 1, 15, 17, 0, tzinfo=timezone.utc)
    assert fake_payload("subscriptions:PORTOUT_REQUEST", activation=when)["activation"].startswith(
        "2026-01-15T17:00:00"
    )
    blocked = fake_payload("tollfree:verified", blocked=True, blocked_reason="spam")
    assert (blocked["blocked"], blocked["blockedReason"]) == (True, "spam")


def test_an_unknown_override_names_the_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"tollfree:verified: no field 'call_id'.*phone_number"):
        fake_payload("tollfree:verified", call_id="c-1")
    with pytest.raises(TypeError, match="no object"):
        fake_payload("DEVICE_CONNECTED", tag__x=1)


def test_a_misspelt_kind_suggests_the_spelling() -> None:
    with pytest.raises(UnknownKindError) as error:
        fake_payload("tollfree:denied")
    assert "tollfree:denial" in error.value.suggestions
    with pytest.raises(UnknownKindError) as device:
        fake_payload("DEVICE_CONECTED")
    assert device.value.suggestions[0] == "DEVICE_CONNECTED"


def test_send_posts_each_kind_as_the_one_object_bandwidth_posts(
    httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    received: list[Request] = []

    def handler(request: Request) -> Response:
        received.append(request)
        return Response(status=204)

    httpserver.expect_request("/hooks").respond_with_handler(handler)
    for kind in MORE_KINDS:
        assert main(["send", kind, httpserver.url_for("/hooks")]) == 0
    bodies = [json.loads(r.get_data()) for r in received]
    assert all(isinstance(body, dict) for body in bodies)
    assert [r.headers["Content-Type"] for r in received] == [
        "application/json; charset=utf-8"
    ] * len(MORE_KINDS)
    out = capsys.readouterr().out
    assert "POST tollfree:verified 204" in out
    assert "POST DEVICE_CONNECTED 204" in out


def test_list_kinds_shows_the_new_kinds(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["send", "--list-kinds"])
    out = capsys.readouterr().out
    for kind in MORE_KINDS:
        assert f"  {kind} " in out


@pytest.mark.parametrize("kind", sorted(MORE_KINDS))
def test_every_kind_is_in_kinds_and_fake_event_gives_its_class(kind: str) -> None:
    assert KINDS[kind] is MORE_KINDS[kind]
    event = fake_event(kind)
    assert type(event) is MORE_KINDS[kind]
    assert parse_event(dict(event.raw)) == event


@pytest.mark.parametrize(
    ("cls", "kind"),
    [
        (events.TollFreeStatusEvent, "tollfree:verified"),
        (events.TollFreeDenialEvent, "tollfree:denial"),
        (events.TollFreeFailureEvent, "tollfree:failure"),
        (events.TollFreeBlockedEvent, "tollfree:blocked"),
        (events.SubscriptionNotificationEvent, "subscriptions:PORTOUT_REQUEST"),
        (events.DeviceConnectedEvent, "DEVICE_CONNECTED"),
        (events.DeviceDisconnectedEvent, "DEVICE_DISCONNECTED"),
    ],
)
def test_a_class_is_a_kind_too(cls: type[events.Event], kind: str) -> None:
    payload = fake_payload(cls)
    assert set(payload) == set(fake_payload(kind))
    assert type(fake_event(cls)) is cls
    assert signature_family(cls) == signature_family(kind)


def test_a_messaging_class_keeps_meaning_the_array_and_bases_are_no_kind() -> None:
    assert isinstance(fake_payload(events.MessageDeliveredEvent), list)
    for base in (events.TollFreeVerificationEvent, events.EndpointEvent):
        with pytest.raises(TypeError, match="concrete event class"):
            fake_payload(base)


def test_events_carry_the_overrides() -> None:
    denial = fake_event("tollfree:denial", denial_reason_description="Disallowed Content")
    assert isinstance(denial, events.TollFreeDenialEvent)
    assert denial.decline_reason_description == "Disallowed Content"  # the old spelling read
    assert denial.additional_denial_reasons is not None
    assert denial.additional_denial_reasons[0].status_code == 512
    failure = fake_event("tollfree:failure", error_code="409")
    assert isinstance(failure, events.TollFreeFailureEvent)
    assert (failure.error_code, failure.status) == ("409", None)
    when = datetime(2026, 1, 15, 17, 0, tzinfo=timezone.utc)
    notification = fake_event("subscriptions:PORTOUT_REQUEST", activation=when, new_nnid="1")
    assert isinstance(notification, events.SubscriptionNotificationEvent)
    assert (notification.activation, notification.new_nnid) == (when, "1")
    assert notification.notification_type == "PORTOUT_REQUEST"
    device = fake_event("DEVICE_DISCONNECTED", tag="agent-7", device__device_name="Edge")
    assert isinstance(device, events.DeviceDisconnectedEvent)
    assert (device.tag, device.endpoint_type) == ("agent-7", "WEBRTC")
    assert device.device is not None
    assert device.device.device_name == "Edge"
    receipt = fake_event("mfa:message-delivered", platform="GlobalSMS")
    assert isinstance(receipt, events.MessageDeliveredEvent)
    assert receipt.platform == "GlobalSMS"


def test_a_payload_is_the_callers_to_change() -> None:
    first = fake_payload("tollfree:denial")
    first["additionalDenialReasons"].append({"statusCode": 599})
    fake_payload("tollfree:failure")["errors"].clear()
    assert len(fake_payload("tollfree:denial")["additionalDenialReasons"]) == 1
    assert fake_payload("tollfree:failure")["errors"]
