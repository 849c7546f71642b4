"""Signed deliveries through the dev tools: `listen --signature`, `--forward` to a signed
app, `replay` signing again (or saying why not), the inspector's replays and tests, and a
signature's value kept nowhere (recording, inspector, export, logs, queue envelopes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import redis
from support import http_request, load_v2_example
from test_cli import start_listen, stop
from test_inspector import finish, listed, replayed, request

from bwhooks import BasicAuth, CallbackRequest, Event, HmacSignature, Receiver, parse_delivery
from bwhooks.adapters.wsgi import make_app
from bwhooks.auth import basic_authorization
from bwhooks.devtools.demo import serving
from bwhooks.devtools.inspector import SECRET_VARIABLE, generated_test
from bwhooks.devtools.recording import Delivery, Recorder
from bwhooks.devtools.replaying import replay
from bwhooks.devtools.resigning import Resigning, recorded_family
from bwhooks.queue.claims import RedisClaims
from bwhooks.queue.tasks import TaskQueue
from bwhooks.signatures import SUBSCRIPTIONS_HEADER, TOLL_FREE_HEADER
from bwhooks.testing import HttpSender

SECRET = "tfv-shared-secret-0123456789abcdef"  # 34 printable ASCII: a sharedSecretKey
WRONG = "not-the-secret-0123456789abcdefgh"
AUTH = basic_authorization("me", "pw")
# A Voice v2 body written with odd spacing and a trailing newline: signed as these bytes.
ANSWER = json.dumps(load_v2_example("answer-1.json"), indent=3).encode() + b"\r\n"
MESSAGE = json.dumps(load_v2_example("message-received-1.json")).encode()
MORE = Path(__file__).parent / "examples" / "more"
# Bandwidth's signed families, as they arrive: a toll-free verification result, a
# Subscriptions v2 notification (answered 204).
OWN_BODIES = {
    "toll-free": (MORE / "tollfree" / "verified-1.json").read_bytes(),
    "subscriptions": (
        MORE / "subscriptions" / "messaging-transfer-confirmation-1.json"
    ).read_bytes(),
}
OWN_TYPES = {"toll-free": "tollFreeStatus", "subscriptions": "PORTOUT_REQUEST"}
FAMILIES = {
    "toll-free": (TOLL_FREE_HEADER, HmacSignature.toll_free),
    "subscriptions": (SUBSCRIPTIONS_HEADER, HmacSignature.subscriptions),
}

SIGNED_APP = """\
import os
from bwhooks import AnswerEvent, BasicAuth, Event, HmacSignature, Receiver
from bwhooks.adapters.wsgi import make_app

signature = getattr(HmacSignature, os.environ["APP_FAMILY"])(os.environ["APP_SECRET"])
receiver = Receiver(auth=BasicAuth(("me", "pw"), ("user", "password")), signature=signature)


@receiver.on(Event)
def answered(event):
    if isinstance(event, AnswerEvent):
        return "<Response><SpeakSentence>signed</SpeakSentence></Response>"
    return None


app = make_app(receiver, "/callbacks")
"""


def signed_headers(
    family: str, body: bytes, secret: str = SECRET, *, auth: bool = True
) -> dict[str, str]:
    header, build = FAMILIES[family]
    headers = {"Content-Type": "application/json; charset=utf-8", header: build(secret).sign(body)}
    if auth:
        headers["Authorization"] = AUTH
    return headers


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    return http_request(url, "POST", "/callbacks", body, headers).status


def bwhooks(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bwhooks", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def inspected(
    *args: str, cwd: Path | None = None, env: dict[str, str]
) -> tuple[subprocess.Popen[str], str, str]:
    """``bwhooks listen --port 0 ARGS`` with ``env``: the process, its URL and the page."""
    environment = dict(os.environ)
    environment.pop("BWHOOKS_CREDENTIALS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "bwhooks", "listen", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**environment, "PYTHONUNBUFFERED": "1", **env},
    )
    assert process.stdout is not None
    url = process.stdout.readline().split()[-1]
    for line in process.stdout:
        if line.startswith("inspector: "):
            return process, url, line.removeprefix("inspector: ").strip()
    raise AssertionError(finish(process))


@pytest.fixture
def signed_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``signed_app.py`` in ``tmp_path``, verifying toll-free signatures with SECRET."""
    (tmp_path / "signed_app.py").write_text(SIGNED_APP)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.setenv("APP_SECRET", SECRET)
    monkeypatch.setenv("APP_FAMILY", "toll_free")
    return tmp_path


