"""`bwhooks export`: recorded deliveries as fixtures with placeholders for personal data, and
the plugin's `bw_replay` delivering them to an app through CallbackClient."""

from __future__ import annotations

import html
import json
import os
import re
import stat
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus
from xml.etree import ElementTree

import pytest

from bwhooks import BasicAuth, Event, Receiver, VoiceAnswerEvent
from bwhooks.adapters.wsgi import make_app
from bwhooks.fixtures import Fixture, load_fixture, write_fixtures
from bwhooks.recording import Delivery, Recorder, typed
from bwhooks.testing import fake_payload

CALLER, CALLED, TEXT, MEDIA = (
    "+19195551234",
    "+19195556789",
    "meet me at 6",
    "https://m.example/a.jpg",
)
JSON, FORM, XML = "application/json", "application/x-www-form-urlencoded", "application/xml"


def recorded(
    payload: Any,
    answer: bytes,
    content_type: str = XML,
    *,
    method: str = "POST",
    query: str = "",
    body_type: str = JSON,
    status: int = 200,
) -> Delivery:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = (("Content-Type", body_type), ("Authorization", "Basic dTpw"))
    events, refused = typed(method, "/callbacks", query, headers, body)
    return Delivery(
        received_at=datetime.now(timezone.utc),
        method=method,
        path="/callbacks",
        query=query,
        headers=headers,
        body=body,
        events=events,
        refused=refused,
        status=status,
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
    assert voice["sipHeaders"] == {"X-Secret": "<text 2>"}
    assert sms["message"]["text"] == "<text 4>"  # after the description
    assert sms["message"]["media"] == ["https://m.example/%3Ctext%205%3E"]  # a URL still
    assert answer.answer == greeting("+15550100001")  # the answer speaks the placeholder too
    assert (answer.status, answer.answer_content_type) == (200, XML)
    assert answer.event_types == ("answer",)
    # What is structure stays as it was: the kind, the ids, the timestamps.
    assert voice["eventType"] == "answer"
    assert sms["message"]["time"].endswith("Z")
    assert voice["callUrl"].endswith(f"/accounts/90000001/calls/{voice['callId']}")


# -- item 3 of issue 20: every value a realistic recording leaked -------------------------------

SIP_CALLER = "+19195550142"  # first seen inside a SIP address
CALLED_V2 = "+19195550167"
AGENT = "+19195550199"  # only in an answer's <PhoneNumber>
FORMATTED = "+1 (919) 555-0177"  # in a messaging description
V1_CALLER, V1_CALLED = "+19195550155", "+19195550166"  # a GET query, percent-encoded
FORM_NUMBER = "+19195550133"  # URL-encoded in non-JSON bodies
DIVERTED = "+19195550188"
PHONES = (SIP_CALLER, CALLED_V2, AGENT, FORMATTED, V1_CALLER, V1_CALLED, FORM_NUMBER, DIVERTED)
IDENTITY = (
    "eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0In0"
    ".eyJhdHRlc3QiOiJBIiwib3JpZ2lkIjoiNDQzN2MzZjAifQ.c2lnbmF0dXJlLXNoYWtlbg"
    ";info=<https://cert.example.com/shaken.pem>;alg=ES256;ppt=shaken"
)
SECRETS = (
    "Jane Doe",  # a caller's name (v1 displayName), spoken in an answer
    "jane.doe",  # inside a SIP address
    "jane.doe@example.com",
    "VIP anniversary",  # free text in a Voice v2 tag
    "4821",  # a PIN typed (gather digits), then spoken back
    "739164",  # a code the app made up and speaks
    "4111111111111111",  # a card number typed on the keypad
    "4111 1111 1111 1111",  # the same, in a text message
    "eyJhbGciOiJFUzI1NiIsInBwdCI6InNoYWtlbiIsInR5cCI6InBhc3Nwb3J0In0",  # STIR/SHAKEN identity
    "c2lnbmF0dXJlLXNoYWtlbg",
    "u-2qep7xyzsecret",  # a v1 user id inside URIs
    "73010042",  # a Voice v2 account id
    "uui-secret-value",
    "ACCT-99812",  # a SIP header's value
    "mediauser",  # URL credentials, in an upper-case scheme
    "mediapass",
    "cbuser",
    "cbpass",
    "K3YS3CR3T",  # secret query parameters
    "T0K3NV4LUE",
    "S1GN4TUR3",
    "cb-user-name",  # credentials in BXML attributes
    "cb-pass-word",
    "jane-doe-room",  # a conference named after someone
    "Pick up milk",  # a message's text
    "Call me now",  # a form body's text
    "Y2J1c2VyOmNicGFzcw",  # credentials in a text body
)


def everything(phone: str) -> list[str]:
    """A phone number as it may be written: E.164, national, formatted, encoded."""
    digits = re.sub(r"\D", "", phone)
    national = digits[-10:]
    area, exchange, line = national[:3], national[3:6], national[6:]
    forms = [
        phone,
        f"+{digits}",
        digits,
        national,
        f"({area}) {exchange}-{line}",
        f"{area}-{exchange}-{line}",
        f"{area}.{exchange}.{line}",
        f"%2B{digits}",
    ]
    # No seven digits in a row from any number, wherever they stand.
    forms += [digits[i : i + 7] for i in range(len(digits) - 6)]
    return forms


def leaks(exported: str, secrets: list[str]) -> list[str]:
    """The secrets found in the exported text, in any case and any usual encoding."""
    haystacks = [exported, unquote_plus(exported), html.unescape(exported)]
    found = []
    for secret in secrets:
        variants = {
            secret,
            quote(secret, safe=""),
            quote_plus(secret),
            json.dumps(secret)[1:-1],
            html.escape(secret),
        }
        if any(v.casefold() in h.casefold() for v in variants for h in haystacks):
            found.append(secret)
    return found


def hostile_recording(file: Path) -> list[Delivery]:
    """A recording with every value that `export` used to keep (issue 20, item 3)."""
    # Voice v2 initiate: the caller in a SIP address, a STIR/SHAKEN identity, free text.
    initiate = fake_payload(
        "v2:initiate",
        from_=f"sip:{SIP_CALLER}@sip.example.com",
        to="sip:jane.doe@acme.bwsip.io",
        account_id="73010042",
    )
    initiate.update(
        identity=IDENTITY,
        tag="VIP anniversary",
        uui="uui-secret-value",
        sipHeaders={"X-Customer-Name": "Jane Doe", "X-Account": "ACCT-99812"},
        diversion={"origTo": DIVERTED, "reason": "unavailable"},
        stirShaken={"verstat": "TN-Verification-Passed", "attestationIndicator": "A"},
    )
    transfer = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response>'
        f'<SpeakSentence voice="julie">Connecting you, Jane Doe.</SpeakSentence>'
        f'<Transfer transferCallerId="{CALLED_V2}" username="cb-user-name" '
        f'password="cb-pass-word"><PhoneNumber>{AGENT}</PhoneNumber></Transfer>'
        f'<Conference name="jane-doe-room"/>'
        "</Response>"
    ).encode()
    # Voice v2 gathers: a PIN and a card number, spoken back; a code the app made up.
    pin = fake_payload("v2:gather", from_=SIP_CALLER, to=CALLED_V2, digits="4821")
    pin_answer = (
        b"<Response><SpeakSentence>You entered 4821. Your one-time code is 739164."
        b"</SpeakSentence><Redirect redirectUrl="
        b'"HTTPS://cbuser:cbpass@app.example.com/next?api_key=K3YS3CR3T&amp;step=two"/>'
        b"</Response>"
    )
    card = fake_payload("v2:gather", digits="4111111111111111", tag="VIP anniversary")
    # Messaging v2: a tag that is an e-mail, a description with a formatted number.
    message = fake_payload("message-received", message__from_=SIP_CALLER, message__to=[CALLED_V2])
    message[0]["description"] = f"Message from {FORMATTED}, reply to jane.doe@example.com"
    message[0]["message"].update(
        text="Pick up milk. My card is 4111 1111 1111 1111",
        tag="jane.doe@example.com",
        media=[
            "HTTPS://mediauser:mediapass@media.example.com/files/photo.jpg"
            "?token=T0K3NV4LUE&signature=S1GN4TUR3"
        ],
    )
    # v1 by GET: the numbers percent-encoded, a name, a user id in the URI, a secret parameter.
    user_uri = "https://api.catapult.inetwork.com/v1/users/u-2qep7xyzsecret"
    query = (
        f"eventType=incomingcall&from={quote_plus(V1_CALLER)}&to={quote_plus(V1_CALLED)}"
        f"&callId=c-abc123&callUri={quote_plus(user_uri + '/calls/c-abc123')}"
        "&displayName=Jane+Doe&callState=active&time=2016-02-20T16%3A22%3A30Z"
        f"&diversion={quote_plus(json.dumps({'origTo': DIVERTED, 'reason': 'unavailable'}))}"
        "&api_key=K3YS3CR3T"
    )
    greet = b"<Response><SpeakSentence>Welcome back, Jane Doe</SpeakSentence></Response>"
    sms_v1 = fake_payload("sms", from_=V1_CALLER, to=V1_CALLED, text="Pick up milk")
    sms_v1["messageUri"] = f"{user_uri}/messages/{sms_v1['messageId']}"
    # Non-JSON bodies: a form, and text with a URL-encoded (formatted) number.
    form = f"eventType=sms&from={quote_plus(FORM_NUMBER)}&text=Call+me+now".encode()
    plain = (
        f"caller={quote(FORM_NUMBER, safe='')} or %2B1%20(919)%20555-0133;"
        " Authorization: Basic Y2J1c2VyOmNicGFzcw=="
    ).encode()
    deliveries = [
        recorded(initiate, transfer),
        recorded(pin, pin_answer),
        recorded(card, b"<Response><Hangup/></Response>"),
        recorded(message, b"", ""),
        recorded(b"", greet, method="GET", query=query),
        recorded(sms_v1, b"", ""),
        recorded(form, b"", "", body_type=FORM, status=400),
        recorded(plain, b"", "", body_type="text/plain", status=400),
    ]
    with Recorder(file) as recorder:
        for delivery in deliveries:
            recorder.record(delivery)
        return recorder.deliveries()


