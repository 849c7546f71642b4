"""`bwhooks send` against a live pytest-httpserver, and `bwhooks listen` with `bwhooks send`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from bwhooks import events
from bwhooks.auth import basic_authorization
from bwhooks.cli import main
from bwhooks.decoding.parsing import parse_delivery
from bwhooks.testing import KINDS, AmbiguousKindWarning, fake_payload

GOOD = basic_authorization("u", "p")
AMBIGUOUS = ["answer", "gather", "dtmf", "redirect", "transferComplete"]


def bwhooks_script() -> str:
    """The ``bwhooks`` console script of the running venv, as a user runs it."""
    script = shutil.which("bwhooks", path=str(Path(sys.executable).parent))
    assert script is not None
    return script


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


def test_send_to_nothing_exits_1_and_never_prints_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from support import free_port

    url = f"http://bw-user:s3cret@127.0.0.1:{free_port()}/callbacks"
    assert main(["send", "v1:answer", url]) == 1
    err = capsys.readouterr().err
    assert "cannot reach http://bw-user:<masked>@127.0.0.1:" in err
    assert "s3cret" not in err


@pytest.mark.parametrize(
    ("credentials", "says"),
    [
        ([], "the receiver asks for credentials: put them in the URL"),
        (["--user", "u", "--password", "nope"], "the receiver refused the credentials sent"),
    ],
)
def test_send_a_final_401_says_what_to_do(
    httpserver: HTTPServer,
    capsys: pytest.CaptureFixture[str],
    credentials: list[str],
    says: str,
) -> None:
    bandwidth_like_endpoint(httpserver)
    assert main(["send", "sms", httpserver.url_for("/callbacks"), *credentials]) == 1
    assert says in capsys.readouterr().err


def test_user_without_password_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["send", "answer", "http://127.0.0.1:9/cb", "--user", "u"])
    assert exited.value.code == 2


def spawn_listen(
    *args: str, cwd: Path | None = None, script: bool = False
) -> subprocess.Popen[str]:
    """``bwhooks listen --port 0 ARGS`` (in ``cwd``; by the console script, else by
    ``python -m bwhooks``), its output piped, unbuffered."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("BWHOOKS_CREDENTIALS", None)
    command = [bwhooks_script()] if script else [sys.executable, "-m", "bwhooks"]
    return subprocess.Popen(
        [*command, "listen", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=cwd,
    )


def start_listen(
    *args: str, cwd: Path | None = None, script: bool = False
) -> tuple[subprocess.Popen[str], str]:
    process = spawn_listen(*args, cwd=cwd, script=script)
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


# -- kinds are never guessed ------------------------------------------------------------------


@pytest.mark.parametrize("kind", AMBIGUOUS)
def test_send_a_bare_kind_both_generations_send_is_v1_with_a_one_line_note(
    httpserver: HTTPServer, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    received = bandwidth_like_endpoint(httpserver)
    url = httpserver.url_for("/callbacks")
    with pytest.warns(AmbiguousKindWarning) as caught:
        fake_payload(kind)  # the library's note, word for word
    assert main(["send", kind, url, "--user", "u", "--password", "p"]) == 0
    (event,) = parse_delivery(json.loads(received[-1].get_data()))
    assert type(event) is KINDS[f"v1:{kind}"]
    assert capsys.readouterr().err.splitlines() == [f"bwhooks send: note: {caught[0].message}"]
    for prefix in ("v1:", "v2:"):
        assert main(["send", prefix + kind, url, "--user", "u", "--password", "p"]) == 0
        (event,) = parse_delivery(json.loads(received[-1].get_data()))
        assert type(event) is KINDS[prefix + kind]
        assert type(event) is type(fake_event_quietly(prefix + kind))  # one resolution
        assert capsys.readouterr().err == ""  # the explicit spellings are silent


def fake_event_quietly(kind: str) -> events.Event:
    from bwhooks.testing import fake_event

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fake_event(kind)


@pytest.mark.parametrize(
    ("kind", "nearest"),
    [
        ("hangpu", "'hangup'"),  # v1
        ("initate", "'initiate'"),  # Voice v2
        ("message-recieved", "'message-received'"),  # Messaging v2
        ("anwser", "'v1:answer' or 'v2:answer'"),
    ],
)
def test_send_a_misspelt_kind_is_refused_with_a_suggestion_and_sends_nothing(
    httpserver: HTTPServer, capsys: pytest.CaptureFixture[str], kind: str, nearest: str
) -> None:
    received = bandwidth_like_endpoint(httpserver)
    url = httpserver.url_for("/callbacks")
    assert main(["send", kind, url, "--user", "u", "--password", "p"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"bwhooks send: unknown kind {kind!r}: did you mean {nearest}? (")
    assert "--unknown voice|messaging|v1" in line
    assert "--list-kinds" in line
    assert received == []
    assert httpserver.log == []


def test_the_console_script_refuses_a_typo_and_sends_nothing(httpserver: HTTPServer) -> None:
    received = bandwidth_like_endpoint(httpserver)
    url = httpserver.url_for("/callbacks").replace("http://", "http://u:p@")
    result = subprocess.run(
        [bwhooks_script(), "send", "message-recieved", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "unknown kind 'message-recieved': did you mean 'message-received'?" in line
    assert received == []
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("product", "kind", "cls", "field"),
    [
        ("voice", "holdStarted", events.UnknownVoiceEvent, "tag"),
        ("messaging", "message-recalled", events.UnknownMessagingEvent, "description"),
        ("v1", "pizzaDelivered", events.UnknownEvent, "callId"),
    ],
)
def test_send_an_unknown_type_on_purpose(
    httpserver: HTTPServer,
    capsys: pytest.CaptureFixture[str],
    *,
    product: str,
    kind: str,
    cls: type,
    field: str,
) -> None:
    received = bandwidth_like_endpoint(httpserver)
    url = httpserver.url_for("/callbacks")
    argv = ["send", kind, url, "--user", "u", "--password", "p", "--unknown", product]
    assert main([*argv, "--set", f"{field}=on-purpose"]) == 0
    payload = json.loads(received[-1].get_data())
    assert isinstance(payload, list) == (product == "messaging")  # Messaging v2: an array
    (event,) = parse_delivery(payload)
    assert (type(event), event.event_type) == (cls, kind)
    assert event.raw[field] == "on-purpose"
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        ("answer", "'answer' is a kind bwhooks knows: send it without --unknown"),
        ("v2:holdStarted", "--unknown takes the type as it is sent, without a prefix"),
    ],
)
def test_send_unknown_refuses_a_known_kind_or_a_prefix(
    httpserver: HTTPServer, capsys: pytest.CaptureFixture[str], kind: str, why: str
) -> None:
    received = bandwidth_like_endpoint(httpserver)
    url = httpserver.url_for("/callbacks")
    assert main(["send", kind, url, "--unknown", "voice"]) == 2
    assert why in capsys.readouterr().err
    assert received == []


def test_send_list_kinds_lists_every_kind_with_its_class(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["send", "--list-kinds"])
    assert exited.value.code == 0
    listed = {}
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("  "):
            spelling, name = line.split()
            listed[spelling] = name
    for spelling, cls in KINDS.items():
        bare = spelling.removeprefix("v1:").removeprefix("v2:")
        if bare in AMBIGUOUS:
            assert spelling == bare or listed[spelling] == cls.__name__
            assert bare not in listed  # never offered bare
        else:
            assert listed[bare] == cls.__name__


# -- listen --app ------------------------------------------------------------------------------

MY_CALLBACKS = """\
from bwhooks import BasicAuth, Receiver, SmsEvent
from bwhooks.adapters.wsgi import CallbackMiddleware

receiver = Receiver(auth=BasicAuth(("me", "pw")))
LIMIT = 5


@receiver.on(SmsEvent)
def sms(event):
    print("got sms:", event.text, flush=True)


def site(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"my site"]


app = CallbackMiddleware(site, receiver, path="/bw")


async def asgi_app(scope, receive, send):
    pass


def create_app():  # an app factory, as `flask --app` finds one
    return CallbackMiddleware(site, receiver, path="/bw")


def failing_factory():
    raise RuntimeError("no database")


def takes_one(config):
    return app
"""


@pytest.mark.parametrize(
    "target", ["my_callbacks:receiver", "my_callbacks:app", "my_callbacks:create_app"]
)
def test_listen_app_imports_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """As flask, gunicorn and uvicorn do: the console script, run in the module's folder."""
    monkeypatch.delenv("PYTHONPATH", raising=False)  # the folder is importable only as cwd
    (tmp_path / "my_callbacks.py").write_text(MY_CALLBACKS)
    process, url = start_listen("--app", target, "--path", "/bw", cwd=tmp_path, script=True)
    try:
        assert url.endswith("/bw")
        argv = ["send", "sms", url, "--user", "me", "--password", "pw", "--set", "text=from cli"]
        assert main(argv) == 0
    finally:
        out = stop(process)
    assert "got sms: from cli" in out


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("nosuch:receiver", "cannot import 'nosuch' (from {here}): No module named 'nosuch'"),
        (
            "needs_dep:receiver",
            "cannot import 'needs_dep' (from {here}): No module named 'not_installed_dep'",
        ),
        (
            "raises:receiver",
            "cannot import 'raises' (from {here}): KeyError: 'BANDWIDTH_PASSWORD' "
            "({here}/raises.py, line 2)",
        ),
        ("broken:receiver", "cannot import 'broken' (from {here}): SyntaxError: "),
        (
            "my_callbacks:recever",
            "'my_callbacks' ({here}/my_callbacks.py) has no attribute 'recever': "
            "did you mean 'receiver'?",
        ),
        (
            "my_callbacks:LIMIT",
            "'my_callbacks:LIMIT' is an object of type int, not a bwhooks Receiver or a WSGI app",
        ),
        (
            "my_callbacks:asgi_app",
            "'my_callbacks:asgi_app' is an ASGI app: --app serves a bwhooks Receiver or a WSGI "
            "app (serve this one with uvicorn, or pass its Receiver)",
        ),
        (
            "my_callbacks",
            "--app takes MODULE:ATTR (e.g. my_callbacks:receiver), not 'my_callbacks'",
        ),
        (
            "my_callbacks:failing_factory",
            "my_callbacks:failing_factory() failed: RuntimeError: no database "
            "({here}/my_callbacks.py, line 30)",
        ),
        (
            "my_callbacks:takes_one",
            "'my_callbacks:takes_one' cannot be called as a WSGI app (environ, start_response): "
            "pass a bwhooks Receiver, a WSGI app, or a function that takes no arguments and "
            "returns one",
        ),
    ],
)
def test_listen_app_that_cannot_be_served_is_one_line_and_exit_2(
    tmp_path: Path, target: str, says: str
) -> None:
    (tmp_path / "my_callbacks.py").write_text(MY_CALLBACKS)
    (tmp_path / "needs_dep.py").write_text("import not_installed_dep\n")
    (tmp_path / "raises.py").write_text("import os\nPASSWORD = os.environ['BANDWIDTH_PASSWORD']\n")
    (tmp_path / "broken.py").write_text("def receiver(:\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BANDWIDTH_PASSWORD")}
    result = subprocess.run(
        [bwhooks_script(), "listen", "--port", "0", "--app", target],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 2
    assert result.stdout == ""  # nothing served
    (line,) = result.stderr.splitlines()  # one line, no traceback
    assert line.startswith("bwhooks listen: " + says.format(here=tmp_path.resolve()))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:p@h:1/cb", "http://u:<masked>@h:1/cb"),
        ("https://bw-user:s3:cr@t@host/x?y=1", "https://bw-user:<masked>@host/x?y=1"),
        ("http://host/cb?u=a@b", "http://host/cb?u=a@b"),  # an @ after the authority
        ("http://user@host/cb", "http://user@host/cb"),  # a user, no password
        ("host:8000/cb", "host:8000/cb"),  # no scheme: nothing to mask
    ],
)
def test_a_url_is_shown_without_its_password(url: str, shown: str) -> None:
    from bwhooks.http import url_for_display

    assert url_for_display(url) == shown
