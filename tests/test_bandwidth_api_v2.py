"""The fake v2 REST API: bandwidth-sdk's own client works against it unchanged (OAuth2 and
Basic), and bad requests get the statuses and bodies Bandwidth's API documents."""

from __future__ import annotations

import json
from typing import Any

import bandwidth  # in the test extra: an import error fails the run, never a skip
import pytest
import urllib3
from bandwidth import ApiClient, CallsApi, MediaApi, MessagesApi, RecordingsApi
from bandwidth.exceptions import (
    BadRequestException,
    ConflictException,
    NotFoundException,
    UnauthorizedException,
)
from bandwidth.models import CreateCall, MessageRequest, UpdateCall

from bwhooks.auth import basic_authorization
from bwhooks.testing import FakeBandwidthApiV2

APPLICATION = "93de2206-9669-4e07-948d-329f4b722ee2"


def test_the_sdk_sends_a_message_creates_and_updates_a_call_with_oauth2(
    bandwidth_api_v2: FakeBandwidthApiV2,
) -> None:
    api = bandwidth_api_v2
    with ApiClient(api.sdk_configuration()) as client:
        message = MessagesApi(client).create_message(
            api.account_id,
            MessageRequest(
                application_id=APPLICATION,
                to=["+19195551234"],
                var_from="+19195554321",
                text="Your order is ready",
                tag="order-42",
            ),
        )
        assert message.id in api.messages
        assert (message.direction.value, message.owner, message.segment_count) == (
            "out",
            "+19195554321",
            1,
        )
        calls = CallsApi(client)
        created = calls.create_call(
            api.account_id,
            CreateCall(
                to="+19195551234",
                var_from="+19195554321",
                application_id=APPLICATION,
                answer_url="https://example.com/callbacks",
                tag="follow-up",
            ),
        )
        assert created.call_url == f"{api.voice_url}/calls/{created.call_id}"
        api.answer_call(created.call_id)  # the callee picks up
        calls.update_call(
            api.account_id,
            created.call_id,
            UpdateCall(redirect_url="https://example.com/callbacks/next"),
        )
        calls.update_call_bxml(
            api.account_id,
            created.call_id,
            "<Bxml><SpeakSentence>Your order is ready.</SpeakSentence></Bxml>",
        )
        calls.update_call(api.account_id, created.call_id, UpdateCall(state="completed"))
        state = calls.get_call_state(api.account_id, created.call_id)
        assert (state.state, state.disconnect_cause) == ("disconnected", "hangup")
    # one token fetched with the client credentials, then Bearer on every API call
    (token,) = api.requests_to("POST", "/oauth2/token")
    assert token.body == b"grant_type=client_credentials"
    calls_made = [r for r in api.requests if r.path != "/oauth2/token"]
    assert [(r.method, r.status) for r in calls_made] == [
        ("POST", 202),
        ("POST", 201),
        ("POST", 200),
        ("PUT", 204),
        ("POST", 200),
        ("GET", 200),
    ]
    sent = api.requests_to("POST", rf"/users/{api.account_id}/messages")[0].json
    assert sent["text"] == "Your order is ready"
    redirect = api.requests_to("POST", rf"/accounts/{api.account_id}/calls/c-[^/]+")[0].json
    assert redirect["redirectUrl"] == "https://example.com/callbacks/next"
    assert api.calls[created.call_id]["_bxml"] == [
        "<Bxml><SpeakSentence>Your order is ready.</SpeakSentence></Bxml>"
    ]


def test_the_sdk_with_basic_credentials_and_the_errors_it_sees(
    bandwidth_api_v2: FakeBandwidthApiV2,
) -> None:
    api = bandwidth_api_v2
    call_id = api.add_call()
    recording_id = api.add_recording(call_id, b"RIFF-audio")
    with ApiClient(api.sdk_configuration(oauth=False)) as client:
        recordings = RecordingsApi(client)
        (listed,) = recordings.list_call_recordings(api.account_id, call_id)
        assert listed.recording_id == recording_id
        audio = recordings.download_call_recording(api.account_id, call_id, recording_id)
        assert audio == b"RIFF-audio"
        assert recordings.list_call_recordings(api.account_id, "c-unknown") == []
        calls = CallsApi(client)
        with pytest.raises(NotFoundException) as missing:
            calls.get_call_state(api.account_id, "c-unknown")
        assert missing.value.data.description == "Call [c-unknown] not found"
        calls.update_call(api.account_id, call_id, UpdateCall(state="completed"))
        with pytest.raises(ConflictException):  # a call that ended cannot be redirected
            calls.update_call(api.account_id, call_id, UpdateCall(redirect_url="https://x.example"))
        with pytest.raises(BadRequestException):
            calls.update_call(api.account_id, api.add_call(), UpdateCall())  # no redirectUrl
        MediaApi(client).upload_media(
            api.account_id, "logo.png", b"\x89PNG", _content_type="image/png"
        )
        assert MediaApi(client).get_media(api.account_id, "logo.png") == b"\x89PNG"
        with pytest.raises(BadRequestException) as invalid:
            MessagesApi(client).create_message(
                api.account_id,
                MessageRequest(
                    application_id=APPLICATION, to=[], var_from="+19195554321", text="x"
                ),
            )
        assert invalid.value.data.field_errors[0].field_name == "to"
    with (
        ApiClient(
            bandwidth.Configuration(
                host=api.url, ignore_operation_servers=True, username="api-user", password="wrong"
            )
        ) as client,
        pytest.raises(UnauthorizedException),
    ):
        CallsApi(client).get_call_state(api.account_id, call_id)


