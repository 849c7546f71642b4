"""Voice v2 in a FastAPI app: a caller who asks for it is called back through Bandwidth's
Voice v2 API; Messaging v2 deliveries read, whole, on a route of your own.

Run: BWHOOKS_CREDENTIALS=bw-user:s3cret BANDWIDTH_CLIENT_ID=... BANDWIDTH_CLIENT_SECRET=...
     BANDWIDTH_ACCOUNT_ID=... BANDWIDTH_APPLICATION_ID=... BANDWIDTH_AGENT=+1...
     PUBLIC_URL=https://... uvicorn examples.fastapi_v2_app:app
"""

from __future__ import annotations

import os

from bandwidth import ApiClient, CallsApi, Configuration
from bandwidth.models import CreateCall
from fastapi import Depends, FastAPI

from bwhooks import (
    BasicAuth,
    Event,
    Receiver,
    VoiceDisconnectEvent,
    VoiceGatherEvent,
    VoiceInitiateEvent,
)
from bwhooks.adapters.fastapi import router, verified_events

receiver = Receiver(auth=BasicAuth.from_env())  # BWHOOKS_CREDENTIALS="user:pass[,user2:pass2]"
ended: dict[str, str | None] = {}


def calls_api() -> CallsApi:
    """bandwidth-sdk's Voice v2 client, OAuth2; BANDWIDTH_API_URL and BANDWIDTH_TOKEN_URL
    point it elsewhere (a fake API in tests)."""
    env = os.environ
    options = {
        "client_id": env["BANDWIDTH_CLIENT_ID"],
        "client_secret": env["BANDWIDTH_CLIENT_SECRET"],
    }
    if "BANDWIDTH_API_URL" in env:
        options |= {
            "host": env["BANDWIDTH_API_URL"],
            "access_token_url": env["BANDWIDTH_TOKEN_URL"],
        }
        return CallsApi(ApiClient(Configuration(ignore_operation_servers=True, **options)))
    return CallsApi(ApiClient(Configuration(**options)))


@receiver.on(VoiceInitiateEvent)
async def inbound_call(event: VoiceInitiateEvent) -> str:
    return (
        '<Response><Gather gatherUrl="/callbacks" maxDigits="1">'
        "<SpeakSentence>Press 1 and an agent calls you back.</SpeakSentence>"
        "</Gather></Response>"
    )


@receiver.on(VoiceGatherEvent)
def menu_choice(event: VoiceGatherEvent) -> str:  # a def handler: it may block (the SDK)
    if event.digits != "1" or event.from_ is None or event.to is None:
        return "<Response><SpeakSentence>Goodbye.</SpeakSentence><Hangup/></Response>"
    callback = CreateCall(
        to=os.environ["BANDWIDTH_AGENT"],
        var_from=event.to,
        application_id=os.environ["BANDWIDTH_APPLICATION_ID"],
        answer_url=f"{os.environ['PUBLIC_URL']}/callbacks",
        tag=f"callback-for:{event.from_}",  # comes back on the agent's call's webhooks
    )
    calls_api().create_call(os.environ["BANDWIDTH_ACCOUNT_ID"], callback)
    return "<Response><SpeakSentence>An agent will call you.</SpeakSentence><Hangup/></Response>"


@receiver.on(VoiceDisconnectEvent)  # asynchronous: Bandwidth ignores the answer
async def call_ended(event: VoiceDisconnectEvent) -> None:
    ended[event.call_id or ""] = event.cause


app = FastAPI()
app.include_router(router(receiver))  # POST/GET /callbacks, v1 and v2, in the OpenAPI schema


@app.post("/messages")  # your own route, given every event of a Messaging v2 delivery
async def messages(
    events: tuple[Event, ...] = Depends(verified_events(receiver)),
) -> dict[str, list[str]]:
    return {"received": [event.event_type for event in events]}