def exported_text(paths: list[Path]) -> str:
    """The files as written, and the request and answer bodies inside them decoded."""
    texts = [p.read_text() for p in paths]
    for path in paths:
        fixture = load_fixture(path)
        texts += [fixture.query, fixture.body.decode(), fixture.answer.decode(), fixture.path]
    return "\n".join(texts)


def test_export_keeps_no_personal_value_or_secret_of_a_realistic_recording(
    tmp_path: Path,
) -> None:
    deliveries = hostile_recording(tmp_path / "r.sqlite3")
    paths = write_fixtures(deliveries, tmp_path / "out")
    exported = exported_text(paths)
    phones = [form for phone in PHONES for form in everything(phone)]
    assert leaks(exported, [*SECRETS, *phones]) == []
    # Still fixtures: every request decodes to the same events as the recorded one...
    fixtures = [load_fixture(p) for p in paths]
    for delivery, fixture in zip(deliveries, fixtures, strict=True):
        headers = (("Content-Type", fixture.content_type),)
        events, refused = typed(fixture.method, fixture.path, fixture.query, headers, fixture.body)
        assert [e["class"] for e in events or ()] == [e["class"] for e in delivery.events or ()]
        assert (refused is None) == (delivery.refused is None)
        assert fixture.event_types == tuple(e["event_type"] for e in delivery.events or ())
    # ... the answers are the same BXML (verbs and structure), and one value is one placeholder.
    initiate, pin, _, message, get, *_ = fixtures
    tags = [e.tag for e in ElementTree.fromstring(initiate.answer).iter()]  # noqa: S314
    assert tags == ["Response", "SpeakSentence", "Transfer", "PhoneNumber", "Conference"]
    caller = json.loads(message.body)[0]["message"]["from"]
    assert re.fullmatch(r"\+1555010\d{4}", caller)
    assert json.loads(initiate.body)["from"] == f"sip:{caller}@sip.example.com"
    assert json.loads(pin.body)["from"] == caller
    spoken = ElementTree.fromstring(pin.answer).find("SpeakSentence")  # noqa: S314
    assert spoken is not None
    assert f"You entered {json.loads(pin.body)['digits']}." in str(spoken.text)
    assert json.loads(initiate.body)["stirShaken"]["verstat"] == "TN-Verification-Passed"
    assert "callState=active" in get.query
    assert "time=2016-02-20T16%3A22%3A30Z" in get.query  # a timestamp stays a timestamp


