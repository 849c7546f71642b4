"""The raw WSGI and ASGI adapters: pass-through, reading limits, scopes, standalone apps."""

from __future__ import annotations

import asyncio
import io
import json
import socket
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import pytest
from support import (
    AUTH,
    JSON,
    PASSWORD,
    USER,
    AsgiCall,
    asgi_scope,
    http_request,
    load_json_example,
    passthrough_asgi,
    passthrough_wsgi,
)

from bwhooks import BasicAuth, Receiver
from bwhooks.adapters import asgi, wsgi
from bwhooks.devtools.demo import serving
from bwhooks.events import Event

ANSWER = json.dumps(load_json_example("answer-3.json")).encode()


class CountingInput(io.BytesIO):
    """A wsgi.input that records how many bytes the app asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.requested = 0

    def read(self, size: int | None = -1) -> bytes:
        self.requested += len(self.getvalue()) if size is None or size < 0 else size
        return super().read(size)


def environ(
    method: str = "POST", path: str = "/callbacks", body: bytes = ANSWER, **extra: Any
) -> dict[str, Any]:
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_TYPE": JSON,
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": AUTH,
        "REMOTE_ADDR": "198.51.100.7",
        "REMOTE_PORT": "5555",
        "wsgi.input": CountingInput(body),
    }
    env.update(extra)
    return env


def call_wsgi(app: Any, env: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    started: list[Any] = []
    body = b"".join(app(env, lambda status, headers: started.append((status, headers))))
    return started[0][0], dict(started[0][1]), body


class TestWsgi:
    def test_other_paths_pass_through_byte_for_byte_on_a_real_server(
        self, receiver: Receiver
    ) -> None:
        payload = bytes(range(256)) * 4
        app = wsgi.CallbackMiddleware(passthrough_wsgi, receiver)
        with serving(app) as base_url:
            response = http_request(
                base_url, "POST", "/other/path", payload, {"Content-Type": "application/x-raw"}
            )
            also = http_request(base_url, "POST", "/callbacksX", b"abc", {})
        assert response.status == 299
        assert response.headers["X-App"] == "user"
        assert response.body == b"/other/path|" + payload
        assert also.body == b"/callbacksX|abc"

    @pytest.mark.parametrize(
        ("refused", "status"),
        [
            ({"HTTP_AUTHORIZATION": "Basic Zm9vOmJhcg=="}, "401 Unauthorized"),
            ({"method": "PUT"}, "405 Method Not Allowed"),
            # The phrase is the running Python's (3.13 says "Content Too Large", RFC 9110).
            ({"CONTENT_LENGTH": str(2_000_000)}, f"413 {HTTPStatus(413).phrase}"),
            ({"CONTENT_TYPE": "text/plain"}, "415 Unsupported Media Type"),
        ],
    )
    def test_rejections_before_the_body_read_nothing(
        self, receiver: Receiver, refused: dict[str, Any], status: str
    ) -> None:
        app = wsgi.CallbackMiddleware(passthrough_wsgi, receiver)
        env = environ(**refused)
        assert call_wsgi(app, env)[0] == status
        assert env["wsgi.input"].requested == 0

    def test_reads_exactly_content_length(self, receiver: Receiver) -> None:
        env = environ(body=ANSWER + b"garbage-after-the-body")
        env["CONTENT_LENGTH"] = str(len(ANSWER))
        status, headers, _ = call_wsgi(wsgi.make_app(receiver), env)
        assert status == "200 OK"
        assert headers["Content-Length"] == "0"
        assert env["wsgi.input"].requested == len(ANSWER)

    def test_client_address_and_query_reach_the_request(self, receiver: Receiver) -> None:
        from bwhooks import current_request

        seen: list[Any] = []
        receiver.on(Event)(lambda e: seen.append(current_request()))
        call_wsgi(wsgi.make_app(receiver), environ(QUERY_STRING="tenant=acme"))
        assert seen[0].client == ("198.51.100.7", 5555)
        assert seen[0].query == {"tenant": "acme"}

    def test_head_has_no_body(self, receiver: Receiver) -> None:
        status, headers, body = call_wsgi(wsgi.make_app(receiver), environ(method="HEAD"))
        assert (status, body, headers["Content-Length"]) == ("200 OK", b"", "0")

    def test_make_app_answers_404_elsewhere(self, receiver: Receiver) -> None:
        status, _headers, body = call_wsgi(wsgi.make_app(receiver), environ(path="/"))
        assert status == "404 Not Found"
        assert json.loads(body) == {"error": "not found"}

    def test_custom_path(self, receiver: Receiver) -> None:
        app = wsgi.make_app(receiver, path="/bw/voice")
        assert call_wsgi(app, environ(path="/bw/voice"))[0] == "200 OK"
        assert call_wsgi(app, environ())[0] == "404 Not Found"

    def test_oversized_content_length_is_answered_without_waiting_for_the_body(
        self, receiver: Receiver
    ) -> None:
        """A real server: headers promise 50 MB, no body is sent, the 413 comes at once."""
        with serving(wsgi.make_app(receiver)) as base_url:
            parts = urlsplit(base_url)
            with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
                sock.sendall(
                    b"POST /callbacks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Authorization: " + AUTH.encode() + b"\r\nContent-Length: 50000000\r\n\r\n"
                )
                answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413")

    def test_environ_headers_named_once_and_the_name_cache_is_bounded(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(wsgi, "_HEADER_NAMES", {})
        environ = {
            "HTTP_X_FORWARDED_FOR": "203.0.113.9",
            "CONTENT_TYPE": JSON,
            "CONTENT_LENGTH": "2",
            "SERVER_NAME": "h",
            **{f"HTTP_X_FLOOD_{n}": "v" for n in range(2 * wsgi._MAX_HEADER_NAMES)},
        }
        for _ in range(2):  # named, then found by name
            headers = wsgi.environ_headers(environ)
            assert headers["X-Forwarded-For"] == "203.0.113.9"
            assert headers.get("x-flood-999") == "v"
            assert headers["Content-Type"] == JSON
            assert headers["content-length"] == "2"
            assert len(headers) == 2 * wsgi._MAX_HEADER_NAMES + 3
        assert len(wsgi._HEADER_NAMES) == wsgi._MAX_HEADER_NAMES


def run_asgi(app: asgi.ASGIApp, scope: dict[str, Any], chunks: list[bytes]) -> AsgiCall:
    call = AsgiCall(app)
    asyncio.run(call.run(scope, chunks))
    return call


class TestAsgi:
    def headers(self, **extra: str) -> dict[str, str]:
        return {"Content-Type": JSON, "Authorization": AUTH, **extra}

    def test_scope_headers_named_once_and_the_name_cache_is_bounded(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(asgi, "_HEADER_NAMES", {})
        raw = [(b"X-Forwarded-For", b"203.0.113.9"), (b"x-forwarded-for", b"198.51.100.7")]
        raw += [(b"x-flood-%d" % n, b"\xe9") for n in range(2 * asgi._MAX_HEADER_NAMES)]
        for _ in range(2):  # named, then found by name
            headers = asgi.scope_headers({"headers": raw})
            assert headers.getlist("X-Forwarded-For") == ["203.0.113.9", "198.51.100.7"]
            assert headers["x-flood-999"] == "\u00e9"  # latin-1, as the ASGI spec has it
            assert len(headers.pairs()) == len(raw)
        assert len(asgi._HEADER_NAMES) == asgi._MAX_HEADER_NAMES

    def test_other_paths_pass_through_byte_for_byte(self, receiver: Receiver) -> None:
        payload = bytes(range(256)) * 4
        app = asgi.CallbackMiddleware(passthrough_asgi, receiver)
        call = run_asgi(app, asgi_scope("POST", "/elsewhere", {}), [payload[:100], payload[100:]])
        response = call.response()
        assert response.status == 299
        assert response.body == b"/elsewhere|" + payload

    def test_stops_receiving_once_over_the_limit(self) -> None:
        from support import PASSWORD, USER

        from bwhooks import BasicAuth

        receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), max_body_size=1000)
        chunks = [b"x" * 600] * 10
        call = run_asgi(
            asgi.make_app(receiver), asgi_scope("POST", "/callbacks", self.headers()), chunks
        )
        assert call.response().status == 413
        assert call.receive_calls == 2

    @pytest.mark.parametrize(
        ("method", "headers", "status"),
        [
            ("POST", {"Content-Type": JSON}, 401),
            ("POST", {"Content-Type": JSON, "Authorization": "Basic Zm9vOmJhcg=="}, 401),
            ("PUT", {"Content-Type": JSON, "Authorization": AUTH}, 405),
            (
                "POST",
                {"Content-Type": JSON, "Authorization": AUTH, "Content-Length": "5000000"},
                413,
            ),
            ("POST", {"Content-Type": "text/plain", "Authorization": AUTH}, 415),
        ],
    )
    def test_rejections_before_the_body_receive_nothing(
        self, receiver: Receiver, method: str, headers: dict[str, str], status: int
    ) -> None:
        call = run_asgi(
            asgi.make_app(receiver), asgi_scope(method, "/callbacks", headers), [ANSWER]
        )
        assert call.response().status == status
        assert call.receive_calls == 0

    def test_a_content_length_byte_that_is_no_ascii_digit_is_400(self, receiver: Receiver) -> None:
        scope = asgi_scope("POST", "/callbacks", self.headers())
        scope["headers"].append((b"content-length", b"\xb2"))
        call = run_asgi(asgi.make_app(receiver), scope, [ANSWER])
        assert call.response().status == 400
        assert json.loads(call.response().body) == {"error": "invalid Content-Length"}
        assert call.receive_calls == 0

    def test_root_path_is_honoured(self, receiver: Receiver) -> None:
        app = asgi.CallbackMiddleware(passthrough_asgi, receiver)
        mounted = asgi_scope("POST", "/callbacks", self.headers(), root_path="/bandwidth")
        assert run_asgi(app, mounted, [ANSWER]).response().status == 200
        elsewhere = asgi_scope("POST", "/bandwidth", self.headers(), root_path="")
        assert run_asgi(app, elsewhere, [ANSWER]).response().status == 299

    @pytest.mark.parametrize("kind", ["lifespan", "websocket"])
    def test_non_http_scopes_pass_through(self, receiver: Receiver, kind: str) -> None:
        received: list[str] = []

        async def inner(scope: Any, receive: Any, send: Any) -> None:
            received.append(scope["type"])

        app = asgi.CallbackMiddleware(inner, receiver)
        scope = {"type": kind, "path": "/callbacks", "asgi": {"version": "3.0"}}
        run_asgi(app, scope, [])
        assert received == [kind]

    def test_standalone_app_completes_lifespan(self, receiver: Receiver) -> None:
        messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
        sent: list[Any] = []

        async def receive() -> Any:
            return messages.pop(0)

        async def send(message: Any) -> None:
            sent.append(message["type"])

        asyncio.run(asgi.make_app(receiver)({"type": "lifespan"}, receive, send))
        assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]

    def test_standalone_app_404_elsewhere_and_head_without_body(self, receiver: Receiver) -> None:
        app = asgi.make_app(receiver)
        assert run_asgi(app, asgi_scope("GET", "/", {}), []).response().status == 404
        head = run_asgi(app, asgi_scope("HEAD", "/callbacks", {}), []).response()
        assert (head.status, head.body) == (200, b"")

    def test_client_disconnect_mid_body_is_a_400_not_a_crash(self, receiver: Receiver) -> None:
        seen: list[Event] = []
        receiver.on(Event)(seen.append)
        app = asgi.make_app(receiver)
        call = AsgiCall(app)

        async def main() -> None:
            parts = [
                {"type": "http.request", "body": ANSWER[:10], "more_body": True},
                {"type": "http.disconnect"},
            ]

            async def receive() -> Any:
                return parts.pop(0)

            async def send(message: Any) -> None:
                call.sent.append(dict(message))

            await app(asgi_scope("POST", "/callbacks", self.headers()), receive, send)

        asyncio.run(main())
        assert call.response().status == 400
        assert seen == []


# A body the server cannot read (a malformed chunked body): a 400, before and after the
# credentials, never a 500.

BASIC = BasicAuth((USER, PASSWORD))
MALFORMED_CHUNKS = [
    pytest.param(b"zz\r\nhello\r\n0\r\n\r\n", id="bad-size"),
    pytest.param(b"-5\r\nhello\r\n0\r\n\r\n", id="negative-size"),
    pytest.param(b"5;a=b\r\nhello\r\n0\r\n\r\n", id="extension"),
    pytest.param(b"5\r\nhello\r\n0\r\nX: y\r\n\r\n", id="trailer"),
    pytest.param(b"5\r\nhelloXX0\r\n\r\n", id="no-crlf-after-chunk"),
]


def chunked_exchange(port: int, body: bytes, *, auth: str | None = AUTH) -> bytes:
    """POST ``body`` as a chunked body over a raw socket; the whole answer."""
    head = (
        b"POST /callbacks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n"
        + (b"Authorization: " + auth.encode() + b"\r\n" if auth else b"")
        + b"\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer: bytes) -> int:
    return int(answer.split(b"\r\n", 1)[0].split(b" ")[1])


@pytest.mark.parametrize("body", MALFORMED_CHUNKS)
def test_a_malformed_chunked_body_is_a_400_on_werkzeug(body: bytes) -> None:
    seen: list[Event] = []
    receiver = Receiver(auth=BASIC)
    receiver.on(Event)(seen.append)
    with serving(wsgi.CallbackMiddleware(passthrough_wsgi, receiver)) as base_url:
        answer = chunked_exchange(urlsplit(base_url).port or 0, body)
    assert status_of(answer) == 400, answer
    assert answer.endswith(b'{"error": "unreadable body"}')
    assert seen == []


class FailingRead:
    """A server's body stream that fails as werkzeug's chunked decoder does."""

    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def __call__(self, size: int) -> bytes:
        raise self.exc

    async def read_async(self, size: int) -> bytes:
        raise self.exc


@pytest.mark.parametrize(
    "exc", [OSError("Invalid chunk header"), ValueError("invalid literal for int()")]
)
def test_a_failing_read_is_a_400_in_the_core(exc: Exception) -> None:
    receiver = Receiver(auth=BASIC)
    read = FailingRead(exc)
    headers = {"Authorization": AUTH, "Content-Type": JSON, "Transfer-Encoding": "chunked"}
    answer = receiver.handle_stream("POST", "/callbacks", headers, read)
    assert (answer.status, json.loads(answer.body)) == (400, {"error": "unreadable body"})
    answer = asyncio.run(
        receiver.handle_stream_async("POST", "/callbacks", headers, read.read_async)
    )
    assert (answer.status, json.loads(answer.body)) == (400, {"error": "unreadable body"})


@pytest.mark.parametrize("exc", [TimeoutError("too slow"), ConnectionResetError("gone")])
def test_a_client_gone_while_its_body_is_read_is_the_servers_to_drop(exc: Exception) -> None:
    """No one to answer: the error reaches the server, which closes the connection."""
    receiver = Receiver(auth=BASIC)
    headers = {"Authorization": AUTH, "Content-Type": JSON}
    with pytest.raises(type(exc)):
        receiver.handle_stream("POST", "/callbacks", headers, FailingRead(exc))


def test_a_malformed_chunked_body_is_a_400_through_flask() -> None:
    import flask

    from bwhooks.adapters.flask import BandwidthCallbacks

    class Broken(io.BytesIO):
        def read(self, size: int | None = -1) -> bytes:
            raise OSError("Invalid chunk header")

    app = flask.Flask("broken")
    BandwidthCallbacks(Receiver(auth=BASIC), app)
    answer = app.test_client().post(
        "/callbacks",
        headers={"Authorization": AUTH, "Content-Type": JSON},
        input_stream=Broken(b"5;a=b"),
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert (answer.status_code, answer.get_json()) == (400, {"error": "unreadable body"})


@pytest.mark.parametrize("length", ["abc", "-1", "\xb2", "1 2"])
def test_a_wsgi_content_length_that_is_no_number_is_400_not_an_exception(
    receiver: Receiver, length: str
) -> None:
    env = environ(CONTENT_LENGTH=length)
    status, _, body = call_wsgi(wsgi.make_app(receiver), env)
    assert (status, json.loads(body)) == ("400 Bad Request", {"error": "invalid Content-Length"})
    assert env["wsgi.input"].requested == 0
