"""FastAPI (and Starlette): a router serving a :class:`~bwhooks.Receiver`, and a dependency.

```python
app.include_router(router(receiver))                    # POST/GET /callbacks

@app.post("/bandwidth/voice")                           # or your own route
async def voice(event: Annotated[Event, Depends(verified_event(receiver))]) -> None: ...

@app.post("/bandwidth/messages")                        # Messaging v2: arrays
async def messages(
    events: Annotated[tuple[Event, ...], Depends(verified_events(receiver))],
) -> None: ...
```
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from bwhooks.adapters.asgi import _messages, scope_client, scope_headers
from bwhooks.body import AsyncRead, asgi_reader
from bwhooks.events import Event
from bwhooks.extras import missing_extra
from bwhooks.http import CallbackResponse, Headers
from bwhooks.receiver import Receiver

try:
    import fastapi
    from starlette.requests import Request
    from starlette.responses import Response
except ImportError as exc:  # pragma: no cover  (tested in a subprocess without FastAPI)
    raise missing_extra("fastapi", "FastAPI", "fastapi") from exc

__all__ = ["router", "verified_event", "verified_events"]

_ERRORS = {
    400: "Not a callback: malformed JSON, no eventType (or messaging type), an empty array, "
    "or a v1 field of the wrong type",
    401: "Missing or wrong credentials (comes with the Basic challenge)",
    413: "Body over the receiver's max_body_size",
    415: "POST body that is not JSON",
    500: "A handler failed",
}
_ERROR_SCHEMA = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Acknowledged; BXML when a handler answers",
        "content": {"application/xml": {"schema": {"type": "string"}}},
    },
    **{
        status: {"description": text, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}
        for status, text in _ERRORS.items()
    },
}
_MESSAGING_ELEMENT = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "examples": ["message-received", "message-delivered"]},
        "message": {"type": "object"},
    },
    "additionalProperties": True,
}
_CALLBACK_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    {
                        "type": "object",
                        "description": "A v1 or Voice v2 callback",
                        "required": ["eventType"],
                        "properties": {
                            "eventType": {"type": "string", "examples": ["initiate", "answer"]}
                        },
                        "additionalProperties": True,
                    },
                    {
                        "type": "array",
                        "description": "A Messaging v2 delivery: one event per element",
                        "items": _MESSAGING_ELEMENT,
                        "minItems": 1,
                    },
                    {**_MESSAGING_ELEMENT, "description": "One Messaging v2 element"},
                ]
            }
        }
    },
}
_CALLBACK_QUERY = [
    {"name": "eventType", "in": "query", "required": True, "schema": {"type": "string"}},
]


def _parts(request: Request) -> tuple[str, str, Headers, AsyncRead]:
    """Method, path, headers and body reader, from the scope as the ASGI adapter reads it."""
    scope = request.scope
    return scope["method"], scope["path"], scope_headers(scope), asgi_reader(request.receive)


def _extras(scope: Any) -> dict[str, Any]:
    return {"query_string": scope.get("query_string", b""), "client": scope_client(scope)}


def router(
    receiver: Receiver, path: str = "/callbacks", **router_options: Any
) -> fastapi.APIRouter:
    """An ``APIRouter`` serving ``receiver`` at ``path`` (POST and GET callbacks).

    The body is streamed up to the receiver's limit and handed over untouched; every
    method reaches the receiver, which answers as its behaviour table says.
    ``router_options`` go to ``APIRouter`` (``tags=``, ``prefix=``, ...).
    """
    api = fastapi.APIRouter(**{"tags": ["Bandwidth callbacks"], **router_options})

    async def callback(request: Request) -> Response:
        answer = await receiver.handle_stream_async(*_parts(request), **_extras(request.scope))
        return _Answer(answer, head=request.scope["method"] == "HEAD")

    common: dict[str, Any] = {"response_class": Response, "responses": _RESPONSES}
    api.add_api_route(
        path,
        callback,
        methods=["POST"],
        summary="Receive a Bandwidth callback (JSON)",
        operation_id="bandwidth_callback_post",
        openapi_extra={"requestBody": _CALLBACK_BODY},
        **common,
    )
    api.add_api_route(
        path,
        callback,
        methods=["GET"],
        summary="Receive a Bandwidth callback (query string)",
        operation_id="bandwidth_callback_get",
        openapi_extra={"parameters": _CALLBACK_QUERY},
        **common,
    )
    api.add_api_route(
        path,
        callback,
        methods=["HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"],
        include_in_schema=False,
        response_class=Response,
    )
    return api


class _Answer(Response):
    """The receiver's answer, sent as the ASGI adapter sends it (its messages built once,
    without Starlette's header handling); background tasks run after, as Starlette's."""

    def __init__(self, answer: CallbackResponse, *, head: bool) -> None:
        self._start, self._body = _messages(answer, head=head)
        self.status_code = answer.status
        self.raw_headers = list(self._start["headers"])
        self.background = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(self._start)
        await send(self._body)
        if self.background is not None:
            await self.background()


def verified_event(receiver: Receiver) -> Callable[[Request], Awaitable[Event]]:
    """A dependency giving one of your own routes the verified, parsed event.

    Refusals are raised as ``HTTPException`` with the receiver's status (401 with the
    Basic challenge header, 413, 415, 400); your route decides what to answer. Handlers
    registered on ``receiver`` are not run. For Messaging v2, whose deliveries are arrays,
    use :func:`verified_events`.
    """

    async def bandwidth_event(request: Request) -> Event:
        event = receiver.only_event(await _accept(receiver, request))
        if isinstance(event, CallbackResponse):
            raise _http_error(event)
        return event

    return bandwidth_event


def verified_events(receiver: Receiver) -> Callable[[Request], Awaitable[tuple[Event, ...]]]:
    """The same as :func:`verified_event`, giving every event of the delivery, in order
    (one per element of a Messaging v2 array)."""

    async def bandwidth_events(request: Request) -> tuple[Event, ...]:
        return await _accept(receiver, request)

    return bandwidth_events


async def _accept(receiver: Receiver, request: Request) -> tuple[Event, ...]:
    read = await receiver.read_request_async(*_parts(request), **_extras(request.scope))
    accepted = read if isinstance(read, CallbackResponse) else receiver.accept_all(read)
    if isinstance(accepted, CallbackResponse):
        raise _http_error(accepted)
    return accepted


def _http_error(response: CallbackResponse) -> fastapi.HTTPException:
    reason = json.loads(response.body).get("error", "") if response.body else ""
    headers = {k: v for k, v in response.headers.pairs() if k.lower() != "content-type"}
    return fastapi.HTTPException(response.status, reason, headers=headers or None)
