"""``bwhooks demo``: a receiver on the embedded server, fed a realistic day of callbacks:
Voice v2 and Messaging v2 first, then Bandwidth v1 (Catapult) on the same URL."""

from __future__ import annotations

import secrets
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from bwhooks.auth import BasicAuth
from bwhooks.events import (
    AnswerEvent,
    DtmfEvent,
    Event,
    GatherEvent,
    VoiceGatherEvent,
    VoiceInitiateEvent,
)
from bwhooks.receiver import Receiver
from bwhooks.testing import HttpSender, fake_payload
from bwhooks.testing.ids import bandwidth_id

__all__ = ["demo_sequence", "demo_sequence_v2", "describe", "run_demo", "serving"]


def demo_sequence() -> list[tuple[str, str, dict[str, Any]]]:
    """Bandwidth v1 (Catapult): ``(method, kind, payload)`` for one inbound call, then an
    SMS exchange and an MMS. The kinds both generations name (``answer``, ``gather``,
    ``dtmf``) are made from their v1 classes."""
    caller, number = "+19195550147", "+19195551212"
    call = {"call_id": "c-" + secrets.token_hex(12)}
    recording = {"recording_id": "rec-" + secrets.token_hex(12)}
    message = {"from_": number, "to": caller}
    return [
        ("POST", "incomingcall", fake_payload("incomingcall", **call, from_=caller, to=number)),
        ("GET", "answer", fake_payload(AnswerEvent, **call, from_=caller, to=number)),
        ("POST", "speak", fake_payload("speak", **call, status="started", state="PLAYBACK_START")),
        (
            "POST",
            "gather",
            fake_payload(GatherEvent, **call, digits="42", reason="terminating-digit"),
        ),
        ("POST", "dtmf", fake_payload(DtmfEvent, **call, dtmf_digit="#")),
        ("POST", "recording", fake_payload("recording", **call, **recording)),
        ("POST", "transcription", fake_payload("transcription", **recording)),
        ("POST", "hangup", fake_payload("hangup", **call, from_=caller, to=number)),
        ("POST", "sms", fake_payload("sms", from_=caller, to=number, text="Is my order ready?")),
        (
            "POST",
            "sms",
            fake_payload(
                "sms",
                **message,
                direction="out",
                text="Yes, ready for pickup.",
                state="sent",
                delivery_state="delivered",
                delivery_code=0,
                delivery_description="Message delivered to carrier",
            ),
        ),
        ("POST", "mms", fake_payload("mms", from_=caller, to=number, text="Here it is")),
    ]


def demo_sequence_v2() -> list[tuple[str, str, Any]]:
    """``(method, kind, payload)`` for a Voice v2 inbound call (``initiate`` answered with
    BXML, ``gather`` with digits, ``disconnect``), then Messaging v2: an inbound text, and
    the delivery receipts of a reply to a group, several in one array."""
    caller, number, friend = "+19195550147", "+19195551212", "+19195550188"
    call = {
        "call_id": bandwidth_id("c"),
        "account_id": "9900000",
        "from_": caller,
        "to": number,
        "direction": "inbound",
    }
    receipts = fake_payload("message-delivered", count=2)  # one per recipient of a group text
    group = {**receipts[0]["message"], "from": number, "owner": number, "to": [caller, friend]}
    for element, recipient in zip(receipts, group["to"], strict=True):
        element.update(to=recipient, message=group)
    return [
        ("POST", "initiate", fake_payload("initiate", **call)),
        ("POST", "v2:gather", fake_payload("v2:gather", **call, digits="42")),
        ("POST", "disconnect", fake_payload("disconnect", **call, cause="hangup")),
        (
            "POST",
            "message-received",
            fake_payload(
                "message-received", to=number, message__from=caller, message__text="Is it ready?"
            ),
        ),
        ("POST", "message-delivered", receipts),
    ]