def test_replacement_does_not_depend_on_the_order_of_deliveries(tmp_path: Path) -> None:
    """A number first seen inside a SIP address, a name first spoken by the app: both are
    replaced in that early fixture too, by the placeholders the later ones get."""
    initiate = fake_payload("v2:initiate", from_=f"sip:{SIP_CALLER}@sip.example.com")
    welcome = b"<Response><SpeakSentence>Welcome back, Jane Doe</SpeakSentence></Response>"
    message = fake_payload("message-received", message__from_=SIP_CALLER)
    message[0]["message"]["tag"] = "Jane Doe"
    early, late = recorded(initiate, welcome), recorded(message, b"", "")
    for order in ([early, late], [late, early]):
        folder = tmp_path / str(len(list(tmp_path.iterdir())))
        paths = write_fixtures(order, folder)
        assert leaks(exported_text(paths), ["Jane Doe", *everything(SIP_CALLER)]) == []
        fixtures = {f.event_types[0]: f for f in map(load_fixture, paths)}
        sms = json.loads(fixtures["message-received"].body)[0]["message"]
        voice = json.loads(fixtures["initiate"].body)
        assert voice["from"] == f"sip:{sms['from']}@sip.example.com"
        spoken = f"<SpeakSentence>Welcome back, {html.escape(sms['tag'])}</SpeakSentence>"
        assert spoken in fixtures["initiate"].answer.decode()


