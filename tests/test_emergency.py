"""The Emergency Calling API: a 911 call's routing query (a GET with ``to`` and ``from``),
answered with the handler's route as JSON, and without one never with a 404 nor a 3xx.

Through every way in (the core, sync and async, and each adapter), the Basic challenge
first as Bandwidth does it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from support import AUTH, PASSWORD, USER, Send

from bwhooks import (
    BasicAuth,
    CallbackRequest,
    CallbackResponse,
    EmergencyCallEvent,
    EmergencyRoute,
    Event,
    Receiver,
    events,
    to_payload,
)
from bwhooks.adapters import asgi, wsgi
from bwhooks.auth import basic_authorization
from bwhooks.decoding import decode
from bwhooks.families import DEFAULT, Emergency
from bwhooks.families.emergency import DEFAULT_BUDGET, NO_ROUTE
from bwhooks.idempotency import MemoryStore
from bwhooks.testing import CallbackClient, fake_event, fake_payload

Connect = Callable[[Receiver], Send]
EXAMPLES = Path(__file__).parent / "examples" / "more" / "emergency"
CALLER = "+19195551234"
QUERY = b"to=933&from=%2B19195551234"
ROUTE = EmergencyRoute(aeui="myaeui", location_id="mylocationid", lat=35.67426, lon=-105.95283)


def receiver(**options: Any) -> Receiver:
    return Receiver(auth=BasicAuth((USER, PASSWORD)), **options)


def query(send: Send, query: bytes = QUERY) -> CallbackResponse:
    """A routing query as Bandwidth sends it: without credentials, then with them after
    the challenge (no body, no Content-Type)."""
    challenged = send("GET", query=query, headers={})
    assert challenged.status == 401
    assert challenged.headers.get("WWW-Authenticate", "").startswith("Basic realm=")
    return send("GET", query=query, headers={"Authorization": AUTH})


def no_route(answer: CallbackResponse) -> None:
    """The answer without a route: neither a 2xx, a 3xx nor a 404."""
    assert answer.status == 503
    assert json.loads(answer.body) == {"error": "no emergency route"}


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[str]]]:
    with caplog.at_level(logging.DEBUG, "bwhooks"):
        yield lambda: [
            r.getMessage()
            for r in caplog.records
            if r.levelno >= logging.ERROR and r.name.startswith("bwhooks")
        ]


# -- through every way in -----------------------------------------------------------------


def test_a_routing_query_is_answered_with_the_route_as_json(connect: Connect) -> None:
    bwhooks_receiver = receiver()
    seen: list[EmergencyCallEvent] = []

    @bwhooks_receiver.on(EmergencyCallEvent)
    def route(event: EmergencyCallEvent) -> EmergencyRoute:
        seen.append(event)
        return EmergencyRoute(aeui="myaeui", location_id="loc-1", radius=25, name="Ada")

    answer = query(connect(bwhooks_receiver), QUERY + b"&trunk=t-9")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert json.loads(answer.body) == {
        "aeui": "myaeui",
        "location_id": "loc-1",
        "radius": 25,
        "name": "Ada",
    }
    assert seen == [EmergencyCallEvent(to="933", from_=CALLER)]
    assert seen[0].raw == {"to": "933", "from": CALLER, "trunk": "t-9"}  # unknown keys kept


def test_an_async_handler_routes_too(connect: Connect) -> None:
    bwhooks_receiver = receiver()

    @bwhooks_receiver.on(EmergencyCallEvent)
    async def route(event: EmergencyCallEvent) -> EmergencyRoute:
        await asyncio.sleep(0)
        return ROUTE

    answer = query(connect(bwhooks_receiver))
    assert (answer.status, json.loads(answer.body)) == (200, ROUTE.to_wire())


def test_without_a_handler_the_answer_is_no_route_logged(
    connect: Connect, errors: Callable[[], list[str]]
) -> None:
    no_route(query(connect(receiver())))
    (line,) = errors()
    assert "emergencyCall query (no ids): no handler returned an EmergencyRoute" in line
    assert "answered 503: Bandwidth sends the 911 call to its emergency call center" in line


@pytest.mark.parametrize("returned", [None, {"aeui": "x"}, "<Response/>"])
def test_a_handler_without_a_route_gets_no_route(
    connect: Connect, errors: Callable[[], list[str]], returned: object
) -> None:
    bwhooks_receiver = receiver()
    bwhooks_receiver.on(EmergencyCallEvent)(lambda event: returned)
    no_route(query(connect(bwhooks_receiver)))
    (line,) = errors()
    if returned is not None:
        assert f"returned a {type(returned).__name__}, not an EmergencyRoute" in line


def test_a_raising_handler_gets_no_route_logged(
    connect: Connect, errors: Callable[[], list[str]]
) -> None:
    bwhooks_receiver = receiver()

    @bwhooks_receiver.on(EmergencyCallEvent)
    def broken(event: EmergencyCallEvent) -> EmergencyRoute:
        raise LookupError("no such account")

    no_route(query(connect(bwhooks_receiver)))
    failed, routed = errors()
    assert "broken failed on emergencyCall event" in failed
    assert "its handler failed; answered 503" in routed


def test_an_async_handler_past_the_budget_is_cancelled(
    connect: Connect, errors: Callable[[], list[str]]
) -> None:
    bwhooks_receiver = receiver(emergency_budget=0.05)
    cancelled: list[EmergencyCallEvent] = []

    @bwhooks_receiver.on(EmergencyCallEvent)
    async def stuck(event: EmergencyCallEvent) -> EmergencyRoute:
        try:
            await asyncio.Event().wait()  # never set: only the budget ends it
        except asyncio.CancelledError:
            cancelled.append(event)
            raise
        return ROUTE

    no_route(query(connect(bwhooks_receiver)))
    assert [event.to for event in cancelled] == ["933"]
    timed_out, routed = errors()
    assert "stuck of the emergencyCall request (no ids) ran past the budget: cancelled" in timed_out
    assert "the 50 ms budget ran out; answered 503" in routed


def test_a_v1_get_callback_stays_v1(connect: Connect) -> None:
    bwhooks_receiver = receiver()
    seen: list[Event] = []
    bwhooks_receiver.on(Event)(seen.append)
    send = connect(bwhooks_receiver)
    answer = query(send, b"eventType=incomingcall&to=911&from=%2B19195551234&callId=c-1")
    assert answer.status == 200
    assert [type(event) for event in seen] == [events.IncomingCallEvent]


def test_a_post_with_to_and_from_is_no_routing_query(connect: Connect) -> None:
    bwhooks_receiver = receiver()
    seen: list[Event] = []
    bwhooks_receiver.on(Event)(seen.append)
    body = json.dumps({"to": "911", "from": CALLER}).encode()
    refused = connect(bwhooks_receiver)(body=body)
    assert (refused.status, seen) == (400, [])


def test_a_get_without_to_or_from_is_no_routing_query() -> None:
    bwhooks_receiver = receiver()
    for partial in (b"to=911", b"from=%2B19195551234", b"to=911&from=x&eventType=hangup"):
        request = CallbackRequest("GET", "/", {"Authorization": AUTH}, b"", partial)
        accepted = bwhooks_receiver.accept_all(request)
        if b"eventType" in partial:
            assert isinstance(accepted, tuple)
            assert [type(event) for event in accepted] == [events.HangupEvent]
        else:
            assert isinstance(accepted, CallbackResponse)
            assert accepted.status == 400


# -- the parts: the event, the family, the route ------------------------------------------


def test_the_documented_query_and_route() -> None:
    text = (EXAMPLES / "route-query-1.txt").read_bytes().strip()
    (event,) = decode(CallbackRequest("GET", "/", {}, b"", text))
    assert event == EmergencyCallEvent(to="911", from_=CALLER)
    assert event.event_type == "emergencyCall"
    assert to_payload(event) == {"to": "911", "from": CALLER}  # no eventType on the wire
    documented = json.loads((EXAMPLES / "route-answer-1.json").read_text())
    assert EmergencyRoute(**documented).to_wire() == documented


def test_the_event_is_frozen_slotted_and_exported() -> None:
    import bwhooks

    assert bwhooks.EmergencyCallEvent is events.EmergencyCallEvent is EmergencyCallEvent
    event = EmergencyCallEvent(to="911", from_=CALLER)
    assert not hasattr(event, "__dict__")
    with pytest.raises(AttributeError):
        event.to = "933"  # type: ignore[misc]
    assert CALLER not in repr(ROUTE)
    assert issubclass(EmergencyCallEvent, Event)
    assert EmergencyCallEvent.INLINE_ONLY
    assert not EmergencyCallEvent.CLAIMED
    assert [f for f in DEFAULT.members if f.owns(EmergencyCallEvent)] == [
        m for m in DEFAULT.members if isinstance(m, Emergency)
    ]


@pytest.mark.parametrize(
    ("values", "error"),
    [
        ({}, "aeui"),
        ({"aeui": "", "location_id": "l"}, "aeui must not be empty"),
        ({"aeui": 7, "location_id": "l"}, "aeui must be a string"),
        ({"aeui": "a"}, "a route needs a location"),
        ({"aeui": "a", "lat": 35.0}, "lat and lon go together"),
        ({"aeui": "a", "lon": -105.0}, "lat and lon go together"),
        ({"aeui": "a", "lat": 91, "lon": 0}, "lat must be a number between -90 and 90"),
        ({"aeui": "a", "lat": 0, "lon": -181}, "lon must be a number between -180 and 180"),
        ({"aeui": "a", "lat": math.nan, "lon": 0}, "lat must be a finite number"),
        ({"aeui": "a", "lat": 0, "lon": math.inf}, "lon must be a finite number"),
        ({"aeui": "a", "lat": 10**400, "lon": 0}, "lat must be a finite number"),
        ({"aeui": "a", "location_id": "l", "radius": 10**400}, "radius must be a finite"),
        ({"aeui": "a", "lat": True, "lon": 0}, "lat must be a number"),
        ({"aeui": "a", "lat": "35", "lon": 0}, "lat must be a number"),
        ({"aeui": "a", "location_id": "l", "radius": 0}, "radius must be a positive number"),
        ({"aeui": "a", "location_id": "l", "radius": -5}, "radius must be a positive"),
        ({"aeui": "a", "location_id": "l", "radius": math.inf}, "radius must be a finite"),
        ({"aeui": "a", "location_id": "l", "callback": "9195551234"}, "callback must be an E.164"),
        ({"aeui": "a", "location_id": "l", "name": "Ada\nLovelace"}, "control character"),
        ({"aeui": "a\x00", "location_id": "l"}, "aeui holds a control character"),
        ({"aeui": "a", "location_id": "l\ud800"}, "location_id holds a control character"),
        ({"aeui": "a", "location_id": b"l"}, "location_id must be a string"),
    ],
)
def test_a_route_is_checked_when_built(values: dict[str, Any], error: str) -> None:
    with pytest.raises((ValueError, TypeError), match=error):
        EmergencyRoute(**values)


def test_a_route_sends_exactly_its_wire_keys() -> None:
    full = EmergencyRoute(
        aeui="a",
        location_id="l",
        lat=0,
        lon=-180,
        radius=12.5,
        callback="+19195550100",
        name='Zoë <Lovelace> & "Co"',
    )
    assert json.loads(full.to_json()) == {
        "aeui": "a",
        "location_id": "l",
        "lat": 0,
        "lon": -180,
        "radius": 12.5,
        "callback": "+19195550100",
        "name": 'Zoë <Lovelace> & "Co"',
    }
    assert json.loads(EmergencyRoute(aeui="a", lat=1.5, lon=2.5).to_json()) == {
        "aeui": "a",
        "lat": 1.5,
        "lon": 2.5,
    }


def test_the_no_route_answer_is_never_a_2xx_3xx_or_404() -> None:
    assert NO_ROUTE.status >= 400
    assert NO_ROUTE.status != 404


def test_the_budget_is_an_option_of_the_receiver() -> None:
    def family(bwhooks_receiver: Receiver) -> Emergency:
        (found,) = [f for f in bwhooks_receiver.families.members if isinstance(f, Emergency)]
        return found

    assert receiver().families is DEFAULT  # the default budget changes nothing
    assert family(receiver()).budget == DEFAULT_BUDGET == 0.4
    assert family(receiver(emergency_budget=0.25)).budget == 0.25
    event = EmergencyCallEvent(to="911", from_=CALLER)
    assert family(receiver(emergency_budget=1)).deadline(event) == event.received + 1
    for wrong in (0, -1, math.inf, math.nan):
        with pytest.raises(ValueError, match="positive number of seconds"):
            receiver(emergency_budget=wrong)
    with pytest.raises(TypeError, match="number of seconds"):
        receiver(emergency_budget="fast")


# -- never queued, never claimed, the caller's number never in full -----------------------


class Recording:
    """A queue engine that keeps what it is given (the Queue protocol: ``bind``)."""

    def bind(self, handler: Any) -> Callable[[Event], None]:
        return lambda event: None


def test_a_queued_handler_of_a_routing_query_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot be queued: its answer \\(an EmergencyRoute\\)"):
        receiver().on(EmergencyCallEvent, queue=Recording())(lambda event: None)


class Watched(MemoryStore):
    """A memory store that tells which of its operations were asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def claim(self, key: str) -> Any:
        self.asked.append("claim")
        return super().claim(key)

    def complete(self, key: str, response: CallbackResponse) -> None:
        self.asked.append("complete")
        super().complete(key, response)

    def release(self, key: str) -> None:
        self.asked.append("release")
        super().release(key)