def no_secret_in(*texts: str | bytes) -> None:
    for text in texts:
        data = text.encode() if isinstance(text, str) else text
        assert SECRET.encode() not in data


# -- replay --------------------------------------------------------------------------------


def test_replay_signs_again_with_the_secret_and_says_once_why_unsigned_ones_are_refused(
    signed_app: Path,
) -> None:
    recorded, second = signed_app / "r.sqlite3", signed_app / "s.sqlite3"
    first, url = start_listen("--app", "signed_app:receiver", "--record", str(recorded))
    try:
        base = url.removesuffix("/callbacks")
        assert post(base, ANSWER, signed_headers("toll-free", ANSWER)) == 200
        assert post(base, MESSAGE, signed_headers("toll-free", MESSAGE)) == 200
    finally:
        first_out = stop(first)
    credentials = ("--user", "me", "--password", "pw")
    app, url = start_listen("--app", "signed_app:receiver", "--record", str(second))
    try:
        right = bwhooks(
            "replay",
            str(recorded),
            url,
            *credentials,
            "--diff",
            "--secret-env",
            "S",
            env={"S": SECRET},
        )
        shown = bwhooks(
            "replay",
            str(recorded),
            url,
            *credentials,
            "--secret",
            SECRET,
            "--signature",
            "toll-free",
            "--diff",
        )
        unsigned = bwhooks("replay", str(recorded), url, *credentials)
        wrong = bwhooks(
            "replay", str(recorded), url, *credentials, "--secret-env", "S", env={"S": WRONG}
        )
        other = bwhooks(
            "replay",
            str(recorded),
            url,
            *credentials,
            "--secret-env",
            "S",
            "--signature",
            "subscriptions",
            env={"S": SECRET},
        )
    finally:
        stop(app)
    assert right.returncode == 0, right.stdout + right.stderr
    assert right.stdout.splitlines() == [
        "#1 POST [answer] 401 -> 200 (recorded 200): same answer",
        "#2 POST [message-received] 401 -> 200 (recorded 200): same answer",
        "2 replayed, 0 failed",
    ]
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert unsigned.returncode == 1
    assert "#1 POST [answer] 401 -> 403 (recorded 200): differs" in unsigned.stdout
    assert unsigned.stderr.count("replayed unsigned") == 1  # said once, for every delivery
    assert TOLL_FREE_HEADER in unsigned.stderr
    assert "403" in unsigned.stderr
    assert "--secret-env" in unsigned.stderr
    assert wrong.returncode == other.returncode == 1
    assert "2 replayed, 2 failed" in wrong.stdout
    assert "401 -> 403" in other.stdout  # the other family's header: no signature it reads
    for done in (right, shown, unsigned, wrong, other):
        no_secret_in(done.stdout, done.stderr)
    no_secret_in(first_out, *(path.read_bytes() for path in signed_app.glob("*.sqlite3*")))
    with Recorder(second) as again:
        replays = [d for d in again.deliveries() if d.status == 200]
    assert len(replays) == 4  # right and shown: each body byte for byte
    assert {d.body for d in replays} == {ANSWER, MESSAGE}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_replay_signs_each_family_as_its_recorded_header_says(
    signed_app: Path, family: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A toll-free verification result and a Subscriptions v2 notification, recorded from
    an app that verifies them, replayed into it: signed again by the family the recording
    saw (no --signature), else refused 403."""
    monkeypatch.setenv("APP_FAMILY", family.replace("-", "_"))
    body = OWN_BODIES[family]
    recorded = signed_app / "r.sqlite3"
    app, url = start_listen("--app", "signed_app:receiver", "--record", str(recorded))
    try:
        assert post(url.removesuffix("/callbacks"), body, signed_headers(family, body)) == 204
        credentials = (str(recorded), url, "--user", "me", "--password", "pw")
        right = bwhooks("replay", *credentials, "--diff", "--secret-env", "S", env={"S": SECRET})
        unsigned = bwhooks("replay", *credentials)
        other = "subscriptions" if family == "toll-free" else "toll-free"
        crossed = bwhooks(
            "replay", *credentials, "--signature", other, "--secret-env", "S", env={"S": SECRET}
        )
    finally:
        stop(app)
    assert right.returncode == 0, right.stdout + right.stderr
    assert right.stdout.splitlines() == [
        f"#1 POST [{OWN_TYPES[family]}] 401 -> 204 (recorded 204): same answer",
        "1 replayed, 0 failed",
    ]
    assert unsigned.returncode == crossed.returncode == 1
    assert f"#1 POST [{OWN_TYPES[family]}] 401 -> 403 (recorded 204): differs" in unsigned.stdout
    assert FAMILIES[family][0] in unsigned.stderr
    assert "401 -> 403" in crossed.stdout
    for done in (right, unsigned, crossed):
        no_secret_in(done.stdout, done.stderr)


class Attempts:
    """A WSGI app that challenges first, and keeps each attempt's body and headers."""

    def __init__(self) -> None:
        self.attempts: list[tuple[bytes, dict[str, str]]] = []

    def __call__(self, environ: Any, start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {
            k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k[:5] == "HTTP_"
        }
        self.attempts.append((body, headers))
        if "authorization" not in headers:
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="x"')])
            return [b""]
        start_response("204 No Content", [])
        return [b""]


def recorded(family: str | None, body: bytes, method: str = "POST") -> Delivery:
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    if family is not None:
        headers += ((FAMILIES[family][0], "<masked>"),)  # what a recording keeps
    return Delivery(
        id=7,
        received_at=datetime.now(timezone.utc),
        method=method,
        path="/callbacks",
        headers=headers,
        body=body,
        status=200,
    )


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_attempt_is_signed_over_the_exact_bytes_sent(family: str) -> None:
    header, build = FAMILIES[family]
    target = Attempts()
    body = b'{"eventType": "x",  "note": "caf\xc3\xa9"}\n'
    delivery = recorded(family, body)
    assert recorded_family(delivery) == family
    with serving(target) as url:
        sender = HttpSender(f"{url}/callbacks", ("me", "pw"))
        done = replay(delivery, sender, Resigning(SECRET).signature_for(delivery))
    assert done.exchange == (401, 204)
    assert [sent for sent, _ in target.attempts] == [body, body]
    expected = build(SECRET).sign(body)
    assert [headers[header.lower()] for _, headers in target.attempts] == [expected, expected]


def test_a_delivery_recorded_unsigned_is_signed_only_when_a_family_is_named() -> None:
    unsigned = recorded(None, b"{}")
    assert Resigning(SECRET).signature_for(unsigned) is None
    assert Resigning(SECRET).unsigned_header(unsigned) is None
    forced = Resigning(SECRET, "subscriptions").signature_for(unsigned)
    assert forced is not None
    assert forced.header == SUBSCRIPTIONS_HEADER
    assert Resigning().unsigned_header(recorded("toll-free", b"{}")) == TOLL_FREE_HEADER
    assert SECRET not in repr(Resigning(SECRET, "toll-free"))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--signature", "toll-free"], "--secret-env"),
        (["--secret-env", "UNSET_VARIABLE_OF_THIS_TEST"], "is not set"),
        (["--secret", ""], "empty"),
        (["--secret", "x", "--secret-env", "S"], "not allowed with"),
    ],
)
def test_replay_signing_usage_errors_exit_2(tmp_path: Path, args: list[str], says: str) -> None:
    Recorder(tmp_path / "f.sqlite3").close()
    done = bwhooks("replay", str(tmp_path / "f.sqlite3"), "http://127.0.0.1:9/cb", *args)
    assert done.returncode == 2
    assert says in done.stderr


