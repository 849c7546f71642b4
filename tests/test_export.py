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
from bwhooks.devtools.fixtures import (
    FIXTURE_VERSION,
    Fixture,
    Scrubber,
    fixture_of,
    load_fixture,
    write_fixtures,
)
from bwhooks.devtools.recording import Delivery, Recorder, typed
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


def test_one_scrubber_gives_a_value_one_placeholder_through_the_public_names(
    tmp_path: Path,
) -> None:
    """``Scrubber`` and ``fixture_of`` from ``bwhooks.devtools.fixtures``: a number collected
    from one delivery has one placeholder in the next one's body, in answers, in text and as
    a value under a key; the file ``write_fixtures`` writes says ``FIXTURE_VERSION``."""
    scrubber = Scrubber()
    call = recorded(fake_payload("v2:answer", from_=CALLER, to=CALLED), greeting(CALLER))
    first = fixture_of(call, scrubber)
    sms = recorded(fake_payload("message-received", message__from_=CALLER), b"", "")
    second = fixture_of(sms, scrubber)
    caller = json.loads(first.body)["from"]
    assert re.fullmatch(r"\+1555010\d{4}", caller)
    assert json.loads(second.body)[0]["message"]["from"] == caller
    assert first.answer == greeting(caller)
    assert scrubber.placeholder("phone", CALLER) == caller
    assert scrubber.text(f"call {CALLER} back") == f"call {caller} back"
    assert scrubber.value("to", CALLED) == json.loads(first.body)["to"] != CALLED
    (path,) = write_fixtures([call], tmp_path)
    assert json.loads(path.read_text())["bwhooks_fixture"] == FIXTURE_VERSION


def test_a_url_that_does_not_split_is_replaced_where_it_stands(tmp_path: Path) -> None:
    """A URL Python cannot split (a port that is no number, an IPv6 bracket left open) is
    replaced whole, in an event type, a body or an answer, its credentials wherever else
    they appear; the rest of the delivery is scrubbed as usual. It used to be scrubbed again
    and again up to the recursion limit: such an event type failed the export, such a value
    had its whole body replaced."""
    port, bracket = "https://jane:s3cr3tpw@example.com:notaport/x", "http://[::1:bad/y"
    answer = f"<Response><SpeakSentence>see {port}, s3cr3tpw</SpeakSentence></Response>"
    body = {"eventType": "answer", "callId": "c-2", "callbackUrl": bracket, "from": CALLER}
    deliveries = [
        recorded({"eventType": port, "callId": "c-1"}, b""),
        recorded(body, answer.encode()),
    ]
    paths = write_fixtures(deliveries, tmp_path / "out")
    secrets = ["s3cr3tpw", "jane", "notaport", "::1:bad", *everything(CALLER)]
    assert leaks(exported_text(paths), secrets) == []
    unknown, call = map(load_fixture, paths)
    assert re.fullmatch(r"<text \d+>", unknown.event_types[0])
    scrubbed = json.loads(call.body)
    assert scrubbed["callId"] == "c-2"  # the body is walked, not replaced whole
    assert re.fullmatch(r"<text \d+>", scrubbed["callbackUrl"])
    spoken = ElementTree.fromstring(call.answer).find("SpeakSentence")  # noqa: S314
    assert spoken is not None
    assert re.fullmatch(r"see <text \d+>, <text \d+>", str(spoken.text))


# -- issue 20 follow-up: what an outside attack found export keeping -----------------------------

from bwhooks.devtools.replaying import same_body  # noqa: E402


def exported(tmp_path: Path, deliveries: list[Delivery]) -> list[Fixture]:
    folder = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
    return [load_fixture(p) for p in write_fixtures(deliveries, folder)]