def test_the_idempotency_store_is_never_consulted(connect: Connect) -> None:
    store = Watched()
    bwhooks_receiver = receiver(idempotency=store)
    seen: list[EmergencyCallEvent] = []

    @bwhooks_receiver.on(EmergencyCallEvent)
    def route(event: EmergencyCallEvent) -> EmergencyRoute:
        seen.append(event)
        return ROUTE

    send = connect(bwhooks_receiver)
    for _ in range(2):  # the same call twice: both routed, nothing claimed
        assert query(send).status == 200
    assert len(seen) == 2
    assert store.asked == []
    hangup = b"eventType=hangup&callId=c-1&from=%2B19195551234&to=911"
    assert query(send, hangup).status == 200  # any other GET callback is claimed
    assert store.asked == ["claim", "complete"]


def test_the_callers_number_is_never_logged_in_full(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, "bwhooks"):
        no_route(query(connect(receiver())))
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "1234" in logged  # the DEBUG payload, masked
    assert CALLER not in logged
    assert "9195551234" not in logged


@pytest.mark.parametrize(
    "sent",
    [b"to=911&from=+19195551234", b"to=911&from=%2B1919%0A5551234", b"to=911&from=9195551234"],
)
def test_the_callers_number_in_any_format_is_never_logged_in_full(
    sent: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """A ``+`` sent unencoded (a space once decoded), a line break, ten digits: masked all the
    same, and the route's own error never repeats the number a handler gave it."""
    bwhooks_receiver = receiver()

    @bwhooks_receiver.on(EmergencyCallEvent)
    def route(event: EmergencyCallEvent) -> EmergencyRoute:
        return EmergencyRoute(aeui="a", location_id="l", callback=event.from_.strip()[1:])

    with caplog.at_level(logging.DEBUG, "bwhooks"):
        request = CallbackRequest("GET", "/", {"Authorization": AUTH}, b"", sent)
        no_route(bwhooks_receiver.handle(request))
    logged = "\n".join(
        [r.getMessage() for r in caplog.records]
        + [logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info]
    )
    assert "1234" in logged  # the DEBUG payload, masked
    assert "5551234" not in logged.replace("\n", "")  # no more of the number than that


def test_a_plus_sent_unencoded_is_given_back() -> None:
    bwhooks_receiver = receiver()
    seen: list[EmergencyCallEvent] = []

    @bwhooks_receiver.on(EmergencyCallEvent)
    def route(event: EmergencyCallEvent) -> EmergencyRoute:
        seen.append(event)
        return ROUTE

    for sent in (b"to=911&from=+19195551234", b"to=911&from=%2B19195551234"):
        request = CallbackRequest("GET", "/", {"Authorization": AUTH}, b"", sent)
        assert bwhooks_receiver.handle(request).status == 200
    assert [event.from_ for event in seen] == [CALLER, CALLER]
    assert seen[0].raw["from"] == " 19195551234"  # as decoded, kept


def test_a_conflict_of_two_routes_is_no_route(errors: Callable[[], list[str]]) -> None:
    bwhooks_receiver = receiver()
    bwhooks_receiver.on(EmergencyCallEvent)(lambda event: ROUTE)
    bwhooks_receiver.on(EmergencyCallEvent)(lambda event: ROUTE)
    request = CallbackRequest("GET", "/", {"Authorization": AUTH}, b"", QUERY)
    no_route(bwhooks_receiver.handle(request))
    assert any("both answered" in line for line in errors())


# -- the testing kit ----------------------------------------------------------------------


@pytest.mark.parametrize("make_app", [wsgi.make_app, asgi.make_app])
def test_the_testing_kit_sends_a_routing_query(make_app: Callable[[Receiver], Any]) -> None:
    bwhooks_receiver = receiver()
    seen: list[EmergencyCallEvent] = []

    @bwhooks_receiver.on(EmergencyCallEvent)
    def route(event: EmergencyCallEvent) -> EmergencyRoute:
        seen.append(event)
        return ROUTE

    payload = fake_payload("emergencyCall")
    assert payload.keys() == {"to", "from"}
    assert payload["to"] == "911"
    assert payload["from"].startswith("+1")
    assert len(payload["from"]) == 12
    client = CallbackClient(make_app(bwhooks_receiver), (USER, PASSWORD))
    answer = client.send(payload, method="GET")
    assert (answer.status, client.exchange) == (200, (401, 200))
    assert json.loads(answer.body) == ROUTE.to_wire()
    event = fake_event("emergencyCall", to="933", from_=CALLER)
    assert client.send(event, method="GET").status == 200
    assert [(e.to, e.from_) for e in seen] == [("911", payload["from"]), ("933", CALLER)]


def test_fake_payload_overrides_and_leaves_out() -> None:
    assert fake_payload("emergencyCall", to="933", **{"from": CALLER}) == {
        "to": "933",
        "from": CALLER,
    }
    assert fake_payload(EmergencyCallEvent, from_=None).keys() == {"to"}
    extra: Mapping[str, str] = fake_payload("emergencyCall", trunk="t-1")
    assert extra["trunk"] == "t-1"
    assert fake_event("emergencyCall", trunk="t-1").raw["trunk"] == "t-1"


def test_a_threaded_server_routes_concurrent_calls() -> None:
    bwhooks_receiver = receiver()

    @bwhooks_receiver.on(EmergencyCallEvent)
    def route(event: EmergencyCallEvent) -> EmergencyRoute:
        return EmergencyRoute(aeui=event.from_[-4:], location_id="l")

    answers: dict[str, str] = {}

    def call(n: int) -> None:
        caller = f"+1919555{n:04d}"
        request = CallbackRequest(
            "GET", "/", {"Authorization": AUTH}, b"", f"to=911&from=%2B{caller[1:]}"
        )
        answer = bwhooks_receiver.handle(request)
        answers[caller] = json.loads(answer.body)["aeui"]

    threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == {f"+1919555{n:04d}": f"{n:04d}" for n in range(8)}


# -- bwhooks send -------------------------------------------------------------------------


def test_bwhooks_send_sends_a_routing_query_by_get(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from pytest_httpserver import HTTPServer
    from werkzeug.wrappers import Request, Response

    from bwhooks.cli import main

    received: list[Request] = []

    def endpoint(request: Request) -> Response:
        received.append(request)
        if request.headers.get("Authorization") != basic_authorization("u", "p"):
            return Response("", 401, {"WWW-Authenticate": 'Basic realm="x"'})
        return Response(ROUTE.to_json(), 200, content_type="application/json")

    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        server.expect_request("/callbacks").respond_with_handler(endpoint)
        url = server.url_for("/callbacks")
        assert main(["send", "emergencyCall", url, "--user", "u", "--password", "p"]) == 2
        assert "a routing query is only ever a GET: add --method GET" in capsys.readouterr().err
        assert received == []
        command = ["send", "emergencyCall", url, "--user", "u", "--password", "p", "--method"]
        assert main([*command, "GET", "--set", "to=933"]) == 0
    finally:
        server.clear()
        server.stop()
    assert [r.method for r in received] == ["GET", "GET"]
    assert received[1].args["to"] == "933"
    assert received[1].args["from"].startswith("+1")
    out = capsys.readouterr().out
    assert "GET emergencyCall 401 -> 200" in out
    assert json.loads(out.splitlines()[1]) == ROUTE.to_wire()
    with pytest.raises(SystemExit):
        main(["send", "--list-kinds"])
    listing = capsys.readouterr().out
    assert "Emergency Calling API: a 911 call's routing query (with --method GET):" in listing
    assert "  emergencyCall" in listing


def test_a_lower_handler_timeout_bounds_the_budget(errors: Callable[[], list[str]]) -> None:
    bwhooks_receiver = receiver(emergency_budget=30, handler_timeout=0.05)

    @bwhooks_receiver.on(EmergencyCallEvent)
    async def stuck(event: EmergencyCallEvent) -> EmergencyRoute:
        await asyncio.Event().wait()
        return ROUTE

    request = CallbackRequest("GET", "/", {"Authorization": AUTH}, b"", QUERY)
    no_route(asyncio.run(bwhooks_receiver.handle_async(request)))
    assert "stuck ran past 0.05s" in errors()[0]


def test_a_queued_handler_of_event_never_receives_a_routing_query(
    caplog: pytest.LogCaptureFixture,
) -> None:
    published: list[Event] = []

    class Keeping:
        def bind(self, handler: Any) -> Callable[[Event], None]:
            return published.append

    bwhooks_receiver = receiver()
    bwhooks_receiver.on(Event, queue=Keeping())(lambda event: None)
    request = CallbackRequest("GET", "/", {"Authorization": AUTH}, b"", QUERY)
    with caplog.at_level(logging.WARNING, "bwhooks"):
        no_route(bwhooks_receiver.handle(request))
    assert published == []
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("did not receive the emergencyCall request" in line for line in warned)
