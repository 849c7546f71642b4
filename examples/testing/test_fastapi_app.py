"""Testing the FastAPI example's handlers end to end, with bwhooks' pytest fixtures."""

import fastapi_app
import pytest
from fastapi import FastAPI


@pytest.fixture
def bwhooks_app() -> FastAPI:
    return fastapi_app.app


def test_mms_reaches_the_inbox(bw_client, bw_fake) -> None:
    response = bw_client.send(bw_fake("mms", text="a photo"))
    assert response.status == 200
    assert fastapi_app.inbox[-1].text == "a photo"
    assert len(fastapi_app.inbox[-1].media) == 2


def test_unknown_events_are_acknowledged(bw_client) -> None:
    assert bw_client.send({"eventType": "somethingNew", "callId": "c-1"}).status == 200


@pytest.mark.bwhooks(path="/audit")  # bw_client sends to the app's own route
def test_audit_route_gets_the_verified_event(bw_client, bw_fake) -> None:
    response = bw_client.send(bw_fake("v1:dtmf", dtmf_digit="7"))
    assert response.body == b'{"received":"dtmf"}'


def test_wrong_credentials_are_refused(bwhooks_app) -> None:
    from bwhooks.testing import CallbackClient

    intruder = CallbackClient(bwhooks_app, credentials=("test-user", "guess"))
    assert intruder.send({"eventType": "answer"}).status == 401
