"""`bwhooks send` against a live pytest-httpserver, and `bwhooks listen` with `bwhooks send`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from bwhooks.auth import basic_authorization
from bwhooks.cli import main

GOOD = basic_authorization("u", "p")


def bandwidth_like_endpoint(httpserver: HTTPServer, status: int = 200) -> list[Request]:
    """An endpoint that challenges, then answers ``status`` to the right credentials."""
    received: list[Request] = []

    def handler(request: Request) -> Response:
        received.append(request)
        if request.headers.get("Authorization") != GOOD:
            return Response("", 401, {"WWW-Authenticate": 'Basic realm="x"'})
        return Response("<Response/>", status, content_type="application/xml")

    httpserver.expect_request("/callbacks").respond_with_handler(handler)
    return received


def test_send_does_the_challenge_and_applies_overrides(
    httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    received = bandwidth_like_endpoint(httpserver)
    status = main(
        [
            "send",
            "answer",
            httpserver.url_for("/callbacks"),
            "--user",
            "u",
            "--password",
            "p",
            "--set",
            "callId=c-cli",
            "--set",
            "tag=hello",
            "--set",
            "from_=+15551230000",
        ]
    )
    assert status == 0
    assert [r.headers.get("Authorization") for r in received] == [None, GOOD]
    payload = json.loads(received[1].get_data())
    assert (payload["eventType"], payload["callId"], payload["tag"]) == ("answer", "c-cli", "hello")
    assert payload["from"] == "+15551230000"
    assert payload["callUri"].endswith("/calls/c-cli")
    assert received[1].headers["User-Agent"].startswith("BandwidthAPI/v1")
    out = capsys.readouterr().out
    assert "POST answer 401 -> 200" in out
    assert "<Response/>" in out


def test_send_get_with_json_values(httpserver: HTTPServer) -> None:
    received = bandwidth_like_endpoint(httpserver)
    url = httpserver.url_for("/callbacks").replace(
        "http://", "http://u:p@"
    )  # credentials in the URL
    status = main(
        [
            "send",
            "conference-member",
            url,
            "--method",
            "get",
            "--set",
            "mute=true",
            "--set",
            "activeMembers=3",
        ]
    )
    assert status == 0
    assert received[1].method == "GET"
    assert (received[1].args["mute"], received[1].args["activeMembers"]) == ("true", "3")


@pytest.mark.parametrize("answer", [500, 404])
def test_send_exits_non_zero_unless_2xx(httpserver: HTTPServer, answer: int) -> None:
    bandwidth_like_endpoint(httpserver, status=answer)
    url = httpserver.url_for("/callbacks")
    assert main(["send", "sms", url, "--user", "u", "--password", "p"]) == 1


def test_send_wrong_credentials_exits_1(httpserver: HTTPServer) -> None:
    bandwidth_like_endpoint(httpserver)
    url = httpserver.url_for("/callbacks")
    assert main(["send", "sms", url, "--user", "u", "--password", "nope"]) == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["send", "answer", "http://127.0.0.1:9/cb", "--set", "colour=red"],
        ["send", "answer", "http://127.0.0.1:9/cb", "--set", "no-equals-sign"],
        ["send", "answer", "ftp://example.com/cb"],
    ],
)
def test_send_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "bwhooks send:" in capsys.readouterr().err


def test_send_to_nothing_exits_1() -> None:
    from support import free_port

    assert main(["send", "answer", f"http://127.0.0.1:{free_port()}/callbacks"]) == 1


def test_user_without_password_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["send", "answer", "http://127.0.0.1:9/cb", "--user", "u"])
    assert exited.value.code == 2


def spawn_listen(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    """``bwhooks listen --port 0 ARGS`` (in ``cwd``), its output piped, unbuffered."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("BWHOOKS_CREDENTIALS", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bwhooks", "listen", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def start_listen(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = spawn_listen(*args)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("bwhooks listening on http://127.0.0.1:"), line
    return process, line.split()[-1]


def stop(process: subprocess.Popen[str]) -> str:
    """Everything it printed: each event is printed (flushed) before its answer is sent, so
    what the client was answered is in the pipe already."""
    process.terminate()
    out, _ = process.communicate(timeout=10)
    return out


def test_listen_prints_what_send_sends() -> None:
    process, url = start_listen("--user", "u", "--password", "p")
    try:
        sent = subprocess.run(
            [
                sys.executable,
                "-m",
                "bwhooks",
                "send",
                "answer",
                url,
                "--user",
                "u",
                "--password",
                "p",
                "--set",
                "callId=c-listen",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        refused = subprocess.run(
            [
                sys.executable,
                "-m",
                "bwhooks",
                "send",
                "answer",
                url,
                "--user",
                "u",
                "--password",
                "wrong",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    finally:
        out = stop(process)
    assert sent.returncode == 0, sent.stderr
    assert "401 -> 200" in sent.stdout
    assert refused.returncode == 1
    assert "AnswerEvent" in out
    assert "call_id='c-listen'" in out
    assert out.count("AnswerEvent") == 1


def test_listen_serves_your_receiver(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_callbacks.py").write_text(
        "from bwhooks import BasicAuth, Receiver, SmsEvent\n"
        "receiver = Receiver(auth=BasicAuth(('me', 'pw')))\n"
        "@receiver.on(SmsEvent)\n"
        "def sms(event):\n"
        "    print('got sms:', event.text, flush=True)\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    process, url = start_listen("--app", "my_callbacks:receiver", "--path", "/bw")
    try:
        assert url.endswith("/bw")
        assert (
            main(
                [
                    "send",
                    "sms",
                    url,
                    "--user",
                    "me",
                    "--password",
                    "pw",
                    "--set",
                    "text=from the cli",
                ]
            )
            == 0
        )
    finally:
        out = stop(process)
    assert "got sms: from the cli" in out