def test_answers_are_written_from_the_scrubbed_tree(tmp_path: Path) -> None:
    """Comments, processing instructions and namespace declarations are not in ElementTree's
    tree: an answer that seemed unchanged used to be exported as written, with them."""
    answers = [
        b'<?xml version="1.0" encoding="UTF-8"?><Response><!-- caller +19195550142 '
        b"jane.roe@corp.example --><SpeakSentence>Hello</SpeakSentence></Response>",
        b"<Response><?note +19195550172 ?><SpeakSentence>Hello</SpeakSentence></Response>",
        b'<Response xmlns:a="https://bob:NsPassw0rd@example.com/ns"><SpeakSentence>Hi'
        b"</SpeakSentence></Response>",
        b"<!-- +19195550143 --><Response><Hangup/></Response><?pi jane.roe@corp.example?>",
        b'<?xml version="1.0" encoding="x19195550144"?><Response><Hangup/></Response>',
        b'<Response xmlns="https://bob:NsPassw0rd@example.com/bxml"><Hangup/></Response>',
        b"<Response><Conference>jane-roe-private-room</Conference><Tag>acct-jane-roe-42</Tag>"
        b"</Response>",
    ]
    fixtures = exported(tmp_path, [recorded({"eventType": "answer"}, a) for a in answers])
    secrets = ["jane.roe", "NsPassw0rd", "jane-roe", *everything("+19195550142")]
    secrets += [*everything("+19195550172"), "9195550143", "9195550144"]
    assert leaks("\n".join(f.answer.decode() for f in fixtures), secrets) == []
    for i in (0, 2):  # a comment, an unused namespace: the same BXML, for bw_replay
        assert same_body(fixtures[i].answer, answers[i])
    assert fixtures[1].answer.startswith(b"<Response><?note +1555010")  # scrubbed, kept
    conference = ElementTree.fromstring(fixtures[-1].answer)  # noqa: S314
    assert [e.tag for e in conference] == ["Conference", "Tag"]
    unchanged = b"<Response><SpeakSentence>Hello</SpeakSentence><Hangup/></Response>"
    assert exported(tmp_path, [recorded({"eventType": "answer"}, unchanged)])[0].answer == (
        unchanged  # nothing hidden, nothing changed: byte for byte
    )


def test_bodies_are_decoded_as_the_receiver_reads_them(tmp_path: Path) -> None:
    """A JSON body with a BOM or in UTF-16/32 decodes to the same events at the receiver; it
    was scrubbed as UTF-8 text, keeping the text and the tag (and, in UTF-16, everything)."""
    payload = {
        "eventType": "sms",
        "messageId": "m-1",
        "text": "my secret diary Jane Roe",
        "from": "+19195550169",
        "to": "+19195550170",
        "tag": "tag-jane-roe",
        "state": "received",
    }
    text = json.dumps(payload)
    bodies = {
        "utf-8-sig": text.encode("utf-8-sig"),
        "utf-16": text.encode("utf-16"),
        "utf-16-be": text.encode("utf-16-be"),
        "utf-32": text.encode("utf-32"),
    }
    answer = (
        "<Response><SpeakSentence>+19195550169 jane.roe@corp.example</SpeakSentence></Response>"
    )
    deliveries = [recorded(body, b"") for body in bodies.values()]
    deliveries.append(recorded(payload, answer.encode("utf-16"), f"{XML}; charset=utf-16"))
    deliveries.append(recorded(b"\xff\xfe +19195550142 \xc3 Jane Roe", b"", status=400))
    fixtures = exported(tmp_path, deliveries)
    secrets = ["secret diary", "tag-jane-roe", "Jane Roe", "jane.roe", "9195550142"]
    for fixture, (encoding, body) in zip(fixtures, bodies.items(), strict=False):
        assert fixture.body_encoding == encoding
        assert fixture.body.startswith(body[:2])  # the same BOM (or none) and the same width
        document = json.loads(fixture.body.decode(encoding))
        assert leaks(json.dumps(document), [*secrets, *everything("+19195550169")]) == []
        assert (document["eventType"], document["state"]) == ("sms", "received")
        headers = (("Content-Type", JSON),)
        events, refused = typed("POST", "/callbacks", "", headers, fixture.body)
        assert refused is None
        assert [e["class"] for e in events or ()] == ["SmsEvent"]
    spoken = fixtures[4]
    assert spoken.answer_encoding == "utf-16"
    assert leaks(spoken.answer.decode("utf-16"), secrets + everything("+19195550169")) == []
    assert spoken.answer.decode("utf-16").startswith("<Response><SpeakSentence>+1555010")
    undecodable = fixtures[5]  # no encoding the receiver reads: replaced whole
    assert re.fullmatch(rb"<text \d+>", undecodable.body)


