"""`bwhooks listen --forward URL`: a synchronous relay in front of your own app, over real HTTP,
recording both sides; and the relay function alone against pytest-httpserver."""

from __future__ import annotations

import http.client
import json
import selectors
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pytest
from pytest_httpserver import HTTPServer
from support import free_port
from test_adapters_raw import MALFORMED_CHUNKS, chunked_exchange, status_of
from test_cli import start_listen, stop
from test_recording import send
from werkzeug import Request, Response

from bwhooks import BasicAuth, Event, Receiver
from bwhooks.adapters.wsgi import environ_headers, make_app
from bwhooks.auth import basic_authorization
from bwhooks.cli import main
from bwhooks.devtools.demo import serving
from bwhooks.devtools.forwarding import forward
from bwhooks.devtools.recording import Recorder
from bwhooks.devtools.serving import ListenServer
from bwhooks.http import Headers, framing_error
from bwhooks.network import AllowList
from bwhooks.testing import fake_payload

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

BXML = "<Response><SpeakSentence>forwarded</SpeakSentence></Response>"


def test_the_relay_answers_with_your_apps_answer_challenge_and_bxml_included(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_app.py").write_text(
        "from bwhooks import AnswerEvent, BasicAuth, Receiver\n"
        "receiver = Receiver(auth=BasicAuth(('me', 'pw')))\n"
        "@receiver.on(AnswerEvent)\n"
        "def answer(event):\n"
        f"    print('app got', event.call_id, flush=True)\n"
        f"    return {BXML!r}\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    app, app_url = start_listen("--app", "my_app:receiver", "--path", "/bw")
    file = tmp_path / "relayed.sqlite3"
    relay, relay_url = start_listen("--forward", app_url, "--record", str(file))
    try:
        assert relay.stdout is not None
        assert relay.stdout.readline().strip() == f"forwarding every delivery to {app_url}"
        sent = send(relay_url, "answer", "--user", "me", "--password", "pw", "--set", "callId=c-f")
        wrong = send(relay_url, "answer", "--user", "me", "--password", "nope")
    finally:
        stop(relay)
        app_output = stop(app)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "401 -> 200" in sent.stdout  # the app's own challenge came back through the relay
    assert wrong.returncode == 1
    assert "app got c-f" in app_output
    with Recorder(file) as recorder:
        challenge, answered, *refused = recorder.deliveries()
    assert {d.kind for d in (challenge, answered, *refused)} == {"forwarded"}
    assert challenge.status == 401
    assert ("WWW-Authenticate", 'Basic realm="bwhooks"') in challenge.response_headers
    assert answered.challenge_id == challenge.id
    assert answered.status == 200
    assert answered.response_body.decode() == BXML
    assert dict(answered.response_headers)["Content-Type"].startswith("application/xml")
    assert answered.events is not None
    assert answered.events[0]["fields"]["call_id"] == "c-f"
    assert [d.status for d in refused] == [401, 401]


def test_a_target_that_is_down_is_answered_502(tmp_path: Path) -> None:
    down = f"http://127.0.0.1:{free_port()}/callbacks"
    file = tmp_path / "down.sqlite3"
    relay, relay_url = start_listen("--forward", down, "--record", str(file))
    try:
        sent = send(relay_url, "sms", "--user", "u", "--password", "p")
    finally:
        stop(relay)
    assert sent.returncode == 1
    assert "502" in sent.stdout + sent.stderr
    with Recorder(file) as recorder:
        (only,) = recorder.deliveries()
    assert only.status == 502
    assert "failed" in json.loads(only.response_body)["error"]


def test_a_target_slower_than_the_timeout_is_answered_504(httpserver: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response("late")

    httpserver.expect_request("/slow").respond_with_handler(slow)
    answer = forward(httpserver.url_for("/slow"), "POST", "", [], b"{}", timeout=0.3)
    assert answer.status == 504
    assert "did not answer in 0.3s" in json.loads(answer.body)["error"]


def test_the_request_arrives_as_sent_and_the_answer_comes_back_as_given(
    httpserver: HTTPServer,
) -> None:
    seen: list[Any] = []

    def app(request: Request) -> Response:
        seen.append((request.method, request.query_string, dict(request.headers), request.data))
        return Response(
            "<Response/>", status=202, headers={"Content-Type": "application/xml", "X-Mine": "1"}
        )

    httpserver.expect_request("/cb").respond_with_handler(app)
    body = b'{"eventType": "answer",  "callId": "c-1"}'  # spacing kept: bytes as sent
    headers = [("Authorization", "Basic bWU6cHc="), ("Content-Type", "application/json")]
    answer = forward(httpserver.url_for("/cb"), "POST", "a=1", headers, body)
    ((method, query, sent_headers, sent_body),) = seen
    assert (method, query, sent_body) == ("POST", b"a=1", body)
    assert sent_headers["Authorization"] == "Basic bWU6cHc="
    assert sent_headers["Content-Length"] == str(len(body))
    assert answer.status == 202
    assert answer.body == b"<Response/>"
    assert answer.headers["X-Mine"] == "1"
    assert answer.headers["Content-Type"] == "application/xml"


def test_forward_refuses_what_is_no_http_url() -> None:
    with pytest.raises(ValueError, match="http"):
        forward("ftp://example.com/x", "POST", "", [], b"")


def test_a_body_over_the_bound_is_answered_413_and_not_relayed(httpserver: HTTPServer) -> None:
    import io

    from bwhooks.devtools.forwarding import ForwardingApp

    app = ForwardingApp(httpserver.url_for("/cb"), max_body_size=100)
    body = b'{"eventType": "sms", "text": "' + b"x" * 500 + b'"}'
    started: list[str] = []
    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
    }
    start_response: Any = lambda status, headers, exc_info=None: started.append(status)  # noqa: E731
    answer = app(environ, start_response)
    assert [status[:4] for status in started] == ["413 "]
    assert b"body over 100 bytes" in b"".join(answer)
    assert httpserver.log == []  # nothing reached the app


# The relay as a proxy hop, over real HTTP: `bwhooks listen --forward` (a process) in front
# of a real app on 127.0.0.1 that keeps what it received.


class Upstream:
    """A WSGI app that keeps the headers of each request it gets and answers ``answer``."""

    def __init__(self, headers: list[tuple[str, str]] | None = None) -> None:
        self.received: list[Headers] = []
        self.queries: list[str] = []
        self.headers = headers or [("Content-Type", "text/plain")]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        self.received.append(environ_headers(environ))
        self.queries.append(environ.get("QUERY_STRING", ""))
        start_response("200 OK", self.headers)
        return [b"from the app"]


def exchange(
    url: str, method: str, headers: list[tuple[str, str]], body: bytes = b""
) -> http.client.HTTPResponse:
    """One request with exactly these headers (repeats kept) and the body's length; the
    answer, read."""
    target = urlsplit(url)
    connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=30)
    connection.putrequest(method, target.path, skip_accept_encoding=True)
    for name, value in headers:
        connection.putheader(name, value)
    if body:
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body or None)
    answer = connection.getresponse()
    answer.read()
    connection.close()
    return answer


