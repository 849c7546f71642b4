"""Voice v2 and Messaging v2 in a Flask app: BXML built with bandwidth-sdk, texts answered
through Bandwidth's Messaging v2 API (OAuth2 client credentials).

Run: BWHOOKS_CREDENTIALS=bw-user:s3cret BANDWIDTH_CLIENT_ID=... BANDWIDTH_CLIENT_SECRET=...
     BANDWIDTH_ACCOUNT_ID=... BANDWIDTH_APPLICATION_ID=... flask --app examples/flask_v2_app run
"""

import logging
import os

from bandwidth import ApiClient, Configuration, MessagesApi
from bandwidth.models import MessageRequest
from bandwidth.models.bxml import Gather, Hangup, Response, SpeakSentence
from flask import Flask

from bwhooks import (
    BasicAuth,
    MessageFailedEvent,
    MessageReceivedEvent,
    Receiver,
    VoiceGatherEvent,
    VoiceInitiateEvent,
)
from bwhooks.adapters.flask import BandwidthCallbacks

receiver = Receiver(auth=BasicAuth.from_env())  # BWHOOKS_CREDENTIALS="user:pass[,user2:pass2]"
log = logging.getLogger(__name__)


def bandwidth() -> ApiClient:
    """bandwidth-sdk with OAuth2; BANDWIDTH_API_URL and BANDWIDTH_TOKEN_URL point it
    elsewhere (a fake API in tests)."""
    env = os.environ
    config = Configuration(
        client_id=env["BANDWIDTH_CLIENT_ID"], client_secret=env["BANDWIDTH_CLIENT_SECRET"]
    )
    if "BANDWIDTH_API_URL" in env:
        config = Configuration(
            host=env["BANDWIDTH_API_URL"],
            ignore_operation_servers=True,
            access_token_url=env["BANDWIDTH_TOKEN_URL"],
            client_id=env["BANDWIDTH_CLIENT_ID"],
            client_secret=env["BANDWIDTH_CLIENT_SECRET"],
        )
    return ApiClient(config)


@receiver.on(VoiceInitiateEvent)  # an inbound call waits for this BXML
def inbound_call(event: VoiceInitiateEvent) -> Response:
    menu = SpeakSentence("Press 1 to hear our opening hours.")
    return Response([Gather(gather_url="/callbacks", max_digits=1, audio_verbs=[menu])])


@receiver.on(VoiceGatherEvent)
def menu_choice(event: VoiceGatherEvent) -> Response:
    if event.digits == "1":
        return Response([SpeakSentence("We are open from nine to five."), Hangup()])
    return Response([SpeakSentence("Goodbye."), Hangup()])


@receiver.on(MessageReceivedEvent)  # one call per element of the array Bandwidth posts
def texted(event: MessageReceivedEvent) -> None:
    if event.message is None or event.message.from_ is None or event.to is None:
        return
    reply = MessageRequest(
        application_id=os.environ["BANDWIDTH_APPLICATION_ID"],
        to=[event.message.from_],
        var_from=event.to,  # the number that received the text answers it
        text=f"Got it: {event.message.text}",
    )
    with bandwidth() as client:
        MessagesApi(client).create_message(os.environ["BANDWIDTH_ACCOUNT_ID"], reply)


@receiver.on(MessageFailedEvent)  # a delivery receipt: the text did not arrive
def undelivered(event: MessageFailedEvent) -> None:
    log.warning("message %s failed: %s", event.message and event.message.id, event.error_code)


def create_app() -> Flask:
    app = Flask(__name__)
    app.add_url_rule("/", "index", lambda: "my app")  # your own routes stay as they are
    BandwidthCallbacks(receiver, app)  # POST/GET /callbacks, v1 and v2 alike
    return app
