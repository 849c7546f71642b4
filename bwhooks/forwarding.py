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
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

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
    target = urlsplit(url)
    if target.scheme not in ("http", "https") or not target.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    connection_class = (
        http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(target.hostname, target.port, timeout=timeout)
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
    """A WSGI app that forwards every request to ``url`` (see :func:`forward`)."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        urlsplit(url)  # refuse what is no URL now, not on the first delivery
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self.timeout = timeout

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        from bwhooks.adapters.wsgi import _reader, environ_headers

        read = _reader(environ)
        body = b"".join(iter(lambda: read(65536), b""))
        answer = forward(
            self.url,
            environ.get("REQUEST_METHOD", "GET"),
            environ.get("QUERY_STRING", ""),
            _original_names(environ_headers(environ).pairs()),
            body,
            timeout=self.timeout,
        )
        pairs = list(answer.headers.pairs())
        pairs.append(("Content-Length", str(len(answer.body))))
        start_response(answer.status_line, pairs)
        return [answer.body]


def _original_names(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, Any]]:
    """Header names as HTTP writes them (``content-type`` -> ``Content-Type``)."""
    return [
        ("-".join(part.capitalize() for part in name.split("-")), value) for name, value in pairs
    ]
