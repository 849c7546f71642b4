"""The local inspector: a page that shows recorded deliveries live, and replays them.

``bwhooks listen`` serves it on its own port, bound to loopback, and prints its address with
a per-run token. Requests whose ``Host`` is not the inspector's own loopback address are
refused (``403``): a tunnel (or a web page using DNS rebinding) never reaches it. Every route
needs the token: the printed address (``/?token=...``) sets it as a ``SameSite=Strict``,
``HttpOnly`` cookie and redirects to ``/``, so the token leaves the address bar and the
access log; scripts may send it as ``X-Bwhooks-Token`` instead. A replay (``POST``) must
also come from the page itself: JSON, and no foreign ``Origin``. Deliveries appear as they
arrive (server-sent events, ``Last-Event-ID`` resumes); the page is one HTML document with
its script inline: no build step, nothing fetched from the internet. Bodies, JSON or XML
(Numbers notifications, port-out requests and their answers), are shown as text, never
as markup.

"Copy as a test" asks the server for the test (:func:`generated_test`): every recorded value
in it is a Python literal written by :func:`ascii`, never text pasted into code. A delivery
that was signed is replayed signed when ``listen`` was given the secret (a note says why a
verifying receiver answers ``403`` otherwise), and its test signs it with a secret read from
the environment (:data:`SECRET_VARIABLE`): no secret is ever written into the page or a test.
"""

from __future__ import annotations

import codecs
import http.client
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from http import HTTPStatus
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from bwhooks.devtools.recording import Delivery, Recorder
from bwhooks.devtools.resigning import FAMILIES, Resigning, recorded_family, unsigned_note

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = ["SECRET_VARIABLE", "Inspector", "delivery_json", "generated_test", "start_inspector"]

#: The environment variable a generated test reads the signature's secret from.
SECRET_VARIABLE = "BWHOOKS_SIGNATURE_SECRET"  # noqa: S105  (a name, not a secret)
# How a generated test builds the signature of each signed family.
_SIGNERS = {"toll-free": "HmacSignature.toll_free", "subscriptions": "HmacSignature.subscriptions"}

#: The largest replay request the page sends (``{"id": ..., "url": ...}``), in bytes.
MAX_REQUEST = 4096
#: How many deliveries ``/api/deliveries`` returns by default, and at most (``limit``).
DEFAULT_PAGE = 100
MAX_PAGE = 1000
#: How often the live stream looks for new deliveries (seconds).
POLL_INTERVAL = 0.2
#: How often an idle stream sends a comment, so a closed page is noticed (seconds).
KEEPALIVE = 10.0
_TEST_ROUTE = re.compile(r"/api/deliveries/([0-9]{1,18})/test")
_LARGEST_ID = 2**63 - 1  # SQLite's INTEGER


# An XML declaration's encoding (one an ASCII-compatible document can declare).
_DECLARED = re.compile(
    rb"""\A\s*<\?xml[^>]{0,200}?\bencoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']"""
)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def body_text(body: bytes) -> str:
    """A body as text for the page: by its byte order mark, or its XML declaration's
    encoding (a Latin-1 or UTF-16 notification shown as sent), else UTF-8; what cannot be
    decoded is replaced."""
    encoding = next((codec for bom, codec in _BOMS if body.startswith(bom)), None)
    if encoding is None:
        declared = _DECLARED.match(body)
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        return body.decode(encoding, "replace")  # text encodings only: never a zlib or rot13
    except (LookupError, ValueError):
        return body.decode("utf-8", "replace")


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    """A recorded delivery as the page reads it (bodies as text: :func:`body_text`)."""
    return {
        "id": delivery.id,
        "received_at": delivery.received_at.isoformat(),
        "kind": delivery.kind,
        "method": delivery.method,
        "path": delivery.path,
        "query": delivery.query,
        "headers": delivery.headers,
        "body": body_text(delivery.body),
        "events": delivery.events,
        "refused": delivery.refused,
        "status": delivery.status,
        "response_headers": delivery.response_headers,
        "response_body": body_text(delivery.response_body),
        "duration_ms": round(delivery.duration_ms, 3),
        "challenge_id": delivery.challenge_id,
        "replay_of": delivery.replay_of,
    }


