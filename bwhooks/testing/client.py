"""``CallbackClient``: deliver callbacks to a WSGI or ASGI app in-process, like Bandwidth."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from typing import Any, Literal

from bwhooks.http import CallbackResponse
from bwhooks.testing.delivery import (
    Callback,
    Delivery,
    OutgoingRequest,
    Signer,
    build_request,
    deliver,
    retry_after,
    signed,
)

__all__ = ["CallbackClient"]


class CallbackClient:
    """Sends callbacks to ``app`` (any WSGI or ASGI app) without a network.

    Each :meth:`send` performs Bandwidth's exchange: the request without credentials, then,
    after a ``401`` with a Basic challenge, again with ``credentials``. The kind of app is
    detected (an ``async`` ``__call__`` is ASGI); ``interface=`` overrides it. With
    ``signature=`` (``HmacSignature.toll_free(secret)`` or ``.subscriptions(secret)``) every
    attempt carries the signature of the exact bytes sent, as Bandwidth signs.
    """

    def __init__(
        self,
        app: Any,
        credentials: tuple[str, str] | None = ("user", "pass"),
        path: str = "/callbacks",
        *,
        interface: Literal["wsgi", "asgi"] | None = None,
        signature: Signer | None = None,
    ) -> None:
        self.app = app
        self.credentials = credentials
        self.signature = signature
        self.path = path
        self.interface = interface or ("asgi" if _is_asgi(app) else "wsgi")
        self.exchange: tuple[int, ...] = ()

    def send(self, callback: Callback, method: str = "POST") -> CallbackResponse:
        """Deliver one callback (a wire payload, the XML text of a Numbers webhook, or an
        event); return the final answer."""
        return self.send_request(build_request(callback, method, self.path))

    def send_request(self, request: OutgoingRequest) -> CallbackResponse:
        """Deliver a request as it is (a recorded body byte for byte, say; signed when the
        client has a ``signature``), the challenge exchange included; return the final answer."""
        request = signed(request, self.signature)
        if self.interface == "asgi":
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                return asyncio.run(self._send_request_async(request))
            raise RuntimeError("inside a running event loop, use: await client.send_async(...)")
        return self._record(deliver(self._wsgi, request, self.credentials))

    async def send_async(self, callback: Callback, method: str = "POST") -> CallbackResponse:
        """The same, awaited (for ASGI apps, inside async tests)."""
        request = build_request(callback, method, self.path, signature=self.signature)
        return await self._send_request_async(request)

    async def _send_request_async(self, request: OutgoingRequest) -> CallbackResponse:
        first = await self._asgi(request)
        retry = retry_after(request, first, self.credentials)
        if retry is None:
            return self._record(Delivery(first, (first.status,)))
        second = await self._asgi(retry)
        return self._record(Delivery(second, (first.status, second.status)))

    def _record(self, delivery: Delivery) -> CallbackResponse:
        self.exchange = delivery.exchange
        return delivery.response

    def _wsgi(self, request: OutgoingRequest) -> CallbackResponse:
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        builder = EnvironBuilder(
            path=request.path,
            method=request.method,
            headers=list(request.headers.items()),
            data=request.body or None,
            query_string=request.query,
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
        try:
            body = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        return CallbackResponse(int(status.split(" ", 1)[0]), headers.items(), body)

    async def _asgi(self, request: OutgoingRequest) -> CallbackResponse:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": "http",
            "path": request.path,
            "raw_path": request.path.encode(),
            "root_path": "",
            "query_string": request.query.encode(),
            "headers": [
                (name.lower().encode("latin-1"), value.encode("latin-1"))
                for name, value in {
                    **request.headers,
                    "Host": "testserver",
                    "Content-Length": str(len(request.body)),
                }.items()
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        messages = [{"type": "http.request", "body": request.body, "more_body": False}]
        sent: list[Mapping[str, Any]] = []
        answered = asyncio.Event()

        async def receive() -> Mapping[str, Any]:
            if messages:
                return messages.pop(0)
            await answered.wait()  # like a client: connected until the response is complete
            return {"type": "http.disconnect"}

        async def send(message: Mapping[str, Any]) -> None:
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                answered.set()

        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start.get("headers", [])]
        return CallbackResponse(start["status"], headers, body)


def _is_asgi(app: Any) -> bool:
    call = app if inspect.isfunction(app) else getattr(app, "__call__", None)  # noqa: B004
    return inspect.iscoroutinefunction(call)