# -- listen --------------------------------------------------------------------------------


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_listen_serves_a_signed_printing_receiver(family: str) -> None:
    listening, url, _ = inspected(
        "--user",
        "me",
        "--password",
        "pw",
        "--signature",
        family,
        "--secret-env",
        "S",
        env={"S": SECRET},
    )
    try:
        base = url.removesuffix("/callbacks")
        statuses = [
            post(base, ANSWER, {"Content-Type": "application/json", "Authorization": AUTH}),
            post(base, ANSWER, signed_headers(family, ANSWER, WRONG)),
            post(base, ANSWER, signed_headers(family, ANSWER)),
            post(base, ANSWER, signed_headers(family, ANSWER, auth=False)),  # the challenge
        ]
    finally:
        listening.terminate()
        out, err = listening.communicate(timeout=10)
    assert statuses == [403, 403, 200, 401]
    assert out.count("VoiceAnswerEvent") == 1, out  # printed once: the signed delivery
    assert f"verifying {family} signatures" in err
    no_secret_in(out, err)


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--signature", "toll-free"], {}, "--secret-env"),
        (["--secret-env", "S"], {"S": SECRET}, "--signature"),
        (["--signature", "toll-free", "--secret-env", "S"], {"S": "short"}, "16 to 64"),
        (["--signature", "toll-free", "--secret-env", "S"], {}, "is not set"),
    ],
)
def test_listen_signing_usage_errors_exit_2(
    args: list[str], env: dict[str, str], says: str
) -> None:
    done = bwhooks("listen", "--port", "0", *args, env={"S": "", **env})
    assert done.returncode == 2
    assert says in done.stderr
    assert "short" not in done.stderr  # the secret is never shown, even a refused one


