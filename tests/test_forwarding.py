"""`bwhooks listen --forward URL`: a synchronous relay in front of your own app, over real HTTP,
recording both sides; and the relay function alone against pytest-httpserver."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from support import free_port
from test_cli import start_listen, stop
from test_recording import send
from werkzeug import Request, Response

from bwhooks.forwarding import forward
from bwhooks.recording import Recorder

BXML = "<Response><SpeakSentence>forwarded</SpeakSentence></Response>"


def test_the_relay_answers_with_your_apps_answer_challenge_and_bxml_included(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_app.py").write_text(
        "from bwhooks import AnswerEvent, BasicAuth, Receiver\n"
        "receiver = Receiver(auth=BasicAuth(('me', 'pw')))\n"
        "@receiver.on(AnswerEvent)\n"
        "def answer(event):\n"
        f"    print('app got', event.call_id, flush=True)\n"
        f"    return {BXML!r}\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    app, app_url = start_listen("--app", "my_app:receiver", "--path", "/bw")
    file = tmp_path / "relayed.sqlite3"
    relay, relay_url = start_listen("--forward", app_url, "--record", str(file))
    try:
        assert relay.stdout is not None
        assert relay.stdout.readline().strip() == f"forwarding every delivery to {app_url}"
        sent = send(relay_url, "answer", "--user", "me", "--password", "pw", "--set", "callId=c-f")
        wrong = send(relay_url, "answer", "--user", "me", "--password", "nope")
    finally:
        stop(relay)
        app_output = stop(app)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "401 -> 200" in sent.stdout  # the app's own challenge came back through the relay
    assert wrong.returncode == 1
    assert "app got c-f" in app_output
    with Recorder(file) as recorder:
        challenge, answered, *refused = recorder.deliveries()
    assert {d.kind for d in (challenge, answered, *refused)} == {"forwarded"}
    assert challenge.status == 401
    assert ("WWW-Authenticate", 'Basic realm="bwhooks"') in challenge.response_headers
    assert answered.challenge_id == challenge.id
    assert answered.status == 200
    assert answered.response_body.decode() == BXML
    assert dict(answered.response_headers)["Content-Type"].startswith("application/xml")
    assert answered.events is not None
    assert answered.events[0]["fields"]["call_id"] == "c-f"
    assert [d.status for d in refused] == [401, 401]


def test_a_target_that_is_down_is_answered_502(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}/callbacks"
    file = tmp_path / "down.sqlite3"
    relay, relay_url = start_listen("--forward", down, "--record", str(file))
    try:
        sent = send(relay_url, "sms", "--user", "u", "--password", "p")
    finally:
        stop(relay)
    assert sent.returncode == 1
    assert "502" in sent.stdout + sent.stderr
    with Recorder(file) as recorder:
        (only,) = recorder.deliveries()
    assert only.status == 502
    assert "failed" in json.loads(only.response_body)["error"]


def test_a_target_slower_than_the_timeout_is_answered_504(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    answer = forward(httpserver.url_for("/slow"), "POST", "", [], b"{}", timeout=0.3)
    assert answer.status == 504
    assert "did not answer in 0.3s" in json.loads(answer.body)["error"]


def test_the_request_arrives_as_sent_and_the_answer_comes_back_as_given(
    httpserver: HTTPServer,
) -> None:
    seen: list[Any] = []

    def app(request: Request) -> Response:
        seen.append((request.method, request.query_string, dict(request.headers), request.data))
        return Response(
            "<Response/>", status=202, headers={"Content-Type": "application/xml", "X-Mine": "1"}
        )

    httpserver.expect_request("/cb").respond_with_handler(app)
    body = b'{"eventType": "answer",  "callId": "c-1"}'  # spacing kept: bytes as sent
    headers = [("Authorization", "Basic bWU6cHc="), ("Content-Type", "application/json")]
    answer = forward(httpserver.url_for("/cb"), "POST", "a=1", headers, body)
    ((method, query, sent_headers, sent_body),) = seen
    assert (method, query, sent_body) == ("POST", b"a=1", body)
    assert sent_headers["Authorization"] == "Basic bWU6cHc="
    assert sent_headers["Content-Length"] == str(len(body))
    assert answer.status == 202
    assert answer.body == b"<Response/>"
    assert answer.headers["X-Mine"] == "1"
    assert answer.headers["Content-Type"] == "application/xml"


def test_forward_refuses_what_is_no_http_url() -> None:
    with pytest.raises(ValueError, match="http"):
        forward("ftp://example.com/x", "POST", "", [], b"")


def test_a_body_over_the_bound_is_answered_413_and_not_relayed(httpserver: HTTPServer) -> None:
    import io

    from bwhooks.forwarding import ForwardingApp

    app = ForwardingApp(httpserver.url_for("/cb"), max_body_size=100)
    body = b'{"eventType": "sms", "text": "' + b"x" * 500 + b'"}'
    started: list[str] = []
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    start_response: Any = lambda status, headers, exc_info=None: started.append(status)  # noqa: E731
    answer = app(environ, start_response)
    assert [status[:4] for status in started] == ["413 "]
    assert b"body over 100 bytes" in b"".join(answer)
    assert httpserver.log == []  # nothing reached the app
