"""Forwarding: relay each delivery, synchronously, to your own app and answer with its answer.

``bwhooks listen --forward URL`` is a reverse proxy, never store-and-forward: Bandwidth's
request goes to ``URL`` with its method, query string, end-to-end headers (``Authorization``
included) and body byte for byte, and the app's answer comes back unchanged (the ``401``
challenge, BXML, any status). As a proxy hop it drops the hop-by-hop headers of both (RFC 9110
§7.6.1: the standard ones and every one that ``Connection`` names), and appends the client's
address to ``X-Forwarded-For`` (and the scheme and host it was reached by to
``X-Forwarded-Proto``, ``X-Forwarded-Host`` and ``Forwarded``), so that an app trusting one
proxy reads the address the relay saw, never one the client wrote. A request whose body
length is ambiguous (``Content-Length`` with ``Transfer-Encoding``), whose method is no token
or whose ``Host`` is repeated or invalid (``a,evil.example``) is refused ``400``; bytes of the
query string that are no visible ASCII are relayed percent-encoded. A
target that refuses the connection answers ``502``; one that does not answer within
``timeout`` seconds answers ``504``. Standard library only.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, urlsplit

from bwhooks.http import _TOKEN, CallbackResponse, framing_error, request_error

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["DEFAULT_TIMEOUT", "ForwardingApp", "forward", "hop_by_hop"]

#: Seconds a forward target has to answer before the delivery is answered ``504``.
DEFAULT_TIMEOUT = 10.0
# Hop-by-hop headers (RFC 9110 §7.6.1, and the proxy credentials and challenges of §11.7,
# meant for a proxy, not the app) and those the connection itself sets.
_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)
# What a proxy hop vouches for, each appended to what earlier hops wrote.
_FORWARDED = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "forwarded"})


def hop_by_hop(headers: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The lower-case names of ``headers`` that stop at a proxy: the standard hop-by-hop
    ones and those their ``Connection`` headers name (RFC 9110 §7.6.1)."""
    named = (
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    )
    return _HOP.union(named)


