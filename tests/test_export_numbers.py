"""`bwhooks export` of Numbers webhooks (XML): telephone numbers replaced consistently by
fictional ones, the subscriber's data of a port-out request (and of its answer's
``<AcceptableValues>``) replaced, ids, statuses, times and error codes kept, the structure
and element order kept, and the fixture still parsed to the same class; on every example of
``tests/examples/more/`` and on generated payloads, and replayed with ``bw_replay``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import attrs
import pytest
from test_export import recorded

from bwhooks import BasicAuth, CallbackRequest, Receiver
from bwhooks.auth import basic_authorization
from bwhooks.decoding.documents import parse_xml
from bwhooks.devtools.fixtures import load_fixture, write_fixtures
from bwhooks.devtools.recording import Delivery, Recorder
from bwhooks.events import (
    AccountNotificationEvent,
    OrderNotificationEvent,
    PortOutValidationEvent,
)
from bwhooks.events.numbers import to_e164
from bwhooks.testing import fake_payload

MORE = Path(__file__).parent / "examples" / "more"
XML = "application/xml; charset=utf-8"
REQUESTS = sorted(
    p for p in MORE.rglob("*.xml") if not p.name.startswith("portout-validation-allow")
)
REQUESTS = [p for p in REQUESTS if b"<PortOutValidationResponse" not in p.read_bytes()]
ANSWERS = sorted(p for p in MORE.rglob("*.xml") if p not in REQUESTS)
SUBSCRIBER = ("Pin", "AccountNumber", "ZipCode", "SubscriberName")
KEPT = frozenset(
    [
        "SubscriptionId",
        "OrderId",
        "OrderType",
        "Status",
        "EventType",
        "PON",
        "LastModifiedDate",
        "ActualFocDate",
        "Portable",
        "Code",
    ]
)


def numbers_delivery(body: bytes, answer: bytes = b"", number: int = 0) -> Delivery:
    made = recorded(body, answer, XML, body_type=XML)
    return attrs.evolve(made, id=number)


def leaves(document: bytes) -> list[tuple[str, str]]:
    """Every element of a document, in order, with its text (the structure, and the data)."""
    root = ElementTree.fromstring(document)  # noqa: S314  (the test's own examples)
    return [(e.tag, (e.text or "").strip()) for e in root.iter()]


def phone_numbers(pairs: list[tuple[str, str]]) -> list[str]:
    return [text for tag, text in pairs if tag == "TelephoneNumber"]


def exported(tmp_path: Path, deliveries: list[Delivery]) -> list[Any]:
    return [load_fixture(p) for p in write_fixtures(deliveries, tmp_path / "fixtures")]


def test_the_examples_cover_every_numbers_root() -> None:
    roots = {ElementTree.parse(p).getroot().tag for p in MORE.rglob("*.xml")}  # noqa: S314
    assert roots == {"Notification", "PortOutValidationRequest", "PortOutValidationResponse"}
    assert ANSWERS
    assert all(p.name.startswith("portout-validation-") for p in ANSWERS)


@pytest.mark.parametrize("example", REQUESTS, ids=lambda p: p.name)
def test_every_example_is_exported_scrubbed_parseable_and_in_its_structure(
    tmp_path: Path, example: Path
) -> None:
    body = example.read_bytes()
    original = parse_xml(body)
    (fixture,) = exported(tmp_path, [numbers_delivery(body)])
    assert fixture.content_type == XML
    scrubbed = parse_xml(fixture.body)
    assert type(scrubbed) is type(original)
    before, after = leaves(body), leaves(fixture.body)
    assert [tag for tag, _ in after] == [tag for tag, _ in before]  # structure and order
    for (tag, old), (_, new) in zip(before, after, strict=True):
        if tag in KEPT:
            assert new == old, tag
        if tag in SUBSCRIBER or tag in ("Note", "CustomerOrderId"):
            assert new != old, tag
            assert new, tag  # replaced, never emptied
        if tag == "TelephoneNumber":
            assert new != old
            assert len(new) == len(old)  # written the same way
            assert to_e164(new).startswith("+1555")  # a fictional number
    text = fixture.body.decode()
    for tag, old in before:
        if tag in (*SUBSCRIBER, "TelephoneNumber", "Note") and len(old) > 3:
            assert old not in text, (tag, old)
    if isinstance(original, OrderNotificationEvent):
        assert isinstance(scrubbed, OrderNotificationEvent)
        assert (scrubbed.order_id, scrubbed.status, scrubbed.last_modified) == (
            original.order_id,
            original.status,
            original.last_modified,
        )
        assert len(scrubbed.completed_numbers) == len(original.completed_numbers)
    if isinstance(original, AccountNotificationEvent):
        assert isinstance(scrubbed, AccountNotificationEvent)
        assert scrubbed.event_type == original.event_type == "MESSAGING_LOST"


def test_a_port_out_request_and_its_deny_answer_are_scrubbed_alike(tmp_path: Path) -> None:
    """The deny example answers the request example: what the answer repeats of the request
    (the PON, the ZIP code, a number) gets the request's placeholder; its error codes and
    descriptions, the app's words, are kept; its acceptable values are replaced."""
    request = (MORE / "porting" / "portout-validation-request-1.xml").read_bytes()
    deny = (MORE / "porting" / "portout-validation-deny.xml").read_bytes()
    allow = (MORE / "porting" / "portout-validation-allow.xml").read_bytes()
    denied, allowed = exported(
        tmp_path, [numbers_delivery(request, deny, 1), numbers_delivery(request, allow, 2)]
    )
    asked, answered = dict(leaves(denied.body)), leaves(denied.answer)
    assert [tag for tag, _ in answered] == [tag for tag, _ in leaves(deny)]
    told = dict(answered)
    assert [text for tag, text in answered if tag == "Code"] == ["7513", "7511"]
    assert [text for tag, text in answered if tag == "Description"] == [
        "PIN Invalid",
        "Invalid Account Code",
    ]
    assert told["PON"] == asked["PON"] == "some_pon"  # echoed: the replay answers the same
    assert told["Portable"] == "false"
    assert told["ZipCode"] == asked["ZipCode"] != "62025"  # one value, one placeholder
    assert told["Pin"] not in ("2222", asked["Pin"])  # another value, another placeholder
    assert told["AccountNumber"] not in ("888", asked["AccountNumber"])
    assert phone_numbers(answered)[0] == phone_numbers(leaves(denied.body))[0] != "2223331000"
    for secret in ("2222", "888", "62025", "2223331000", "1111", "777", "Subscriber Name"):
        assert secret not in denied.answer.decode() + denied.body.decode()
    assert allowed.answer == allow  # nothing to scrub: kept byte for byte


