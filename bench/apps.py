"""The apps the loopback benchmark serves: bare ones doing the same work, and bwhooks'.

``gunicorn apps:bare_wsgi`` / ``apps:bwhooks_wsgi``; ``uvicorn apps:bare_asgi`` /
``apps:bwhooks_asgi``.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from payloads import AUTHORIZATION, CREDENTIALS

from bwhooks import BasicAuth, Event, Receiver
from bwhooks.adapters import asgi, wsgi

_EXPECTED = AUTHORIZATION.encode()
_CHALLENGE = [("WWW-Authenticate", 'Basic realm="bare"'), ("Content-Length", "0")]


def _receiver(*, async_handler: bool) -> Receiver:
    receiver = Receiver(auth=BasicAuth(CREDENTIALS))
    if async_handler:

        @receiver.on(Event)
        async def handled(event: Event) -> None: ...

    else:

        @receiver.on(Event)
        def handled_sync(event: Event) -> None: ...

    return receiver


def bare_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    if not hmac.compare_digest(environ.get("HTTP_AUTHORIZATION", "").encode(), _EXPECTED):
        start_response("401 Unauthorized", _CHALLENGE)
        return [b""]
    json.loads(body)
    start_response("200 OK", [("Content-Length", "0")])
    return [b""]


async def bare_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    authorization = dict(scope["headers"]).get(b"authorization", b"")
    status = 200
    if not hmac.compare_digest(authorization, _EXPECTED):
        status = 401
    else:
        json.loads(body)
    await send(
        {"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]}
    )
    await send({"type": "http.response.body", "body": b""})


bwhooks_wsgi = wsgi.make_app(_receiver(async_handler=False))
bwhooks_asgi = asgi.make_app(_receiver(async_handler=True))
