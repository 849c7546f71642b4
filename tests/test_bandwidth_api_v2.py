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


def send(api: FakeBandwidthApiV2, method: str, url: str, body: Any = None) -> Answer:
    """A call as the API user, with a JSON body when there is one."""
    headers = {"Authorization": api.authorization()}
    if body is None:
        return call(method, url, **headers)
    return call(method, url, json.dumps(body), **headers, **{"Content-Type": "application/json"})


def test_conferences_and_their_members(bandwidth_api_v2: FakeBandwidthApiV2) -> None:
    api = bandwidth_api_v2
    first, second = api.add_call(), api.add_call()
    conference_id = api.add_conference("room", first, second)
    api.add_conference("other room")
    url = f"{api.voice_url}/conferences/{conference_id}"
    listed = send(api, "GET", f"{api.voice_url}/conferences?name=room").json()
    assert [c["id"] for c in listed] == [conference_id]
    assert "_members" not in listed[0]  # the fake's own fields are never shown
    shown = send(api, "GET", url).json()
    assert [m["callId"] for m in shown["activeMembers"]] == [first, second]
    assert shown["activeMembers"][0]["memberUrl"] == f"{url}/members/{first}"
    assert send(api, "PUT", f"{url}/members/{first}", {"mute": True, "x": 1}).status_code == 204
    member = send(api, "GET", f"{url}/members/{first}").json()
    assert (member["mute"], member["hold"], "x" in member) == (True, False, False)
    assert send(api, "GET", f"{url}/members/c-unknown").json() == {
        "type": "validation",
        "description": "Member [c-unknown] not found",
        "id": None,
    }
    paused = send(api, "POST", url, {"status": "paused"})
    assert (paused.status_code, paused.json()["description"]) == (400, "Invalid status: paused")
    assert send(api, "POST", url, {"status": "active"}).status_code == 400  # no redirectUrl
    assert send(api, "POST", url, {"redirectUrl": "https://example.com/next"}).status_code == 204
    headers = {"Authorization": api.authorization(), "Content-Type": "application/xml"}
    assert call("PUT", f"{url}/bxml", "<Bxml><Hangup/></Bxml>", **headers).status_code == 204
    assert api.conferences[conference_id]["_bxml"] == ["<Bxml><Hangup/></Bxml>"]
    assert send(api, "POST", url, {"status": "completed"}).status_code == 204
    ended = send(api, "GET", url).json()
    assert ended["activeMembers"] == []
    assert ended["completedTime"] is not None
    missing = send(api, "GET", f"{api.voice_url}/conferences/conf-unknown")
    assert (missing.status_code, missing.json()["description"]) == (
        404,
        "Conference [conf-unknown] not found",
    )


def test_recordings_their_media_and_transcriptions(bandwidth_api_v2: FakeBandwidthApiV2) -> None:
    api = bandwidth_api_v2
    call_id = api.add_call(to="+19195551234")
    recording_id = api.add_recording(call_id, b"RIFF-audio")
    url = f"{api.voice_url}/calls/{call_id}/recordings/{recording_id}"
    (listed,) = send(api, "GET", f"{api.voice_url}/recordings").json()
    assert (listed["recordingId"], listed["to"], "_media" in listed) == (
        recording_id,
        "+19195551234",
        False,
    )
    elsewhere = send(api, "GET", f"{api.voice_url}/calls/c-other/recordings/{recording_id}")
    assert elsewhere.status_code == 404  # a recording is found under its own call only
    assert send(api, "GET", f"{url}/transcription").status_code == 404
    assert (
        send(api, "POST", f"{url}/transcription", {"callbackUrl": "https://x"}).status_code == 204
    )
    transcript = send(api, "GET", f"{url}/transcription").json()["transcripts"][0]
    assert transcript["text"] == "Hello from the fake."
    assert send(api, "GET", url).json()["transcription"]["status"] == "available"
    assert send(api, "DELETE", f"{url}/transcription").status_code == 204
    assert send(api, "GET", f"{url}/transcription").status_code == 404
    audio = call("GET", f"{url}/media", Authorization=api.authorization())
    assert (audio.status_code, audio.content) == (200, b"RIFF-audio")
    assert send(api, "DELETE", f"{url}/media").status_code == 204
    gone = send(api, "GET", f"{url}/media")
    assert (gone.status_code, gone.json()["description"]) == (
        404,
        f"Recording [{recording_id}] media not found",
    )
    assert send(api, "GET", url).json()["mediaUrl"] is None
    assert send(api, "DELETE", url).status_code == 204
    assert send(api, "DELETE", url).status_code == 404
    assert api.recordings == {}


