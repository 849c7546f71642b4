"""`bwhooks demo` over real HTTP, the console script, `python -m bwhooks`, import hygiene."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bwhooks.devtools.demo import demo_sequence, demo_sequence_v2, run_demo

KINDS = [
    "incomingcall",
    "answer",
    "speak",
    "gather",
    "dtmf",
    "recording",
    "transcription",
    "hangup",
    "sms",
    "sms",
    "mms",
]
V2_KINDS = ["initiate", "v2:gather", "disconnect", "message-received", "message-delivered"]


def test_demo_prints_every_event_and_exits_0() -> None:
    out = io.StringIO()
    assert run_demo(out) == 0
    text = out.getvalue()
    for name in [
        "IncomingCallEvent",
        "AnswerEvent",
        "SpeakEvent",
        "GatherEvent",
        "DtmfEvent",
        "RecordingEvent",
        "TranscriptionEvent",
        "HangupEvent",
        "SmsEvent",
        "MmsEvent",
    ]:
        assert f"<- {name}" in text
    assert text.count("401 -> 200") == len(KINDS) + len(V2_KINDS)  # the challenge first
    assert "GET  answer" in text
    assert "BXML answer" in text
    assert "delivery_state='delivered'" in text
    for name in ["VoiceInitiateEvent", "VoiceGatherEvent", "VoiceDisconnectEvent"]:
        assert f"<- {name}" in text
    assert text.count("<- MessageDeliveredEvent") == 2  # one array, two events
    assert "text='Is it ready?'" in text
    assert text.count("order number entered: 42") == 2  # Voice v2's gather, then v1's
    events = len(KINDS) + len(V2_KINDS) + 1
    assert f"all {len(KINDS) + len(V2_KINDS)} callbacks received ({events} events)" in text


def _parts(text: str) -> dict[str, list[tuple[str, list[str]]]]:
    """The demo's output as {heading: [(request line, the lines under it)]}."""
    parts: dict[str, list[tuple[str, list[str]]]] = {}
    current: list[tuple[str, list[str]]] | None = None
    for line in text.splitlines()[2:]:  # past the receiver's address and the challenge note
        if not line or line.startswith("all "):
            continue
        if line.startswith(("POST ", "GET ")):
            assert current is not None, f"a callback before any heading: {line}"
            current.append((line, []))
        elif line.startswith(" "):
            assert current, f"a line under no callback: {line}"
            current[-1][1].append(line.strip())
        else:
            current = parts.setdefault(line, [])
    return parts


def test_demo_leads_with_v2_then_a_labelled_v1_part_each_callback_then_its_events() -> None:
    out = io.StringIO()
    assert run_demo(out) == 0
    parts = _parts(out.getvalue())
    assert list(parts) == ["Voice v2 and Messaging v2", "Bandwidth v1 (Catapult)"]
    v2, v1 = parts.values()
    assert [line.split()[1] for line, _ in v2] == V2_KINDS
    assert [line.split()[1] for line, _ in v1] == KINDS
    for line, under in [*v2, *v1]:  # each callback's line, then what its handlers got
        assert line.split(maxsplit=2)[2].startswith("401 -> 200"), line
        assert under, line
        assert under[0].startswith("<- "), (line, under)
    first_events = [under[0].split()[1] for _, under in v2]
    assert first_events == [
        "VoiceInitiateEvent",
        "VoiceGatherEvent",
        "VoiceDisconnectEvent",
        "MessageReceivedEvent",
        "MessageDeliveredEvent",
    ]
    assert all(not under[0].split()[1].startswith(("Voice", "Message")) for _, under in v1)


def test_demo_sequence_v2_is_one_consistent_call_and_a_conversation() -> None:
    sequence = demo_sequence_v2()
    assert [kind for _, kind, _ in sequence] == V2_KINDS
    voice = [payload for _, _, payload in sequence if isinstance(payload, dict)]
    assert len({payload["callId"] for payload in voice}) == 1
    assert {payload["direction"] for payload in voice} == {"inbound"}
    receipts = sequence[-1][2]
    assert len({element["message"]["id"] for element in receipts}) == 1  # one group text
    assert [element["to"] for element in receipts] == receipts[0]["message"]["to"]


def test_demo_sequence_is_one_consistent_call() -> None:
    sequence = demo_sequence()
    assert [kind for _, kind, _ in sequence] == KINDS
    call_ids = {payload["callId"] for _, kind, payload in sequence if "callId" in payload}
    assert len(call_ids) == 1
    assert {method for method, _, _ in sequence} == {"GET", "POST"}


def test_demo_fails_when_an_event_goes_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from bwhooks.devtools import demo

    original = demo.demo_sequence
    monkeypatch.setattr(
        demo, "demo_sequence", lambda: [*original(), ("PUT", "sms", original()[8][2])]
    )
    assert run_demo(io.StringIO()) == 1


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)


def test_python_dash_m_bwhooks_demo() -> None:
    result = _run(sys.executable, "-m", "bwhooks", "demo")
    assert result.returncode == 0, result.stderr
    assert f"all {len(KINDS) + len(V2_KINDS)} callbacks received" in result.stdout


def test_console_script_is_installed() -> None:
    script = shutil.which("bwhooks", path=str(Path(sys.executable).parent))
    assert script is not None
    result = _run(script, "--help")
    assert result.returncode == 0
    assert "demo" in result.stdout


def test_unknown_command_exits_2() -> None:
    assert _run(sys.executable, "-m", "bwhooks", "fly").returncode == 2


def test_import_bwhooks_imports_no_web_framework() -> None:
    code = (
        "import sys, bwhooks, bwhooks.events, bwhooks.adapters.wsgi, bwhooks.adapters.asgi\n"
        "bad = {'flask', 'fastapi', 'starlette', 'django', 'werkzeug'} & set(sys.modules)\n"
        "assert not bad, bad\n"
        "import bwhooks.testing\n"  # the testing kit uses werkzeug, a core dependency
        "bad = {'flask', 'starlette', 'django', 'pytest_httpserver'} & set(sys.modules)\n"
        "assert not bad, bad"
    )
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr


def test_sync_receiving_never_imports_asyncio() -> None:
    """asyncio (and ssl, sockets, futures with it) is imported only for async handlers."""
    code = (
        "import sys, bwhooks, bwhooks.adapters.wsgi\n"
        "from bwhooks import BasicAuth, CallbackRequest, Event, Receiver\n"
        "import json\n"
        "receiver = Receiver(auth=BasicAuth(('u', 'p')))\n"
        "seen = []\n"
        "receiver.on(Event)(seen.append)\n"
        "headers = {'Authorization': BasicAuth(('u', 'p')).authorization(),\n"
        "           'Content-Type': 'application/json'}\n"
        "body = json.dumps({'eventType': 'sms', 'messageId': 'm-1', 'text': 'hi'}).encode()\n"
        "assert receiver.handle(CallbackRequest('POST', '/', headers, body)).status == 200\n"
        "assert len(seen) == 1 and 'asyncio' not in sys.modules, sorted(sys.modules)\n"
        "async def later(event): seen.append(event)\n"
        "receiver.on(Event)(later)\n"
        "assert receiver.handle(CallbackRequest('POST', '/', headers, body)).status == 200\n"
        "assert len(seen) == 3 and 'asyncio' in sys.modules\n"
    )
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
