"""The fake Bandwidth REST API, over real HTTP through the ``bandwidth_api`` fixture."""

from __future__ import annotations

import json
from http.client import HTTPConnection
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

import pytest

from bwhooks.testing import FakeBandwidthApi


def call(
    api: FakeBandwidthApi,
    method: str,
    path: str,
    body: Any = None,
    *,
    auth: str | None = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    sent = {"Authorization": auth or api.authorization(), **(headers or {})}
    if body is not None:
        sent["Content-Type"] = "application/json"
    request = Request(api.user_url + path, data=data, method=method, headers=sent)
    try:
        with urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def error_code(body: bytes) -> str:
    parsed = json.loads(body)
    assert {"category", "code", "message"} <= set(parsed)
    return str(parsed["code"])


def test_credentials_are_checked(bandwidth_api: FakeBandwidthApi) -> None:
    status, _, body = call(bandwidth_api, "GET", "/media", auth="Basic d3Jvbmc6d3Jvbmc=")
    assert status == 401
    assert json.loads(body)["category"] == "authentication"
    assert bandwidth_api.requests[0].status == 401
    assert "Authorization" not in bandwidth_api.requests[0].headers  # never recorded


def test_other_users_are_refused(bandwidth_api: FakeBandwidthApi) -> None:
    url = bandwidth_api.url + "/users/u-someone-else/calls"
    request = Request(url, method="GET", headers={"Authorization": bandwidth_api.authorization()})
    with pytest.raises(HTTPError) as caught:
        urlopen(request, timeout=10)
    caught.value.close()
    assert caught.value.code == 401


def test_create_call_then_control_it(bandwidth_api: FakeBandwidthApi) -> None:
    status, headers, _ = call(bandwidth_api, "POST", "/calls", {"from": "+1919", "to": "+1920"})
    assert status == 201
    call_id = headers["Location"].rsplit("/", 1)[1]
    assert headers["Location"] == f"/v1/users/{bandwidth_api.user_id}/calls/{call_id}"
    assert call(bandwidth_api, "POST", f"/calls/{call_id}", {"state": "active"})[0] == 200
    speak = {"sentence": "Hello", "voice": "kate", "loopEnabled": "false"}
    assert call(bandwidth_api, "POST", f"/calls/{call_id}/audio", speak)[0] == 200
    assert call(bandwidth_api, "POST", f"/calls/{call_id}/dtmf", {"dtmfOut": "1WWW,59#"})[0] == 200
    status, headers, _ = call(bandwidth_api, "POST", f"/calls/{call_id}/gather", {"maxDigits": "4"})
    assert status == 201
    assert "/gather/" in headers["Location"]
    duplicate = call(bandwidth_api, "POST", f"/calls/{call_id}/gather", {"maxDigits": 4})
    assert (duplicate[0], error_code(duplicate[2])) == (409, "call-duplicate-gather-error")
    assert call(bandwidth_api, "POST", f"/calls/{call_id}", {"state": "completed"})[0] == 200
    again = call(bandwidth_api, "POST", f"/calls/{call_id}", {"state": "active"})
    assert (again[0], error_code(again[2])) == (403, "call-invalid-state")
    assert [r.path.rsplit("/", 1)[-1] for r in bandwidth_api.requests_to("POST", r"/calls/.*")] == [
        call_id,
        "audio",
        "dtmf",
        "gather",
        "gather",
        call_id,
        call_id,
    ]
    assert bandwidth_api.calls[call_id]["state"] == "completed"


def test_transfer_answers_201_with_the_new_leg(bandwidth_api: FakeBandwidthApi) -> None:
    call_id = bandwidth_api.add_call()
    status, headers, _ = call(
        bandwidth_api, "POST", f"/calls/{call_id}", {"state": "transferring", "transferTo": "+1555"}
    )
    assert status == 201
    assert headers["Location"].rsplit("/", 1)[1] in bandwidth_api.calls


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/calls", {"from": "+1919"}, 400, "missing-property"),
        ("/calls/c-nope", {"state": "completed"}, 404, "call-not-found"),
        ("/calls/{call}", {"state": "dancing"}, 400, "validation-error"),
        ("/calls/{call}", {"state": "transferring"}, 400, "missing-property"),
        ("/calls/{call}/audio", {"sentence": "x" * 1001}, 400, "validation-error"),
        ("/calls/{call}/dtmf", {"dtmfOut": "12x"}, 400, "validation-error"),
        ("/calls/{call}/gather", {"maxDigits": 31}, 400, "validation-error"),
        ("/calls/{call}/gather", {"maxDigits": "abc"}, 400, "validation-error"),
        ("/calls/{call}/gather", {"maxDigits": None}, 400, "validation-error"),
        ("/calls/{call}", {"state": ["active"]}, 400, "validation-error"),
        ("/calls/{call}", {"state": {"a": 1}}, 400, "validation-error"),
        ("/messages", {"from": "+1", "to": "+2"}, 400, "missing-property"),
        (
            "/messages",
            {"from": "+1", "to": "+2", "text": "x", "media": ["u"], "receiptRequested": "all"},
            400,
            "validation-error",
        ),
        ("/nowhere", {}, 404, "resource-not-found"),
    ],
)
def test_documented_errors(
    bandwidth_api: FakeBandwidthApi, path: str, body: Any, status: int, code: str
) -> None:
    path = path.format(call=bandwidth_api.add_call())
    answer = call(bandwidth_api, "POST", path, body)
    assert (answer[0], error_code(answer[2])) == (status, code)