def forward(
    url: str,
    method: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    client: str | None = None,
    scheme: str = "http",
) -> CallbackResponse:
    """Send one request to ``url`` (its path, the delivery's query string) and return the
    answer as it came, or ``502``/``504`` when the target is down or too slow.

    ``client`` is the address the request came from: when given, this call is a proxy hop
    and appends it to ``X-Forwarded-For`` (with ``scheme`` and the request's ``Host`` to
    ``X-Forwarded-Proto``, ``X-Forwarded-Host`` and ``Forwarded``). Hop-by-hop headers are
    dropped both ways."""
    target = _target(url)
    headers = list(headers)
    if not _TOKEN.fullmatch(method):
        return CallbackResponse.error(400, "an invalid method")
    connection_class = (
        http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(target.hostname or "", target.port, timeout=timeout)
    path = (target.path or "/") + (f"?{_escaped(query)}" if query else "")
    dropped = hop_by_hop(headers)
    sent = [(n, v) for n, v in headers if n.lower() not in dropped]
    if client is not None:
        sent = _vouched(sent, client, scheme, _first(headers, "host"))
    try:
        try:  # nothing is sent yet: what http.client cannot write is the client's fault
            connection.putrequest(method, path, skip_accept_encoding=True)
            for name, value in sent:
                connection.putheader(name, value)
        except ValueError:  # UnicodeEncodeError included
            return CallbackResponse.error(400, "a request the relay cannot send on")
        if body or method in ("POST", "PUT", "PATCH"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        answered = answer.read()
        pairs = answer.getheaders()
        dropped = hop_by_hop(pairs)
        return CallbackResponse(
            answer.status, [(n, v) for n, v in pairs if n.lower() not in dropped], answered
        )
    except TimeoutError:
        return CallbackResponse.error(504, f"the forward target did not answer in {timeout:g}s")
    except (OSError, http.client.HTTPException) as exc:
        return CallbackResponse.error(502, f"the forward target failed: {type(exc).__name__}")
    finally:
        connection.close()


def _escaped(query: str) -> str:
    """The query string as it may go on the wire: each byte that is no visible ASCII
    (a WSGI query is Latin-1 text, or UTF-8 from some servers) percent-encoded, the rest
    (existing escapes included) unchanged."""
    from bwhooks.adapters.wsgi import query_bytes

    raw = query_bytes(query)
    return "".join(chr(b) if 0x21 <= b <= 0x7E else f"%{b:02X}" for b in raw)


def _first(headers: list[tuple[str, str]], key: str) -> str | None:
    return next((v for n, v in headers if n.lower() == key), None)


def _joined(headers: list[tuple[str, str]], key: str, hop: str, *, split: bool = True) -> str:
    """Every earlier value of header ``key``, then ``hop``, as one list (``a, b, hop``)."""
    values = [v for n, v in headers if n.lower() == key]
    earlier = [part.strip() for v in values for part in (v.split(",") if split else [v])]
    return ", ".join([*(part for part in earlier if part), hop])


def _vouched(
    headers: list[tuple[str, str]], client: str, scheme: str, host: str | None
) -> list[tuple[str, str]]:
    """``headers`` with this hop appended to each forwarding header, one line each."""
    element = f"for={_quoted(f'[{client}]' if ':' in client else client)};proto={scheme}"
    hops = [
        ("X-Forwarded-For", _joined(headers, "x-forwarded-for", client)),
        ("X-Forwarded-Proto", _joined(headers, "x-forwarded-proto", scheme)),
    ]
    if host is not None:
        hops.append(("X-Forwarded-Host", _joined(headers, "x-forwarded-host", host)))
        element += f";host={_quoted(host)}"
    # a Forwarded element may quote a comma: its values are kept whole
    hops.append(("Forwarded", _joined(headers, "forwarded", element, split=False)))
    return [(n, v) for n, v in headers if n.lower() not in _FORWARDED] + hops


def _quoted(value: str) -> str:
    """An RFC 7239 value as a quoted-string (the host is the client's: escaped, not trusted)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


class ForwardingApp:
    """A WSGI app that forwards every request to ``url`` (see :func:`forward`), as a proxy
    hop for the client address the server gives (``REMOTE_ADDR``). A body over
    ``max_body_size`` bytes is answered ``413``, one whose length is ambiguous ``400``
    (:func:`bwhooks.http.framing_error`), neither relayed."""

    def __init__(
        self, url: str, *, timeout: float = DEFAULT_TIMEOUT, max_body_size: int = 1_000_000
    ) -> None:
        _target(url)  # refuse what is no URL now, not on the first delivery
        self.url = url
        self.timeout = timeout
        self.max_body_size = max_body_size

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        from bwhooks.adapters.wsgi import _respond, environ_headers

        method = environ.get("REQUEST_METHOD", "GET")
        headers = environ_headers(environ).pairs()
        version = environ.get("SERVER_PROTOCOL", "HTTP/1.1")
        hosts = [v for n, v in headers if n == "host"]
        ambiguous = request_error(method, hosts, host_required=False) or framing_error(
            headers, version
        )
        if ambiguous is not None:
            answer = CallbackResponse.error(*ambiguous)
        elif isinstance(body := _body(environ, self.max_body_size), CallbackResponse):
            answer = body
        else:
            answer = forward(
                self.url,
                method,
                environ.get("QUERY_STRING", ""),
                headers,
                body,
                timeout=self.timeout,
                client=environ.get("REMOTE_ADDR") or None,
                scheme=environ.get("wsgi.url_scheme", "http"),
            )
        return _respond(answer, start_response, head=method == "HEAD")


def _body(environ: WSGIEnvironment, limit: int) -> bytes | CallbackResponse:
    """The request's body, or the answer that refuses it: ``413`` over ``limit`` bytes,
    ``400`` when the server cannot read it (a malformed chunked body)."""
    from bwhooks.adapters.wsgi import _reader
    from bwhooks.body import read_limited
    from bwhooks.receiver import GONE, UNREADABLE, unreadable

    try:
        body = read_limited(_reader(environ), limit)
    except GONE:
        raise
    except UNREADABLE:
        return unreadable()
    return CallbackResponse.error(413, f"body over {limit} bytes") if body is None else body


def _target(url: str) -> SplitResult:
    target = urlsplit(url)
    if target.scheme not in ("http", "https") or not target.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return target
