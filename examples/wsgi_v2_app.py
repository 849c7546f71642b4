"""Voice v2 and Messaging v2 callbacks on one URL, beside any v1 ones, in a WSGI app.

Run: BWHOOKS_CREDENTIALS="bw-user:s3cret" gunicorn examples.wsgi_v2_app:app
"""

from __future__ import annotations

from bwhooks import (
    BasicAuth,
    MessageReceivedEvent,
    MessageStatusEvent,
    Receiver,
    VoiceDisconnectEvent,
    VoiceGatherEvent,
    VoiceInitiateEvent,
)
from bwhooks.adapters.wsgi import make_app

receiver = Receiver(auth=BasicAuth.from_env())  # BWHOOKS_CREDENTIALS="user:pass[,user2:pass2]"
texts: list[str] = []
receipts: list[tuple[str, str | None]] = []
ended: dict[str, str | None] = {}


@receiver.on(VoiceInitiateEvent)  # synchronous: the BXML returned is what the call does next
def inbound_call(event: VoiceInitiateEvent) -> str:
    return (
        '<Response><Gather gatherUrl="/callbacks" maxDigits="1">'
        "<SpeakSentence>Press 1 for sales, 2 for support.</SpeakSentence>"
        "</Gather></Response>"
    )


@receiver.on(VoiceGatherEvent)
def menu_choice(event: VoiceGatherEvent) -> str:
    team = {"1": "sales", "2": "support"}.get(event.digits or "", "nobody")
    return f"<Response><SpeakSentence>Connecting you to {team}.</SpeakSentence></Response>"


@receiver.on(VoiceDisconnectEvent)  # asynchronous: Bandwidth ignores the answer
def call_ended(event: VoiceDisconnectEvent) -> None:
    ended[event.call_id or ""] = event.cause


@receiver.on(MessageReceivedEvent)  # one call per element of the array, in order
def texted(event: MessageReceivedEvent) -> None:
    if event.message is not None:
        texts.append(event.message.text or "")


@receiver.on(MessageStatusEvent)  # every receipt: sending, sent, delivered, failed, read
def receipt(event: MessageStatusEvent) -> None:
    message_id = event.message.id if event.message is not None else None
    receipts.append((event.event_type, message_id))


app = make_app(receiver)
