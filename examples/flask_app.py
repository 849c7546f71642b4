"""Bandwidth callbacks in a Flask app beside its own routes; SMS answered via the REST API.
Run: BWHOOKS_CREDENTIALS=bw-user:s3cret BANDWIDTH_...=... flask --app examples/flask_app run"""

import json
import os
from urllib.request import Request, urlopen

from flask import Flask

from bwhooks import AnswerEvent, BasicAuth, OrderNotificationEvent, Receiver, SmsEvent
from bwhooks.adapters.flask import BandwidthCallbacks
from bwhooks.auth import basic_authorization

receiver = Receiver(auth=BasicAuth.from_env())  # BWHOOKS_CREDENTIALS="user:pass[,user2:pass2]"
failed_orders: dict[str, str] = {}


@receiver.on(AnswerEvent)
def answered(event: AnswerEvent) -> str:
    return "<Response><SpeakSentence>Thanks for calling.</SpeakSentence><Hangup/></Response>"


@receiver.on(SmsEvent)
def texted(event: SmsEvent) -> None:
    if event.direction == "in":  # reply through Bandwidth's API: POST /users/{id}/messages
        env = os.environ
        api = env.get("BANDWIDTH_API_URL", "https://api.catapult.inetwork.com/v1")
        message = {"from": event.to, "to": event.from_, "text": f"Got it: {event.text}"}
        auth = basic_authorization(env["BANDWIDTH_API_TOKEN"], env["BANDWIDTH_API_SECRET"])
        headers = {"Content-Type": "application/json", "Authorization": auth}
        url = f"{api}/users/{env['BANDWIDTH_USER_ID']}/messages"
        urlopen(Request(url, json.dumps(message).encode(), headers), timeout=10).close()  # noqa: S310


@receiver.on(OrderNotificationEvent)  # Numbers notifications (XML) on the same URL
def order_changed(event: OrderNotificationEvent) -> None:
    if event.status == "FAILED" and event.order_id:
        failed_orders[event.order_id] = event.message or ""


def create_app() -> Flask:
    app = Flask(__name__)
    app.add_url_rule("/", "index", lambda: "my app")  # your own routes stay as they are
    BandwidthCallbacks(receiver, app)  # POST/GET /callbacks (config BWHOOKS_PATH to move it)
    return app
