"""Voice v2 and Messaging v2 fakes: every kind, realistic and consistent values, arrays,
nested overrides; delivered by CallbackClient to every framework's app and by
`bwhooks send` over HTTP."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from support import AUTH, JSON, PASSWORD, USER, check_declared_types
from test_client import apps  # the same four apps as the v1 client tests

from bwhooks import Receiver, events, make_converter
from bwhooks.adapters import wsgi
from bwhooks.cli import main
from bwhooks.decoding.parsing import parse_delivery
from bwhooks.devtools.demo import serving
from bwhooks.events import Event
from bwhooks.events.timestamps import parse_timestamp
from bwhooks.testing import AmbiguousKindWarning, CallbackClient, fake_event, fake_payload

STRICT = make_converter(strict=True)
V2_CLASSES: list[type[Event]] = [*events.VOICE_V2_CLASSES, *events.MESSAGING_V2_CLASSES]
CALL_ID = re.compile(r"c-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
E164 = re.compile(r"\+1\d{10}")


def events_of(payload: Any) -> tuple[Event, ...]:
    return parse_delivery(payload, converter=STRICT)  # nothing unmodelled, every value converts


@pytest.mark.parametrize("cls", V2_CLASSES, ids=lambda c: c.__name__)
def test_every_v2_kind_has_a_payload_that_parses_back_strictly(cls: type[Event]) -> None:
    payload = fake_payload(cls)
    (event,) = events_of(payload)
    assert type(event) is cls
    check_declared_types(event)
    assert type(fake_event(cls)) is cls
    for spelling in (cls.EVENT_TYPES[0], "v2:" + cls.EVENT_TYPES[0]):
        if spelling in ("answer", "gather", "dtmf", "redirect", "transferComplete"):
            with pytest.warns(AmbiguousKindWarning):
                by_type = fake_payload(spelling)
            assert type(events_of(by_type)[0]).GENERATION == 1  # the plain name keeps v1
        else:
            assert type(events_of(fake_payload(spelling))[0]) is cls
    if issubclass(cls, events.MessagingEvent):
        assert isinstance(payload, list)  # what Bandwidth posts


def test_the_v2_spelling_selects_v2_and_the_plain_name_keeps_v1() -> None:
    for name, v1, v2 in [
        ("answer", events.AnswerEvent, events.VoiceAnswerEvent),
        ("gather", events.GatherEvent, events.VoiceGatherEvent),
        ("dtmf", events.DtmfEvent, events.VoiceDtmfEvent),
        ("redirect", events.RedirectEvent, events.VoiceRedirectEvent),
        ("transferComplete", events.TransferCompleteEvent, events.VoiceTransferCompleteEvent),
    ]:
        with pytest.warns(AmbiguousKindWarning, match=f'"v1:{name}" .* "v2:{name}"'):
            assert type(fake_event(name)) is v1
        assert type(fake_event("v1:" + name)) is v1
        assert type(fake_event("v2:" + name)) is v2
    with pytest.raises(ValueError, match="unknown kind 'v2:holdStarted'"):
        fake_event("v2:holdStarted")
    unknown = fake_event(events.UnknownVoiceEvent, event_type="holdStarted")
    assert (type(unknown), unknown.event_type) == (events.UnknownVoiceEvent, "holdStarted")


def test_voice_values_are_realistic_and_consistent() -> None:
    payload = fake_payload("v2:answer")
    assert CALL_ID.fullmatch(payload["callId"])
    assert payload["callUrl"] == (
        f"https://voice.bandwidth.com/api/v2/accounts/{payload['accountId']}"
        f"/calls/{payload['callId']}"
    )
    assert payload["accountId"].isdigit()
    assert E164.fullmatch(payload["from"])
    assert E164.fullmatch(payload["to"])
    disconnect = fake_payload("disconnect")
    times = [disconnect[key] for key in ("startTime", "answerTime", "endTime", "eventTime")]
    assert times == sorted(times, key=parse_timestamp)  # in the order they happen
    recording = fake_payload("recordingAvailable")
    assert recording["mediaUrl"] == (
        f"{recording['callUrl']}/recordings/{recording['recordingId']}/media"
    )
    mine = fake_payload("initiate", call_id="c-mine", account_id="55555555")
    assert mine["callUrl"].endswith("/accounts/55555555/calls/c-mine")  # follows the overrides
    assert mine["direction"] == "inbound"


def test_messaging_arrays_several_elements_and_nested_overrides() -> None:
    delivery = fake_payload("message-received", count=3, message__text="See you at 5")
    assert len(delivery) == 3
    received = events_of(delivery)
    assert [type(e) for e in received] == [events.MessageReceivedEvent] * 3
    ids = set()
    for event in received:
        assert isinstance(event, events.MessageReceivedEvent)
        assert event.message is not None
        ids.add(event.message.id)
        assert event.message.text == "See you at 5"
        assert event.message.direction == "in"
        assert event.to == event.message.owner
    assert len(ids) == 3
    times = [e.raw["time"] for e in received]
    assert times == sorted(times)  # a second apart, in order
    (failed,) = events_of(fake_payload("message-failed", error_code=4720))
    assert isinstance(failed, events.MessageFailedEvent)
    assert failed.error_code == 4720
    (by_wire,) = events_of(fake_payload("message-delivered", message__segmentCount=3))
    assert isinstance(by_wire, events.MessageDeliveredEvent)
    assert by_wire.message is not None
    assert by_wire.message.segment_count == 3


def test_nested_overrides_on_voice_and_their_errors() -> None:
    stream = fake_event("mediaStreamStarted", media_stream__name="agent-audio")
    assert isinstance(stream, events.VoiceMediaStreamStartedEvent)
    assert stream.media_stream is not None
    assert stream.media_stream.name == "agent-audio"
    assert stream.media_stream.tracks == ("inbound", "outbound")  # the rest is kept
    with pytest.raises(TypeError, match="valid fields"):
        fake_payload("message-received", message__colour="blue")
    with pytest.raises(TypeError, match="no object"):
        fake_payload("initiate", call_id__x="y")
    with pytest.raises(TypeError, match="count"):
        fake_payload("initiate", count=2)
    without = fake_payload("v2:gather", tag=None, answer_time=None)
    assert "tag" not in without
    assert "answerTime" not in without


# -- delivered to every framework's app -------------------------------------------------------


@pytest.mark.parametrize("app", ["wsgi", "asgi", "flask", "fastapi"])
def test_every_v2_kind_through_callback_client_to_each_app(receiver: Receiver, app: str) -> None:
    seen: list[Event] = []
    receiver.on(Event)(seen.append)
    client = CallbackClient(apps(receiver)[app], (USER, PASSWORD))
    for cls in V2_CLASSES:
        answer = client.send(fake_payload(cls))
        assert (answer.status, client.exchange) == (200, (401, 200)), cls
        assert type(seen[-1]) is cls
    # an event, and a bare messaging element, travel as Bandwidth sends them
    client.send(fake_event("message-delivered"))
    client.send(fake_payload("message-sent")[0])
    assert [type(e) for e in seen[-2:]] == [events.MessageDeliveredEvent, events.MessageSentEvent]
    client.send(fake_payload("message-received", count=2))
    assert [type(e) for e in seen[-2:]] == [events.MessageReceivedEvent] * 2


def test_every_v2_kind_through_django(receiver: Receiver) -> None:
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings
    from frameworks import django_urlconf

    seen: list[Event] = []
    receiver.on(Event)(seen.append)
    with override_settings(ROOT_URLCONF=django_urlconf(receiver, asynchronous=False)):
        client = CallbackClient(WSGIHandler(), (USER, PASSWORD))
        for cls in V2_CLASSES:
            assert client.send(fake_payload(cls)).status == 200, cls
            assert type(seen[-1]) is cls


# -- bwhooks send ------------------------------------------------------------------------------


def test_bwhooks_send_delivers_v2_kinds_and_arrays(
    receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[Event] = []
    receiver.on(Event)(seen.append)
    with serving(wsgi.make_app(receiver)) as base_url:
        url = f"{base_url}/callbacks"
        credentials = ["--user", USER, "--password", PASSWORD]
        assert main(["send", "v2:answer", url, *credentials]) == 0
        assert main(["send", "answer", url, *credentials]) == 0  # v1, with a note
        assert main(["send", "initiate", url, *credentials, "--set", "callId=c-cli"]) == 0
        text = ["--set", "message.text=hello from the CLI"]
        assert main(["send", "message-received", url, *credentials, "--count", "2", *text]) == 0
        assert main(["send", "message-received", url, *credentials, "--method", "GET"]) == 2
    assert [type(e) for e in seen] == [
        events.VoiceAnswerEvent,
        events.AnswerEvent,
        events.VoiceInitiateEvent,
        events.MessageReceivedEvent,
        events.MessageReceivedEvent,
    ]
    initiate = seen[2]
    assert isinstance(initiate, events.VoiceInitiateEvent)
    assert initiate.call_id == "c-cli"
    for event in seen[3:]:
        assert isinstance(event, events.MessageReceivedEvent)
        assert event.message is not None
        assert event.message.text == "hello from the CLI"
    out, err = capsys.readouterr()
    assert err.splitlines()[0] == (
        'bwhooks send: note: "answer" is sent by both generations: it means v1 (AnswerEvent);'
        ' write "v1:answer" for v1 or "v2:answer" for Voice v2 (VoiceAnswerEvent)'
    )
    assert "note" not in "".join(err.splitlines()[1:])  # v2:answer is silent
    assert "POST [message-received, message-received] 401 -> 200" in out
    assert '<?xml version="1.0" encoding="UTF-8"?><Response/>' in out  # initiate's answer


def test_a_receiver_answers_the_fakes_as_bandwidth_expects(receiver: Receiver) -> None:
    """The fakes go through Receiver.handle too: arrays and objects, JSON and answers."""
    from bwhooks import CallbackRequest

    headers = {"Content-Type": JSON, "Authorization": AUTH}
    for kind in ("message-delivered", "disconnect", "v2:gather"):
        body = json.dumps(fake_payload(kind)).encode()
        assert receiver.handle(CallbackRequest("POST", "/callbacks", headers, body)).status == 200
