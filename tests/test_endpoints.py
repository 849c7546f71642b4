"""Endpoint events (WebRTC endpoints): typed by their ``eventType``, never taken for a voice
callback, unknown types kept, answered ``204``; bandwidth-sdk's ``EndpointEvent`` as an
independent producer through every way in."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest
from bandwidth import ApiClient
from bandwidth import models as sdk
from bandwidth_delivery import as_bandwidth, load_more
from support import PASSWORD, USER, Send

from bwhooks import (
    BasicAuth,
    DeviceConnectedEvent,
    DeviceDisconnectedEvent,
    EndpointDevice,
    EndpointEvent,
    Event,
    FieldConversionWarning,
    Receiver,
    UnknownEndpointEvent,
    UnknownEvent,
    UnknownVoiceEvent,
    VoiceAnswerEvent,
    parse_event,
    to_payload,
)
from bwhooks import events as bwhooks_events
from bwhooks.decoding.compiled import decode_body
from bwhooks.families import DEFAULT, Catapult, Endpoints, VoiceV2

Connect = Callable[[Receiver], Send]
EXAMPLE = "device-disconnected-1.json"
T0 = datetime(2021, 1, 1, tzinfo=timezone.utc)


def connected(**extra: Any) -> dict[str, Any]:
    return {
        "endpointId": "e-15ac29a2-1331029c",
        "type": "WEBRTC",
        "status": "CONNECTED",
        "creationTimestamp": "2021-01-01T00:00:00Z",
        "expirationTimestamp": "2021-01-02T00:00:00Z",
        "eventTime": "2021-01-01T00:00:05Z",
        "eventType": "DEVICE_CONNECTED",
        "tag": "my-tag",
        "device": {
            "deviceId": "d-1",
            "deviceName": "Chrome on a laptop",
            "status": "CONNECTED",
            "creationTimestamp": "2021-01-01T00:00:04Z",
            "browser": "kept in raw",
        },
        **extra,
    }


def test_the_example_is_a_device_disconnected_event() -> None:
    event = parse_event(json.loads(load_more("endpoints", EXAMPLE)))
    assert event == DeviceDisconnectedEvent(
        endpoint_id="e-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85",
        endpoint_type="WEBRTC",
        status="DISCONNECTED",
        creation_timestamp=T0,
        expiration_timestamp=datetime(2021, 1, 2, tzinfo=timezone.utc),
        event_time=T0,
        tag="my-tag",
    )
    assert event.event_type == "DEVICE_DISCONNECTED"
    assert parse_event(to_payload(event)) == event


def test_a_connected_event_reads_its_device_and_keeps_unknown_keys() -> None:
    event = parse_event(connected(newKey=1))
    assert isinstance(event, DeviceConnectedEvent)
    assert event.device == EndpointDevice(
        device_id="d-1",
        device_name="Chrome on a laptop",
        status="CONNECTED",
        creation_timestamp=datetime(2021, 1, 1, 0, 0, 4, tzinfo=timezone.utc),
    )
    assert event.device.raw["browser"] == "kept in raw"
    assert event.raw["newKey"] == 1
    assert to_payload(event) == connected(newKey=1)


def test_an_unknown_type_is_kept_and_never_taken_for_voice() -> None:
    payload = connected(eventType="DEVICE_REGISTERED")
    event = parse_event(payload)
    assert isinstance(event, UnknownEndpointEvent)
    assert type(event) is UnknownEndpointEvent
    assert event.event_type == "DEVICE_REGISTERED"
    assert event.endpoint_id == "e-15ac29a2-1331029c"
    no_v2_keys = {k: v for k, v in payload.items() if k != "eventTime"}
    assert type(parse_event(no_v2_keys)) is UnknownEndpointEvent
    for family in (VoiceV2(), Catapult()):
        assert family.class_for(payload) is None
        assert family.class_for(no_v2_keys) is None
        assert family.class_for(json.loads(load_more("endpoints", EXAMPLE))) is None


@pytest.mark.parametrize(
    ("payload", "cls"),
    [  # voice payloads stay voice, whatever endpoint keys they carry
        ({"eventType": "answer", "endpointId": "e-1", "callId": "c", "eventTime": "x"}, None),
        ({"eventType": "newVoiceThing", "callId": "c", "endpointId": "e", "eventTime": "x"}, None),
        ({"eventType": "ANSWER", "endpointId": "e-1", "eventTime": "2021-01-01T00:00:00Z"}, None),
        ({"eventType": "somethingNew", "eventTime": "2021-01-01T00:00:00Z"}, None),
    ],
)
def test_voice_payloads_are_not_endpoint_events(payload: dict[str, Any], cls: None) -> None:
    assert Endpoints().class_for(payload) is cls
    assert not issubclass(DEFAULT.class_for(payload), EndpointEvent)


def test_voice_keeps_what_it_kept() -> None:
    answer = {"eventType": "answer", "eventTime": "2021-01-01T00:00:00Z", "callId": "c"}
    assert DEFAULT.class_for({**answer, "endpointId": "e"}) is VoiceAnswerEvent
    unknown = {"eventType": "newVoiceThing", "eventTime": "2021-01-01T00:00:00Z", "callId": "c"}
    assert DEFAULT.class_for({**unknown, "endpointId": "e"}) is UnknownVoiceEvent
    assert DEFAULT.class_for({"eventType": "newV1Thing", "callId": "c"}) is UnknownEvent


def test_a_field_that_cannot_be_converted_is_none_with_a_warning() -> None:
    payload = connected(eventTime="yesterday")
    payload["device"] = {**payload["device"], "creationTimestamp": 5}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FieldConversionWarning)
        event = parse_event(payload)
    assert isinstance(event, DeviceConnectedEvent)
    assert event.event_time is None
    assert event.device is not None
    assert event.device.creation_timestamp is None
    assert event.device.device_id == "d-1"
    (warning,) = [w for w in caught if w.category is FieldConversionWarning]
    assert "eventTime" in str(warning.message)
    assert "device.creationTimestamp" in str(warning.message)


def test_both_are_received_by_a_handler_of_the_base_and_answered_204(connect: Connect) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    seen: list[Event] = []
    receiver.on(EndpointEvent)(seen.append)
    receiver.on(EndpointEvent)(lambda event: "<Response/>")  # ignored: 204 all the same
    send = connect(receiver)
    for body in (connected(), json.loads(load_more("endpoints", EXAMPLE))):
        answered = as_bandwidth(send, body)
        assert (answered.status, answered.body) == (204, b"")
    unknown = as_bandwidth(send, connected(eventType="DEVICE_REGISTERED"))
    assert unknown.status == 204
    assert [type(e) for e in seen] == [
        DeviceConnectedEvent,
        DeviceDisconnectedEvent,
        UnknownEndpointEvent,
    ]


def test_the_compiled_path_leaves_them_to_the_general_one() -> None:
    for payload in (connected(), json.loads(load_more("endpoints", EXAMPLE))):
        assert decode_body(json.dumps(payload).encode()) is None


def test_the_names_are_exported() -> None:
    import bwhooks

    for name in (
        "EndpointEvent",
        "DeviceConnectedEvent",
        "DeviceDisconnectedEvent",
        "UnknownEndpointEvent",
        "EndpointDevice",
    ):
        assert getattr(bwhooks, name) is getattr(bwhooks_events, name)
    assert UnknownEndpointEvent in bwhooks_events.UNKNOWN_EVENT_CLASSES


# -- bandwidth-sdk as an independent producer ------------------------------------------


@pytest.mark.parametrize("kind", ["DEVICE_CONNECTED", "DEVICE_DISCONNECTED"])
def test_bandwidth_sdk_endpoint_events_are_typed_through_every_way_in(
    connect: Connect, kind: str
) -> None:
    created = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    device = sdk.Device(
        device_id="d-42",
        device_name="Firefox",
        status=sdk.DeviceStatusEnum(kind.split("_")[1]),
        creation_timestamp=created,
    )
    model = sdk.EndpointEvent(
        endpoint_id="e-42",
        type=sdk.EndpointTypeEnum.WEBRTC,
        status=sdk.EndpointStatusEnum(kind.split("_")[1]),
        creation_timestamp=created,
        expiration_timestamp=datetime(2026, 3, 5, 5, 6, 7, tzinfo=timezone.utc),
        event_time=created,
        event_type=sdk.EndpointEventTypeEnum(kind),
        tag="t",
        device=device if kind == "DEVICE_CONNECTED" else None,
    )
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    seen: list[Event] = []
    receiver.on(EndpointEvent)(seen.append)
    body = json.dumps(ApiClient().sanitize_for_serialization(model)).encode()  # by alias
    assert as_bandwidth(connect(receiver), body).status == 204
    (event,) = seen
    cls: type[EndpointEvent] = (
        DeviceConnectedEvent if kind == "DEVICE_CONNECTED" else DeviceDisconnectedEvent
    )
    expected = cls(
        endpoint_id="e-42",
        endpoint_type="WEBRTC",
        status=kind.split("_")[1],
        creation_timestamp=created,
        expiration_timestamp=datetime(2026, 3, 5, 5, 6, 7, tzinfo=timezone.utc),
        event_time=created,
        tag="t",
        device=EndpointDevice(
            device_id="d-42",
            device_name="Firefox",
            status="CONNECTED",
            creation_timestamp=created,
        )
        if kind == "DEVICE_CONNECTED"
        else None,
    )
    assert type(event) is cls
    assert event == expected
