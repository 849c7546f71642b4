"""Bandwidth callbacks around any ASGI app (Starlette here), on any ASGI server.

Run: BWHOOKS_CREDENTIALS="bw-user:s3cret" uvicorn examples.asgi_app:app
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bwhooks import (
    AccountNotificationEvent,
    BasicAuth,
    Receiver,
    RecordingEvent,
    TranscriptionEvent,
    VoiceTranscriptionAvailableEvent,
)
from bwhooks.adapters.asgi import CallbackMiddleware

receiver = Receiver(auth=BasicAuth.from_env())  # BWHOOKS_CREDENTIALS="user:pass[,user2:pass2]"
transcripts: dict[str, str] = {}
messaging_lost: list[str] = []


@receiver.on(VoiceTranscriptionAvailableEvent)  # Voice v2: fetch the transcription from its url
async def transcription_ready(event: VoiceTranscriptionAvailableEvent) -> None:
    if event.transcription is not None:
        transcripts[event.recording_id or ""] = event.transcription.url or ""


# Bandwidth v1 (Catapult), on the same URL
@receiver.on(RecordingEvent)
def recorded(event: RecordingEvent) -> None:  # a def handler runs in a worker thread
    print(f"recording {event.recording_id}: {event.status}")


@receiver.on(TranscriptionEvent)
async def transcribed(event: TranscriptionEvent) -> None:
    transcripts[event.recording_id or ""] = event.text or ""


# Numbers (XML): hosted messaging lost to another account's order
@receiver.on(AccountNotificationEvent)
async def account_event(event: AccountNotificationEvent) -> None:
    if event.event_type == "MESSAGING_LOST":
        messaging_lost.extend(event.impacted_numbers)


async def index(request: Request) -> PlainTextResponse:
    return PlainTextResponse("my app")


app = CallbackMiddleware(Starlette(routes=[Route("/", index)]), receiver, path="/callbacks")