def test_message_search_and_media(bandwidth_api_v2: FakeBandwidthApiV2) -> None:
    api = bandwidth_api_v2
    sender, to = "+19195554321", ["+19195551234", "+19195551235"]
    message = {"applicationId": APPLICATION, "from": sender, "to": to}
    sms = post(api, f"/users/{api.account_id}/messages", {**message, "text": "x" * 161}).json()
    mms = post(api, f"/users/{api.account_id}/messages", {**message, "media": ["https://m"]})
    assert (sms["segmentCount"], mms.json()["segmentCount"]) == (2, 1)
    search = f"{api.messaging_url}/messages"
    found = send(api, "GET", f"{search}?messageId={sms['id']}").json()
    assert found["totalCount"] == 1
    assert found["messages"][0]["messageType"] == "sms"
    assert found["messages"][0]["recipientCount"] == 2
    by_recipient = send(api, "GET", f"{search}?destinationTn=%2B19195551235").json()
    assert [m["messageType"] for m in by_recipient["messages"]] == ["sms", "mms"]
    assert send(api, "GET", f"{search}?sourceTn=%2B19195550000").json()["totalCount"] == 0
    media = f"{api.messaging_url}/media"
    as_json = send(api, "PUT", f"{media}/logo.png", {})
    assert (as_json.status_code, as_json.json()["type"]) == (415, "unsupported-content-type")
    api.add_media("logo.png", b"\x89PNG")
    (listed,) = send(api, "GET", media).json()
    assert listed == {"content": f"{media}/logo.png", "contentLength": 4, "mediaName": "logo.png"}
    assert send(api, "DELETE", f"{media}/logo.png").status_code == 204
    assert send(api, "DELETE", f"{media}/logo.png").status_code == 204  # twice is no error
    missing = send(api, "GET", f"{media}/logo.png")
    assert (missing.status_code, missing.json()) == (
        404,
        {"type": "not-found", "description": "Media logo.png not found"},
    )


@pytest.mark.parametrize(
    ("change", "description"),
    [
        ({"to": "12345"}, "Invalid to: must be an E164 telephone number"),
        ({"from": "sip:me@example.com"}, "Invalid from: must be an E164 telephone number"),
        ({"answerUrl": "ftp://example.com"}, "Invalid answerUrl: only http and https are allowed."),
        ({"answerMethod": "PUT"}, "Invalid answerUrl method. Supported methods: [POST, GET]"),
        ({"callTimeout": 301}, "callTimeout must be within the range [1, 300], but was 301"),
        ({"priority": "1"}, "priority must be within the range [1, 5], but was 1"),
    ],
)
def test_a_call_the_api_refuses(
    bandwidth_api_v2: FakeBandwidthApiV2, change: dict[str, Any], description: str
) -> None:
    api = bandwidth_api_v2
    body = {
        "from": "+19195554321",
        "to": "+19195551234",
        "answerUrl": "https://example.com/answer",
        "applicationId": APPLICATION,
    }
    refused = post(api, f"/accounts/{api.account_id}/calls", {**body, **change})
    assert (refused.status_code, refused.json()["description"]) == (400, description)
    assert api.calls == {}


def test_each_api_words_its_own_errors(bandwidth_api_v2: FakeBandwidthApiV2) -> None:
    api = bandwidth_api_v2
    assert send(api, "DELETE", f"{api.voice_url}/calls").json() == {
        "type": "validation",
        "description": "Method Not Allowed",
        "id": None,
    }
    assert send(api, "DELETE", f"{api.messaging_url}/messages").json() == {
        "type": "method-not-allowed",
        "description": "Method Not Allowed",
    }
    nowhere = send(api, "GET", f"{api.messaging_url}/nowhere")
    assert nowhere.status_code == 404
    assert nowhere.json()["path"] == f"/api/v2/users/{api.account_id}/nowhere"
    as_text = post(api, f"/users/{api.account_id}/messages", {}, **{"Content-Type": "text/plain"})
    assert (as_text.status_code, as_text.json()["type"]) == (415, "unsupported-content-type")
    not_an_object = post(api, f"/users/{api.account_id}/messages", ["a list"])
    assert (not_an_object.status_code, not_an_object.json()["type"]) == (400, "request-validation")
    statistics = send(api, "GET", f"{api.voice_url}/statistics").json()
    assert statistics == {"currentCallQueueSize": 0, "maxCallQueueSize": 900}
    call_id = api.add_call()
    recording = f"{api.voice_url}/calls/{call_id}/recording"
    assert send(api, "PUT", recording, {"state": "stopped"}).status_code == 400
    assert send(api, "PUT", recording, {"state": "paused"}).status_code == 200
    assert api.calls[call_id]["_recording"] == "paused"


def test_what_a_test_writes_into_the_fake_is_what_it_serves(
    bandwidth_api_v2: FakeBandwidthApiV2,
) -> None:
    api = bandwidth_api_v2
    api.calls["c-seeded"] = {"callId": "c-seeded", "state": "answered", "_private": 1}
    assert send(api, "GET", f"{api.voice_url}/calls/c-seeded").json() == {
        "callId": "c-seeded",
        "state": "answered",
    }
    api.token_lifetime = 60
    grant = call(
        "POST",
        api.token_url,
        "grant_type=client_credentials",
        Authorization=basic_authorization(api.client_id, api.client_secret),
        **{"Content-Type": "application/x-www-form-urlencoded"},
    ).json()
    assert grant["expires_in"] == 60
    api.tokens[grant["access_token"]] = 0.0  # expired
    bearer = {"Authorization": f"Bearer {grant['access_token']}"}
    assert call("GET", f"{api.voice_url}/statistics", **bearer).status_code == 401
    api.requests = []
    send(api, "GET", f"{api.voice_url}/statistics")
    assert [(r.path, r.status) for r in api.requests] == [
        (f"/accounts/{api.account_id}/statistics", 200)
    ]
