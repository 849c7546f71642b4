"""Numbers webhooks (XML) through the dev tools over real HTTP: forwarded to an app with
their content type and exact bytes, recorded as received and typed (the port-out answer
too, never the credentials), replayed the way Bandwidth sends them (the challenge first)
and answered the same."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from support import http_request
from test_cli import start_listen, stop
from test_recording import send

from bwhooks.auth import basic_authorization
from bwhooks.devtools.recording import Delivery, Recorder
from bwhooks.testing import fake_payload

APP = """
from bwhooks import BasicAuth, PortOutAnswer, PortOutError, Receiver
from bwhooks.events import NumbersEvent, PortOutValidationEvent

receiver = Receiver(auth=BasicAuth(("me", "pw")))


@receiver.on(NumbersEvent)
def answered(event):
    print("app got", type(event).__name__, flush=True)
    if isinstance(event, PortOutValidationEvent):
        return PortOutAnswer.deny(PortOutError.PIN_INVALID)
    return None
"""
# Another content type, another encoding: kept and relayed as they came.
LATIN = (
    '<?xml version="1.0" encoding="ISO-8859-1"?>\n<PortOutValidationRequest><PON>pon-latin</PON>'
    "<SubscriberName>Zoé Ünal</SubscriberName><TelephoneNumbers><TelephoneNumber>+19195550100"
    "</TelephoneNumber></TelephoneNumbers></PortOutValidationRequest>"
).encode("latin-1")


CREDENTIALS = ("--user", "me", "--password", "pw")


def code_of(answer: bytes) -> str | None:
    root = ElementTree.fromstring(answer)  # noqa: S314  (our app's answer)
    return root.findtext("Errors/Error/Code")


def accepted(recorder: Recorder) -> list[Delivery]:
    return [d for d in recorder.deliveries() if d.status == 200]


def forwarded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Three kinds sent by ``bwhooks send`` and a Latin-1 ``text/xml`` body, through a
    recording relay to a recording app: the relay's file and the app's."""
    (tmp_path / "porting_app.py").write_text(APP)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    at_app, relayed = tmp_path / "app.sqlite3", tmp_path / "relayed.sqlite3"
    app, app_url = start_listen(
        "--app", "porting_app:receiver", "--path", "/bw", "--record", str(at_app)
    )
    relay, relay_url = start_listen("--forward", app_url, "--record", str(relayed))
    try:
        for kind in ("orderNotification", "MESSAGING_LOST", "portOutValidation"):
            sent = send(relay_url, kind, "--user", "me", "--password", "pw")
            assert sent.returncode == 0, sent.stdout + sent.stderr
            assert "401 -> 200" in sent.stdout  # the app's challenge, through the relay
        latin = http_request(
            relay_url,
            "POST",
            urlsplit(relay_url).path,
            LATIN,
            {"Content-Type": "text/xml", "Authorization": basic_authorization("me", "pw")},
        )
    finally:
        stop(relay)
        app_output = stop(app)
    assert latin.status == 200
    assert code_of(latin.body) == "7513"
    assert app_output.count("app got PortOutValidationEvent") == 2
    return relayed, at_app


def test_xml_deliveries_are_forwarded_and_recorded_byte_for_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    relayed, at_app = forwarded(tmp_path, monkeypatch)
    # Recorded at the relay as received (bytes, content type), typed, answered.
    assert stat.S_IMODE(relayed.stat().st_mode) == 0o600
    with Recorder(relayed) as recorder, Recorder(at_app) as behind:
        every = recorder.deliveries()
        kept, arrived = accepted(recorder), accepted(behind)
    assert [d.status for d in every] == [401, 200, 401, 200, 401, 200, 200]
    assert {d.kind for d in every} == {"forwarded"}
    assert [d.body for d in arrived] == [d.body for d in kept]  # relayed byte for byte
    assert [d.header("Content-Type") for d in arrived] == [d.header("Content-Type") for d in kept]
    assert [d.header("Content-Type") for d in kept] == ["application/xml; charset=utf-8"] * 3 + [
        "text/xml"
    ]
    assert kept[-1].body == LATIN
    classes = [d.events[0]["class"] if d.events else None for d in kept]
    assert classes == [
        "OrderNotificationEvent",
        "AccountNotificationEvent",
        "PortOutValidationEvent",
        "PortOutValidationEvent",
    ]
    port_out, latin_out = kept[2], kept[3]
    assert port_out.events is not None
    fields = port_out.events[0]["fields"]
    assert set(fields) >= {"pon", "pin", "telephone_numbers"}
    assert port_out.body.decode().count(fields["pin"]) >= 1  # typed from the body
    assert latin_out.events is not None
    assert latin_out.events[0]["fields"]["subscriber_name"] == "Zoé Ünal"
    for delivery in (port_out, latin_out):  # the answer, recorded as the app wrote it
        assert code_of(delivery.response_body) == "7513"
        assert dict(delivery.response_headers)["Content-Type"].startswith("application/xml")
    assert {d.header("Authorization") for d in kept} == {"Basic <masked>"}
    secret = basic_authorization("me", "pw").split()[1].encode()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if ".sqlite3" in p.name)
    assert secret not in stored