def test_hop_by_hop_headers_and_those_connection_names_stop_at_the_relay_both_ways() -> None:
    upstream = Upstream(
        [
            ("Content-Type", "text/plain"),
            ("Connection", "X-Answer-Hop"),
            ("X-Answer-Hop", "for the relay only"),
            ("Keep-Alive", "timeout=99"),
            ("Proxy-Authenticate", 'Basic realm="proxy"'),
            ("X-Answer-Kept", "end to end"),
        ]
    )
    with serving(upstream) as app_url:
        relay, url = start_listen("--forward", f"{app_url}/cb")
        try:
            answer = exchange(
                url,
                "GET",
                [
                    ("Connection", "close, X-Hop-Secret"),
                    ("X-Hop-Secret", "for the relay only"),
                    ("Keep-Alive", "300"),
                    ("Proxy-Authorization", "Basic cHJveHk6cHc="),
                    ("Proxy-Connection", "keep-alive"),
                    ("TE", "trailers"),
                    ("Upgrade", "websocket"),
                    ("X-Kept", "end to end"),
                ],
            )
        finally:
            stop(relay)
    assert answer.status == 200
    (received,) = upstream.received
    assert received["x-kept"] == "end to end"
    for hop in ("x-hop-secret", "keep-alive", "proxy-authorization", "proxy-connection", "te"):
        assert hop not in received, hop
    assert "upgrade" not in received
    assert answer.getheader("X-Answer-Kept") == "end to end"
    assert answer.getheader("X-Answer-Hop") is None
    assert answer.getheader("Keep-Alive") is None
    assert answer.getheader("Proxy-Authenticate") is None