def test_messages_single_and_batch(bandwidth_api: FakeBandwidthApi) -> None:
    status, headers, _ = call(
        bandwidth_api, "POST", "/messages", {"from": "+1", "to": "+2", "text": "hi"}
    )
    assert status == 201
    message_id = headers["Location"].rsplit("/", 1)[1]
    assert json.loads(call(bandwidth_api, "GET", f"/messages/{message_id}")[2])["text"] == "hi"
    batch = [{"from": "+1", "to": "+2", "text": "a"}, {"from": "+1", "to": " ", "text": "b"}]
    status, _, body = call(bandwidth_api, "POST", "/messages", batch)
    results = json.loads(body)
    assert status == 202
    assert [r["result"] for r in results] == ["accepted", "error"]


def test_recording_media_download_and_upload(bandwidth_api: FakeBandwidthApi) -> None:
    call_id = bandwidth_api.add_call()
    recording_id = bandwidth_api.add_recording(call_id, b"RIFF-audio-bytes")
    recording = json.loads(call(bandwidth_api, "GET", f"/recordings/{recording_id}")[2])
    assert recording["state"] == "complete"
    media_name = recording["media"].rsplit("/", 1)[1]
    status, headers, data = call(bandwidth_api, "GET", f"/media/{media_name}")
    assert (status, data, headers["Content-Type"]) == (200, b"RIFF-audio-bytes", "audio/wav")
    listed = json.loads(call(bandwidth_api, "GET", f"/calls/{call_id}/recordings")[2])
    assert [r["id"] for r in listed] == [recording_id]
    upload = call(
        bandwidth_api, "PUT", "/media/hello.mp3", raw=b"ID3", headers={"Content-Type": "audio/mpeg"}
    )
    assert upload[0] == 200
    assert bandwidth_api.media["hello.mp3"] == (b"ID3", "audio/mpeg")
    assert call(bandwidth_api, "DELETE", "/media/hello.mp3")[0] == 200
    missing = call(bandwidth_api, "GET", "/media/hello.mp3")
    assert (missing[0], error_code(missing[2])) == (404, "media-not-found")