def test_xml_deliveries_are_replayed_with_their_bytes_and_content_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replayed into a new app: the challenge first, the same bytes and content type, the
    same answers (compared as XML)."""
    relayed, _ = forwarded(tmp_path, monkeypatch)
    with Recorder(relayed) as recorder:
        kept = accepted(recorder)
    second = tmp_path / "second.sqlite3"
    app, app_url = start_listen("--app", "porting_app:receiver", "--record", str(second))
    try:
        again = subprocess.run(
            [sys.executable, "-m", "bwhooks", "replay", str(relayed), app_url, *CREDENTIALS],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        stop(app)
    assert again.returncode == 0, again.stdout + again.stderr
    lines = again.stdout.splitlines()
    assert lines[2] == "#6 POST [portOutValidation] 401 -> 200 (recorded 200): same answer"
    assert lines[3] == "#7 POST [portOutValidation] 401 -> 200 (recorded 200): same answer"
    assert lines[-1] == "4 replayed, 0 failed"
    with Recorder(second) as recorder:
        replayed = accepted(recorder)
    assert [d.kind for d in replayed] == ["replayed"] * 4
    assert [d.replay_of for d in replayed] == [d.id for d in kept]
    assert [d.body for d in replayed] == [d.body for d in kept]
    assert [d.header("Content-Type") for d in replayed] == [d.header("Content-Type") for d in kept]
    assert [code_of(d.response_body) for d in replayed[2:]] == ["7513", "7513"]


def test_a_refused_xml_body_is_recorded_with_the_reason_never_its_credentials(
    tmp_path: Path,
) -> None:
    file = tmp_path / "r.sqlite3"
    process, url = start_listen("--user", "u", "--password", "p", "--record", str(file))
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><Notification>&a;</Notification>'
    try:
        refused = http_request(
            url,
            "POST",
            urlsplit(url).path,
            doctype,
            {"Content-Type": "application/xml", "Authorization": basic_authorization("u", "p")},
        )
        order = fake_payload("orderNotification", order_id="o-42").encode()
        challenged = http_request(
            url, "POST", urlsplit(url).path, order, {"Content-Type": "application/xml"}
        )
    finally:
        stop(process)
    assert (refused.status, challenged.status) == (400, 401)
    with Recorder(file) as recorder:
        bad, challenge = recorder.deliveries()
    assert bad.body == doctype
    assert bad.events is None
    assert bad.refused is not None
    assert "DOCTYPE" in bad.refused
    assert bad.header("Authorization") == "Basic <masked>"
    assert challenge.body == order  # whole: 4 KB are kept of a refused request
    assert challenge.events is not None
    assert challenge.events[0]["fields"]["order_id"] == "o-42"


def test_listen_prints_a_numbers_event_by_its_order_or_pon_never_the_subscribers_data() -> None:
    from bwhooks.devtools.demo import describe
    from bwhooks.testing import fake_event

    order = fake_event("orderNotification", order_id="o-1", order_type="portins", status="FOC")
    assert describe(order).split() == [
        "OrderNotificationEvent",
        "order_id='o-1'",
        "order_type='portins'",
        "status='FOC'",
    ]
    port_out = fake_event(
        "portOutValidation", pon="PON-9", pin="4242", zip_code="27606", subscriber_name="Zed"
    )
    assert describe(port_out).split() == ["PortOutValidationEvent", "pon='PON-9'"]


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ('<?xml version="1.0" encoding="ISO-8859-1"?><N>Café</N>'.encode("latin-1"), "Café"),
        ('<?xml version="1.0"?><N>Café</N>'.encode("utf-16"), "Café"),  # a BOM says it
        ('<?xml version="1.0"?><N>Café</N>'.encode(), "Café"),
        (b'{"text": "Caf\xc3\xa9"}', "Café"),
        (b'<?xml version="1.0" encoding="zlib"?><N>Caf\xc3\xa9</N>', "Café"),  # no text codec
        (b'<?xml version="1.0" encoding="no-such"?><N>Caf\xc3\xa9</N>', "Café"),
    ],
)
def test_the_page_shows_a_body_in_its_declared_encoding(body: bytes, shown: str) -> None:
    from bwhooks.devtools.inspector import body_text

    assert shown in body_text(body)
