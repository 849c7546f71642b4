"""Bandwidth callbacks around any WSGI app (here a bare one), on any WSGI server.

Run: BWHOOKS_CREDENTIALS="bw-user:s3cret" gunicorn examples.wsgi_app:app
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bwhooks import BasicAuth, GatherEvent, IncomingCallEvent, Receiver
from bwhooks.adapters.wsgi import CallbackMiddleware

receiver = Receiver(auth=BasicAuth.from_env())  # BWHOOKS_CREDENTIALS="user:pass[,user2:pass2]"
calls: dict[str, str] = {}


@receiver.on(IncomingCallEvent)
def incoming(event: IncomingCallEvent) -> None:
    calls[event.call_id or ""] = event.from_ or "unknown"


@receiver.on(GatherEvent)
def gathered(event: GatherEvent) -> str:
    return f"<Response><SpeakSentence>You entered {event.digits}.</SpeakSentence></Response>"


def my_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"my app"]


app = CallbackMiddleware(my_app, receiver, path="/callbacks")
