"""The Receiver's registry and dispatch: matching, order, sync and async, current_request;
what it logs of each refusal."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import warnings
from typing import Any

import pytest
from support import AUTH, JSON, PASSWORD, USER, load_json_example

from bwhooks import (
    CallbackRequest,
    CallbackResponse,
    InsecureReceiverWarning,
    Receiver,
    current_request,
    events,
)
from bwhooks.adapters.wsgi import make_app
from bwhooks.auth import BasicAuth
from bwhooks.devtools.demo import serving
from bwhooks.errors import RetryLater
from bwhooks.events import CallEvent, Event, HangupEvent, RejectEvent
from bwhooks.network import AllowList

REJECT = json.dumps(load_json_example("reject-3.json")).encode()


def request(body: bytes = REJECT, query: bytes = b"") -> CallbackRequest:
    return CallbackRequest(
        "POST",
        "/callbacks",
        {"Content-Type": JSON, "Authorization": AUTH},
        body,
        query,
        ("203.0.113.9", 4242),
    )


def test_handlers_match_class_and_subclasses_in_registration_order(receiver: Receiver) -> None:
    calls: list[str] = []
    receiver.on(events.AnswerEvent)(lambda e: calls.append("answer"))
    receiver.on(Event)(lambda e: calls.append("event"))
    receiver.on(HangupEvent)(lambda e: calls.append("hangup"))
    receiver.on(CallEvent)(lambda e: calls.append("call"))
    receiver.on(RejectEvent)(lambda e: calls.append("reject"))
    receiver.on(events.SmsEvent, HangupEvent)(lambda e: calls.append("sms-or-hangup"))
    assert receiver.handle(request()).status == 200
    assert calls == ["event", "hangup", "call", "reject", "sms-or-hangup"]


def test_registrations_after_a_dispatch_are_seen(receiver: Receiver) -> None:
    calls: list[str] = []
    receiver.handle(request())
    receiver.on(RejectEvent)(lambda e: calls.append("late"))
    receiver.handle(request())
    assert calls == ["late"]


def test_the_same_function_registered_twice_runs_twice(receiver: Receiver) -> None:
    calls: list[Event] = []
    receiver.on(Event)(calls.append)
    receiver.on(RejectEvent)(calls.append)
    receiver.handle(request())
    assert len(calls) == 2


@pytest.mark.parametrize("bad", [dict, "answer", 5, events.Diversion])
def test_on_refuses_what_is_not_an_event_class(receiver: Receiver, bad: Any) -> None:
    with pytest.raises(TypeError, match="event class"):
        receiver.on(bad)


def test_on_needs_a_class(receiver: Receiver) -> None:
    with pytest.raises(TypeError):
        receiver.on()


def test_decorator_returns_the_function_unchanged(receiver: Receiver) -> None:
    def handler(event: Event) -> None: ...

    assert receiver.on(Event)(handler) is handler


def test_async_handlers_run_under_handle(receiver: Receiver) -> None:
    seen: list[tuple[str, CallbackRequest]] = []

    @receiver.on(RejectEvent)
    async def first(event: RejectEvent) -> None:
        await asyncio.sleep(0)
        seen.append(("async", current_request()))

    @receiver.on(RejectEvent)
    def second(event: RejectEvent) -> str:
        seen.append(("sync", current_request()))
        return "<Response/>"

    sent = request()
    response = receiver.handle(sent)
    assert response.body == b"<Response/>"
    assert seen == [("async", sent), ("sync", sent)]


def test_async_answer_counts_as_an_answer(receiver: Receiver) -> None:
    @receiver.on(Event)
    async def answer(event: Event) -> str:
        return "<Response><Hangup/></Response>"

    assert receiver.handle(request()).body == b"<Response><Hangup/></Response>"
    assert asyncio.run(receiver.handle_async(request())).body == b"<Response><Hangup/></Response>"


def test_handle_async_runs_sync_handlers_in_a_worker_thread(receiver: Receiver) -> None:
    threads: dict[str, int] = {}

    @receiver.on(Event)
    def blocking(event: Event) -> None:
        threads["sync"] = threading.get_ident()
        assert current_request().client == ("203.0.113.9", 4242)

    @receiver.on(Event)
    async def non_blocking(event: Event) -> None:
        threads["async"] = threading.get_ident()

    async def main() -> int:
        response = await receiver.handle_async(request())
        assert response.status == 200
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert threads["async"] == loop_thread
    assert threads["sync"] != loop_thread


def test_handle_inside_a_running_loop_with_async_handlers_is_refused(receiver: Receiver) -> None:
    @receiver.on(Event)
    async def handler(event: Event) -> None: ...

    async def main() -> None:
        with pytest.raises(RuntimeError) as raised:
            receiver.handle(request())
        assert str(raised.value) == (
            "Receiver.handle() cannot run async handlers inside a running event loop; "
            "await Receiver.handle_async() instead"
        )

    asyncio.run(main())


def test_async_handler_failure_is_a_500(receiver: Receiver) -> None:
    @receiver.on(Event)
    async def broken(event: Event) -> None:
        raise ValueError("nope")

    assert receiver.handle(request()).status == 500
    assert asyncio.run(receiver.handle_async(request())).status == 500


def test_callable_objects_with_async_call_are_awaited(receiver: Receiver) -> None:
    class Handler:
        def __init__(self) -> None:
            self.seen: list[Event] = []

        async def __call__(self, event: Event) -> None:
            self.seen.append(event)

    handler = Handler()
    receiver.on(Event)(handler)
    receiver.handle(request())
    asyncio.run(receiver.handle_async(request()))
    assert len(handler.seen) == 2


def test_current_request_outside_a_handler_raises_lookup_error(receiver: Receiver) -> None:
    with pytest.raises(LookupError) as raised:
        current_request()
    assert str(raised.value) == "current_request() is only available inside a handler"
    receiver.handle(request())
    with pytest.raises(LookupError):
        current_request()


def test_current_request_gives_query_headers_client(receiver: Receiver) -> None:
    got: dict[str, Any] = {}

    @receiver.on(Event)
    def audit(event: Event) -> None:
        req = current_request()
        got.update(query=req.query, agent=req.headers.get("content-type"), client=req.client)

    receiver.handle(request(query=b"tenant=acme&x=1&x=2"))
    assert got == {
        "query": {"tenant": "acme", "x": "1"},
        "agent": JSON,
        "client": ("203.0.113.9", 4242),
    }


def test_no_auth_warns_insecure() -> None:
    with pytest.warns(InsecureReceiverWarning, match="BasicAuth"):
        Receiver(auth=None)
    with pytest.warns(InsecureReceiverWarning):
        Receiver()
    assert issubclass(InsecureReceiverWarning, UserWarning)


def test_auth_given_does_not_warn(receiver: Receiver) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Receiver(auth=receiver.auth)


@pytest.mark.parametrize("size", [0, -1, 1.5])
def test_max_body_size_must_be_positive(receiver: Receiver, size: Any) -> None:
    with pytest.raises(ValueError, match="max_body_size"):
        Receiver(auth=receiver.auth, max_body_size=size)


def test_receivers_are_independent(receiver: Receiver) -> None:
    other = Receiver(auth=receiver.auth)
    seen: list[Event] = []
    other.on(Event)(seen.append)
    receiver.handle(request())
    assert seen == []


def test_request_repr_hides_credentials_and_body() -> None:
    text = repr(request())
    assert AUTH.split()[1] not in text
    assert "CALL_REJECTED" not in text
    assert "<redacted>" in text


def test_headers_are_case_insensitive_and_keep_duplicates() -> None:
    req = CallbackRequest("post", "/", [("X-A", "1"), ("x-a", "2"), ("Content-Type", JSON)], b"")
    assert req.method == "POST"
    assert req.headers["x-A"] == "1"
    assert req.headers.getlist("X-a") == ["1", "2"]
    assert dict(req.headers) == {"X-A": "1", "Content-Type": JSON}
    assert "content-type" in req.headers


@pytest.mark.parametrize(
    ("blocking", "in_loop_thread"), [(None, False), (True, False), (False, True)]
)
def test_handle_async_calls_a_store_in_a_thread_unless_it_says_it_does_no_io(
    blocking: bool | None, in_loop_thread: bool
) -> None:
    """A store's calls may block (Redis): under handle_async they run in a worker thread,
    unless the store says ``blocking = False``; one that says nothing is taken as blocking."""
    from support import PASSWORD, USER

    from bwhooks import BasicAuth
    from bwhooks.idempotency import Claimed, MemoryStore

    threads: list[int] = []

    class Store:  # an IdempotencyStore that says nothing of blocking
        def __init__(self) -> None:
            self.inner = MemoryStore()

        def claim(self, key: str) -> Claimed:
            threads.append(threading.get_ident())
            return self.inner.claim(key)

        def complete(self, key: str, response: CallbackResponse) -> None:
            self.inner.complete(key, response)

        def release(self, key: str) -> None:
            self.inner.release(key)

    store = Store()
    if blocking is not None:
        store.blocking = blocking  # type: ignore[attr-defined]
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), idempotency=store)

    async def main() -> int:
        assert (await receiver.handle_async(request())).status == 200
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert len(threads) == 1
    assert (threads[0] == loop_thread) is in_loop_thread


@pytest.mark.parametrize("path", ["one-step", "general"])
def test_handle_async_runs_def_handlers_through_the_given_runner(
    receiver: Receiver, path: str
) -> None:
    ran: list[str] = []
    receiver.on(Event)(lambda event: ran.append("handler"))

    async def run_sync(handler: Any, event: Event) -> Any:
        ran.append("runner")
        return handler(event)

    headers = {"Content-Type": JSON, "Authorization": AUTH}
    if path == "general":
        headers["Authorization"] = "basic " + AUTH.split()[1]
    sent = CallbackRequest("POST", "/callbacks", headers, REJECT)
    response = asyncio.run(receiver.handle_async(sent, run_sync=run_sync))
    assert response.status == 200
    assert ran == ["runner", "handler"]


def test_a_body_of_exactly_the_limit_takes_the_one_step_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The one-step path is the common request's, up to the limit itself."""
    from support import PASSWORD, USER

    from bwhooks import BasicAuth

    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), max_body_size=len(REJECT))
    general: list[str] = []
    early = receiver.early_response

    def counted(*args: Any, **kwargs: Any) -> Any:
        general.append("early_response")
        return early(*args, **kwargs)

    monkeypatch.setattr(receiver, "early_response", counted)
    stated = {"Content-Type": JSON, "Authorization": AUTH, "Content-Length": str(len(REJECT))}
    for sent in (request(), CallbackRequest("POST", "/callbacks", stated, REJECT)):
        assert receiver.handle(sent).status == 200
        assert asyncio.run(receiver.handle_async(sent)).status == 200
    assert general == []
    receiver.max_body_size -= 1  # one byte more than the limit: refused on the general path
    assert receiver.handle(request()).status == 413
    assert general == ["early_response"]


