"""`bwhooks export`: recorded deliveries as fixtures with placeholders for personal data, and
the plugin's `bw_replay` delivering them to an app through CallbackClient."""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from bwhooks import BasicAuth, Event, Receiver, VoiceAnswerEvent
from bwhooks.adapters.wsgi import make_app
from bwhooks.fixtures import load_fixture, write_fixtures
from bwhooks.recording import Delivery, Recorder, typed
from bwhooks.testing import fake_payload

CALLER, CALLED, TEXT, MEDIA = (
    "+19195551234",
    "+19195556789",
    "meet me at 6",
    "https://m.example/a.jpg",
)


def recorded(payload: Any, answer: bytes, content_type: str = "application/xml") -> Delivery:
    body = json.dumps(payload).encode()
    headers = (("Content-Type", "application/json"), ("Authorization", "Basic dTpw"))
    events, refused = typed("POST", "/callbacks", "", headers, body)
    return Delivery(
        received_at=datetime.now(timezone.utc),
        method="POST",
        path="/callbacks",
        headers=headers,
        body=body,
        events=events,
        refused=refused,
        status=200,
        response_headers=(("Content-Type", content_type),),
        response_body=answer,
    )


def greeting(caller: str) -> bytes:
    return f"<Response><SpeakSentence>Hello {caller}</SpeakSentence></Response>".encode()


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    file = tmp_path / "r.sqlite3"
    answer = fake_payload("v2:answer", from_=CALLER, to=CALLED, account_id="55551234")
    answer = {**answer, "uui": "secret-uui", "sipHeaders": {"X-Secret": "value"}}
    message = fake_payload("message-received", message__from_=CALLER, message__text=TEXT)
    message[0]["message"]["media"] = [MEDIA]
    message[0]["message"]["to"] = [CALLED]
    with Recorder(file) as recorder:
        recorder.record(recorded(answer, greeting(CALLER)))
        recorder.record(recorded(message, b"", ""))
    return file


def test_exported_fixtures_replace_personal_data_consistently(
    recording: Path, tmp_path: Path
) -> None:
    with Recorder(recording) as recorder:
        paths = write_fixtures(recorder.deliveries(), tmp_path / "fixtures")
    assert [p.name for p in paths] == ["00001-answer.json", "00002-message-received.json"]
    text = "".join(p.read_text() for p in paths)
    for secret in (CALLER, CALLED, TEXT, MEDIA, "55551234", "secret-uui", '"value"', "dTpw"):
        assert secret not in text, secret
    answer, message = (load_fixture(p) for p in paths)
    voice, sms = json.loads(answer.body), json.loads(message.body)[0]
    assert voice["from"] == sms["message"]["from"] == "+15550100001"  # one caller, one placeholder
    assert voice["to"] == sms["message"]["to"][0] == "+15550100002"
    assert voice["accountId"] == "90000001"
    assert voice["uui"] == "<text 1>"
    assert voice["sipHeaders"] == {"X-Secret": "<sip 1>"}
    assert sms["message"]["text"] == "<text 2>"
    assert sms["message"]["media"] == ["https://media.example.com/placeholder-1"]
    assert answer.answer == greeting("+15550100001")  # the answer speaks the placeholder too
    assert (answer.status, answer.answer_content_type) == (200, "application/xml")
    assert answer.event_types == ("answer",)


# -- item 7: file names --------------------------------------------------------------------------


def test_fixture_file_names_are_safe_unique_and_written_owner_only(tmp_path: Path) -> None:
    hostile = ["../../escape", "a/b", "x" * 300, "answer\x00evil", "..", "answer", "answer"]
    deliveries = [recorded({"eventType": kind}, b"") for kind in hostile]  # ids all 0
    folder = tmp_path / "out"
    folder.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    (folder / "00000-answer.json").symlink_to(victim)  # planted where a fixture will go
    paths = write_fixtures(deliveries, folder)
    assert len(paths) == len({p.name for p in paths}) == len(hostile)
    assert sorted(folder.iterdir()) == sorted(paths)  # nothing written anywhere else
    assert not (tmp_path / "escape").exists()
    for path in paths:
        assert re.fullmatch(r"00000-[A-Za-z0-9_-]{1,80}\.json", path.name), path.name
        assert path.parent == folder
        assert not path.is_symlink()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert victim.read_text() == "untouched"
    assert {p.name for p in paths} >= {"00000-answer.json", "00000-answer-2.json"}
    assert "00000-delivery.json" in {p.name for p in paths}  # ".." names nothing


def test_export_on_the_command_line(recording: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bwhooks",
            "export",
            str(recording),
            str(tmp_path / "out"),
            "--type",
            "answer",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == f"1 fixtures written to {tmp_path / 'out'}"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["00001-answer.json"]
    missing = subprocess.run(
        [sys.executable, "-m", "bwhooks", "export", str(tmp_path / "no.sqlite3"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    occupied = tmp_path / "a-file"
    occupied.write_text("")
    refused = subprocess.run(
        [sys.executable, "-m", "bwhooks", "export", str(recording), str(occupied)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"bwhooks export: cannot write fixtures to {occupied}")
    assert "Traceback" not in refused.stderr


def app_speaking(caller_of: Any) -> Any:
    receiver = Receiver(auth=BasicAuth(("me", "pw")))

    @receiver.on(VoiceAnswerEvent)
    def answer(event: VoiceAnswerEvent) -> str:
        return greeting(caller_of(event)).decode()

    @receiver.on(Event)
    def everything_else(event: Event) -> None: ...

    return make_app(receiver)


@pytest.fixture
def bwhooks_credentials() -> tuple[str, str]:
    return ("me", "pw")


@pytest.fixture
def bwhooks_app(request: pytest.FixtureRequest) -> Any:
    """The app greets the caller (or, parametrized, someone else)."""
    speaks = getattr(request, "param", None)
    return app_speaking(lambda event: speaks or event.from_)


def test_bw_replay_delivers_fixtures_and_checks_the_answers(
    recording: Path, tmp_path: Path, bw_replay: Any, bw_client: Any
) -> None:
    with Recorder(recording) as recorder:
        answer, message = write_fixtures(recorder.deliveries(), tmp_path)
    assert bw_replay(answer).status == 200  # the app greets the placeholder it is given
    assert bw_client.exchange == (401, 200)  # the challenge first, as Bandwidth does
    assert bw_replay(message).status == 200


@pytest.mark.parametrize("bwhooks_app", ["someone else"], indirect=True)
def test_bw_replay_fails_when_the_answer_changed(
    recording: Path, tmp_path: Path, bw_replay: Any
) -> None:
    with Recorder(recording) as recorder:
        answer, _ = write_fixtures(recorder.deliveries(), tmp_path)
    with pytest.raises(pytest.fail.Exception, match="recorded 200"):
        bw_replay(answer)
