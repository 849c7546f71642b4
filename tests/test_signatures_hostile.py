"""Hostile signatures through Receiver.handle and every adapter (WSGI over real HTTP, ASGI,
Flask, FastAPI, Django; sync and async), and raw bytes from a real socket to each framework's
app on a real server.

Invariants: never a 5xx; a body over ``max_body_size`` is ``413`` before any HMAC is
computed; a request whose signature is missing, repeated, empty or malformed is ``403``
whatever its body (never ``400``: nothing is decoded before the signature); a handler runs
only for a body signed right.
"""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
import pytest
from frameworks import TRANSPORTS, django_urlconf, fastapi_app, flask_app
from support import AUTH, EXAMPLES, JSON, PASSWORD, USER, uvicorn_serving

from bwhooks import BasicAuth, Headers, HmacSignature, Receiver
from bwhooks.adapters import asgi, wsgi
from bwhooks.devtools.demo import serving
from bwhooks.events import Event
from bwhooks.signatures import SUBSCRIPTIONS_HEADER, TOLL_FREE_HEADER

SECRET = "hostile-shared-secret-0123456789"
LIMIT = 100_000  # the receivers' max_body_size
SMS = (EXAMPLES / "sms-1.json").read_bytes().strip()
AT_LIMIT = SMS + b" " * (LIMIT - len(SMS))  # JSON to the last byte
PAST_LIMIT = AT_LIMIT + b" "
NOT_UTF8 = SMS[:-1] + b', "x": "\xff\xfe"}'
MALFORMED = b'{"eventType": "sms", "text": '
MORE = EXAMPLES.parent.parent / "examples" / "more"
# Each family's own body, as Bandwidth sends it (answered 204), and cut short.
OWN = {
    "toll-free": (MORE / "tollfree" / "denial-1.json").read_bytes(),
    "subscriptions": (
        MORE / "subscriptions" / "messaging-transfer-confirmation-1.json"
    ).read_bytes(),
}
SIGNATURES = {
    "toll-free": HmacSignature.toll_free(SECRET),
    "subscriptions": HmacSignature.subscriptions(SECRET),
}


class Counting:
    """A :class:`~bwhooks.auth.BodyVerifier` that counts the bodies it verifies."""

    def __init__(self, inner: HmacSignature) -> None:
        self.inner = inner
        self.calls = 0

    def verify(self, headers: Headers, body: bytes) -> bool:
        self.calls += 1
        return self.inner.verify(headers, body)


@contextmanager
def signed_receiver(family: str) -> Iterator[tuple[Receiver, Counting, list[Event]]]:
    counting = Counting(SIGNATURES[family])
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), signature=counting, max_body_size=LIMIT)
    handled: list[Event] = []
    receiver.on(Event)(handled.append)
    yield receiver, counting, handled


@attrs.frozen
class Case:
    """A request (its body and the signature header's value, or ``None`` for none) and the
    status it must get; ``hmac``: whether a signature is verified at all."""

    status: int
    body: bytes
    value: Callable[[HmacSignature, bytes], str | None]
    chunked: bool = False
    hmac: bool = True
    other_header: bool = False  # the value under the other family's header
    own: Callable[[bytes], bytes] | None = None  # the body: made of the family's own

    def body_for(self, family: str) -> bytes:
        return self.body if self.own is None else self.own(OWN[family])


def right(signature: HmacSignature, body: bytes) -> str:
    return signature.sign(body)


def digest(signature: HmacSignature, body: bytes) -> bytes:
    value = signature.sign(body)
    return bytes.fromhex(value) if len(value) == 64 else base64.b64decode(value)


def as_base64(signature: HmacSignature, body: bytes) -> str:
    return base64.b64encode(digest(signature, body)).decode()


def whole(body: bytes) -> bytes:
    return body