def test_the_app_trusts_the_address_the_relay_saw_not_the_one_the_client_wrote() -> None:
    receiver = Receiver(
        auth=BasicAuth(("u", "p")),
        allow=AllowList(["203.0.113.0/24"], trusted_proxies=1),
    )
    receiver.on(Event)(lambda event: None)
    served = make_app(receiver, "/cb")
    seen: list[Headers] = []

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        seen.append(environ_headers(environ))
        return served(environ, start_response)

    body = json.dumps(fake_payload("sms")).encode()
    with serving(app) as app_url:
        relay, url = start_listen("--forward", f"{app_url}/cb")
        try:
            port = urlsplit(url).port
            answer = exchange(
                url,
                "POST",
                [
                    ("Content-Type", "application/json"),
                    ("Authorization", basic_authorization("u", "p")),
                    ("X-Forwarded-For", "198.51.100.7"),
                    ("X-Forwarded-For", "203.0.113.66"),  # an allowed address, spoofed
                    ("X-Forwarded-Proto", "https"),
                    ("Forwarded", 'for="203.0.113.66";proto=https'),
                ],
                body,
            )
        finally:
            stop(relay)
    assert answer.status == 403  # the client is 127.0.0.1, whatever it wrote
    (received,) = seen
    assert received.getlist("X-Forwarded-For") == ["198.51.100.7, 203.0.113.66, 127.0.0.1"]
    assert received["X-Forwarded-Proto"] == "https, http"
    assert received["X-Forwarded-Host"] == f"127.0.0.1:{port}"
    assert received["Forwarded"] == (
        f'for="203.0.113.66";proto=https, for="127.0.0.1";proto=http;host="127.0.0.1:{port}"'
    )


SMUGGLING = [
    pytest.param(
        b'Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n0\r\n\r\n',
        b"HTTP/1.1",
        400,
        id="content-length-and-chunked",
    ),
    pytest.param(
        b'Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n4\r\n{"a"\r\n0\r\n\r\n',
        b"HTTP/1.1",
        400,
        id="chunked-and-content-length",
    ),
    pytest.param(
        b'Transfer-Encoding: chunked, identity\r\n\r\n4\r\n{"a"\r\n0\r\n\r\n',
        b"HTTP/1.1",
        400,
        id="chunked-not-last",
    ),
    pytest.param(
        b'Transfer-Encoding: chunked\r\n\r\n4\r\n{"a"\r\n0\r\n\r\n',
        b"HTTP/1.0",
        400,
        id="chunked-in-http-1.0",
    ),
    pytest.param(
        b'Transfer-Encoding: gzip, chunked\r\n\r\n4\r\n{"a"\r\n0\r\n\r\n',
        b"HTTP/1.1",
        501,
        id="unknown-coding",
    ),
    pytest.param(
        b'Content-Length: 4\r\nContent-Length: 40\r\n\r\n{"a"',
        b"HTTP/1.1",
        400,
        id="two-lengths",
    ),
    pytest.param(b'Content-Length: 4x\r\n\r\n{"a"', b"HTTP/1.1", 400, id="no-number"),
]


@pytest.mark.parametrize(("framing", "version", "status"), SMUGGLING)
def test_a_body_of_ambiguous_length_is_refused_and_never_relayed(
    framing: bytes, version: bytes, status: int
) -> None:
    upstream = Upstream()
    with serving(upstream) as app_url:
        relay, url = start_listen("--forward", f"{app_url}/cb")
        try:
            with socket.create_connection(("127.0.0.1", urlsplit(url).port or 0)) as sock:
                sock.settimeout(30)
                sock.sendall(
                    b"POST /callbacks " + version + b"\r\nHost: relay\r\n"
                    b"Content-Type: application/json\r\n" + framing
                )
                answer = read_until_closed(sock)
        finally:
            stop(relay)
    assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == str(status).encode(), answer
    assert b"\r\nConnection: close\r\n" in answer
    assert b'{"error": ' in answer
    assert upstream.received == []  # nothing reached the app