class TestEarlyResponse:
    """The answers given before a body is read, each with its one status and reason."""

    def headers(self, **extra: str) -> Any:
        from bwhooks import Headers

        return Headers({"Content-Type": JSON, "Authorization": AUTH, **extra})

    @pytest.mark.parametrize("method", ["POST", "GET", "post", "get", "Post", "gEt"])
    def test_post_and_get_in_any_case_go_on_to_the_body(
        self, receiver: Receiver, method: str
    ) -> None:
        assert receiver.early_response(method, self.headers()) is None

    @pytest.mark.parametrize("method", ["HEAD", "head", "Head"])
    def test_head_in_any_case_is_answered_at_once(self, receiver: Receiver, method: str) -> None:
        assert receiver.early_response(method, self.headers()) == CallbackResponse.empty()

    @pytest.mark.parametrize("method", ["PUT", "put", "DELETE", "OPTIONS", "PATCH"])
    def test_other_methods_are_405(self, receiver: Receiver, method: str) -> None:
        refused = receiver.early_response(method, self.headers())
        assert refused is not None
        assert refused.status == 405
        assert refused.headers["Allow"] == "GET, HEAD, POST"
        assert json.loads(refused.body) == {"error": "method not allowed"}

    @pytest.mark.parametrize("content_type", [None, "text/plain", "application/jsonx"])
    def test_a_post_that_is_not_json_is_415(
        self, receiver: Receiver, content_type: str | None
    ) -> None:
        from bwhooks import Headers

        headers = {"Authorization": AUTH}
        if content_type is not None:
            headers["Content-Type"] = content_type
        refused = receiver.early_response("POST", Headers(headers))
        assert refused is not None
        assert refused.status == 415
        assert json.loads(refused.body) == {
            "error": "content type must be application/json, application/xml or text/xml"
        }
        assert receiver.early_response("GET", Headers(headers)) is None  # a GET has no body

    @pytest.mark.parametrize("length", ["12", " 12 ", "0", "000012", "0" * 5000 + "12"])
    def test_a_content_length_of_digits_is_taken(self, receiver: Receiver, length: str) -> None:
        assert receiver.early_response("POST", self.headers(**{"Content-Length": length})) is None

    @pytest.mark.parametrize("length", ["9" * 19, "1" * 5000, "1" + "0" * 4400])
    def test_a_content_length_of_thousands_of_digits_is_413_not_a_crash(
        self, receiver: Receiver, length: str
    ) -> None:
        """``int()`` refuses a string of over 4300 digits: the count is judged without it."""
        headers = self.headers(**{"Content-Length": length})
        refused = receiver.early_response("POST", headers)
        assert refused is not None
        assert refused.status == 413
        assert receiver.handle(CallbackRequest("POST", "/callbacks", headers, b"{}")).status == 413

    @pytest.mark.parametrize(
        "length", ["abc", "", "-1", "1e3", "12 34", "+12", "0x10", "\u0661\u0662", "\xb2"]
    )
    def test_any_other_content_length_is_400(self, receiver: Receiver, length: str) -> None:
        refused = receiver.early_response("POST", self.headers(**{"Content-Length": length}))
        assert refused is not None
        assert refused.status == 400
        assert json.loads(refused.body) == {"error": "invalid Content-Length"}

    def test_only_invalid_credentials_are_logged_missing_ones_are_the_challenge(
        self, receiver: Receiver, caplog: pytest.LogCaptureFixture
    ) -> None:
        from bwhooks import Headers

        with caplog.at_level(logging.WARNING, logger="bwhooks.receiver"):
            missing = receiver.early_response("POST", Headers({"Content-Type": JSON}))
            assert caplog.messages == []
            invalid = receiver.early_response("POST", self.headers(Authorization="Basic eDp5"))
            assert caplog.messages == ["callback refused: 401 invalid credentials"]
        assert missing is not None
        assert invalid is not None
        assert missing.status == invalid.status == 401