def test_long_values_are_replaced_where_an_answer_repeats_them(tmp_path: Path) -> None:
    """Values were searched in answers up to 200 characters or 64 words: an SMS of 215
    characters, or a tag of 120 characters and 24 words, spoken back was kept."""
    long = (
        "Hi it is Jane Roe here and I wanted to let you know that the spare key to the blue "
        "house on Maple Avenue is under the third flower pot next to the garage door so please "
        "grab it tomorrow morning thanks"
    )
    medium = "customer Jane Roe from the blue house on Maple Avenue near the third flower pot ok"
    longest = " ".join(["Maple"] * 166)  # 995 characters
    deliveries = [
        recorded({"eventType": "sms", "text": value}, greeting(f"you said {value}"))
        for value in (long, medium, longest)
    ]
    fixtures = exported(tmp_path, deliveries)
    assert leaks("\n".join(f.answer.decode() for f in fixtures), ["Maple", "flower pot"]) == []
    for fixture in fixtures:
        placeholder = json.loads(fixture.body)["text"]
        assert fixture.answer == greeting(f"you said {html.escape(placeholder)}")


@pytest.mark.parametrize(
    ("answer", "secrets"),
    [
        ("Call +1\u00a0919\u00a0555\u00a00143 now", ["919\u00a0555", "0143"]),
        ("Call 919\u2011555\u20110144 now", ["919\u2011555", "0144"]),
        ("see rec19195550158.wav", ["9195550158", "1919555"]),
        ("Caller9195550159 ok", ["9195550159"]),
        ("ref7654321 ok", ["7654321"]),
        ("//bob:S3cretPw@10.1.2.3/cb", ["S3cretPw", "bob:"]),
        (
            "https://app.example/cb?jwt=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJl"
            "&amp;pw=hunter2x&amp;hmac=ab12cd34ef",
            ["eyJhbGciOiJIUzI1NiJ9", "hunter2x", "ab12cd34ef"],
        ),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJl", ["eyJzdWIiOiJqYW5lIn0"]),
        ("mail zo\u00eb.quux@example.com", ["zo\u00eb", "quux@example"]),
    ],
)
def test_answers_keep_no_number_credential_or_address_however_written(
    tmp_path: Path, answer: str, secrets: list[str]
) -> None:
    speak = f"<Response><SpeakSentence>{answer}</SpeakSentence></Response>"
    (fixture,) = exported(tmp_path, [recorded({"eventType": "answer"}, speak.encode())])
    assert leaks(fixture.answer.decode(), secrets) == []
    assert fixture.answer.decode().startswith("<Response><SpeakSentence>")


def test_a_value_under_a_safe_key_keeps_only_that_keys_shape(tmp_path: Path) -> None:
    """States and causes are words; the query of a URL the sender wrote has no safe names."""
    call_id = "c-15ac29a2-1331029c-2cb0-4a07-b215-b22865662d85"
    payload = {
        "eventType": "disconnect",
        "callId": call_id,
        "cause": "*67+19195550173",
        "state": "pin-4242-jane",
        "answerUrl": "https://app.example/cb?id=SUPERSECRETAPIKEY&eventType=hunter2pass",
    }
    redirect = f'<Response><Redirect redirectUrl="https://app.example/{call_id}"/></Response>'
    (fixture,) = exported(tmp_path, [recorded(payload, redirect.encode())])
    secrets = ["4242", "jane", "SUPERSECRETAPIKEY", "hunter2pass", *everything("+19195550173")]
    assert leaks(fixture.body.decode(), secrets) == []
    body = json.loads(fixture.body)
    assert (body["eventType"], body["callId"]) == ("disconnect", call_id)
    assert body["answerUrl"].startswith("https://app.example/cb?id=%3Ctext+")
    assert call_id in fixture.answer.decode()  # an id with a run of digits is still an id
    kept = {"eventType": "recordingAvailable", "state": "TN-Validation-Passed", "fileFormat": "mp3"}
    (fixture,) = exported(tmp_path, [recorded(kept, b"")])
    assert json.loads(fixture.body) == kept
