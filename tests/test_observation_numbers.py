"""Logs and observer reports of Numbers webhooks (XML): each names its ids (subscription,
order, order type and status, PON) and never the subscriber's PIN, account number, ZIP
code, name, nor a note a person wrote; a value that could forge a log line is escaped."""

from __future__ import annotations

import logging

import pytest
from support import AUTH, PASSWORD, USER

from bwhooks import BasicAuth, CallbackRequest, Receiver
from bwhooks.events import NumbersEvent
from bwhooks.observe import Outcome, event_ids
from bwhooks.testing import fake_event, fake_payload

XML = "application/xml; charset=utf-8"
PIN, ACCOUNT, ZIP, NAME = "48151623", "ACCT-778899", "90210", "Zed Quux"
NOTE = "Call Zed at home"
SECRETS = (PIN, "1623", ACCOUNT, "778899", ZIP, NAME, "Quux", NOTE)


def delivered(
    body: str, caplog: pytest.LogCaptureFixture, *, fails: bool = False
) -> tuple[int, list[Outcome], list[str]]:
    """``body`` delivered to a receiver logging at DEBUG: the status, the outcomes and
    every log line (its traceback included)."""
    outcomes: list[Outcome] = []
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), metrics=outcomes.append)

    @receiver.on(NumbersEvent)
    def handle(event: NumbersEvent) -> None:
        if fails:
            raise RuntimeError("database down")

    request = CallbackRequest(
        "POST", "/callbacks", {"Content-Type": XML, "Authorization": AUTH}, body.encode()
    )
    with caplog.at_level(logging.DEBUG, "bwhooks"):
        response = receiver.handle(request)
    lines = [caplog.handler.format(r) for r in caplog.records]
    return response.status, outcomes, lines


def test_an_order_notification_is_told_by_its_ids_type_and_status(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = fake_payload(
        "orderNotification",
        subscription_id="sub-1",
        order_id="ord-2",
        order_type="portins",
        status="REQUESTED_SUPP",
        note=NOTE,
    )
    status, (outcome,), lines = delivered(body, caplog)
    assert status == 200
    expected = "subscription_id=sub-1 order_type=portins order_id=ord-2 status=REQUESTED_SUPP"
    assert outcome.ids == expected
    assert outcome.event_type == "orderNotification"
    info = [line for line in lines if line.startswith("INFO") and "callback" in line]
    assert len(info) == 1
    assert f"({expected})" in info[0]
    debug = [line for line in lines if "payload of orderNotification" in line]
    assert len(debug) == 1
    assert f"<{len(NOTE)} chars>" in debug[0]  # the note's length only
    assert not [line for line in lines if NOTE in line or "Zed" in line]


@pytest.mark.parametrize("fails", [False, True], ids=["unanswered", "handler-failed"])
def test_a_port_out_request_is_told_by_its_pon_never_the_subscribers_data(
    caplog: pytest.LogCaptureFixture, fails: bool
) -> None:
    body = fake_payload(
        "portOutValidation",
        pon="PON-7",
        pin=PIN,
        account_number=ACCOUNT,
        zip_code=ZIP,
        subscriber_name=NAME,
        telephone_numbers=["9195550123"],
    )
    status, outcomes, lines = delivered(body, caplog, fails=fails)
    assert status == 200  # the fallback's deny: a person reviews it
    assert [o.ids for o in outcomes] == ["pon=PON-7"]
    assert any("pon=PON-7" in line and "exception for a person" in line for line in lines)
    assert any("payload of portOutValidation" in line for line in lines)
    assert any("******0123" in line for line in lines)  # numbers keep their last 4 digits
    for line in lines:
        for secret in SECRETS:
            assert secret not in line, (secret, line)


def test_an_account_event_is_told_by_its_type_and_subscription(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = fake_payload("MESSAGING_LOST", subscription_id="sub-9")
    _, (outcome,), lines = delivered(body, caplog)
    assert (outcome.event_type, outcome.ids) == ("MESSAGING_LOST", "subscription_id=sub-9")
    assert any("callback MESSAGING_LOST (subscription_id=sub-9)" in line for line in lines)


def test_a_value_that_would_forge_a_log_line_is_escaped(caplog: pytest.LogCaptureFixture) -> None:
    event = fake_event("orderNotification", order_id="o-1", status="COMPLETE\nINFO forged")
    assert event_ids(event).endswith("status='COMPLETE\\nINFO forged'")
    body = fake_payload("orderNotification", order_id="o-1", status="COMPLETE")
    body = body.replace("<Status>COMPLETE<", "<Status>COMPLETE&#10;INFO forged<")
    _, (outcome,), lines = delivered(body, caplog)
    assert "status='COMPLETE\\nINFO forged'" in outcome.ids
    assert not [line for line in lines if line.startswith("INFO forged")]
    assert all("\n" not in line for line in lines)


def test_a_number_inside_a_message_keeps_only_its_last_four_digits_at_debug() -> None:
    from bwhooks.observe import mask_payload

    masked = mask_payload(
        {
            "Message": "5005: The telephone number 9195550199 is unavailable (+19195550100)",
            "Status": "FAILED",
            "LastModifiedDate": "2024-05-02T18:03:11.120Z",
        }
    )
    assert masked["Message"] == (
        "5005: The telephone number ******0199 is unavailable (+*******0100)"
    )
    assert masked["Status"] == "FAILED"
    assert masked["LastModifiedDate"] == "2024-05-02T18:03:11.120Z"