def test_forward_relays_signatures_so_a_signed_app_behind_verifies(tmp_path: Path) -> None:
    receiver = Receiver(auth=BasicAuth(("me", "pw")), signature=HmacSignature.toll_free(SECRET))
    received: list[bytes] = []
    receiver.on(Event)(lambda event: received.append(b"event"))
    file = tmp_path / "relayed.sqlite3"
    with serving(make_app(receiver, "/callbacks")) as app:
        relay, url = start_listen("--forward", f"{app}/callbacks", "--record", str(file))
        try:
            base = url.removesuffix("/callbacks")
            statuses = [
                post(base, ANSWER, signed_headers("toll-free", ANSWER, auth=False)),
                post(base, ANSWER, signed_headers("toll-free", ANSWER)),
                post(base, ANSWER, signed_headers("toll-free", ANSWER, WRONG)),
                post(base, ANSWER + b" ", signed_headers("toll-free", ANSWER)),  # one byte more
            ]
        finally:
            out = stop(relay)
    assert statuses == [401, 200, 403, 403]
    assert received == [b"event"]
    with Recorder(file) as recorder:
        deliveries = recorder.deliveries()
    assert [d.header(TOLL_FREE_HEADER) for d in deliveries] == ["<masked>"] * 4
    no_secret_in(out, *(path.read_bytes() for path in tmp_path.iterdir()))
    signature = HmacSignature.toll_free(SECRET).sign(ANSWER)
    assert signature.encode() not in b"".join(path.read_bytes() for path in tmp_path.iterdir())


# -- what never keeps a signature ------------------------------------------------------------