def read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_the_wsgi_app_alone_refuses_both_lengths_too(httpserver: HTTPServer) -> None:
    """Behind another server that passes both headers on, the relay still refuses them."""
    import io

    from bwhooks.devtools.forwarding import ForwardingApp

    app = ForwardingApp(httpserver.url_for("/cb"))
    started: list[str] = []
    environ = {
        "REQUEST_METHOD": "POST",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": "40",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": io.BytesIO(b'{"a"'),
    }
    start_response: Any = lambda status, headers, exc_info=None: started.append(status)  # noqa: E731
    answer = app(environ, start_response)
    assert started == ["400 Bad Request"]
    assert b"both Content-Length and Transfer-Encoding" in b"".join(answer)
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("headers", "version", "refused"),
    [
        ([("Content-Length", "4")], "HTTP/1.1", None),
        ([("Content-Length", "4"), ("content-length", "4")], "HTTP/1.1", None),
        ([("Content-Length", "4, 4")], "HTTP/1.1", None),
        ([("Transfer-Encoding", "chunked")], "HTTP/1.1", None),
        ([("Transfer-Encoding", "Chunked")], "HTTP/1.1", None),
        ([], "HTTP/1.0", None),
        ([("Content-Length", "4"), ("Transfer-Encoding", "chunked")], "HTTP/1.1", 400),
        ([("Content-Length", "4, 5")], "HTTP/1.1", 400),
        ([("Content-Length", "-4")], "HTTP/1.1", 400),
        ([("Content-Length", "")], "HTTP/1.1", 400),
        ([("Content-Length", "٤")], "HTTP/1.1", 400),  # an Arabic-Indic 4: no ASCII digit
        ([("Transfer-Encoding", "chunked"), ("Transfer-Encoding", "chunked")], "HTTP/1.1", 400),
        ([("Transfer-Encoding", "chunked, gzip")], "HTTP/1.1", 400),
        ([("Transfer-Encoding", "")], "HTTP/1.1", 400),
        ([("Transfer-Encoding", "chunked")], "HTTP/1.0", 400),
        ([("Transfer-Encoding", "gzip, chunked")], "HTTP/1.1", 501),
    ],
)
def test_framing_error_follows_rfc_9112(
    headers: list[tuple[str, str]], version: str, refused: int | None
) -> None:
    found = framing_error(headers, version)
    assert (found and found[0]) == refused


# The listen server, bounded: slow clients are dropped, the others answered.


def answer_ok(environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))  # the body first
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


