"""`bwhooks replay FILE URL`: recorded deliveries sent again to a second app over real HTTP,
the challenge first, the answers compared (BXML as XML)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

import pytest
from test_cli import start_listen, stop
from test_recording import send

from bwhooks.devtools.recording import Delivery, Recorder
from bwhooks.devtools.replaying import same_answer
from bwhooks.http import CallbackResponse

APP = (
    "from bwhooks import AnswerEvent, BasicAuth, Receiver\n"
    "receiver = Receiver(auth=BasicAuth(('me', 'pw')))\n"
    "@receiver.on(AnswerEvent)\n"
    "def answer(event):\n"
    "    return {bxml!r}\n"
)


def replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bwhooks", "replay", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_recorded_deliveries_replay_into_a_second_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "first_app.py").write_text(APP.format(bxml="<Response><Hangup/></Response>"))
    # The same document written another way: equal as XML, not as bytes.
    (tmp_path / "second_app.py").write_text(
        APP.format(bxml="<Response>\n  <Hangup />\n</Response>")
    )
    (tmp_path / "changed_app.py").write_text(APP.format(bxml="<Response><Pause/></Response>"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    recorded, second, changed = tmp_path / "r.sqlite3", tmp_path / "s.sqlite3", tmp_path / "c"
    first, first_url = start_listen("--app", "first_app:receiver", "--record", str(recorded))
    try:
        assert send(first_url, "answer", "--user", "me", "--password", "pw").returncode == 0
        assert send(first_url, "sms", "--user", "me", "--password", "pw").returncode == 0
    finally:
        stop(first)
    app, url = start_listen("--app", "second_app:receiver", "--record", str(second))
    try:
        again = replay(str(recorded), url, "--user", "me", "--password", "pw", "--diff")
        typed = replay(str(recorded), url, "--user", "me", "--password", "pw", "--type", "sms")
        refused = replay(str(recorded), url, "--user", "me", "--password", "wrong")
        by_url = replay(str(recorded), url.replace("://", "://me:pw@"), "--id", "2")
    finally:
        stop(app)
    assert again.returncode == 0, again.stdout + again.stderr
    lines = again.stdout.splitlines()
    assert lines[0] == "#2 POST [answer] 401 -> 200 (recorded 200): same answer"
    assert lines[1] == "#4 POST [sms] 401 -> 200 (recorded 200): same answer"
    assert lines[-1] == "2 replayed, 0 failed"
    assert typed.stdout.splitlines()[0].startswith("#4 POST [sms]")
    assert refused.returncode == 1  # an answer that is not 2xx fails the run
    assert "2 replayed, 2 failed" in refused.stdout
    assert by_url.returncode == 0
    assert by_url.stdout.splitlines()[-1] == "1 replayed, 0 failed"
    with Recorder(recorded) as original, Recorder(second) as replayed:
        sent = {d.id: d for d in original.deliveries()}
        received = [d for d in replayed.deliveries() if d.status == 200]
    assert {d.kind for d in received} == {"replayed"}
    assert [d.replay_of for d in received[:2]] == [2, 4]
    for delivery in received[:2]:
        assert delivery.replay_of is not None
        assert delivery.body == sent[delivery.replay_of].body  # byte for byte
        assert delivery.header("Content-Type") == sent[delivery.replay_of].header("Content-Type")
    # --diff fails when the app now answers something else.
    app, url = start_listen("--app", "changed_app:receiver", "--record", str(changed))
    try:
        differs = replay(str(recorded), url, "--user", "me", "--password", "pw", "--diff")
        tolerated = replay(str(recorded), url, "--user", "me", "--password", "pw")
    finally:
        stop(app)
    assert differs.returncode == 1
    assert "#2 POST [answer] 401 -> 200 (recorded 200): differs" in differs.stdout
    assert "<Pause/>" in differs.stdout
    assert tolerated.returncode == 0


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert replay(str(tmp_path / "missing.sqlite3"), "http://127.0.0.1:9/cb").returncode == 2
    Recorder(tmp_path / "f.sqlite3").close()
    assert replay(str(tmp_path / "f.sqlite3"), "ftp://x/cb").returncode == 2


def recorded(status: int, body: bytes) -> Delivery:
    return Delivery(
        received_at=datetime.now(timezone.utc),
        method="POST",
        path="/cb",
        status=status,
        response_body=body,
    )


@pytest.mark.parametrize(
    ("before", "after", "same"),
    [
        (
            b'<Response><Speak a="1" b="2">hi</Speak></Response>',
            b'<Response>\n <Speak b="2" a="1">hi</Speak>\n</Response>',
            True,
        ),
        (b"<Response><Hangup/></Response>", b"<Response><Pause/></Response>", False),
        (b'{"error": "x"}', b'{ "error" : "x" }', True),
        (b"", b"", True),
        (b"plain", b"plain ", False),
    ],
)
def test_answers_compare_as_xml_json_or_bytes(before: bytes, after: bytes, same: bool) -> None:
    assert same_answer(recorded(200, before), CallbackResponse(200, (), after)) is same
    assert not same_answer(recorded(200, before), CallbackResponse(201, (), before))


def bwhooks(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bwhooks", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_a_file_that_is_no_recording_is_left_byte_for_byte_as_it_was(
    tmp_path: Path, journal: str
) -> None:
    folder = tmp_path / "theirs"
    folder.mkdir()
    other = folder / "other.db"  # another application's SQLite file
    with closing(sqlite3.connect(other)) as db:
        db.execute(f"PRAGMA journal_mode={journal}")
        db.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO accounts (name) VALUES ('jane')")
        db.commit()
    before, files = other.read_bytes(), sorted(folder.iterdir())
    runs = [
        bwhooks("export", str(other), str(tmp_path / "out")),
        bwhooks("replay", str(other), "http://127.0.0.1:9/callbacks"),
        bwhooks("listen", "--port", "0", "--record", str(other)),
    ]
    for done in runs:
        assert done.returncode == 2, done.args
        assert "an SQLite file of something else" in done.stderr
        assert "Traceback" not in done.stderr
    assert other.read_bytes() == before
    assert sorted(folder.iterdir()) == files  # no -wal, -shm or -journal left beside it
    with closing(sqlite3.connect(f"{other.as_uri()}?mode=ro", uri=True)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == journal


def test_an_empty_file_is_refused_by_replay_and_export(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    for done in (
        bwhooks("export", str(empty), str(tmp_path / "out")),
        bwhooks("replay", str(empty), "http://127.0.0.1:9/callbacks"),
    ):
        assert done.returncode == 2
        assert "is not a file of recorded deliveries: it is empty" in done.stderr
    assert empty.read_bytes() == b""
    assert sorted(tmp_path.iterdir()) == [empty]
    with Recorder(empty) as recorder:  # only a listener makes it a recording
        assert recorder.deliveries() == []


def large(n: int) -> Delivery:
    body = json.dumps({"eventType": "sms", "callbackUrl": "/cb", "text": f"{n}" * 500_000})
    return Delivery(
        received_at=datetime.now(timezone.utc),
        method="POST",
        path="/callbacks",
        headers=(("Content-Type", "application/json"),),
        body=body.encode(),
        status=200,
    )


def test_replay_and_export_read_a_large_file_a_page_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tracemalloc

    import bwhooks.devtools.fixtures
    import bwhooks.devtools.replaying
    import bwhooks.testing  # noqa: F401  (imported before memory is traced)
    from bwhooks.cli import main

    file = tmp_path / "large.sqlite3"
    with Recorder(file) as recorder:
        for n in range(80):  # 40 MB of bodies
            recorder.record(large(n % 2))
    (tmp_path / "ok_app.py").write_text(
        "def app(environ, start_response):\n"
        "    environ['wsgi.input'].read()\n"
        "    start_response('200 OK', [('Content-Length', '0')])\n"
        "    return [b'']\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    app, url = start_listen("--app", "ok_app:app")  # answers 200 to anything
    try:
        peaks = []
        for command in (["export", str(file), str(tmp_path / "out")], ["replay", str(file), url]):
            tracemalloc.start()
            try:
                assert main(command) == 0
                peaks.append(tracemalloc.get_traced_memory()[1])
            finally:
                tracemalloc.stop()
    finally:
        stop(app)
    assert len(list((tmp_path / "out").iterdir())) == 80
    assert max(peaks) < 12_000_000, peaks  # a page of 1 MiB and what it takes, not 40 MB


def test_a_strangers_request_never_borrows_your_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused (401/403) or never authenticated (a 502 without credentials) when recorded:
    left out of a replay, which answers the challenge with your credentials, unless chosen
    by id or status; a method no request line can carry fails that delivery, not the run."""
    (tmp_path / "app.py").write_text(APP.format(bxml="<Response/>"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    recorded = tmp_path / "r.sqlite3"
    body = json.dumps({"eventType": "answer", "callId": "c-forged"}).encode()

    def recorded_delivery(status: int, authorization: str | None, method: str = "POST") -> Delivery:
        headers = [("Content-Type", "application/json")]
        if authorization is not None:
            headers.append(("Authorization", authorization))
        return Delivery(
            received_at=datetime.now(timezone.utc),
            method=method,
            path="/callbacks",
            headers=tuple(headers),
            body=body,
            status=status,
        )

    with Recorder(recorded) as recorder:
        genuine = recorder.record(recorded_delivery(200, "Basic bWU6cHc="))
        failed = recorder.record(recorded_delivery(500, "Basic bWU6cHc="))  # a handler's 500
        recorder.record(recorded_delivery(401, "Basic YXR0YWNrZXI6eA=="))  # -u attacker:x
        recorder.record(recorded_delivery(403, "Basic bWU6cHc="))
        unchecked = recorder.record(recorded_delivery(502, None))  # the app was down
        odd = recorder.record(recorded_delivery(200, "Basic bWU6cHc=", method="P\u00d6ST"))
    app, url = start_listen("--app", "app:receiver")
    try:
        default = replay(str(recorded), url, "--user", "me", "--password", "pw")
        chosen = replay(
            str(recorded), url, "--user", "me", "--password", "pw", "--id", str(unchecked)
        )
    finally:
        stop(app)
    sent = [line.split()[0] for line in default.stdout.splitlines() if line.startswith("#")]
    assert sent == [f"#{genuine}", f"#{failed}", f"#{odd}"]
    assert f"#{odd} [no event]: cannot be sent again as recorded" in default.stdout
    assert default.stdout.splitlines()[-1] == "3 replayed, 1 failed"
    assert "3 left out: refused or never authenticated when recorded" in default.stderr
    assert "Traceback" not in default.stderr
    assert chosen.stdout.splitlines()[0].startswith(f"#{unchecked} POST [no event] 401 -> 200")
