"""Forwarding: relay each delivery, synchronously, to your own app and answer with its answer.

``bwhooks listen --forward URL`` is a reverse proxy, never store-and-forward: Bandwidth's
request goes to ``URL`` with its method, query string, headers (``Authorization`` included)
and body byte for byte, and the app's answer comes back unchanged (the ``401`` challenge,
BXML, any status). A target that refuses the connection answers ``502``; one that does not
answer within ``timeout`` seconds answers ``504``. Standard library only.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from bwhooks.http import CallbackResponse

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["DEFAULT_TIMEOUT", "ForwardingApp", "forward"]

#: Seconds a forward target has to answer before the delivery is answered ``504``.
DEFAULT_TIMEOUT = 10.0
# Hop-by-hop headers (RFC 9110 §7.6.1) and those the connection itself sets.
_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


def forward(
    url: str,
    method: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> CallbackResponse:
    """Send one request to ``url`` (its path, the delivery's query string) and return the
    answer as it came, or ``502``/``504`` when the target is down or too slow."""
    target = _target(url)
    connection_class = (
        http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(target.hostname or "", target.port, timeout=timeout)
    path = (target.path or "/") + (f"?{query}" if query else "")
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            if name.lower() not in _HOP:
                connection.putheader(name, value)
        if body or method in ("POST", "PUT", "PATCH"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        answered = answer.read()
        pairs = [(n, v) for n, v in answer.getheaders() if n.lower() not in _HOP]
        return CallbackResponse(answer.status, pairs, answered)
    except TimeoutError:
        return CallbackResponse.error(504, f"the forward target did not answer in {timeout:g}s")
    except (OSError, http.client.HTTPException) as exc:
        return CallbackResponse.error(502, f"the forward target failed: {type(exc).__name__}")
    finally:
        connection.close()


class ForwardingApp:
    """A WSGI app that forwards every request to ``url`` (see :func:`forward`); a body over
    ``max_body_size`` bytes is answered ``413`` without being relayed."""

    def __init__(
        self, url: str, *, timeout: float = DEFAULT_TIMEOUT, max_body_size: int = 1_000_000
    ) -> None:
        _target(url)  # refuse what is no URL now, not on the first delivery
        self.url = url
        self.timeout = timeout
        self.max_body_size = max_body_size

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        from bwhooks.adapters.wsgi import _reader, _respond, environ_headers
        from bwhooks.body import read_limited

        method = environ.get("REQUEST_METHOD", "GET")
        body = read_limited(_reader(environ), self.max_body_size)
        if body is None:
            answer = CallbackResponse.error(413, f"body over {self.max_body_size} bytes")
        else:
            answer = forward(
                self.url,
                method,
                environ.get("QUERY_STRING", ""),
                environ_headers(environ).pairs(),
                body,
                timeout=self.timeout,
            )
        return _respond(answer, start_response, head=method == "HEAD")


def _target(url: str) -> SplitResult:
    target = urlsplit(url)
    if target.scheme not in ("http", "https") or not target.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return target