@contextmanager
def listen_server(
    max_connections: int, request_timeout: float, first_byte_timeout: float = 2.0
) -> Iterator[ListenServer]:
    server = ListenServer(
        "127.0.0.1",
        0,
        answer_ok,
        max_connections=max_connections,
        request_timeout=request_timeout,
        first_byte_timeout=first_byte_timeout,
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()


def closed_by_server(sock: socket.socket) -> bool:
    """Wait (up to 30 s) for the server to close ``sock``: EOF or a reset."""
    sock.settimeout(30)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def get(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/")
        answer = connection.getresponse()
        answer.read()
        return answer.status
    finally:
        connection.close()


def test_idle_connections_hold_at_most_max_connections_threads_and_are_dropped() -> None:
    with listen_server(max_connections=3, request_timeout=0.5) as server:
        port = server.server_port
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(12)]
        half = socket.create_connection(("127.0.0.1", port))
        half.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # stalls
        try:
            assert get(port) == 200  # answered once a thread is free, never refused
            assert all(closed_by_server(sock) for sock in [*idle, half])
        finally:
            for sock in [*idle, half]:
                sock.close()
        assert server.peak_connections <= 3
        assert get(port) == 200


def test_a_client_trickling_its_request_is_dropped_at_the_deadline() -> None:
    """Never idle for long, a byte every 50 ms (slowloris): the deadline is the whole
    request's, not each read's."""
    with listen_server(max_connections=2, request_timeout=0.5) as server:
        with socket.create_connection(("127.0.0.1", server.server_port)) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            with selectors.DefaultSelector() as selector:
                selector.register(sock, selectors.EVENT_READ)
                for _ in range(600):  # 30 s at most
                    if selector.select(timeout=0.05):  # the server closed (or answered)
                        break
                    try:
                        sock.sendall(b"X")
                    except OSError:  # reset while sending: dropped
                        break
                else:
                    pytest.fail("the trickling client was never dropped")
            assert closed_by_server(sock)
        assert get(server.server_port) == 200


def test_a_connection_that_sends_nothing_is_dropped_at_the_first_byte_deadline() -> None:
    """80 idle connections held every thread for the whole request_timeout: now only until
    the first-byte deadline, while a client that started may use the whole of it."""
    with listen_server(max_connections=2, request_timeout=60, first_byte_timeout=0.2) as server:
        port = server.server_port
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
        try:
            assert all(closed_by_server(sock) for sock in idle)  # long before 60 s
        finally:
            for sock in idle:
                sock.close()
        with socket.create_connection(("127.0.0.1", port)) as started:
            started.sendall(b"GET / HTTP/1.1\r\n")  # then quiet past the first-byte deadline
            with selectors.DefaultSelector() as selector:
                selector.register(started, selectors.EVENT_READ)
                assert not selector.select(timeout=1.0)  # not dropped: it has begun
            started.sendall(b"Host: x\r\n\r\n")
            started.settimeout(30)
            assert started.recv(65536).startswith(b"HTTP/1.1 200 ")


def test_a_request_within_the_deadline_is_answered_whole() -> None:
    with listen_server(max_connections=1, request_timeout=30) as server:
        for _ in range(3):  # one slot, freed after each connection
            assert get(server.server_port) == 200
        assert server.peak_connections == 1


def test_listen_drops_idle_clients_and_answers_the_others() -> None:
    process, url = start_listen("--client-timeout", "0.5", "--max-connections", "2")
    port = urlsplit(url).port or 0
    try:
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(6)]
        try:
            body = json.dumps(fake_payload("sms")).encode()
            answer = exchange(url, "POST", [("Content-Type", "application/json")], body)
            assert answer.status == 200
            assert all(closed_by_server(sock) for sock in idle)
        finally:
            for sock in idle:
                sock.close()
    finally:
        stop(process)


@pytest.mark.parametrize("option", ["--client-timeout", "--max-connections"])
@pytest.mark.parametrize("value", ["0", "-1", "inf", "many"])
def test_listen_bounds_must_be_positive_numbers(
    option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["listen", option, value])
    assert exited.value.code == 2
    assert option in capsys.readouterr().err


def test_credentials_reach_the_app_and_come_back_but_the_recording_masks_them(
    tmp_path: Path,
) -> None:
    upstream = Upstream(
        [("Content-Type", "text/plain"), ("Set-Cookie", "session=cookie-secret; HttpOnly")]
    )
    file = tmp_path / "relayed.sqlite3"
    with serving(upstream) as app_url:
        relay, url = start_listen("--forward", f"{app_url}/cb", "--record", str(file))
        try:
            answer = exchange(
                url,
                "POST",
                [
                    ("Content-Type", "application/json"),
                    ("X-Api-Key", "key-secret"),
                    ("X-Bandwidth-Signature-SHA-256", "signature-secret"),
                ],
                b"{}",
            )
        finally:
            stop(relay)
    assert answer.getheader("Set-Cookie") == "session=cookie-secret; HttpOnly"
    (received,) = upstream.received
    assert received["X-Api-Key"] == "key-secret"  # end to end: the app checks it
    assert received["X-Bandwidth-Signature-SHA-256"] == "signature-secret"
    with Recorder(file) as recorder:
        (recorded,) = recorder.deliveries()
    assert recorded.header("X-Api-Key") == "<masked>"
    assert recorded.header("X-Bandwidth-Signature-SHA-256") == "<masked>"
    assert ("Set-Cookie", "<masked>") in recorded.response_headers
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    for secret in (b"cookie-secret", b"key-secret", b"signature-secret"):
        assert secret not in stored