def generated_test(delivery: Delivery) -> str:
    """A pytest module that sends ``delivery`` to your app through ``CallbackClient`` (its
    method, path, query string, content type and body byte for byte; credentials after the
    challenge when the recorded request carried some) and checks the answer is the recorded
    one. Whatever the sender chose (method, path, query, headers, body, and
    so the event types) appears only as a Python literal written by :func:`ascii`: the text
    is ASCII and nothing a sender sends can become code or end a string."""
    number, status = int(delivery.id), int(delivery.status)
    # As recorded: with credentials (masked in the file: yours go here), or without.
    sent = '("user", "password")' if delivery.header("Authorization") is not None else "None"
    headers = {}
    content_type = delivery.header("Content-Type")
    if content_type is not None:
        headers["Content-Type"] = content_type
    family = recorded_family(delivery)
    signing, request = [], "REQUEST"
    if family is not None:  # signed when recorded: the test signs the bytes it sends
        signing = [
            f"# Signed when recorded ({FAMILIES[family]}): signed again with your",
            "# receiver's secret, read from the environment (never written here).",
            f"SIGNATURE = {_SIGNERS[family]}(os.environ[{SECRET_VARIABLE!r}])",
            "",
        ]
        request = "signed(REQUEST)"
    return "\n".join(
        [
            '"""A delivery recorded by bwhooks listen, sent again to your app."""',
            "",
            *(["import os", ""] if signing else []),
            *(["from bwhooks import HmacSignature"] if signing else []),
            "from bwhooks.testing.recorded import same_body",
            "from bwhooks.testing import CallbackClient",
            "from bwhooks.testing.delivery import OutgoingRequest",
            "",
            "from myapp import app  # your WSGI or ASGI app",
            "",
            *signing,
            f"# Delivery #{number}, received {delivery.received_at.isoformat()}.",
            "REQUEST = OutgoingRequest(",
            f"    method={str(delivery.method)!a},",
            f"    path={str(delivery.path)!a},",
            f"    query={str(delivery.query)!a},",
            f"    body={bytes(delivery.body)!a},",
            f"    headers={headers!a},",
            ")",
            f"ANSWER_BODY = {bytes(delivery.response_body)!a}",
            "",
            *(_SIGNED if signing else []),
            "",
            f"def test_recorded_delivery_{number}() -> None:",
            f'    """The app answers delivery #{number} as it did when it was recorded."""',
            f"    client = CallbackClient(app, credentials={sent})",
            f"    answer = client.send_request({request})",
            f"    assert answer.status == {status}",
            "    assert same_body(ANSWER_BODY, answer.body), answer.body",
            "",
        ]
    )


# The generated test's helper that signs the request it sends.
_SIGNED = [
    "",
    "def signed(request: OutgoingRequest) -> OutgoingRequest:",
    '    """``request`` with the signature of the bytes it sends (none for a GET)."""',
    '    body = b"" if request.method == "GET" else request.body',
    "    headers = {**request.headers, **dict(SIGNATURE.headers_for(body))}",
    "    return OutgoingRequest(",
    "        request.method, request.path, request.query, request.body, headers",
    "    )",
    "",
]


