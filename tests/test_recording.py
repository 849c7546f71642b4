"""Recorded deliveries: the SQLite file `bwhooks listen --record` keeps, end to end over HTTP
(Bandwidth's challenge exchange included) and unit by unit."""

from __future__ import annotations

import http.client
import json
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
from test_adapters_raw import MALFORMED_CHUNKS, chunked_exchange, status_of
from test_cli import start_listen, stop

from bwhooks.devtools import recording
from bwhooks.devtools.recording import (
    REFUSED_LIMIT,
    SCHEMA,
    SCHEMA_VERSION,
    Delivery,
    Recorder,
    mask_headers,
    typed,
)
from bwhooks.http import CREDENTIAL_HEADERS, Headers
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
        "X-Pwd",
        "X-Pw",
        "X-Passcode",
        "X-Otp",
        "X-Pin",
        "DPoP",
        "X-Amzn-Oidc-Data",
        "X-Sig",
        "X-Cred",
        "X_Jwt",
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
        "X-Ping",  # the short words count whole, never inside another word
        "X-Signal",
        "X-Design",
        "X-Spinner",
        "X-Passthrough",
    ],
)
def test_other_headers_are_not_credentials(name: str) -> None:
    assert name not in CREDENTIAL_HEADERS


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("password", True),
        ("api_key", True),
        ("userPwd", True),  # words at case changes too
        ("pinCode", True),
        ("otp", True),
        ("x-amzn-oidc-accesstoken", True),
        ("WWW-Authenticate", True),  # the rule says "auth": only the headers' SAFE differ
        ("callId", False),
        ("shipping", False),
        ("to", False),
    ],
)
def test_is_secret_name_is_the_one_rule_for_names(name: str, secret: bool) -> None:
    from bwhooks.http import is_secret_name

    assert is_secret_name(name) is secret


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
    from bwhooks.devtools.recording import SCHEMA

    assert f"```sql{SCHEMA}```" in page


def test_a_body_over_the_bound_reaches_the_app_whole_and_is_recorded_cut(tmp_path: Path) -> None:
    import io

    from bwhooks.devtools.middleware import RecordingMiddleware

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


@pytest.mark.parametrize(
    ("replay_of", "content_length"), [("\u00b2", "2"), ("1", "\u00b2"), ("9" * 40, "abc")]
)
def test_hostile_numbers_in_headers_are_recorded_as_sent_not_a_crash(
    tmp_path: Path, replay_of: str, content_length: str
) -> None:
    """A sender chooses ``X-Bwhooks-Replay-Of`` and ``Content-Length``: text that
    ``str.isdigit`` takes (``²``) or no number at all labels nothing and reads nothing."""
    import io

    from bwhooks import InsecureReceiverWarning, Receiver
    from bwhooks.adapters.wsgi import make_app
    from bwhooks.devtools.middleware import RecordingMiddleware

    with pytest.warns(InsecureReceiverWarning):
        receiver = Receiver(auth=None)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/callbacks",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": content_length,
        "HTTP_X_BWHOOKS_REPLAY_OF": replay_of,
        "wsgi.input": io.BytesIO(b"{}"),
    }
    statuses: list[str] = []
    with Recorder(tmp_path / "f.sqlite3") as recorder:
        recording = RecordingMiddleware(make_app(receiver), recorder)
        start_response: Any = lambda status, headers, exc_info=None: statuses.append(status)  # noqa: E731
        b"".join(recording(environ, start_response))
        (kept,) = recorder.deliveries()
    valid_length = content_length.isascii() and content_length.isdigit()
    assert statuses == ["400 Bad Request"]  # {} has no eventType; no number: no valid length
    assert (kept.kind, kept.replay_of) == (("replayed", 1) if replay_of == "1" else ("live", None))
    assert kept.body == (b"{}" if valid_length else b"")


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


# Bounds: what a stranger's requests cost, and the size of the whole file.