def test_conferences(bandwidth_api: FakeBandwidthApi) -> None:
    status, headers, _ = call(bandwidth_api, "POST", "/conferences", {"from": "+1919"})
    conference = headers["Location"].rsplit("/", 1)[1]
    member = call(
        bandwidth_api,
        "POST",
        f"/conferences/{conference}/members",
        {"callId": bandwidth_api.add_call(), "mute": "true"},
    )
    assert (status, member[0]) == (201, 201)
    assert (
        call(bandwidth_api, "POST", f"/conferences/{conference}/audio", {"sentence": "hi"})[0]
        == 200
    )
    assert (
        call(bandwidth_api, "POST", f"/conferences/{conference}", {"state": "completed"})[0] == 200
    )
    closed = call(bandwidth_api, "POST", f"/conferences/{conference}", {"mute": True})
    assert (closed[0], error_code(closed[2])) == (403, "conference-error")


def test_a_gather_is_read_and_stopped(bandwidth_api: FakeBandwidthApi) -> None:
    call_id = bandwidth_api.add_call()
    _, headers, _ = call(bandwidth_api, "POST", f"/calls/{call_id}/gather", {"maxDigits": 4})
    gather = headers["Location"].split("/v1/users/u-test", 1)[1]
    assert json.loads(call(bandwidth_api, "GET", gather)[2])["state"] == "started"
    other_call = gather.replace(call_id, bandwidth_api.add_call())
    assert call(bandwidth_api, "GET", other_call)[0] == 404  # under its own call only
    wrong = call(bandwidth_api, "POST", gather, {"state": "started"})
    assert (wrong[0], error_code(wrong[2])) == (400, "validation-error")
    assert call(bandwidth_api, "POST", gather, {"state": "completed"})[0] == 200
    assert json.loads(call(bandwidth_api, "GET", gather)[2])["state"] == "completed"
    again = call(bandwidth_api, "POST", f"/calls/{call_id}/gather", {"maxDigits": 4})
    assert again[0] == 201  # the first one has stopped


def test_a_conference_holds_at_most_20_members(bandwidth_api: FakeBandwidthApi) -> None:
    _, headers, _ = call(bandwidth_api, "POST", "/conferences", {"from": "+1919"})
    members = headers["Location"].split("/v1/users/u-test", 1)[1] + "/members"
    for _ in range(20):
        assert call(bandwidth_api, "POST", members, {"callId": bandwidth_api.add_call()})[0] == 201
    full = call(bandwidth_api, "POST", members, {"callId": bandwidth_api.add_call()})
    assert (full[0], error_code(full[2])) == (403, "conference-max-members")
    silent = call(bandwidth_api, "POST", members.replace("/members", "/audio"), {})
    assert (silent[0], error_code(silent[2])) == (400, "validation-error")
    assert [m["mute"] for m in bandwidth_api.members.values()] == [False] * 20


def test_media_list_batches_and_uploads_without_a_length(bandwidth_api: FakeBandwidthApi) -> None:
    url = bandwidth_api.add_media("hello.wav", b"RIFF")
    listed = json.loads(call(bandwidth_api, "GET", "/media")[2])
    assert listed == [{"mediaName": "hello.wav", "contentLength": 4, "content": url}]
    too_many = call(
        bandwidth_api, "POST", "/messages", [{"from": "+1", "to": "+2", "text": "a"}] * 51
    )
    assert (too_many[0], error_code(too_many[2])) == (400, "multi-message-limit")
    assert bandwidth_api.messages == {}
    server = urlsplit(bandwidth_api.url)
    connection = HTTPConnection(server.hostname or "", server.port, timeout=10)
    headers = {"Authorization": bandwidth_api.authorization(), "Content-Type": "audio/mpeg"}
    path = f"{server.path}/users/{bandwidth_api.user_id}/media/streamed.mp3"
    connection.request("PUT", path, body=iter([b"ID3"]), headers=headers, encode_chunked=True)
    with connection.getresponse() as response:  # chunked: no Content-Length, as Bandwidth refuses
        assert (response.status, error_code(response.read())) == (400, "validation-error")
    connection.close()
    assert "streamed.mp3" not in bandwidth_api.media