class Inspector:
    """The inspector's WSGI app over ``recorder``; ``replay(id, url)`` sends a delivery
    again (to ``url``, or the forward target when ``url`` is empty) and returns what the
    page shows of it (JSON-ready: ``exchange``, the statuses, and an optional ``note``)."""

    def __init__(
        self,
        recorder: Recorder,
        replay: Callable[[int, str], Mapping[str, Any]],
        *,
        token: str | None = None,
    ) -> None:
        self.recorder = recorder
        self.replay = replay
        self.token = token or secrets.token_urlsafe(18)
        self.allowed_hosts: frozenset[str] = frozenset()
        self.cookie = "bwhooks_inspector"
        self.stopping = threading.Event()

    def serve_on(self, port: int) -> None:
        """Accept only the loopback names of ``port`` as ``Host``; the cookie is named after
        the port (cookies are shared by every port of a host: two runs keep their own)."""
        names = ("127.0.0.1", "localhost", "[::1]")
        self.allowed_hosts = frozenset(f"{name}:{port}" for name in names)
        self.cookie = f"bwhooks_inspector_{port}"

    def address(self, port: int) -> str:
        """The page's address, token included (what ``listen`` prints)."""
        return f"http://127.0.0.1:{port}/?token={self.token}"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
        if environ.get("HTTP_HOST", "") not in self.allowed_hosts:
            return _answer(start_response, 403, {"error": "this page answers its own address only"})
        method, path = environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", "/")
        if method == "GET" and path == "/" and "token" in _query(environ):
            return self._sign_in(_query(environ)["token"], start_response)
        if not self._authorized(environ):
            needed = "the token of this run is needed: open the address bwhooks listen printed"
            return _answer(start_response, 403, {"error": needed})
        if method == "GET" and path == "/":
            return _page(start_response)
        if method == "GET" and path == "/api/deliveries":
            return self._deliveries(environ, start_response)
        if method == "GET" and path == "/events":
            after = _cursor(environ.get("HTTP_LAST_EVENT_ID") or _query(environ).get("after"))
            if after is None:
                return _answer(start_response, 400, {"error": "after: a delivery id"})
            start_response(
                "200 OK",
                [
                    ("Content-Type", "text/event-stream; charset=utf-8"),
                    ("Cache-Control", "no-store"),
                    ("X-Accel-Buffering", "no"),
                    *_GUARDS,
                ],
            )
            return self._stream(after)
        found = _TEST_ROUTE.fullmatch(path)
        if method == "GET" and found is not None:
            delivery = self.recorder.get(int(found.group(1)))
            if delivery is None:
                return _answer(start_response, 404, {"error": "no such delivery"})
            return _text(start_response, generated_test(delivery), "text/x-python")
        if method == "POST" and path == "/api/replay":
            return self._replay(environ, start_response)
        return _answer(start_response, 404, {"error": "not found"})

    def _authorized(self, environ: WSGIEnvironment) -> bool:
        """Whether the request carries this run's token (header or cookie)."""
        given = [environ.get("HTTP_X_BWHOOKS_TOKEN", "")]
        given += _cookie_values(environ.get("HTTP_COOKIE", ""), self.cookie)
        return any(_same(value, self.token) for value in given)

    def _sign_in(self, token: str, start_response: StartResponse) -> Iterator[bytes]:
        """The printed address: the token becomes a cookie and leaves the address."""
        if not _same(token, self.token):
            return _answer(start_response, 403, {"error": "this is not the token of this run"})
        start_response(
            "303 See Other",
            [
                ("Location", "/"),
                ("Set-Cookie", f"{self.cookie}={self.token}; Path=/; HttpOnly; SameSite=Strict"),
                ("Content-Length", "0"),
                ("Cache-Control", "no-store"),
                *_GUARDS,
            ],
        )
        return iter([b""])

    def _deliveries(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterator[bytes]:
        """One page of deliveries: ``limit`` of them (default :data:`DEFAULT_PAGE`, at most
        :data:`MAX_PAGE`), fewer past the recorder's page size in bytes, with an id over
        ``after``; ``next`` is the ``after`` of the next page (``null`` on the last)."""
        asked = _query(environ)
        after = _cursor(asked.get("after"))
        limit = _cursor(asked.get("limit", str(DEFAULT_PAGE)))
        if after is None:
            return _answer(start_response, 400, {"error": "after: a delivery id"})
        if limit is None or not 1 <= limit <= MAX_PAGE:
            return _answer(start_response, 400, {"error": f"limit: from 1 to {MAX_PAGE}"})
        found = next(self.recorder.pages(after=after, rows=limit), [])
        page = [delivery_json(d) for d in found]
        more = bool(found) and found[-1].id < self.recorder.newest()
        return _answer(
            start_response, 200, {"deliveries": page, "next": page[-1]["id"] if more else None}
        )

    def _replay(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterator[bytes]:
        if not self._from_the_page(environ):
            return _answer(start_response, 403, {"error": "a replay comes from the page itself"})
        media = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            return _answer(start_response, 415, {"error": "a replay request is JSON"})
        length = _cursor(environ.get("CONTENT_LENGTH") or "0")
        if length is None or length > MAX_REQUEST:
            return _answer(start_response, 400, {"error": "a replay request is small JSON"})
        try:
            delivery_id, url = _replay_request(environ["wsgi.input"].read(length))
            outcome = self.replay(delivery_id, url)
        except LookupError as exc:
            return _answer(start_response, 404, {"error": str(exc.args[0] if exc.args else exc)})
        except ValueError as exc:  # http.client.InvalidURL is one
            return _answer(start_response, 400, {"error": str(exc)})
        except (OSError, http.client.HTTPException) as exc:
            return _answer(start_response, 502, {"error": f"cannot reach the target: {exc}"})
        return _answer(start_response, 200, dict(outcome))

    def _from_the_page(self, environ: WSGIEnvironment) -> bool:
        """Whether a browser that sent this request says it comes from this page (a script
        without ``Origin`` or ``Sec-Fetch-Site`` has shown the token already)."""
        site = environ.get("HTTP_SEC_FETCH_SITE")
        if site is not None and site not in ("same-origin", "none"):
            return False
        origin = environ.get("HTTP_ORIGIN")
        return origin is None or origin in {f"http://{host}" for host in self.allowed_hosts}

    def _stream(self, after: int) -> Iterator[bytes]:
        yield b"retry: 1000\n\n"
        quiet_since = time.monotonic()
        while not self.stopping.is_set():
            fresh = next(self.recorder.pages(after=after), [])  # bounded in rows and bytes
            for delivery in fresh:
                after = delivery.id
                data = json.dumps(delivery_json(delivery))
                yield f"id: {delivery.id}\nevent: delivery\ndata: {data}\n\n".encode()
            if fresh:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > KEEPALIVE:
                quiet_since = time.monotonic()
                yield b": still here\n\n"
            self.stopping.wait(POLL_INTERVAL)


# On every answer: never sniffed as another type, never read by another origin's page.
_GUARDS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Referrer-Policy", "no-referrer"),
)


def _answer(start_response: StartResponse, status: int, value: Any) -> Iterator[bytes]:
    body = json.dumps(value).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *_GUARDS,
        ],
    )
    return iter([body])


