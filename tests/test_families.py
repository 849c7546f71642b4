"""Families of webhooks: the receiver runs the same steps for each and knows none by name.

A family defined here, in the test, is read through every way in (the core and each
adapter) without any change to the receiver: recognized by its media type and keys, decoded
into its own event class, answered as the family builds answers. The body's verification
step (a signature) runs for every family, after the credentials and before decoding.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest
from support import (
    AUTH,
    EXAMPLES,
    JSON,
    PASSWORD,
    USER,
    Send,
    load_get_example,
    load_json_example,
    load_v2_example,
    v2_example_names,
)

from bwhooks import (
    BasicAuth,
    CallbackRequest,
    CallbackResponse,
    InsecureReceiverWarning,
    Receiver,
    events,
)
from bwhooks.decoding import Decoder
from bwhooks.decoding.compiled import decode_body
from bwhooks.decoding.parsing import decode_query
from bwhooks.decoding.xml import decode_xml
from bwhooks.events import Event
from bwhooks.events._base import event_type_field
from bwhooks.families import (
    DEFAULT,
    Catapult,
    Endpoints,
    Families,
    Family,
    MessagingV2,
    Numbers,
    SubscriptionsV2,
    Syntax,
    TollFree,
    VoiceV2,
)
from bwhooks.http import Headers
from bwhooks.notes import Note

PING = "application/x-ping"
#: The default families Bandwidth does not always sign (given explicitly: no warning).
UNSIGNED = tuple(family for family in DEFAULT.members if not family.SIGNED)
MORE = Path(__file__).parent / "examples" / "more"


@attrs.frozen(kw_only=True)
class PingEvent(Event):
    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("ping",)

    event_type: str = event_type_field("kind")
    ping: str | None = None


@attrs.frozen(kw_only=True)
class UnknownPingEvent(PingEvent):
    event_type: str = event_type_field("kind", required=True)


class PingFamily(Family):
    """Recognized by its ``ping`` key; answers JSON built from what a handler returns,
    and ``204`` when none does."""

    NAME: ClassVar[str] = "Ping"
    MEDIA_TYPES: ClassVar[tuple[str, ...]] = (PING,)

    def class_for(
        self, payload: Mapping[str, Any], *, in_array: bool = False
    ) -> type[Event] | None:
        if "ping" not in payload:
            return None
        return PingEvent if payload.get("kind", "ping") == "ping" else UnknownPingEvent

    def owns(self, cls: type[Event]) -> bool:
        return issubclass(cls, PingEvent)

    def unknown_classes(self) -> tuple[type[Event], ...]:
        return (UnknownPingEvent,)

    def answer(
        self, event: Event, result: Any, handler: str, notes: list[Note]
    ) -> CallbackResponse:
        return CallbackResponse(200, (("Content-Type", "application/json"),), json.dumps(result))

    def unanswered(self, event: Event, notes: list[Note]) -> CallbackResponse:
        return CallbackResponse(204)


def ping_receiver(*families: Family) -> Receiver:
    return Receiver(auth=BasicAuth((USER, PASSWORD)), families=families)


def ping(send: Send, body: Mapping[str, Any], content_type: str = PING) -> CallbackResponse:
    return send(
        body=json.dumps(body).encode(),
        headers={"Content-Type": content_type, "Authorization": AUTH},
    )


def test_a_new_family_is_read_and_answered_through_every_way_in(
    connect: Callable[[Receiver], Send],
) -> None:
    receiver = ping_receiver(*UNSIGNED, PingFamily())
    seen: list[Event] = []

    @receiver.on(PingEvent)
    def pong(event: PingEvent) -> dict[str, str | None] | None:
        seen.append(event)
        return {"pong": event.ping} if event.ping != "quiet" else None

    send = connect(receiver)
    answered = ping(send, {"ping": "hello", "extra": [1]})
    assert answered.status == 200
    assert json.loads(answered.body) == {"pong": "hello"}
    assert seen[-1] == PingEvent(event_type="ping", ping="hello")
    assert seen[-1].raw["extra"] == [1]  # unknown keys are kept
    assert ping(send, {"ping": "quiet"}).status == 204  # the family's default answer
    # the families bwhooks ships are still read by the same receiver
    body = json.dumps(load_v2_example("answer-1.json")).encode()
    assert send(body=body).headers.get("Content-Type", "").startswith("application/xml")


def test_unknown_types_of_a_new_family_are_kept_and_acknowledged(
    connect: Callable[[Receiver], Send],
) -> None:
    receiver = ping_receiver(PingFamily())
    called: list[Event] = []
    receiver.on(Event)(called.append)
    send = connect(receiver)
    assert ping(send, {"ping": "x", "kind": "tomorrow"}).status == 204
    assert isinstance(called[-1], UnknownPingEvent)


def test_content_types_are_those_the_families_read(connect: Callable[[Receiver], Send]) -> None:
    send = connect(ping_receiver(PingFamily()))
    refused = ping(send, {"ping": "x"}, content_type=JSON)
    assert refused.status == 415
    assert json.loads(refused.body) == {"error": f"content type must be {PING}"}
    assert ping(send, {"ping": "x"}, content_type=f"{PING.upper()}; charset=utf-8").status == 204
    # a JSON voice callback in the family's content type: no family of this receiver's
    voice = load_v2_example("answer-1.json")
    assert ping(send, voice).status == 400


def test_the_default_reason_names_json_and_xml() -> None:
    receiver = ping_receiver(*UNSIGNED)
    headers = Headers([("Content-Type", "text/plain"), ("Authorization", AUTH)])
    refused = receiver.early_response("POST", headers)
    assert refused is not None
    assert refused.status == 415
    assert json.loads(refused.body) == {
        "error": "content type must be application/json, application/xml or text/xml"
    }


@pytest.mark.parametrize(
    ("content_type", "read"),
    [
        ("application/json", True),
        ("Application/JSON ; charset=UTF-8", True),
        ("application/vnd.bandwidth+json", True),
        ("application/+json", True),
        ("text/json", False),
        ("text/vnd.x+json", False),
        ("application/jsonp", False),
        ("", False),
        (None, False),
    ],
)
def test_reads_follows_media_types_and_suffixes(content_type: str | None, read: bool) -> None:
    assert DEFAULT.reads(content_type) is read


def test_every_event_class_belongs_to_exactly_one_family() -> None:
    classes = {
        *events.EVENT_CLASSES,
        *events.VOICE_V2_CLASSES,
        *events.MESSAGING_V2_CLASSES,
        *events.NUMBERS_CLASSES,
        *events.TOLL_FREE_CLASSES,
        *events.SUBSCRIPTION_CLASSES,
        *events.ENDPOINT_CLASSES,
        *events.UNKNOWN_EVENT_CLASSES,
    }
    for cls in classes:
        owners = [family.NAME for family in DEFAULT.members if family.owns(cls)]
        assert len(owners) == 1, (cls, owners)
    assert DEFAULT.unknown == frozenset(events.UNKNOWN_EVENT_CLASSES)


def _examples() -> list[tuple[str, Mapping[str, Any], bool, type[Family]]]:
    """Every documented example: (name, payload, in an array, the family it is)."""
    found: list[tuple[str, Mapping[str, Any], bool, type[Family]]] = []
    for path in sorted(EXAMPLES.glob("*.json")):
        found.append((path.name, load_json_example(path.name), False, Catapult))
    for path in sorted(EXAMPLES.glob("*.txt")):
        query = decode_query(load_get_example(path.name))
        found.append((path.name, query, False, Catapult))
    for name in v2_example_names():
        value = load_v2_example(name)
        if isinstance(value, list):
            found.extend((name, element, True, MessagingV2) for element in value)
        else:
            found.append((name, value, False, VoiceV2))
    for folder, family in _MORE_JSON.items():
        paths = sorted((MORE / folder).glob("*.json"))
        assert paths, folder
        found.extend((p.name, json.loads(p.read_text()), False, family) for p in paths)
    return found


#: The JSON examples of the other families, by folder of tests/examples/more.
_MORE_JSON: dict[str, type[Family]] = {
    "tollfree": TollFree,
    "subscriptions": SubscriptionsV2,
    "endpoints": Endpoints,
    "mfa": MessagingV2,
}


def test_every_example_is_claimed_by_exactly_one_family() -> None:
    examples = _examples()
    assert {family for *_, family in examples} == {
        Catapult,
        VoiceV2,
        MessagingV2,
        TollFree,
        SubscriptionsV2,
        Endpoints,
    }
    for name, payload, in_array, family in examples:
        claims = [f for f in DEFAULT.members if f.class_for(payload, in_array=in_array)]
        assert [type(f) for f in claims] == [family], name
    xml = sorted((Path(__file__).parent / "examples" / "more").glob("*/*.xml"))
    assert len(xml) >= 8
    for path in xml:  # an XML document: its root element, read by the XML families only
        root, document = decode_xml(path.read_bytes())
        claims = [f for f in DEFAULT.members if f.class_for_root(root, document)]
        assert [type(f) for f in claims] == [Numbers], path.name
        assert [f for f in DEFAULT.members if f.class_for(document)] == [], path.name
    for name, payload, in_array, _ in examples:  # a JSON payload: no XML family's
        xml_families = [f for f in DEFAULT.members if f.SYNTAX is Syntax.XML]
        assert not any(f.class_for(payload, in_array=in_array) for f in xml_families), name


def test_the_compiled_path_serves_the_default_families_in_any_order() -> None:
    messaging, voice, v1 = MessagingV2(), VoiceV2(), Catapult()
    assert Decoder(DEFAULT).quick is decode_body
    assert Decoder(Families((v1, messaging, voice, PingFamily()))).quick is decode_body
    assert Decoder(Families((PingFamily(), voice, messaging, v1))).quick is not decode_body
    assert Decoder(Families((voice, v1))).quick is not decode_body
    # the families that claim none of its payloads may stand anywhere; others may not
    beside = (Endpoints(), TollFree(), SubscriptionsV2(), Numbers())
    assert Decoder(Families((*beside, voice, v1, messaging))).quick is decode_body
    assert Decoder(Families((TollFree(), PingFamily(), voice, messaging, v1))).quick is not (
        decode_body
    )


def test_a_receiver_reads_at_least_one_family() -> None:
    with pytest.raises(ValueError, match="at least one family"):
        Families(())


# -- the step that needs the body: a signature -------------------------------------------


SECRET = b"shared-secret"
SIGNATURE = "X-Test-Signature"


class HexSignature:
    """HMAC-SHA256 of the body, lowercase hex, in one header."""

    def verify(self, headers: Headers, body: bytes) -> bool:
        sent = headers.get(SIGNATURE)
        expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        return sent is not None and hmac.compare_digest(sent.encode(), expected.encode())


def signed(body: bytes, *, key: bytes = SECRET) -> dict[str, str]:
    return {
        "Content-Type": JSON,
        "Authorization": AUTH,
        SIGNATURE: hmac.new(key, body, hashlib.sha256).hexdigest(),
    }


def test_a_signature_is_verified_after_credentials_and_before_decoding(
    connect: Callable[[Receiver], Send], caplog: pytest.LogCaptureFixture
) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), signature=HexSignature())
    handled: list[Event] = []
    receiver.on(Event)(handled.append)
    send = connect(receiver)
    body = json.dumps(load_v2_example("disconnect-1.json")).encode()

    assert send(body=body, headers=signed(body)).status == 200
    assert len(handled) == 1

    for headers in (signed(body, key=b"other"), {"Content-Type": JSON, "Authorization": AUTH}):
        caplog.clear()
        with caplog.at_level(logging.WARNING, "bwhooks.receiver"):
            refused = send(body=body, headers=headers)
        assert refused.status == 403
        assert json.loads(refused.body) == {"error": "forbidden"}
        assert "WWW-Authenticate" not in refused.headers  # no challenge: credentials were fine
        refusals = [r.getMessage() for r in caplog.records if r.name == "bwhooks.receiver"]
        assert refusals == ["callback refused: 403 missing or invalid signature"]
    malformed = b"{not json"
    assert send(body=malformed, headers=signed(body)).status == 403  # before decoding
    assert send(body=malformed, headers=signed(malformed)).status == 400
    unauthenticated = {k: v for k, v in signed(body).items() if k != "Authorization"}
    challenged = send(body=body, headers=unauthenticated)
    assert challenged.status == 401
    assert "WWW-Authenticate" in challenged.headers
    assert len(handled) == 1


def test_a_signature_sends_every_request_the_general_way() -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), signature=HexSignature())
    body = json.dumps(load_v2_example("disconnect-1.json")).encode()
    headers = Headers(list(signed(body).items()))
    assert not receiver.checks.quick("POST", headers)
    assert receiver.signature is not None
    assert receiver.families is DEFAULT


@pytest.mark.parametrize("asynchronous", [False, True])
def test_the_answer_is_the_one_handler_that_gave_one_whatever_runs_after(
    asynchronous: bool,
) -> None:
    receiver = ping_receiver(PingFamily())
    receiver.on(PingEvent)(lambda event: {"first": True})
    receiver.on(PingEvent)(lambda event: None)
    body = json.dumps({"ping": "x"}).encode()
    request = CallbackRequest(
        "POST", "/callbacks", [("Content-Type", PING), ("Authorization", AUTH)], body
    )
    answered = (
        asyncio.run(receiver.handle_async(request)) if asynchronous else receiver.handle(request)
    )
    assert json.loads(answered.body) == {"first": True}


def test_a_get_is_refused_when_no_family_comes_as_a_query() -> None:
    receiver = ping_receiver(PingFamily())
    request = CallbackRequest(
        "GET", "/callbacks", [("Authorization", AUTH)], b"", query_string=b"ping=x"
    )
    refused = receiver.handle(request)
    assert refused.status == 400
    assert json.loads(refused.body) == {"error": "no callback is sent as a GET here"}


def test_the_default_answers_follow_the_event_classes_reply() -> None:
    voice, v1 = VoiceV2(), Catapult()
    answer = events.VoiceAnswerEvent(call_id="c-1")
    notes: list[Note] = []
    assert voice.answer(answer, "<Response/>", "h", notes).body == b"<Response/>"
    assert voice.unanswered(answer, notes).body.endswith(b"<Response/>")
    assert [note.fact.name for note in notes] == ["ENDS_CALL"]
    hangup = events.HangupEvent(call_id="c-1")
    assert v1.unanswered(hangup, notes).status == 200
    assert v1.unanswered(hangup, notes).body == b""
    assert repr(DEFAULT) == (
        "Families(Messaging v2, Voice v2, Bandwidth v1 (Catapult), Toll-free verification, "
        "Subscriptions v2, Endpoint events, Numbers (XML), Emergency Calling API)"
    )
    assert repr(v1) == "<Bandwidth v1 (Catapult) webhooks>"


def test_an_event_no_family_owns_is_answered_by_its_classes_reply() -> None:
    class Disowning(PingFamily):
        def owns(self, cls: type[Event]) -> bool:
            return False

    receiver = ping_receiver(Disowning())
    receiver.on(PingEvent)(lambda event: "<Response/>" if event.ping == "bxml" else None)
    headers = [("Content-Type", PING), ("Authorization", AUTH)]
    bxml = receiver.handle(CallbackRequest("POST", "/", headers, b'{"ping": "bxml"}'))
    assert (bxml.status, bxml.body) == (200, b"<Response/>")
    assert bxml.headers.get("Content-Type", "").startswith("application/xml")
    plain = receiver.handle(CallbackRequest("POST", "/", headers, b'{"ping": "none"}'))
    assert (plain.status, plain.body) == (200, b"")


def test_a_family_bandwidth_signs_needs_a_signature() -> None:
    class SignedPing(PingFamily):
        NAME = "Signed ping"
        SIGNED = True

    with pytest.warns(InsecureReceiverWarning, match="Signed ping bodies are signed"):
        ping_receiver(SignedPing())
    # given explicitly, the default families name the one Bandwidth always signs
    with pytest.warns(InsecureReceiverWarning, match="^Subscriptions v2 bodies are signed"):
        ping_receiver(*DEFAULT.members)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Receiver(
            auth=BasicAuth((USER, PASSWORD)), signature=HexSignature(), families=(SignedPing(),)
        )
        ping_receiver(*UNSIGNED)  # Voice, Messaging, toll-free, ... are not always signed
        Receiver(auth=BasicAuth((USER, PASSWORD)))  # the default: logged when one comes
        Receiver(auth=BasicAuth((USER, PASSWORD)), families=DEFAULT)