def test_generated_payloads_keep_numbers_consistent_across_forms_and_deliveries(
    tmp_path: Path,
) -> None:
    """The same number, 10 digits in one delivery and E.164 in another, in a number list
    and in free text, becomes the same fictional number in each of its forms."""
    legacy = fake_payload(
        "orderNotification",
        completed_numbers=["9195551234", "9195556789"],
        message="Created a new number order for 9195551234",
    )
    e164 = fake_payload("MESSAGING_LOST", impacted_numbers=["9195551234"], number_format="E164")
    port = fake_payload(
        "portOutValidation", telephone_numbers=["+19195556789"], subscriber_name="Ada Lovelace"
    )
    fixtures = exported(
        tmp_path,
        [numbers_delivery(p.encode(), number=n) for n, p in enumerate((legacy, e164, port), 1)],
    )
    first, second, third = (phone_numbers(leaves(f.body)) for f in fixtures)
    assert len(first[0]) == 10
    assert second[0].startswith("+1")
    assert second[0] == "+1" + first[0]  # 9195551234, however it is written
    assert third[0] == "+1" + first[1]  # 9195556789
    assert first[0] != first[1]
    message = dict(leaves(fixtures[0].body))["Message"]
    assert message == f"Created a new number order for {first[0]}"
    written = "".join(f.body.decode() for f in fixtures)
    for secret in ("9195551234", "9195556789", "Ada Lovelace", "Lovelace"):
        assert secret not in written
    classes = [type(parse_xml(f.body)) for f in fixtures]
    assert classes == [OrderNotificationEvent, AccountNotificationEvent, PortOutValidationEvent]


def test_hostile_text_in_a_numbers_body_stays_data_in_the_fixture(tmp_path: Path) -> None:
    body = (
        b'<?xml version="1.0"?><Notification><SubscriptionId>s-1</SubscriptionId>'
        b"<OrderType>orders</OrderType><Status>COMPLETE</Status>"
        b"<Note><![CDATA[</Note><Pin>1</Pin>]]></Note>"
        b"<Message>&lt;script&gt;call 9195551234&lt;/script&gt;</Message>"
        b"<Extra><Deep>jane@example.org</Deep></Extra></Notification>"
    )
    (fixture,) = exported(tmp_path, [numbers_delivery(body)])
    pairs = leaves(fixture.body)
    assert [tag for tag, _ in pairs] == [tag for tag, _ in leaves(body)]  # no new element
    found = dict(pairs)
    assert found["Note"].startswith("<text ")  # replaced whole, escaped when written
    assert found["Message"].startswith("<script>call ")
    assert "9195551234" not in found["Message"]
    assert found["Deep"] != "jane@example.org"
    assert isinstance(parse_xml(fixture.body), OrderNotificationEvent)


