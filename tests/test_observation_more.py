"""Logs and observer reports of toll-free verification results, Subscriptions v2
notifications and endpoint events: the INFO line names each one's ids (a toll-free result's
status, ticket and masked number; a notification's type and request; an endpoint's id,
device and status); DEBUG payloads mask phone numbers and a device's name; ``bwhooks
listen`` prints them by what tells them apart; a value that could forge a line is escaped."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from support import AUTH, PASSWORD, USER

from bwhooks import BasicAuth, CallbackRequest, Event, HmacSignature, Receiver
from bwhooks.devtools.demo import describe
from bwhooks.observe import Outcome, event_ids

MORE = Path(__file__).parent / "examples" / "more"
SECRET = "tfv-secret-0123456789abcdef"
TICKET = "acde070d-8c4c-4f0d-9d8a-162843c10333"
ENDPOINT = "e-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85"
DEVICE_NAME = "Zoë Ångström's laptop"
PERSON = "+19195550123"


def example(path: str) -> dict[str, Any]:
    return dict(json.loads((MORE / path).read_bytes()))


def connected(**changes: Any) -> dict[str, Any]:
    body = example("endpoints/device-disconnected-1.json")
    device = {"deviceId": "d-7", "deviceName": DEVICE_NAME, "status": "CONNECTED"}
    return {
        **body,
        "eventType": "DEVICE_CONNECTED",
        "status": "CONNECTED",
        "tag": "jane.doe",
        "device": device,
        **changes,
    }


def delivered(
    payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> tuple[int, Outcome, list[str], Event]:
    """``payload`` delivered, signed, to a receiver logging at DEBUG: the status, the
    outcome, every log line and the event."""
    outcomes: list[Outcome] = []
    signature = HmacSignature.toll_free(SECRET)
    receiver = Receiver(
        auth=BasicAuth((USER, PASSWORD)), signature=signature, metrics=outcomes.append
    )
    seen: list[Event] = []
    receiver.on(Event)(seen.append)
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "Authorization": AUTH}
    request = CallbackRequest(
        "POST", "/callbacks", {**headers, **dict(signature.headers_for(body))}, body
    )
    with caplog.at_level(logging.DEBUG, "bwhooks"):
        response = receiver.handle(request)
    lines = [caplog.handler.format(r) for r in caplog.records]
    (outcome,) = outcomes
    (event,) = seen
    return response.status, outcome, lines, event


def info_line(lines: list[str]) -> str:
    (line,) = [line for line in lines if "callback " in line and " handled in " in line]
    return line


def test_a_toll_free_denial_is_told_by_its_status_ticket_and_masked_number(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = example("tollfree/denial-1.json")
    payload["declineReasonDescription"] = f"Call the owner at {PERSON}: website not accessible"
    status, outcome, lines, event = delivered(payload, caplog)
    assert status == 204
    assert outcome.event_type == "tollFreeDenial"
    assert outcome.ids == (
        f"account_id=9900900 phone_number=+*******5555 status=UNVERIFIED "
        f"internal_ticket_number={TICKET}"
    )
    assert f"callback tollFreeDenial ({outcome.ids}): 204 handled" in info_line(lines)
    (debug,) = [line for line in lines if "payload of tollFreeDenial" in line]
    assert "+*******0123: website not accessible" in debug  # Bandwidth's words stay
    assert "Reason A" in debug
    logged = "\n".join(lines)
    assert "8885555555" not in logged
    assert PERSON[2:] not in logged
    assert SECRET not in logged
    assert describe(event).split()[:5] == [
        "TollFreeDenialEvent",
        f"internal_ticket_number='{TICKET}'",
        "phone_number='+18885555555'",  # listen: a local tool, the number as sent
        "status='UNVERIFIED'",
        "denial_status_code=511",
    ]


@pytest.mark.parametrize(
    ("name", "ids", "shown"),
    [
        (
            "failure-1",
            f"account_id=9900900 phone_number=+*******5555 internal_ticket_number={TICKET}",
            ["TollFreeFailureEvent", f"internal_ticket_number='{TICKET}'"],
        ),
        (
            "verified-1",
            "account_id=9900900 phone_number=+*******5555 status=VERIFIED",
            ["TollFreeStatusEvent", "phone_number='+18335555555'", "status='VERIFIED'"],
        ),
        (
            "blocked-1",
            f"account_id=9900900 phone_number=+*******5555 status=UNVERIFIED "
            f"internal_ticket_number={TICKET}",
            ["TollFreeBlockedEvent", f"internal_ticket_number='{TICKET}'"],
        ),
    ],
)
def test_every_toll_free_shape_is_told_by_its_ids(
    name: str, ids: str, shown: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    status, outcome, _lines, event = delivered(example(f"tollfree/{name}.json"), caplog)
    assert status == 204
    assert outcome.ids == ids
    assert describe(event).split()[: len(shown)] == shown


def test_a_subscriptions_v2_notification_is_told_by_its_type_and_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = example("subscriptions/messaging-transfer-confirmation-1.json")
    status, outcome, lines, event = delivered(payload, caplog)
    assert status == 204
    assert outcome.event_type == "PORTOUT_REQUEST"
    assert outcome.ids == "request_id=5f1d2c3b-8a9e-4b7c-9d0e-1f2a3b4c5d6e"
    assert "callback PORTOUT_REQUEST (request_id=5f1d2c3b-" in info_line(lines)
    (debug,) = [line for line in lines if "payload of PORTOUT_REQUEST" in line]
    assert "'phoneNumber': '+*******1234'" in debug
    assert "9195551234" not in "\n".join(lines)
    assert describe(event).split()[:3] == [
        "SubscriptionNotificationEvent",
        "request_id='5f1d2c3b-8a9e-4b7c-9d0e-1f2a3b4c5d6e'",
        "notification_type='PORTOUT_REQUEST'",
    ]


def test_an_endpoint_event_is_told_by_its_endpoint_device_and_status_never_its_names(
    caplog: pytest.LogCaptureFixture,
) -> None:
    status, outcome, lines, event = delivered(connected(), caplog)
    assert status == 204
    assert outcome.ids == f"endpoint_id={ENDPOINT} device_id=d-7 status=CONNECTED"
    assert f"callback DEVICE_CONNECTED ({outcome.ids}): 204 handled" in info_line(lines)
    (debug,) = [line for line in lines if "payload of DEVICE_CONNECTED" in line]
    assert f"'deviceName': '<{len(DEVICE_NAME)} chars>'" in debug
    assert "'tag': '<8 chars>'" in debug
    assert "'eventTime': '2021-01-01T00:00:00Z'" in debug  # times and states stay
    logged = "\n".join(lines)
    assert "Zoë" not in logged
    assert "jane.doe" not in logged
    assert describe(event).split() == [
        "DeviceConnectedEvent",
        f"endpoint_id='{ENDPOINT}'",
        "status='CONNECTED'",
        "device='d-7'",
    ]


def test_a_value_that_could_forge_a_log_line_is_escaped(caplog: pytest.LogCaptureFixture) -> None:
    forged = "VERIFIED\nINFO callback forged"
    payload = {**example("tollfree/verified-1.json"), "status": forged}
    status, outcome, lines, event = delivered(payload, caplog)
    assert status == 204
    assert "status='VERIFIED\\nINFO callback forged'" in outcome.ids
    assert not any(line.startswith("INFO callback forged") for line in "\n".join(lines).split("\n"))
    assert event_ids(event) == outcome.ids