def _text(start_response: StartResponse, text: str, media: str) -> Iterator[bytes]:
    body = text.encode()
    start_response(
        "200 OK",
        [
            ("Content-Type", f"{media}; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *_GUARDS,
        ],
    )
    return iter([body])


def _page(start_response: StartResponse) -> Iterator[bytes]:
    page = resources.files("bwhooks.devtools").joinpath("inspector.html").read_bytes()
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(page))),
            ("Cache-Control", "no-store"),
            (
                "Content-Security-Policy",
                "default-src 'self'; script-src 'unsafe-inline' 'self'; "
                "style-src 'unsafe-inline' 'self'; frame-ancestors 'none'",
            ),
            ("X-Frame-Options", "DENY"),
            *_GUARDS,
        ],
    )
    return iter([page])


def _query(environ: WSGIEnvironment) -> dict[str, str]:
    return dict(parse_qsl(environ.get("QUERY_STRING", "")))


def _cursor(text: str | None) -> int | None:
    """A non-negative id or count written in ASCII digits (``None`` when absent: 0)."""
    if text is None:
        return 0
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def _same(given: str, token: str) -> bool:
    """A constant-time comparison of any text (a non-ASCII value is simply not the token)."""
    return secrets.compare_digest(given.encode("utf-8", "surrogatepass"), token.encode())


def _cookie_values(header: str, name: str) -> list[str]:
    """Every value of cookie ``name`` in a ``Cookie`` header (another app of this host may
    have set one of the same name: each is compared)."""
    found = []
    for pair in header.split(";"):
        key, sep, value = pair.strip().partition("=")
        if sep and key == name:
            found.append(value.strip().strip('"'))
    return found