@pytest.mark.parametrize("length", ["\xb2", "1\xb9", "\u0661\u0662"])
def test_a_content_length_in_digits_other_than_ascii_is_400_on_both_paths(
    receiver: Receiver, length: str
) -> None:
    """``²`` (Latin-1 0xB2, as a server decodes the header's bytes) is a digit to
    ``str.isdigit`` but not to ``int``: it was a ValueError, a 500."""
    for authorization in (AUTH, "basic " + AUTH.split()[1]):  # one-step, general
        headers = {"Content-Type": JSON, "Authorization": authorization, "Content-Length": length}
        sent = CallbackRequest("POST", "/callbacks", headers, REJECT)
        for response in (receiver.handle(sent), asyncio.run(receiver.handle_async(sent))):
            assert response.status == 400
            assert json.loads(response.body) == {"error": "invalid Content-Length"}


# -- every refusal logged once, with its status and reason ----------------------------------

MARK = b"PRIVATE-BODY-MARK"  # in every body sent: never in a log
BODY = json.dumps({**load_json_example("reject-3.json"), "tag": MARK.decode()}).encode()


def _raw(head: str, body: bytes = BODY, *, length: str | None = None) -> bytes:
    """A request: ``head`` (request line and headers, without Content-Length), then the body
    with its ``Content-Length`` (``length`` when given: the header as sent)."""
    size = str(len(body)) if length is None else length
    return f"{head}\r\nHost: 127.0.0.1\r\nContent-Length: {size}\r\n\r\n".encode() + body