def test_an_unknown_numbers_document_is_replaced_but_for_its_structure(tmp_path: Path) -> None:
    body = b"<Surprise><Name>Jane Doe</Name><TelephoneNumber>9195551234</TelephoneNumber>"
    body += b"</Surprise>"
    (fixture,) = exported(tmp_path, [numbers_delivery(body)])
    pairs = dict(leaves(fixture.body))
    assert pairs["Name"] != "Jane Doe"
    assert "Jane" not in fixture.body.decode()
    assert pairs["TelephoneNumber"].startswith("555")
    assert type(parse_xml(fixture.body)).__name__ == "UnknownNumbersEvent"


PORTING_APP = """
from bwhooks import AcceptableValues, BasicAuth, PortOutAnswer, PortOutError, Receiver
from bwhooks.adapters.wsgi import make_app
from bwhooks.events import NumbersEvent, PortOutValidationEvent

receiver = Receiver(auth=BasicAuth(("user", "password")))


@receiver.on(NumbersEvent)
def answered(event):
    if isinstance(event, PortOutValidationEvent):
        # The ZIP code it expects, echoed from the request.
        acceptable = AcceptableValues(zip_code=event.zip_code)
        return PortOutAnswer.deny(PortOutError.PIN_INVALID, acceptable=acceptable)
    return None


app = make_app(receiver, "/callbacks")
"""


def test_exported_xml_fixtures_pass_bw_replay_against_the_app(tmp_path: Path) -> None:
    """Recorded from an app through the real receiver, exported, then run by pytest with
    ``bw_replay``: each XML fixture is delivered with its content type and passes."""
    import runpy

    from bwhooks.testing import CallbackClient
    from bwhooks.testing.delivery import OutgoingRequest

    (tmp_path / "myapp.py").write_text(PORTING_APP)
    app = runpy.run_path(str(tmp_path / "myapp.py"))["app"]
    client = CallbackClient(app, ("user", "password"), "/callbacks")
    with Recorder(tmp_path / "r.sqlite3") as recorder:
        for kind in ("orderNotification", "MESSAGING_LOST", "portOutValidation"):
            body = fake_payload(kind).encode()
            response = client.send_request(
                OutgoingRequest("POST", "/callbacks", "", body, {"Content-Type": XML})
            )
            assert response.status == 200
            made = numbers_delivery(body, response.body)
            recorder.record(attrs.evolve(made, response_headers=tuple(response.headers.pairs())))
        deliveries = recorder.deliveries()
    paths = write_fixtures(deliveries, tmp_path / "fixtures")
    port = next(p for p in paths if "portOutValidation" in p.name)
    written = json.loads(port.read_text())
    assert written["request"]["content_type"] == XML
    assert written["answer"]["content_type"].startswith("application/xml")
    assert "<Code>7513</Code>" in written["answer"]["body"]
    assert "27606" not in port.read_text()  # the request's ZIP code, echoed in the answer
    tests = tmp_path / "test_fixtures.py"
    tests.write_text(
        "import pathlib\n\nimport pytest\n\nfrom myapp import app\n\n\n"
        "@pytest.fixture\ndef bwhooks_app():\n    return app\n\n\n"
        "@pytest.fixture\ndef bwhooks_credentials():\n    return ('user', 'password')\n\n\n"
        "@pytest.mark.parametrize('path', sorted(pathlib.Path('fixtures').glob('*.json')))\n"
        "def test_replayed(bw_replay, path):\n    bw_replay(path)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "3 passed" in ran.stdout


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY n "Rosalind Ashcombe">]>'
        b"<PortOutValidationRequest><PON>p-1</PON><SubscriberName>&n;</SubscriberName>"
        b"</PortOutValidationRequest>",
        b"<PortOutValidationRequest><PON>p-1</PON><Pin>4321</Pin>"
        b"<SubscriberName>Percival & Thornbury</SubscriberName>"  # an unescaped &
        b"<AccountNumber>AC5566</AccountNumber><Note_9195554455/>"
        b"</PortOutValidationRequest>",
    ],
    ids=["a DTD", "not well-formed"],
)
def test_a_refused_xml_body_is_exported_masked_and_refused_the_same_way(
    body: bytes, tmp_path: Path
) -> None:
    """A body the receiver refuses cannot be scrubbed element by element: every word the
    sender wrote is masked, the markup kept, so the fixture is refused for the same
    reason at the same position, with nothing of the subscriber in it."""
    receiver = Receiver(auth=BasicAuth(("user", "password")))
    headers = {"Content-Type": XML, "Authorization": basic_authorization("user", "password")}
    refused = receiver.handle(CallbackRequest("POST", "/callbacks", headers, body))
    assert refused.status == 400
    (fixture,) = exported(tmp_path, [numbers_delivery(body)])
    for secret in (b"Rosalind", b"Ashcombe", b"Percival", b"Thornbury", b"AC5566", b"4321"):
        assert secret not in fixture.body
    assert b"9195554455" not in fixture.body
    assert len(fixture.body) == len(body)
    again = receiver.handle(CallbackRequest("POST", "/callbacks", headers, fixture.body))
    assert (again.status, again.body) == (refused.status, refused.body)
