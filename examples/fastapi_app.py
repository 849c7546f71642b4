"""Bandwidth callbacks in a FastAPI app: the router, and a dependency for your own route.

Run: BWHOOKS_CREDENTIALS="bw-user:s3cret" uvicorn examples.fastapi_app:app
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI

from bwhooks import (
    AnswerEvent,
    BasicAuth,
    Event,
    MmsEvent,
    PortOutAnswer,
    PortOutError,
    PortOutValidationEvent,
    Receiver,
    SmsEvent,
)
from bwhooks.adapters.fastapi import router, verified_event

receiver = Receiver(auth=BasicAuth.from_env())  # BWHOOKS_CREDENTIALS="user:pass[,user2:pass2]"
inbox: list[SmsEvent | MmsEvent] = []


@receiver.on(AnswerEvent)
async def answered(event: AnswerEvent) -> str:
    return "<Response><SpeakSentence>Thanks for calling.</SpeakSentence><Hangup/></Response>"


@receiver.on(SmsEvent, MmsEvent)
async def texted(event: SmsEvent | MmsEvent) -> None:
    inbox.append(event)


@receiver.on(PortOutValidationEvent)  # XML on the same URL; the answer decides the port-out
async def port_out(event: PortOutValidationEvent) -> PortOutAnswer:
    if event.zip_code != "62025":
        return PortOutAnswer.deny(PortOutError.ZIP_CODE_INVALID)
    return PortOutAnswer.allow()


app = FastAPI()
app.include_router(router(receiver))  # POST/GET /callbacks, in the OpenAPI schema


@app.post("/audit")  # your own route, given the verified, parsed event
async def audit(event: Annotated[Event, Depends(verified_event(receiver))]) -> dict[str, str]:
    return {"received": event.event_type}
