"""Send callbacks over real HTTP the way Bandwidth does: challenge first, then credentials."""

from __future__ import annotations

import http.client
from urllib.parse import unquote, urlsplit

from bwhooks.http import CallbackResponse
from bwhooks.testing.delivery import Callback, OutgoingRequest, Signer, build_request, deliver

__all__ = ["HttpSender"]


class HttpSender:
    """Delivers callbacks to ``url`` over HTTP/1.1, as Bandwidth's platform does.

    The first request carries no ``Authorization``; only when the answer is a ``401`` with
    a ``WWW-Authenticate: Basic`` challenge is it sent again with ``credentials`` (or the
    ``user:pass@`` of the URL). With ``signature=`` (an :class:`~bwhooks.HmacSignature`)
    both attempts carry the signature of the exact body sent. ``exchange`` records the
    statuses of the last delivery.
    """

    def __init__(
        self,
        url: str,
        credentials: tuple[str, str] | None = None,
        *,
        timeout: float = 10.0,
        signature: Signer | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        if credentials is None and parts.username is not None:
            credentials = (unquote(parts.username), unquote(parts.password or ""))
        self.credentials = credentials
        self.signature = signature
        self.timeout = timeout
        self.exchange: tuple[int, ...] = ()
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        #: The URL's path and query string, where every callback goes.
        self.path = parts.path or "/"
        self.query = parts.query

    def send(self, callback: Callback, method: str = "POST") -> CallbackResponse:
        """Deliver one callback (a wire payload, the XML text of a Numbers webhook, or an
        event) and return the final answer."""
        request = build_request(callback, method, self.path, self.query, signature=self.signature)
        delivery = deliver(self.request, request, self.credentials)
        self.exchange = delivery.exchange
        return delivery.response

    def request(self, request: OutgoingRequest) -> CallbackResponse:
        """Send one request as it is (no challenge exchange) and return the answer."""
        connection_class = (
            http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(self._host, self._port, timeout=self.timeout)
        try:
            body = request.body if request.method != "GET" else None
            connection.request(
                request.method, request.target, body=body, headers=dict(request.headers)
            )
            response = connection.getresponse()
            return CallbackResponse(response.status, response.getheaders(), response.read())
        finally:
            connection.close()