@pytest.mark.parametrize("body", MALFORMED_CHUNKS)
def test_a_malformed_chunked_body_is_a_400_and_never_relayed(body: bytes) -> None:
    upstream = Upstream()
    with serving(upstream) as app_url:
        relay, url = start_listen("--forward", f"{app_url}/cb")
        try:
            answer = chunked_exchange(urlsplit(url).port or 0, body)
        finally:
            stop(relay)
    assert status_of(answer) == 400, answer
    assert answer.endswith(b'{"error": "unreadable body"}'), answer
    assert upstream.received == []


def raw_exchange(port: int, head: bytes) -> bytes:
    """Send ``head`` (a request line and headers, as written) and read the whole answer."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(30)
        sock.sendall(head)
        return read_until_closed(sock)


HOSTILE_HEADS = [
    pytest.param(b"P\xd6ST /callbacks HTTP/1.1\r\nHost: relay\r\n", id="non-ascii-method"),
    pytest.param(b"P\x01ST /callbacks HTTP/1.1\r\nHost: relay\r\n", id="control-in-method"),
    pytest.param(
        b"GET /callbacks HTTP/1.1\r\nHost: relay\r\nHost: evil.example\r\n", id="two-hosts"
    ),
    pytest.param(b"GET /callbacks HTTP/1.1\r\nHost: relay,evil.example\r\n", id="comma-host"),
    pytest.param(b"GET /callbacks HTTP/1.1\r\nHost: relay evil\r\n", id="space-host"),
    pytest.param(b"GET /callbacks HTTP/1.1\r\n", id="no-host"),
]


@pytest.mark.parametrize("head", HOSTILE_HEADS)
def test_an_invalid_method_or_host_is_a_400_and_never_relayed(head: bytes) -> None:
    upstream = Upstream()
    with serving(upstream) as app_url:
        relay, url = start_listen("--forward", f"{app_url}/cb")
        try:
            answer = raw_exchange(urlsplit(url).port or 0, head + b"\r\n")
        finally:
            stop(relay)
    assert answer.split(b"\r\n", 1)[0].split(b" ")[1] == b"400", answer
    assert b'{"error": ' in answer
    assert upstream.received == []


def test_a_query_that_is_not_ascii_is_relayed_percent_encoded() -> None:
    upstream = Upstream()
    with serving(upstream) as app_url:
        relay, url = start_listen("--forward", f"{app_url}/cb")
        try:
            head = b"GET /callbacks?x=\xe9&y=%41 HTTP/1.1\r\nHost: relay\r\n\r\n"
            answer = raw_exchange(urlsplit(url).port or 0, head)
        finally:
            stop(relay)
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    # werkzeug reads the request line as Latin-1 and hands on its UTF-8 bytes: relayed as sent
    (query,) = upstream.queries
    assert (query, unquote(query)) == ("x=%C3%A9&y=%41", "x=\u00e9&y=A")


@pytest.mark.parametrize(
    ("method", "host", "reason"),
    [
        ("P\u00d6ST", "relay", "an invalid method"),
        ("GET", "relay, evil.example", "an invalid Host header"),  # two, joined by a server
    ],
)
def test_the_wsgi_app_alone_refuses_an_invalid_method_or_host(
    httpserver: HTTPServer, method: str, host: str, reason: str
) -> None:
    import io

    from bwhooks.devtools.forwarding import ForwardingApp

    app = ForwardingApp(httpserver.url_for("/cb"))
    started: list[str] = []
    environ = {
        "REQUEST_METHOD": method,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "wsgi.input": io.BytesIO(b""),
    }
    start_response: Any = lambda status, headers, exc_info=None: started.append(status)  # noqa: E731
    answer = app(environ, start_response)
    assert started == ["400 Bad Request"]
    assert json.loads(b"".join(answer)) == {"error": reason}
    assert httpserver.log == []


def test_forward_refuses_what_it_cannot_write(httpserver: HTTPServer) -> None:
    """Called directly (no server in front): a method that is no token, a header
    http.client cannot write, are a 400, never an exception."""
    url = httpserver.url_for("/cb")
    assert forward(url, "P\x01ST", "", [], b"").status == 400
    assert forward(url, "GET", "", [("X-Name", "\u0100")], b"").status == 400
    assert forward(url, "GET", "", [("X-Name", "a\r\nX-Evil: 1")], b"").status == 400
    assert httpserver.log == []
