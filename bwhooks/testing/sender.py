"""Send callbacks over real HTTP the way Bandwidth does: challenge first, then credentials."""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from bwhooks.auth import basic_authorization
from bwhooks.events import Event
from bwhooks.http import CallbackResponse
from bwhooks.parsing import encode_query, to_payload

__all__ = ["USER_AGENT", "HttpSender"]

USER_AGENT = "BandwidthAPI/v1 (bwhooks)"


class HttpSender:
    """Delivers callbacks to ``url`` over HTTP/1.1, as Bandwidth's platform does.

    The first request carries no ``Authorization``; only when the answer is a ``401`` with
    a ``WWW-Authenticate: Basic`` challenge is it sent again with ``credentials`` (or the
    ``user:pass@`` of the URL). ``exchange`` records the statuses of the last delivery.
    """

    def __init__(
        self, url: str, credentials: tuple[str, str] | None = None, *, timeout: float = 10.0
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        if credentials is None and parts.username is not None:
            credentials = (unquote(parts.username), unquote(parts.password or ""))
        self.credentials = credentials
        self.timeout = timeout
        self.exchange: tuple[int, ...] = ()
        self._scheme = parts.scheme
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path or "/"
        self._query = parts.query

    def send(self, callback: Mapping[str, Any] | Event, method: str = "POST") -> CallbackResponse:
        """Deliver one callback (a wire payload or an event) and return the final answer."""
        payload = to_payload(callback) if isinstance(callback, Event) else dict(callback)
        method = method.upper()
        headers = {"User-Agent": USER_AGENT}
        target = self._path
        body: bytes | None = None
        if method == "GET":
            query = encode_query(payload)
            target += "?" + (f"{self._query}&{query}" if self._query else query)
        else:
            body = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
            if self._query:
                target += "?" + self._query
        first = self._request(method, target, body, headers)
        statuses = [first.status]
        answer = first
        challenge = first.headers.get("WWW-Authenticate", "")
        if first.status == 401 and challenge.lower().startswith("basic") and self.credentials:
            headers["Authorization"] = basic_authorization(*self.credentials)
            answer = self._request(method, target, body, headers)
            statuses.append(answer.status)
        self.exchange = tuple(statuses)
        return answer

    def _request(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str]
    ) -> CallbackResponse:
        connection_class = (
            http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        )
        connection = connection_class(self._host, self._port, timeout=self.timeout)
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            return CallbackResponse(response.status, response.getheaders(), response.read())
        finally:
            connection.close()