def cut(body: bytes) -> bytes:
    return body[: len(body) // 2]


CASES: dict[str, Case] = {
    "signed right": Case(200, SMS, right),
    "the family's own body signed right": Case(204, b"", right, own=whole),
    "the family's own body signed with another secret": Case(
        403,
        b"",
        lambda s, b: HmacSignature("another", header=s.header, encoding=s.encoding).sign(b),
        own=whole,
    ),
    "the family's own body unsigned": Case(403, b"", lambda s, b: None, own=whole),
    "the family's own body cut short, signed right": Case(400, b"", right, own=cut),
    "the family's own body cut short, signed wrong: 403, never 400": Case(
        403, b"", lambda s, b: right(s, b + b"}"), own=cut
    ),
    "signed right, at max_body_size": Case(200, AT_LIMIT, right),
    "past max_body_size, signed right: 413 before any HMAC": Case(
        413, PAST_LIMIT, right, hmac=False
    ),
    "past max_body_size, chunked: 413 before any HMAC": Case(
        413, PAST_LIMIT, right, chunked=True, hmac=False
    ),
    "past max_body_size, unsigned: 413 before any HMAC": Case(
        413, PAST_LIMIT, lambda s, b: None, hmac=False
    ),
    "an empty body signed right: decoded, refused 400": Case(400, b"", right),
    "an empty body signed wrong": Case(403, b"", lambda s, b: right(s, b"x")),
    "a body not UTF-8 signed right: decoded, refused 400": Case(400, NOT_UTF8, right),
    "a body not UTF-8 signed wrong": Case(403, NOT_UTF8, lambda s, b: right(s, SMS)),
    "malformed JSON signed right": Case(400, MALFORMED, right),
    "malformed JSON signed wrong: 403, never 400": Case(403, MALFORMED, lambda s, b: "0" * 64),
    "malformed JSON unsigned: 403, never 400": Case(403, MALFORMED, lambda s, b: None),
    "no signature": Case(403, SMS, lambda s, b: None),
    "an empty signature": Case(403, SMS, lambda s, b: ""),
    "the signature of another body": Case(403, SMS, lambda s, b: right(s, b + b" ")),
    "the right value under the other family's header": Case(403, SMS, right, other_header=True),
    "a 10 KB value": Case(403, SMS, lambda s, b: "a" * 10_240),
    "10 KB of the right value repeated": Case(403, SMS, lambda s, b: right(s, b) * 150),
    "hex one digit short": Case(403, SMS, lambda s, b: digest(s, b).hex()[:-1]),
    "hex one digit more": Case(403, SMS, lambda s, b: digest(s, b).hex() + "0"),
    "hex of a SHA-512 length": Case(403, SMS, lambda s, b: digest(s, b).hex() * 2),
    "hex with a prefix": Case(403, SMS, lambda s, b: "sha256=" + digest(s, b).hex()),
    "base64 with a space inside": Case(
        403, SMS, lambda s, b: as_base64(s, b)[:20] + " " + as_base64(s, b)[20:]
    ),
    "base64 in the URL-safe alphabet": Case(
        403, SMS, lambda s, b: as_base64(s, b).replace("+", "-").replace("/", "_") + "-_"
    ),
    "base64 without padding": Case(403, SMS, lambda s, b: as_base64(s, b).rstrip("=")),
    "percent-encoded CR LF and a header after": Case(
        403, SMS, lambda s, b: right(s, b) + "%0d%0aX-Evil:%201"
    ),
}


def sent(family: str, case: Case) -> dict[str, str]:
    signature = SIGNATURES[family]
    headers = {"Content-Type": JSON, "Authorization": AUTH}
    value = case.value(signature, case.body_for(family))
    if value is not None:
        other = SUBSCRIPTIONS_HEADER if family == "toll-free" else TOLL_FREE_HEADER
        headers[other if case.other_header else signature.header] = value
    return headers


@pytest.mark.parametrize("family", sorted(SIGNATURES))
@pytest.mark.parametrize(
    ("transport", "name"),
    [
        (transport, name)
        for transport in sorted(TRANSPORTS)
        for name, case in sorted(CASES.items())
        if not case.chunked or TRANSPORTS[transport].chunked
    ],
)
def test_each_hostile_signature_gets_its_status(family: str, transport: str, name: str) -> None:
    case = CASES[name]
    with (
        signed_receiver(family) as (receiver, counting, handled),
        TRANSPORTS[transport].open(receiver) as send,
    ):
        body = case.body_for(family)
        response = send("POST", body=body, headers=sent(family, case), chunked=case.chunked)
    assert response.status == case.status, response.body[:300]
    assert len(handled) == (1 if case.status in (200, 204) else 0)
    assert counting.calls == (1 if case.hmac else 0)
    if case.status == 403:
        assert json.loads(response.body) == {"error": "forbidden"}
        assert "WWW-Authenticate" not in response.headers  # no challenge: credentials were fine


@pytest.mark.parametrize(
    "transport", sorted(name for name in TRANSPORTS if name.startswith("handle"))
)
@pytest.mark.parametrize(
    "value",
    ["abc\r\nX-Evil: 1", "\r\n", "é" * 64, "\ud800" * 64, "\x00" * 64, "ab\x0b" * 21],
)
def test_any_text_in_the_header_is_403_in_the_core(transport: str, value: str) -> None:
    """``Receiver.handle`` takes any text a framework hands over: never an exception."""
    with (
        signed_receiver("toll-free") as (receiver, _, handled),
        TRANSPORTS[transport].open(receiver) as send,
    ):
        headers = {"Content-Type": JSON, "Authorization": AUTH, TOLL_FREE_HEADER: value}
        assert send("POST", body=SMS, headers=headers).status == 403
    assert handled == []


# -- raw bytes from a real socket, to each framework's app on a real server ---------------


def wsgi_apps(receiver: Receiver) -> dict[str, Any]:
    from django.core.handlers.wsgi import WSGIHandler

    def user_app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("299 Mine", [])
        return [b""]

    return {
        "wsgi": wsgi.CallbackMiddleware(user_app, receiver),
        "flask": flask_app(receiver),
        "flask-async": flask_app(receiver, use_async=True),
        "django": WSGIHandler(),
    }


def asgi_apps(receiver: Receiver) -> dict[str, Any]:
    from django.core.handlers.asgi import ASGIHandler

    async def user_app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return {
        "asgi": asgi.CallbackMiddleware(user_app, receiver),
        "fastapi": fastapi_app(receiver),
        "django-asgi": ASGIHandler(),
    }


SERVERS = [*("wsgi", "flask", "flask-async", "django"), *("asgi", "fastapi", "django-asgi")]


@contextmanager
def served(name: str, receiver: Receiver) -> Iterator[int]:
    """``name``'s app for ``receiver`` on a real server (werkzeug or uvicorn): its port."""
    from django.test import override_settings

    with override_settings(ROOT_URLCONF=django_urlconf(receiver, asynchronous="asgi" in name)):
        if name in ("asgi", "fastapi", "django-asgi"):
            with uvicorn_serving(asgi_apps(receiver)[name]) as url:
                yield int(url.rsplit(":", 1)[1])
        else:
            with serving(wsgi_apps(receiver)[name]) as url:
                yield int(url.rsplit(":", 1)[1])


def exchange(port: int, head: bytes, body: bytes) -> int:
    """Send ``head`` (the header lines after the request line, as written) and ``body``;
    the status of the answer."""
    request = (
        b"POST /callbacks HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        + f"Authorization: {AUTH}\r\nContent-Type: {JSON}\r\n".encode()
        + f"Content-Length: {len(body)}\r\n".encode()
        + head
        + b"\r\n"
        + body
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


NAME = TOLL_FREE_HEADER.encode()
GOOD = SIGNATURES["toll-free"].sign(SMS).encode()
RAW: dict[str, tuple[bytes, frozenset[int]]] = {
    # header lines as written on the wire, and what a server may answer (never 2xx or 5xx)
    "non-ASCII bytes": (NAME + b": " + b"\xe9" * 64 + b"\r\n", frozenset({403})),
    "UTF-8 bytes": (NAME + b": " + "✓".encode() * 32 + b"\r\n", frozenset({403})),
    "the right value and a non-ASCII byte": (NAME + b": " + GOOD + b"\xff\r\n", frozenset({403})),
    "repeated, both right": (
        NAME + b": " + GOOD + b"\r\n" + NAME.upper() + b": " + GOOD + b"\r\n",
        frozenset({403}),
    ),
    "repeated, one right": (
        NAME + b": " + b"0" * 64 + b"\r\n" + NAME + b": " + GOOD + b"\r\n",
        frozenset({403}),
    ),
    "empty": (NAME + b":\r\n", frozenset({403})),
    "the right value folded over two lines": (
        NAME + b": " + GOOD[:32] + b"\r\n " + GOOD[32:] + b"\r\n",
        frozenset({400, 403}),  # h11 refuses obs-fold; http.server unfolds it: malformed
    ),
    "a bare CR inside": (
        NAME + b": " + GOOD[:32] + b"\r" + GOOD[32:] + b"\r\n",
        frozenset({400, 403}),
    ),
    "a bare LF ends the line early": (
        NAME + b": " + GOOD[:32] + b"\n" + GOOD[32:] + b": x\r\n",
        frozenset({400, 403}),
    ),
    "a NUL inside": (
        NAME + b": " + GOOD[:32] + b"\x00" + GOOD[32:] + b"\r\n",
        frozenset({400, 403}),
    ),
    "10 KB": (NAME + b": " + b"f" * 10_240 + b"\r\n", frozenset({403})),
}


@pytest.mark.parametrize("server", SERVERS)
def test_raw_signature_bytes_from_a_socket_are_refused_never_a_5xx(server: str) -> None:
    with signed_receiver("toll-free") as (receiver, _, handled), served(server, receiver) as port:
        statuses = {name: exchange(port, head, SMS) for name, (head, _) in RAW.items()}
        signed = exchange(port, NAME + b": " + GOOD + b"\r\n", SMS)
    assert {name: status for name, status in statuses.items() if status not in RAW[name][1]} == {}
    assert signed == 200  # the same server, signed right
    assert len(handled) == 1