@pytest.fixture
def recording(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    """``listen --record`` with a toll-free signed printing receiver: (URL, page, file)."""
    file = tmp_path / "signed.sqlite3"
    process, url, page = inspected(
        "--user",
        "me",
        "--password",
        "pw",
        "--signature",
        "toll-free",
        "--secret-env",
        "S",
        "--record",
        str(file),
        env={"S": SECRET},
    )
    yield url, page, file
    process.terminate()
    out, err = process.communicate(timeout=10)
    no_secret_in(out, err)


def test_no_signature_value_is_kept_by_the_recording_the_page_export_or_logs(
    recording: tuple[str, str, Path], tmp_path: Path
) -> None:
    url, page, file = recording
    base = url.removesuffix("/callbacks")
    values = []
    for family, body in (("toll-free", OWN_BODIES["toll-free"]), ("subscriptions", MESSAGE)):
        headers = signed_headers(family, body)
        values.append(headers[FAMILIES[family][0]].encode())
        post(base, body, headers)
    deliveries = listed(page)["deliveries"]
    assert [d["status"] for d in deliveries] == [204, 403]  # the page verifies toll-free
    names = {name.lower(): value for d in deliveries for name, value in d["headers"]}
    assert names[TOLL_FREE_HEADER] == names[SUBSCRIPTIONS_HEADER.lower()] == "<masked>"
    pages = json.dumps(listed(page)).encode()
    tests = [
        request(page, "GET", f"/api/deliveries/{d['id']}/test", token=True)[1] for d in deliveries
    ]
    exported = tmp_path / "fixtures"
    done = bwhooks("export", str(file), str(exported), "--id", "1", "--id", "2")
    assert done.returncode == 0, done.stderr
    assert len(list(exported.glob("*.json"))) == 2
    kept = [pages, *tests, done.stdout.encode(), done.stderr.encode()]
    kept += [path.read_bytes() for path in tmp_path.rglob("*") if path.is_file()]
    for value in values:
        assert not [where for where in kept if value in where]


def test_a_queue_envelope_keeps_no_signature_header() -> None:
    queue = TaskQueue(RedisClaims(redis.Redis(port=1)))  # an envelope needs no connection
    body = json.dumps(load_v2_example("disconnect-1.json")).encode()
    (event,) = parse_delivery(json.loads(body))
    headers = {
        "Content-Type": "application/json",
        **signed_headers("toll-free", body),
        **signed_headers("subscriptions", body),
    }
    envelope = queue.envelope("tests:handler", event, CallbackRequest("POST", "/", headers, body))
    assert dict(envelope.headers) == {"Content-Type": "application/json; charset=utf-8"}
    written = json.dumps(envelope.to_dict())
    for name in (TOLL_FREE_HEADER, SUBSCRIPTIONS_HEADER):
        assert headers[name] not in written


# -- the inspector ------------------------------------------------------------------------


def test_the_inspector_replays_signed_with_the_secret_else_says_why_403(signed_app: Path) -> None:
    for secret_args, expected in (
        (("--secret-env", "S"), [401, 200]),
        ((), [401, 403]),
    ):
        process, url, page = inspected(
            "--app", "signed_app:receiver", *secret_args, cwd=signed_app, env={"S": SECRET}
        )
        try:
            assert (
                post(url.removesuffix("/callbacks"), ANSWER, signed_headers("toll-free", ANSWER))
                == 200
            )
            delivery = next(d for d in listed(page)["deliveries"] if d["status"] == 200)
            outcome = replayed(page, delivery["id"])
        finally:
            err = finish(process)
        assert outcome["exchange"] == expected
        if secret_args:
            assert "note" not in outcome
        else:
            assert "replayed unsigned" in outcome["note"]
            assert TOLL_FREE_HEADER in outcome["note"]
        no_secret_in(err, json.dumps(outcome))


def test_the_inspector_never_vouches_for_a_strangers_delivery(signed_app: Path) -> None:
    """A forged, signed-looking delivery refused when recorded is replayed as it came: without
    this run's credentials or a signature, so the app behind refuses it again."""
    process, url, page = inspected(
        "--app", "signed_app:receiver", "--secret-env", "S", cwd=signed_app, env={"S": SECRET}
    )
    try:
        base = url.removesuffix("/callbacks")
        assert post(base, ANSWER, signed_headers("toll-free", ANSWER)) == 200  # the real one
        forged = signed_headers("toll-free", ANSWER, "a-guess-of-the-secret-0000", auth=False)
        assert post(base, ANSWER, forged) == 401  # a stranger: no credentials
        stranger = next(d for d in listed(page)["deliveries"] if d["status"] == 401)
        outcome = replayed(page, stranger["id"])
    finally:
        err = finish(process)
    assert outcome["exchange"] == [401]  # challenged, and nothing of ours sent after it
    assert "replayed as its sender sent it" in outcome["note"]
    no_secret_in(err, json.dumps(outcome))


def test_a_generated_test_of_a_signed_delivery_signs_with_a_secret_from_the_environment(
    signed_app: Path,
) -> None:
    process, url, page = inspected("--app", "signed_app:receiver", cwd=signed_app, env={})
    try:
        base = url.removesuffix("/callbacks")
        assert post(base, ANSWER, signed_headers("toll-free", ANSWER)) == 200
        assert post(base, MESSAGE, signed_headers("toll-free", MESSAGE)) == 200
        tfv = OWN_BODIES["toll-free"]
        assert post(base, tfv, signed_headers("toll-free", tfv)) == 204
        tests = signed_app / "generated"
        tests.mkdir()
        for delivery in [d for d in listed(page)["deliveries"] if d["status"] in (200, 204)]:
            status, code = request(
                page, "GET", f"/api/deliveries/{delivery['id']}/test", token=True
            )
            assert status == 200
            assert SECRET_VARIABLE.encode() in code
            no_secret_in(code)
            (tests / f"test_signed_{delivery['id']}.py").write_bytes(code)
    finally:
        finish(process)
    (signed_app / "myapp.py").write_text("from signed_app import app\n")

    def pytest_run(secret: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
            cwd=signed_app,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, SECRET_VARIABLE: secret},
        )

    passed = pytest_run(SECRET)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "3 passed" in passed.stdout
    failed = pytest_run(WRONG)  # a wrong secret: the app answers 403, the tests fail
    assert "3 failed" in failed.stdout
    assert "assert 403 == 200" in failed.stdout
    assert "assert 403 == 204" in failed.stdout