def describe(event: Event) -> str:
    """One line about an event: its type, its ids, and what it is about."""
    fields: dict[str, Any] = {
        name: getattr(event, name, None)
        for name in (
            "call_id",
            "message_id",
            "recording_id",
            "transcription_id",
            "order_id",  # a Numbers order (never a port-out request's subscriber data)
            "order_type",
            "pon",
            "endpoint_id",  # an endpoint event
            "request_id",  # a Subscriptions v2 notification
            "notification_type",
            "internal_ticket_number",  # a toll-free verification result
            "phone_number",
            "from_",
            "to",
            "status",
            "cause",
            "digits",
            "dtmf_digit",
            "direction",
            "delivery_state",
            "denial_status_code",
            "error_code",
            "blocked",
            "text",
            "media",
        )
    }
    message = getattr(event, "message", None)  # Messaging v2: what the event is about
    if message is not None and not isinstance(message, str):
        fields.update(message_id=message.id, from_=message.from_, text=message.text or None)
    device = getattr(event, "device", None)  # an endpoint event's: its id, never its name
    if device is not None:
        fields.update(device=device.device_id)
    if fields["media"] is not None:
        fields["media"] = f"{len(fields['media'])} files"
    parts = [f"{name.rstrip('_')}={value!r}" for name, value in fields.items() if value is not None]
    return f"{type(event).__name__:<21} " + " ".join(parts)


@contextmanager
def serving(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve a WSGI app on werkzeug's embedded server in a thread; yields its base URL."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            """Keep the demo's output to the events themselves."""

    server = make_server(host, port, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="bwhooks-serving",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def run_demo(out: TextIO = sys.stdout) -> int:
    """Run the demo, one part per API generation (current first), printing each callback
    sent, its answer, and the events its handlers received; 0 if all arrived."""
    from bwhooks.adapters.wsgi import make_app

    credentials = ("bandwidth", secrets.token_urlsafe(16))
    receiver = Receiver(auth=BasicAuth(credentials))
    received: list[Event] = []
    seen: list[str] = []  # what the handlers saw of the callback being sent

    @receiver.on(Event)
    def show(event: Event) -> None:
        received.append(event)
        seen.append(f"  <- {describe(event)}")

    @receiver.on(VoiceInitiateEvent)  # Voice v2: the inbound call waits for this BXML
    def inbound(event: VoiceInitiateEvent) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?><Response><Gather gatherUrl="/callbacks" '
            'terminatingDigits="#"><SpeakSentence>Enter your order number.</SpeakSentence>'
            "</Gather></Response>"
        )

    @receiver.on(VoiceGatherEvent)
    def order_number(event: VoiceGatherEvent) -> str:
        seen.append(f"     order number entered: {event.digits}")
        return "<Response><SpeakSentence>Thank you.</SpeakSentence></Response>"

    @receiver.on(AnswerEvent)  # v1: the answer callback (a GET here) gets the BXML
    def greet(event: AnswerEvent) -> str:
        return (
            '<?xml version="1.0" encoding="UTF-8"?><Response><Gather requestUrl="/callbacks" '
            'terminatingDigits="#"><SpeakSentence>Enter your order number.</SpeakSentence>'
            "</Gather></Response>"
        )

    @receiver.on(GatherEvent)
    def gathered(event: GatherEvent) -> None:
        seen.append(f"     order number entered: {event.digits}")

    failures = callbacks = expected = 0
    with serving(make_app(receiver)) as base_url:
        print(f"bwhooks demo: receiver on {base_url}/callbacks (HTTP Basic Auth)", file=out)
        print(
            "Each callback goes as Bandwidth sends it: without credentials first (401, the "
            "challenge), then with them.",
            file=out,
        )
        sender = HttpSender(f"{base_url}/callbacks", credentials)
        parts = [  # current APIs first
            ("Voice v2 and Messaging v2", demo_sequence_v2()),
            ("Bandwidth v1 (Catapult)", demo_sequence()),
        ]
        for heading, sequence in parts:
            print(f"\n{heading}", file=out, flush=True)
            for method, kind, payload in sequence:
                seen.clear()
                answer = sender.send(payload, method)
                exchange = " -> ".join(str(status) for status in sender.exchange)
                if answer.headers.get("Content-Type", "").startswith("application/xml"):
                    exchange += f", BXML answer: {len(answer.body)} bytes"
                print(f"{method:<4} {kind:<17} {exchange}", *seen, sep="\n", file=out, flush=True)
                if not 200 <= answer.status < 300:
                    failures += 1
                callbacks += 1
                expected += len(payload) if isinstance(payload, list) else 1
    ok = failures == 0 and len(received) == expected
    verdict = "all" if ok else "NOT all"
    print(f"\n{verdict} {callbacks} callbacks received ({len(received)} events)", file=out)
    return 0 if ok else 1