def stored_bytes(file: Path) -> int:
    """The recording's size on disk, its WAL included, after a checkpoint."""
    with closing(sqlite3.connect(file)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        wal = file.with_name(file.name + "-wal")
        return file.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    """One POST over a real connection; the answer's status."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    try:
        connection.request(
            "POST",
            parts.path,
            body=body,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        answer = connection.getresponse()
        answer.read()
        return answer.status
    finally:
        connection.close()


def test_unauthenticated_large_posts_grow_the_recording_by_well_under_a_megabyte(
    tmp_path: Path,
) -> None:
    file = tmp_path / "deliveries.sqlite3"
    process, url = start_listen("--user", "u", "--password", "p", "--record", str(file))
    try:
        before = stored_bytes(file)
        # A valid SMS callback of 999 KB: its events would be as large as its body.
        body = b'{"eventType": "sms", "text": "' + b"x" * (999_000 - 32) + b'"}'
        statuses = {post(url, body) for _ in range(20)}
        grown = stored_bytes(file) - before
    finally:
        stop(process)
    assert statuses == {401}
    assert grown < 256 * 1024, grown  # 20 MB sent, unauthenticated
    with Recorder(file, read_only=True) as recorder:
        kept = recorder.deliveries()
    assert len(kept) == 20
    for delivery in kept:
        assert delivery.status == 401
        assert delivery.body == body[:REFUSED_LIMIT]
        assert (delivery.body_size, delivery.truncated) == (len(body), True)
        assert delivery.events is None  # their JSON is over the bound too
    # Not kept whole: replay and export leave them out, and say so.
    done = subprocess.run(
        [sys.executable, "-m", "bwhooks", "export", str(file), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "20 left out: not recorded whole" in done.stderr
    assert done.stdout.splitlines()[-1] == f"0 fixtures written to {tmp_path / 'out'}"


def test_a_refused_delivery_keeps_its_first_bytes_of_what_the_sender_chose(tmp_path: Path) -> None:
    big = Delivery(
        received_at=datetime.now(timezone.utc),
        method="POST",
        path="/callbacks",
        query="q=" + "a" * 9000,
        headers=(
            ("Authorization", "Basic dTpw"),
            *((f"X-Filler-{n}", "h" * 1000) for n in range(20)),
        ),
        body=b"b" * 10_000,
        events=({"class": "SmsEvent", "event_type": "sms", "fields": {"text": "t" * 9000}},),
        refused="unexpected fields: " + "f" * 9000,  # a reason may quote the sender
        status=401,
    )
    small = attrs.evolve(
        big, query="q=1", headers=(("X-One", "1"),), body=b"{}", events=(), refused="no"
    )
    with Recorder(tmp_path / "f.sqlite3") as recorder:
        refused, accepted, refused_small = (
            recorder.get(recorder.record(d)) for d in (big, attrs.evolve(big, status=200), small)
        )
    assert refused is not None
    assert refused.body == b"b" * REFUSED_LIMIT
    assert refused.query == big.query[:REFUSED_LIMIT]
    assert sum(len(n) + len(v) for n, v in refused.headers) == REFUSED_LIMIT
    assert refused.headers[0] == ("Authorization", "Basic <masked>")  # masked before it is cut
    assert refused.refused == big.refused[:REFUSED_LIMIT]  # type: ignore[index]
    assert (refused.events, refused.body_size, refused.truncated) == (None, 10_000, True)
    assert accepted is not None  # an accepted delivery is kept whole
    assert (accepted.body, accepted.query, accepted.truncated) == (big.body, big.query, False)
    assert accepted.refused == big.refused
    assert len(accepted.headers) == 21
    assert accepted.events == big.events
    assert refused_small is not None  # a small refused one loses nothing
    assert (refused_small.body, refused_small.events, refused_small.truncated) == (b"{}", (), False)


def sized(n: int, size: int = 10_000) -> Delivery:
    return attrs.evolve(delivery(body=b'{"n": %d}' % n), response_body=b"r" * size)


def test_the_file_keeps_at_most_max_bytes_the_oldest_going_first(tmp_path: Path) -> None:
    file = tmp_path / "f.sqlite3"
    with Recorder(file, max_bytes=35_000) as recorder:
        ids = [recorder.record(sized(n)) for n in range(6)]
        assert [d.id for d in recorder.deliveries()] == ids[3:]  # three rows of ~10 KB
        big = recorder.record(sized(99, size=50_000))  # larger than the bound: kept alone
        assert [d.id for d in recorder.deliveries()] == [big]
        again = recorder.record(sized(7))
        assert [d.id for d in recorder.deliveries()] == [again]
    with closing(sqlite3.connect(file)) as db:
        (size,) = db.execute("SELECT size FROM deliveries").fetchone()
    assert 10_000 < size < 11_000  # its texts and blobs
    with Recorder(file, max_bytes=1) as recorder:  # reopened with a smaller bound: the newest
        assert [d.id for d in recorder.deliveries()] == [again]
    with Recorder(file, max_bytes=25_000) as recorder:  # and the total goes on from there
        newer = [recorder.record(sized(n)) for n in range(3)]
        assert [d.id for d in recorder.deliveries()] == newer[1:]


def test_listen_keeps_at_most_max_bytes(tmp_path: Path) -> None:
    file = tmp_path / "f.sqlite3"
    process, url = start_listen("--record", str(file), "--max-bytes", "20K")
    try:
        text = "x" * 3000  # ~3 KB of body, ~3 KB of events: ~7 KB a row
        statuses = [
            post(url, json.dumps(fake_payload("sms", text=text)).encode()) for _ in range(6)
        ]
    finally:
        stop(process)
    assert statuses == [200] * 6
    with closing(sqlite3.connect(file)) as db:
        ids, total = db.execute("SELECT group_concat(id), sum(size) FROM deliveries").fetchone()
    assert ids == "5,6"
    assert total <= 20 * 1024
    bad = subprocess.run(
        [sys.executable, "-m", "bwhooks", "listen", "--record", str(file), "--max-bytes", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert bad.returncode == 2
    assert "not a size: '0'" in bad.stderr


def test_pages_are_bounded_in_rows_and_bytes_and_read_in_order(tmp_path: Path) -> None:
    with Recorder(tmp_path / "f.sqlite3") as recorder:
        ids = [recorder.record(sized(n, size=300_000)) for n in range(7)]
        large = recorder.record(sized(7, size=2_000_000))
        small = [recorder.record(sized(n, size=10)) for n in range(8, 13)]
        pages = [[d.id for d in page] for page in recorder.pages(max_bytes=1_000_000, rows=4)]
        after = [[d.id for d in page] for page in recorder.pages(after=ids[5])]
    assert pages == [ids[0:3], ids[3:6], [ids[6]], [large], small[0:4], small[4:]]
    assert after == [[ids[6]], [large], small]  # 1 MiB, 100 rows by default


def test_a_challenge_waits_for_its_retry_among_a_bounded_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recording, "MAX_CHALLENGES", 3)
    with Recorder(tmp_path / "f.sqlite3") as recorder:
        challenges = [recorder.record(delivery(401, None, b'{"a": %d}' % n)) for n in range(4)]
        forgotten = recorder.record(delivery(200, "Basic x", b'{"a": 0}'))
        paired = recorder.record(delivery(200, "Basic x", b'{"a": 3}'))
        found = {d.id: d.challenge_id for d in recorder.deliveries()}
    assert (found[forgotten], found[paired]) == (None, challenges[3])


# Files: owner-only, never through a link, other files never altered.


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_an_existing_recording_and_its_companions_are_made_owner_only(tmp_path: Path) -> None:
    file = tmp_path / "f.sqlite3"
    Recorder(file).close()
    file.chmod(0o644)
    with closing(sqlite3.connect(file)) as other:  # a reader left its -wal and -shm, 0644
        other.execute("SELECT count(*) FROM deliveries").fetchone()
        wal, shm = (file.with_name(file.name + suffix) for suffix in ("-wal", "-shm"))
        assert (mode(wal), mode(shm)) == (0o644, 0o644)
        with Recorder(file) as recorder:
            recorder.record(delivery())
            assert (mode(file), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    # SQLite creates new companions with the file's mode: 0600 from now on.
    file.chmod(0o644)
    with Recorder(file) as recorder:
        recorder.record(delivery())
        assert (mode(file), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)


def test_a_symbolic_link_at_the_recording_or_beside_it_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("mine\n")
    target.chmod(0o644)
    file = tmp_path / "f.sqlite3"
    file.symlink_to(target)
    with pytest.raises(ValueError, match="symbolic link"):
        Recorder(file)
    file.unlink()
    dangling = tmp_path / "dangling.sqlite3"
    dangling.symlink_to(tmp_path / "created-through-the-link")
    with pytest.raises(ValueError, match="symbolic link"):
        Recorder(dangling)
    assert not (tmp_path / "created-through-the-link").exists()
    Recorder(file).close()
    for suffix in ("-wal", "-shm", "-journal"):
        companion = file.with_name(file.name + suffix)
        companion.symlink_to(target)
        with pytest.raises(ValueError, match=f"{suffix} is a symbolic link"):
            Recorder(file)
        companion.unlink()
    assert (target.read_text(), mode(target)) == ("mine\n", 0o644)  # neither written nor chmodded
    linked = tmp_path / "linked.sqlite3"
    linked.symlink_to(target)
    done = subprocess.run(
        [sys.executable, "-m", "bwhooks", "listen", "--port", "0", "--record", str(linked)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "is a symbolic link" in done.stderr
    assert "Traceback" not in done.stderr


V1_SCHEMA = """
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY, received_at TEXT NOT NULL, kind TEXT NOT NULL,
    method TEXT NOT NULL, path TEXT NOT NULL, query TEXT NOT NULL, headers TEXT NOT NULL,
    body BLOB NOT NULL, events TEXT, refused TEXT, status INTEGER NOT NULL,
    response_headers TEXT NOT NULL, response_body BLOB NOT NULL, duration_ms REAL NOT NULL,
    challenge_id INTEGER, replay_of INTEGER
);
CREATE INDEX deliveries_challenge ON deliveries (challenge_id);
PRAGMA user_version=1;
"""


def version_1(file: Path, rows: int) -> None:
    """A file as bwhooks recorded it before schema version 2."""
    with closing(sqlite3.connect(file)) as db:
        db.executescript(V1_SCHEMA)
        for n in range(1, rows + 1):
            db.execute(
                "INSERT INTO deliveries VALUES (?, ?, 'live', 'POST', '/callbacks', 'a=é', ?, ?, "
                "?, NULL, 200, '[]', ?, 1.5, ?, NULL)",
                (
                    n,
                    datetime(2024, 1, 1, tzinfo=timezone.utc).isoformat(),
                    json.dumps([["content-type", "application/json"]]),
                    b'{"n": %d}' % n,
                    json.dumps([{"class": "SmsEvent", "event_type": "sms", "fields": {}}]),
                    b"<Response/>",
                    n - 1 if n > 1 else None,
                ),
            )
        db.commit()


def test_a_version_1_file_is_read_as_it_is_and_migrated_by_a_listener(tmp_path: Path) -> None:
    file = tmp_path / "v1.sqlite3"
    version_1(file, 3)
    before = file.read_bytes()
    with Recorder(file, read_only=True) as reader:
        read = reader.deliveries()
        paged = [d for page in reader.pages() for d in page]
        assert reader.retried([1, 2, 3]) == {1, 2}
    assert file.read_bytes() == before  # read, not migrated
    assert read == paged
    assert [(d.body_size, d.truncated) for d in read] == [(len(d.body), False) for d in read]
    with Recorder(file) as recorder:
        migrated = recorder.deliveries()
        fresh = recorder.get(recorder.record(attrs.evolve(read[0], id=0, challenge_id=None)))
    assert migrated == read
    assert fresh is not None
    assert fresh.id == 4
    with closing(sqlite3.connect(file)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        sizes = [row[0] for row in db.execute("SELECT size FROM deliveries ORDER BY id")]
        created = db.execute("SELECT sql FROM sqlite_master WHERE name = 'deliveries'").fetchone()
    assert sizes[0] == sizes[3]  # the migration counts a row's bytes as recording does
    assert created[0] == SCHEMA.split(";")[0].strip()


@pytest.mark.parametrize("body", MALFORMED_CHUNKS)
def test_listen_answers_a_malformed_chunked_body_400_and_records_it_refused(
    tmp_path: Path, body: bytes
) -> None:
    """Before the credentials are checked (the recorder reads first) and after them."""
    from urllib.parse import urlsplit

    from bwhooks.auth import basic_authorization

    file = tmp_path / "deliveries.sqlite3"
    process, url = start_listen("--user", "u", "--password", "p", "--record", str(file))
    port = urlsplit(url).port or 0
    try:
        answers = [
            chunked_exchange(port, body, auth=None),
            chunked_exchange(port, body, auth=basic_authorization("u", "p")),
        ]
    finally:
        stop(process)
    for answer in answers:
        assert status_of(answer) == 400, answer
        assert answer.endswith(b'{"error": "unreadable body"}'), answer
    with Recorder(file, read_only=True) as recorder:
        kept = recorder.deliveries()
    assert [(d.status, d.refused, d.events) for d in kept] == [(400, "unreadable body", None)] * 2


def test_a_refused_delivery_keeps_little_of_its_method_and_path_too(tmp_path: Path) -> None:
    long = attrs.evolve(
        delivery(status=401),
        method="P" * 70_000,
        path="/" + "a" * 70_000,
        headers=(("X-Name", "v" * 70_000),),
    )
    with Recorder(tmp_path / "f.sqlite3") as recorder:
        recorder.record(long)
        (kept,) = recorder.deliveries()
    assert (kept.method, kept.path) == (long.method[:REFUSED_LIMIT], long.path[:REFUSED_LIMIT])
    assert kept.truncated
    with closing(sqlite3.connect(tmp_path / "f.sqlite3")) as db:
        (size,) = db.execute("SELECT size FROM deliveries").fetchone()
    assert size < 6 * REFUSED_LIMIT, size


def test_the_wal_file_stays_in_proportion_to_max_bytes(tmp_path: Path) -> None:
    file = tmp_path / "f.sqlite3"
    wal = file.with_name(file.name + "-wal")
    largest = 0
    with Recorder(file, max_bytes=1_000_000) as recorder:
        for n in range(300):
            recorder.record(sized(n, 20_000))
            largest = max(largest, wal.stat().st_size if wal.exists() else 0)
    assert largest < 2_000_000, largest  # SQLite's default let it reach 4 MB and more


def test_checking_a_file_that_is_no_recording_leaves_its_folder_as_it_was(
    tmp_path: Path,
) -> None:
    """Another app's SQLite file in WAL mode, its -wal file beside it (the app crashed, or
    is at work): refused, and no -shm file created beside it."""
    source = tmp_path / "source"
    source.mkdir()
    with closing(sqlite3.connect(source / "other.db")) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA wal_autocheckpoint=0")
        db.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, secret TEXT)")
        db.commit()
        db.execute("INSERT INTO accounts (secret) VALUES ('x')")
        db.commit()
        folder = tmp_path / "app"
        folder.mkdir()
        for name in ("other.db", "other.db-wal"):  # as the files stand while the app runs
            (folder / name).write_bytes((source / name).read_bytes())
    before = {p.name: p.stat().st_mode for p in folder.iterdir()}
    with pytest.raises(ValueError, match="not a file of recorded deliveries"):
        Recorder(folder / "other.db")
    assert {p.name: p.stat().st_mode for p in folder.iterdir()} == before