def _replay_request(body: bytes) -> tuple[int, str]:
    """``{"id": <delivery id>, "url": <where, optional>}``, or ``ValueError``."""
    try:
        asked = json.loads(body)
    except (ValueError, RecursionError):
        raise ValueError("a replay request is JSON: {'id': ..., 'url': ...}") from None
    if not isinstance(asked, dict):
        raise ValueError("a replay request is a JSON object")
    delivery_id, url = asked.get("id"), asked.get("url") or ""
    if type(delivery_id) is not int or not 0 < delivery_id <= _LARGEST_ID:
        raise ValueError("id: the number of a recorded delivery")
    if not isinstance(url, str):
        raise ValueError("url: an http(s) URL, or nothing")
    return delivery_id, url


def _origin(url: str) -> tuple[str, str, int] | None:
    """``url``'s scheme, host and port (the default port filled in), or ``None``."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


class _Running:
    """The inspector's server thread, stopped with :meth:`shutdown`."""

    def __init__(self, inspector: Inspector, server: Any) -> None:
        self.inspector = inspector
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.thread.start()

    def shutdown(self) -> None:
        self.inspector.stopping.set()  # live streams end
        self.server.shutdown()
        self.server.server_close()


def start_inspector(
    recorder: Recorder,
    port: int = 0,
    *,
    default_url: str,
    credentials: Callable[[], tuple[str, str] | None],
    trusted: Sequence[str] = (),
    resigning: Resigning | None = None,
) -> tuple[_Running, str]:
    """Serve the inspector on ``127.0.0.1:port`` (0: a free port) in a thread; returns it
    and the page's address. A replay goes to the URL given on the page, else
    ``default_url``. It answers the challenge with ``credentials()`` only when it goes to
    the scheme, host and port of ``default_url`` or of one of the ``trusted`` URLs (the
    forward target, the listener); elsewhere it goes without them (those of a URL's
    ``user:pass@``, typed on the page, excepted). It is signed as ``resigning`` says (a
    signed delivery goes unsigned without a secret, and the answer's note says so)."""
    resigning = resigning or Resigning()
    from bwhooks.devtools.replaying import proven, replay
    from bwhooks.devtools.serving import ListenServer
    from bwhooks.testing import HttpSender

    origins = {found for found in map(_origin, (default_url, *trusted)) if found is not None}
    shown = ", ".join(sorted(f"{scheme}://{host}:{port}" for scheme, host, port in origins))

    def replay_one(delivery_id: int, url: str) -> dict[str, Any]:
        target = url or default_url
        ours = credentials()
        allowed = _origin(target) in origins
        sender = HttpSender(target, None)  # ValueError: not a URL
        delivery = recorder.get(delivery_id)
        if delivery is None:
            raise LookupError(f"no delivery {delivery_id}")
        # A stranger's request (refused, or never authenticated) is sent as it came: neither
        # this run's credentials nor a signature vouch for what its sender proved nothing of.
        trusted = proven(delivery)
        if ours is not None and allowed and trusted:
            sender = HttpSender(target, ours)
        done = replay(delivery, sender, resigning.signature_for(delivery) if trusted else None)
        outcome: dict[str, Any] = {"exchange": list(done.exchange)}
        notes = []
        if not trusted:
            notes.append(
                f"recorded as refused ({delivery.status}) or never authenticated: replayed "
                "as its sender sent it, without this run's credentials or a signature"
            )
        elif ours is not None and not allowed:
            notes.append(f"this run's credentials were not sent: they go only to {shown}")
        unsigned = resigning.unsigned_header(delivery) if trusted else None
        if unsigned is not None:
            how = "start bwhooks listen with --secret-env VAR to sign replays"
            notes.append(unsigned_note(unsigned, how))
        if notes:
            outcome["note"] = "; ".join(notes)
        return outcome

    inspector = Inspector(recorder, replay_one)
    server = ListenServer("127.0.0.1", port, inspector)
    inspector.serve_on(server.server_port)
    return _Running(inspector, server), inspector.address(server.server_port)
