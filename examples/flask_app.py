"""Bandwidth callbacks in a Flask app, next to its own routes.

Run: BWHOOKS_CREDENTIALS="bw-user:s3cret" flask --app examples/flask_app run
"""

from __future__ import annotations

from flask import Flask

from bwhooks import AnswerEvent, BasicAuth, HangupEvent, Receiver, SmsEvent
from bwhooks.adapters.flask import BandwidthCallbacks

receiver = Receiver(auth=BasicAuth.from_env())  # BWHOOKS_CREDENTIALS="user:pass[,user2:pass2]"
inbox: list[SmsEvent] = []


@receiver.on(AnswerEvent)
def answered(event: AnswerEvent) -> str:
    return "<Response><SpeakSentence>Thanks for calling.</SpeakSentence><Hangup/></Response>"


@receiver.on(SmsEvent)
def texted(event: SmsEvent) -> None:
    inbox.append(event)


@receiver.on(HangupEvent)  # RejectEvent too: it is a HangupEvent
def ended(event: HangupEvent) -> None:
    print(f"call {event.call_id} ended: {event.cause}")


def create_app() -> Flask:
    app = Flask(__name__)
    app.add_url_rule("/", "index", lambda: "my app")  # your own routes stay as they are
    BandwidthCallbacks(receiver, app)  # POST/GET /callbacks (config BWHOOKS_PATH to move it)
    return app
