"""Testing the Flask example's handlers end to end, with bwhooks' pytest fixtures."""

import flask_app
import pytest
from flask import Flask

from bwhooks.testing import FakeBandwidthApi


@pytest.fixture
def bwhooks_app(bandwidth_api: FakeBandwidthApi, monkeypatch: pytest.MonkeyPatch) -> Flask:
    monkeypatch.setenv("BANDWIDTH_API_URL", bandwidth_api.url)  # the fake REST API
    monkeypatch.setenv("BANDWIDTH_USER_ID", bandwidth_api.user_id)
    monkeypatch.setenv("BANDWIDTH_API_TOKEN", bandwidth_api.token)
    monkeypatch.setenv("BANDWIDTH_API_SECRET", bandwidth_api.secret)
    return flask_app.create_app()


def test_answer_speaks_and_hangs_up(bw_client, bw_fake) -> None:
    response = bw_client.send(bw_fake("v1:answer"))
    assert bw_client.exchange == (401, 200)  # challenged first, like Bandwidth
    assert response.headers["Content-Type"].startswith("application/xml")
    assert b"<SpeakSentence>Thanks for calling.</SpeakSentence>" in response.body


def test_inbound_sms_is_answered_through_the_api(bw_client, bw_fake, bandwidth_api) -> None:
    sms = bw_fake("sms", from_="+15550001111", to="+15550002222", text="Is it open?")
    assert bw_client.send(sms).status == 200
    [reply] = bandwidth_api.requests_to("POST", "/messages")
    assert reply.json == {
        "from": "+15550002222",
        "to": "+15550001111",
        "text": "Got it: Is it open?",
    }
    assert reply.status == 201  # Bandwidth's answer: Created, with a Location


def test_outbound_delivery_receipts_send_nothing(bw_client, bw_fake, bandwidth_api) -> None:
    receipt = bw_fake("sms", direction="out", state="sent", delivery_state="delivered")
    assert bw_client.send(receipt).status == 200
    assert bandwidth_api.requests == []


def test_get_callbacks_work_too(bw_client, bw_fake) -> None:
    assert bw_client.send(bw_fake("v1:answer"), method="GET").status == 200