class Answer:
    """A response, read: status, body, JSON."""

    def __init__(self, response: Any) -> None:
        self.status_code: int = response.status
        self.content: bytes = response.data

    def json(self) -> Any:
        return json.loads(self.content)


def call(method: str, url: str, body: str | bytes | None = None, **headers: str) -> Answer:
    return Answer(urllib3.request(method, url, body=body, headers=headers, timeout=10))


def post(api: FakeBandwidthApiV2, path: str, body: Any, **headers: str) -> Answer:
    sent = {"Authorization": api.authorization(), "Content-Type": "application/json", **headers}
    return call("POST", f"{api.url}{path}", json.dumps(body), **sent)


def test_a_request_missing_a_required_field_gets_the_apis_status_and_body(
    bandwidth_api_v2: FakeBandwidthApiV2,
) -> None:
    api = bandwidth_api_v2
    call = post(api, f"/accounts/{api.account_id}/calls", {"to": "+19195551234"})
    assert call.status_code == 400
    assert call.json() == {
        "type": "validation",
        "description": "Missing at least one required field. Required fields are "
        "[from, to, answerUrl, applicationId]",
        "id": None,
    }
    message = post(api, f"/users/{api.account_id}/messages", {"text": "hi", "from": "+19195554321"})
    assert message.status_code == 400
    assert message.json()["type"] == "request-validation"
    assert [e["fieldName"] for e in message.json()["fieldErrors"]] == ["to", "applicationId"]


def test_credentials_then_account_then_resource(bandwidth_api_v2: FakeBandwidthApiV2) -> None:
    api = bandwidth_api_v2
    url = f"{api.url}/accounts/{api.account_id}/calls/c-unknown"
    wrong = {"Authorization": basic_authorization("api-user", "nope")}
    assert call("GET", url, **wrong).json() == {
        "type": "authentication-error",
        "description": "The credentials provided were invalid",
        "id": None,
    }
    other_account = f"{api.url}/accounts/1234567/calls/c-unknown"
    good = {"Authorization": api.authorization()}
    assert call("GET", other_account, **good).status_code == 403
    assert call("GET", url, **good).status_code == 404
    messaging = call("GET", f"{api.url}/users/{api.account_id}/messages", **wrong)
    assert (messaging.status_code, messaging.json()) == (
        401,
        {"type": "unauthorized", "description": "Authentication Failed"},
    )
    expired = {"Authorization": "Bearer not-a-token"}
    assert call("GET", url, **expired).status_code == 401
    bad_client = call(
        "POST",
        api.token_url,
        "grant_type=client_credentials",
        Authorization=basic_authorization("client-id", "wrong"),
    )
    assert bad_client.status_code == 401


def test_bxml_and_content_type_errors(bandwidth_api_v2: FakeBandwidthApiV2) -> None:
    api = bandwidth_api_v2
    call_id = api.add_call()
    url = f"{api.voice_url}/calls/{call_id}/bxml"
    headers = {"Authorization": api.authorization(), "Content-Type": "application/xml"}
    assert call("PUT", url, "invalidBXML", **headers).status_code == 400
    ok = call("PUT", url, "<Bxml><Hangup/></Bxml>", **headers)
    assert ok.status_code == 204
    as_text = post(api, f"/accounts/{api.account_id}/calls", {}, **{"Content-Type": "text/plain"})
    assert as_text.status_code == 415
    search = call("GET", f"{api.messaging_url}/messages", Authorization=api.authorization())
    assert search.status_code == 400  # a search needs at least one parameter