# -- item 7: file names --------------------------------------------------------------------------


def test_fixture_file_names_are_safe_unique_and_written_owner_only(tmp_path: Path) -> None:
    hostile = ["../../escape", "a/b", "x" * 300, "answer\x00evil", "..", "", "answer", "answer"]
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
    assert "00000-delivery.json" in {p.name for p in paths}  # "" names nothing


def test_export_of_hostile_bodies_writes_scrubbed_fixtures(tmp_path: Path) -> None:
    """Bodies a scrub cannot walk (nested past the recursion limit, entity declarations,
    bytes that are not UTF-8) are scrubbed as text: the export never fails on them."""
    nested = b'{"eventType":"sms","a":' + b"[" * 5000 + b'"+19195550142"' + b"]" * 5000 + b"}"
    entities = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "+19195550142">]>'
        b"<r>&a;&a; Jane Doe +19195550142</r>"
    )
    deep_query = "eventType=sms&diversion=" + quote_plus("[" * 900 + '"+19195550142"' + "]" * 900)
    deliveries = [
        recorded(nested, b"", "", status=400),
        recorded(entities, b"", "", body_type=XML, status=400),
        recorded(b"\xff\xfe +19195550142 \xc3", entities, status=400),
        recorded(b"", b"", "", method="GET", query=deep_query, status=400),
    ]
    paths = write_fixtures(deliveries, tmp_path / "out")
    assert len(paths) == 4
    assert leaks(exported_text(paths), everything(SIP_CALLER)) == []
    assert load_fixture(paths[0]).body.startswith(b'{"eventType":"sms","a":[[[')


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
    assert refused.stderr.startswith(f"bwhooks export: cannot write to {occupied}")
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


def test_an_exported_fixture_is_a_fixture(tmp_path: Path) -> None:
    (path,) = write_fixtures(iter([recorded({"eventType": "answer"}, b"")]), tmp_path)
    assert isinstance(load_fixture(path), Fixture)
    path.write_text(json.dumps({"bwhooks_fixture": 99}))
    with pytest.raises(ValueError, match="no bwhooks fixture"):
        load_fixture(path)
    assert os.stat(path).st_size > 0