def _chunked(head: str, chunks: bytes) -> bytes:
    return f"{head}\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + chunks


def _exchange(port: int, data: bytes) -> tuple[int, bytes]:
    """Send ``data`` over a socket, read the whole answer: its status and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


POST = f"POST /callbacks HTTP/1.1\r\nAuthorization: {AUTH}\r\nContent-Type: {JSON}"
WRONG = "Basic " + AUTH.split()[1][::-1]
BIG = b"x" * 200
# (request, receiver options, the answer's status and reason, the reason logged)
REFUSALS = [
    pytest.param(
        _raw(POST.replace("POST", "PUT")),
        {},
        (405, "method not allowed"),
        "method not allowed",
        id="405-method",
    ),
    pytest.param(
        _raw(POST),
        {"allow": "198.51.100.0/24"},
        (403, "forbidden"),
        "client address not allowed",
        id="403-allow-list",
    ),
    pytest.param(
        _raw(POST.replace(AUTH, WRONG)),
        {},
        (401, "unauthorized"),
        "invalid credentials",
        id="401-credentials",
    ),
    pytest.param(
        _raw(POST, length="1x"),
        {},
        (400, "invalid Content-Length"),
        "invalid Content-Length",
        id="400-length",
    ),
    pytest.param(
        _raw(POST, BIG),
        {"max_body_size": 100},
        (413, "body over 100 bytes"),
        "body over 100 bytes",
        id="413-length",
    ),
    pytest.param(
        _chunked(POST, b"c8\r\n" + BIG + b"\r\n0\r\n\r\n"),
        {"max_body_size": 100},
        (413, "body over 100 bytes"),
        "body over 100 bytes",
        id="413-chunked",
    ),
    pytest.param(
        _raw(POST.replace(JSON, "text/plain")),
        {},
        (415, "content type must be application/json, application/xml or text/xml"),
        "content type must be application/json, application/xml or text/xml",
        id="415",
    ),
    pytest.param(
        _raw(POST, b'{"eventType": "answer", "tag": "' + MARK),
        {},
        (400, "malformed JSON"),
        "malformed JSON",
        id="400-json",
    ),
    pytest.param(
        _raw(POST, b'{"tag": "' + MARK + b'"}'),
        {},
        (400, "missing eventType"),
        "missing eventType",
        id="400-no-type",
    ),
    pytest.param(
        _chunked(POST, b"zz\r\n" + MARK + b"\r\n0\r\n\r\n"),
        {},
        (400, "unreadable body"),
        "unreadable body",
        id="400-unreadable",
    ),
]


@pytest.mark.parametrize(("sent", "options", "answer", "why"), REFUSALS)
def test_every_refusal_is_logged_once_with_its_status_and_reason_never_the_body(
    caplog: pytest.LogCaptureFixture,
    sent: bytes,
    options: dict[str, Any],
    answer: tuple[int, str],
    why: str,
) -> None:
    """Over real HTTP (werkzeug, raw sockets): each refusal is one WARNING naming its status
    and why; nothing logged holds the body or the credentials."""
    if "allow" in options:
        options = {**options, "allow": AllowList([options["allow"]])}
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), **options)
    seen: list[Event] = []
    receiver.on(Event)(seen.append)
    with (
        caplog.at_level(logging.INFO, logger="bwhooks"),
        serving(make_app(receiver)) as base_url,
    ):
        status, body = _exchange(int(base_url.rsplit(":", 1)[1]), sent)
    assert (status, json.loads(body)["error"]) == answer
    assert seen == []
    records = [r for r in caplog.records if r.name.startswith("bwhooks")]
    refusals = [(r.levelname, r.getMessage()) for r in records if r.levelno >= logging.WARNING]
    assert refusals == [("WARNING", f"callback refused: {status} {why}")]
    logged = "\n".join(r.getMessage() for r in records)
    for secret in (MARK.decode(), PASSWORD, AUTH.split()[1], WRONG.split()[1]):
        assert secret not in logged


def test_the_challenge_and_a_retry_later_are_no_refusals_each_has_its_info_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Basic Auth's first step (a 401 without credentials) and a handler's ``RetryLater``
    (a 409) are logged at INFO, each once with its reason, never as a refusal."""
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))

    @receiver.on(Event)
    def later(event: Event) -> None:
        raise RetryLater("the CRM is down")

    with (
        caplog.at_level(logging.INFO, logger="bwhooks"),
        serving(make_app(receiver)) as base_url,
    ):
        port = int(base_url.rsplit(":", 1)[1])
        challenged = _exchange(port, _raw(POST.replace(f"Authorization: {AUTH}\r\n", "")))
        first = [r for r in caplog.records if _receivers(r)]
        retry = _exchange(port, _raw(POST))
    assert challenged[0] == 401
    assert retry[0] == 409
    # the receiver's records: a spool drainer another test left running may log beside it
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and _receivers(r)]
    assert [r.getMessage().split(": ", 1)[1] for r in first] == ["401 challenged in 0.00 ms"]
    asked = [
        r.getMessage() for r in caplog.records if "asked for a later delivery" in r.getMessage()
    ]
    assert len(asked) == 1
    assert asked[0].endswith(": the CRM is down")


def _receivers(record: logging.LogRecord) -> bool:
    return record.name == "bwhooks.receiver"
