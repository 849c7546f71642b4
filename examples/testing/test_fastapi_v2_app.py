"""Testing the FastAPI v2 example: the BXML answer, and the call it asks Bandwidth for."""

import fastapi_v2_app
import pytest


@pytest.fixture
def bwhooks_app(bandwidth_v2, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("BANDWIDTH_AGENT", "+15550009999")
    monkeypatch.setenv("PUBLIC_URL", "https://callbacks.example.com")
    return fastapi_v2_app.app


def test_pressing_1_calls_the_caller_back(bw_client, bw_fake, bandwidth_v2) -> None:
    gather = bw_fake("v2:gather", digits="1", from_="+15550001111", to="+15550002222")
    response = bw_client.send(gather)
    assert b"An agent will call you." in response.body
    [call] = bandwidth_v2.requests_to("POST", f"/accounts/{bandwidth_v2.account_id}/calls")
    assert call.status == 201  # Bandwidth's answer: Created, with a Location
    assert call.json["to"] == "+15550009999"
    assert call.json["from"] == "+15550002222"
    assert call.json["answerUrl"] == "https://callbacks.example.com/callbacks"
    assert call.json["tag"] == "callback-for:+15550001111"


def test_other_digits_call_nobody(bw_client, bw_fake, bandwidth_v2) -> None:
    response = bw_client.send(bw_fake("v2:gather", digits="9"))
    assert b"Goodbye." in response.body
    assert bandwidth_v2.requests == []


def test_a_disconnect_is_acknowledged_without_a_body(bw_client, bw_fake) -> None:
    response = bw_client.send(bw_fake("disconnect", call_id="c-done", cause="busy"))
    assert (response.status, response.body) == (200, b"")
    assert fastapi_v2_app.ended["c-done"] == "busy"
