"""Recorded deliveries: the SQLite file `bwhooks listen --record` keeps, end to end over HTTP
(Bandwidth's challenge exchange included) and unit by unit."""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from test_cli import start_listen, stop

from bwhooks.http import CREDENTIAL_HEADERS, Headers
from bwhooks.recording import (
    SCHEMA_VERSION,
    Delivery,
    Recorder,
    mask_headers,
    typed,
)
from bwhooks.testing import fake_payload


def send(url: str, kind: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """``bwhooks send``: the challenge first, as Bandwidth does."""
    return subprocess.run(
        [sys.executable, "-m", "bwhooks", "send", kind, url, *extra],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_listen_records_each_exchange_with_its_challenge_and_keeps_it(tmp_path: Path) -> None:
    file = tmp_path / "deliveries.sqlite3"
    process, url = start_listen("--user", "u", "--password", "p", "--record", str(file))
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"recording deliveries to {file}"
        sent = send(url, "answer", "--user", "u", "--password", "p", "--set", "callId=c-rec")
        refused = send(url, "sms", "--user", "u", "--password", "wrong")
    finally:
        stop(process)
    assert sent.returncode == 0, sent.stderr
    assert refused.returncode == 1
    assert stat.S_IMODE(file.stat().st_mode) == 0o600  # message text and phone numbers
    with Recorder(file) as recorder:
        challenge, answered, *wrong = recorder.deliveries()
    # The exchange: a 401 without credentials, then the retry with them, paired.
    assert (challenge.status, challenge.header("Authorization")) == (401, None)
    assert challenge.header("WWW-Authenticate") is None  # a request header, not the answer's
    assert ("WWW-Authenticate", 'Basic realm="bwhooks"') in challenge.response_headers
    assert answered.status == 200
    assert answered.challenge_id == challenge.id
    assert answered.header("Authorization") == "Basic <masked>"
    assert answered.body == challenge.body  # byte for byte, as sent
    assert json.loads(answered.body)["callId"] == "c-rec"
    assert answered.events is not None
    (event,) = answered.events
    assert (event["class"], event["event_type"]) == ("AnswerEvent", "answer")
    assert event["fields"]["call_id"] == "c-rec"
    assert event["handlers"] == ["_listening_app.<locals>.show"]  # the handler that ran
    assert answered.method == "POST"
    assert answered.path.endswith("/callbacks")
    assert answered.duration_ms > 0
    assert answered.received_at.tzinfo is not None
    assert [d.status for d in wrong] == [401, 401]  # wrong credentials: no pairing with 200
    assert wrong[1].header("Authorization") == "Basic <masked>"
    # History survives a restart; new deliveries follow the old ones.
    process, url = start_listen("--user", "u", "--password", "p", "--record", str(file))
    try:
        assert send(url, "sms", "--user", "u", "--password", "p").returncode == 0
    finally:
        stop(process)
    with Recorder(file) as recorder:
        every = recorder.deliveries()
    assert [d.id for d in every] == list(range(1, 7))
    assert every[-1].events is not None
    assert every[-1].events[0]["class"] == "SmsEvent"
    with closing(sqlite3.connect(file)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def delivery(
    status: int = 200, authorization: str | None = "Basic dTpw", body: bytes = b"{}"
) -> Delivery:
    headers = [("content-type", "application/json")]
    if authorization is not None:
        headers.append(("authorization", authorization))
    return Delivery(
        received_at=datetime.now(timezone.utc),
        method="POST",
        path="/callbacks",
        headers=tuple(headers),
        body=body,
        status=status,
    )


def test_the_oldest_deliveries_go_first_past_the_bound(tmp_path: Path) -> None:
    with Recorder(tmp_path / "f.sqlite3", max_deliveries=3) as recorder:
        ids = [recorder.record(delivery(body=b'{"n": %d}' % n)) for n in range(5)]
        kept = recorder.deliveries()
    assert [d.id for d in kept] == ids[2:]
    assert [json.loads(d.body)["n"] for d in kept] == [2, 3, 4]


def test_a_challenge_pairs_with_the_next_retry_of_the_same_request(tmp_path: Path) -> None:
    with Recorder(tmp_path / "f.sqlite3") as recorder:
        first = recorder.record(delivery(401, None, b'{"a": 1}'))
        other = recorder.record(delivery(200, "Basic x", b'{"a": 2}'))  # another body
        retry = recorder.record(delivery(200, "Basic x", b'{"a": 1}'))
        again = recorder.record(delivery(200, "Basic x", b'{"a": 1}'))  # paired once only
        found = {d.id: d.challenge_id for d in recorder.deliveries()}
    assert found == {first: None, other: None, retry: first, again: None}


def test_a_file_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "f.sqlite3"
    with closing(sqlite3.connect(file)) as db:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
        db.commit()
    with pytest.raises(ValueError, match="schema version"):
        Recorder(file)


def test_credentials_and_cookies_are_masked() -> None:
    masked = mask_headers(
        [
            ("Authorization", "Basic dTpw"),
            ("Cookie", "a=b"),
            ("X-Other", "kept"),
            ("authorization", "x"),
        ]
    )
    assert masked == (
        ("Authorization", "Basic <masked>"),
        ("Cookie", "<masked>"),
        ("X-Other", "kept"),
        ("authorization", "<masked>"),
    )


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "proxy-authorization",
        "Cookie",
        "Set-Cookie",
        "X-Api-Key",
        "x-apikey",
        "X-Auth-Token",
        "X-Amz-Security-Token",
        "X-Session-Id",
        "X-Client-Secret",
        "X-Hub-Signature-256",
        "X-Bandwidth-Signature-SHA-256",
        "x-bandwidth-signature-hmac-sha256",
        "X-Hmac",
        "X-Password",
        "X-Bwhooks-Token",
        "X-CSRF-Token",
        "X-Credentials",
        "Authentication-Info",
    ],
)
def test_a_header_whose_name_speaks_of_a_credential_is_one(name: str) -> None:
    assert name in CREDENTIAL_HEADERS
    assert name.upper() in CREDENTIAL_HEADERS


@pytest.mark.parametrize(
    "name",
    [
        "WWW-Authenticate",  # a challenge, not a credential
        "Proxy-Authenticate",
        "Content-Type",
        "User-Agent",
        "Keep-Alive",
        "X-Trace",
        "X-Forwarded-For",
        "X-Bwhooks-Replay-Of",
    ],
)
def test_other_headers_are_not_credentials(name: str) -> None:
    assert name not in CREDENTIAL_HEADERS


def test_a_masked_value_keeps_only_an_authorization_scheme() -> None:
    masked = mask_headers(
        [
            ("Authorization", "Bearer eyJhbGciOi.secret"),
            ("Authorization", "opaque-secret"),
            ("Proxy-Authorization", "Digest username=secret"),
            ("Authorization", "bad=scheme secret"),
            ("Cookie", "session=secret; theme=dark"),
            ("Set-Cookie", "session=secret; Path=/; HttpOnly"),
            ("X-Api-Key", "the secret"),
        ]
    )
    assert masked == (
        ("Authorization", "Bearer <masked>"),
        ("Authorization", "<masked>"),
        ("Proxy-Authorization", "Digest <masked>"),
        ("Authorization", "<masked>"),
        ("Cookie", "<masked>"),
        ("Set-Cookie", "<masked>"),
        ("X-Api-Key", "<masked>"),
    )
    assert "secret" not in repr(Headers(masked))
    assert "secret" not in repr(Headers([("Set-Cookie", "s=secret"), ("X-Auth-Token", "secret")]))


def test_a_recording_masks_credentials_in_requests_and_answers(tmp_path: Path) -> None:
    file = tmp_path / "masked.sqlite3"
    secrets = [f"secret-{n}" for n in range(7)]
    with Recorder(file) as recorder:
        recorder.record(
            Delivery(
                received_at=datetime.now(timezone.utc),
                method="POST",
                path="/cb",
                headers=(
                    ("Content-Type", "application/json"),
                    ("Authorization", f"Basic {secrets[0]}"),
                    ("X-Api-Key", secrets[1]),
                    ("X-Auth-Token", secrets[2]),
                    ("X-Bandwidth-Signature-SHA-256", secrets[3]),
                    ("x-bandwidth-signature-hmac-sha256", secrets[4]),
                    ("Cookie", f"a=b; s={secrets[5]}"),
                ),
                body=b"{}",
                status=401,
                response_headers=(
                    ("WWW-Authenticate", 'Basic realm="bwhooks"'),
                    ("Set-Cookie", f"session={secrets[6]}; HttpOnly"),
                ),
            )
        )
        (recorded,) = recorder.deliveries()
    assert recorded.header("Authorization") == "Basic <masked>"
    assert recorded.header("Content-Type") == "application/json"
    assert {v for n, v in recorded.headers if n != "Authorization"} == {
        "application/json",
        "<masked>",
    }
    assert recorded.response_headers == (
        ("WWW-Authenticate", 'Basic realm="bwhooks"'),
        ("Set-Cookie", "<masked>"),
    )
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert not [secret for secret in secrets if secret.encode() in stored]


def test_typed_tells_the_events_or_why_the_body_is_refused() -> None:
    body = json.dumps([fake_payload("message-received")[0]]).encode()
    events, refused = typed("POST", "/cb", "", [("content-type", "application/json")], body)
    assert refused is None
    assert events is not None
    assert events[0]["class"] == "MessageReceivedEvent"
    assert isinstance(events[0]["fields"]["message"], dict)
    json.dumps(events)  # JSON-ready, nested objects and times included
    assert typed("POST", "/cb", "", [], b"{nope") == (None, "malformed JSON")
    assert typed("GET", "/cb", "eventType=answer&callId=c-1", [], b"")[0] is not None


def test_the_documented_schema_is_the_one_created() -> None:
    page = (Path(__file__).parents[1] / "docs" / "cli.md").read_text()
    from bwhooks.recording import SCHEMA

    assert f"```sql{SCHEMA}```" in page


def test_a_body_over_the_bound_reaches_the_app_whole_and_is_recorded_cut(tmp_path: Path) -> None:
    import io

    from bwhooks.adapters.wsgi import RecordingMiddleware

    seen: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        start_response("413 Content Too Large", [("Content-Type", "application/json")])
        return [b'{"error": "too large"}']

    body = b'{"eventType": "sms", "text": "' + b"x" * 5000 + b'"}'
    with Recorder(tmp_path / "f.sqlite3") as recorder:
        recording = RecordingMiddleware(app, recorder, max_body_size=1000)
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/callbacks",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
        }
        start_response: Any = lambda status, headers, exc_info=None: None  # noqa: E731
        answer = recording(environ, start_response)
        (kept,) = recorder.deliveries()
    assert seen == [body]  # the app reads the body as sent
    assert list(answer) == [b'{"error": "too large"}']
    assert kept.body == body[:1000]
    assert kept.refused == "body over 1000 bytes"
    assert (kept.status, kept.events) == (413, None)


def test_a_file_that_holds_no_recording_is_refused_clearly(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, " * 100)
    with pytest.raises(ValueError, match="not a file of recorded deliveries"):
        Recorder(text)
    other = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(other)) as db:
        db.execute("CREATE TABLE mine (x)")
        db.commit()
    with pytest.raises(ValueError, match="something else"):
        Recorder(other)
    with closing(sqlite3.connect(other)) as db:  # left as it was
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("mine",)]
    commands = [
        ["listen", "--port", "0", "--record", str(text)],
        ["replay", str(text), "http://127.0.0.1:9/cb"],
        ["export", str(text), str(tmp_path / "out")],
    ]
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-m", "bwhooks", *command],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 2, (command, done.stderr)
        assert "not a file of recorded deliveries" in done.stderr
        assert "Traceback" not in done.stderr