def test_a_generated_test_of_an_unsigned_delivery_does_not_sign() -> None:
    code = generated_test(recorded(None, b"{}"))
    assert "HmacSignature" not in code
    assert "send_request(REQUEST)" in code
    signed = generated_test(recorded("subscriptions", b"{}"))
    assert "HmacSignature.subscriptions(os.environ['BWHOOKS_SIGNATURE_SECRET'])" in signed
    assert "send_request(signed(REQUEST))" in signed


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_no_signature_or_secret_reaches_the_logs(
    family: str, caplog: pytest.LogCaptureFixture
) -> None:
    header, build = FAMILIES[family]
    receiver = Receiver(auth=BasicAuth(("me", "pw")), signature=build(SECRET))
    receiver.on(Event)(lambda event: None)
    sent = []
    with caplog.at_level("DEBUG"):
        for secret, body in ((SECRET, ANSWER), (WRONG, ANSWER), (SECRET, MESSAGE + b"x")):
            headers = signed_headers(family, body, secret)
            sent.append(headers[header])
            receiver.handle(CallbackRequest("POST", "/callbacks", headers, body))
    assert "missing or invalid signature" in caplog.text  # the refusals are logged
    assert not [value for value in sent if value in caplog.text]
    no_secret_in(caplog.text)
