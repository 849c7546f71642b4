"""Testing the Flask v2 example: the BXML answers, and the calls made to Bandwidth's API."""

import flask_v2_app
import pytest
from flask import Flask


@pytest.fixture
def bwhooks_app(bandwidth_v2) -> Flask:
    return flask_v2_app.create_app()


def test_an_inbound_call_hears_the_menu(bw_client, bw_fake) -> None:
    response = bw_client.send(bw_fake("initiate"))
    assert bw_client.exchange == (401, 200)  # challenged first, like Bandwidth
    assert response.headers["Content-Type"].startswith("application/xml")
    assert b'<Gather gatherUrl="/callbacks" maxDigits="1">' in response.body


def test_pressing_1_gives_the_opening_hours(bw_client, bw_fake) -> None:
    response = bw_client.send(bw_fake("v2:gather", digits="1"))  # v2: Voice v2's gather
    assert b"We are open from nine to five." in response.body


def test_a_text_is_answered_through_the_messaging_api(bw_client, bw_fake, bandwidth_v2) -> None:
    delivery = bw_fake(
        "message-received",
        to="+15550002222",
        message__from="+15550001111",
        message__text="Are you open?",
    )
    assert bw_client.send(delivery).status == 200
    [reply] = bandwidth_v2.requests_to("POST", f"/users/{bandwidth_v2.account_id}/messages")
    assert reply.json["to"] == ["+15550001111"]
    assert reply.json["from"] == "+15550002222"
    assert reply.json["text"] == "Got it: Are you open?"
    assert reply.status == 202  # Bandwidth's answer: Accepted
    assert bandwidth_v2.requests_to("POST", "/oauth2/token")  # OAuth2 first


def test_delivery_receipts_call_nothing(bw_client, bw_fake, bandwidth_v2) -> None:
    assert bw_client.send(bw_fake("message-delivered", count=2)).status == 200
    assert bw_client.send(bw_fake("message-failed", error_code=4720)).status == 200
    assert bandwidth_v2.requests == []
