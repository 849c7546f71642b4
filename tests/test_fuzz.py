"""Hostile input through Receiver.handle and every adapter.

Invariants: never a 5xx, never an exception out of the receiver, never a handler call
without valid credentials (nor, on a receiver that verifies signatures, without the right
signature: any other is ``403``, whatever the body); a valid callback is 2xx. The cases of
known shapes (deep nesting, long arrays, bodies that are not UTF-8, query strings and headers
of any text) get the one status each must get; hypothesis and a seeded generator add any
other shape.
``BWHOOKS_FUZZ_EXAMPLES`` sets how many hypothesis inputs per transport and
``BWHOOKS_HOSTILE_REQUESTS`` how many generated requests the acceptance run sends (`make
test` runs a quick subset of the first; `.ci/run` many more).
"""

from __future__ import annotations

import base64
import json
import os
import random
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import attrs
import pytest
from frameworks import TRANSPORTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import (
    AUTH,
    EXAMPLES,
    EXAMPLES_V2,
    JSON,
    PASSWORD,
    USER,
    get_example_names,
    http_request,
    load_get_example,
)

from bwhooks import (
    BasicAuth,
    CallbackRequest,
    CallbackResponse,
    EmergencyCallEvent,
    EmergencyRoute,
    HmacSignature,
    Receiver,
    current_request,
)
from bwhooks.adapters import wsgi
from bwhooks.auth import basic_authorization
from bwhooks.decoding.parsing import MAX_ARRAY_ELEMENTS, MAX_DEPTH
from bwhooks.devtools.demo import serving
from bwhooks.events import EVENT_CLASSES, Event
from bwhooks.events._base import thaw

EXAMPLES_COUNT = int(os.environ.get("BWHOOKS_FUZZ_EXAMPLES", "40"))
HOSTILE_REQUESTS = int(os.environ.get("BWHOOKS_HOSTILE_REQUESTS", "6000"))
KINDS = sorted({t for cls in EVENT_CLASSES for t in cls.EVENT_TYPES})
ROUTE = EmergencyRoute(aeui="fuzz", location_id="loc-fuzz")
FIELDS = [
    "callId",
    "time",
    "from",
    "to",
    "media",
    "diversion",
    "segmentCount",
    "hold",
    "activeMembers",
    "deliveryCode",
    "createdTime",
    "text",
    "tag",
    "cause",
]
CORE = ("handle", "handle_async")  # Receiver's own methods: headers are any text at all
RAW_QUERY = (*CORE, "asgi")  # transports that carry query bytes that are not UTF-8
# Django's async test client writes Content-Type in ASCII only
ANY_CONTENT_TYPE = tuple(name for name in TRANSPORTS if name != "django-async")


def read_everything(event: Event) -> None:
    """What a handler may do with any event it is given: read all of ``raw``, encode it."""
    json.dumps(thaw(event.raw))


@contextmanager
def counting_receiver(max_body_size: int = 1_000_000) -> Iterator[tuple[Receiver, list[str]]]:
    """A receiver whose catch-all handler reads every event whole and notes the
    ``Authorization`` it came with (``""`` without one). A v1 query edited out of its
    ``eventType`` that keeps ``to`` and ``from`` is an emergency routing query: routed."""
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), max_body_size=max_body_size)
    calls: list[str] = []

    @receiver.on(Event)
    def handler(event: Event) -> EmergencyRoute | None:
        read_everything(event)
        calls.append(current_request().headers.get("Authorization", ""))
        return ROUTE if isinstance(event, EmergencyCallEvent) else None

    yield receiver, calls


# -- bodies and headers of known shapes ------------------------------------------------------

SMS = (EXAMPLES / "sms-1.json").read_bytes().strip()
MESSAGE = (EXAMPLES_V2 / "message-received-1.json").read_bytes().strip()
MESSAGE_ELEMENT = json.dumps(json.loads(MESSAGE)[0]).encode()


def arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def in_sms(value: bytes) -> bytes:
    """The sms example with one more key holding ``value`` (its depth plus one)."""
    return SMS[:-1].rstrip() + b', "hostile": ' + value + b"}"


def in_message(value: bytes) -> bytes:
    """A Messaging v2 delivery whose message holds ``value`` (its depth plus three)."""
    return b'[{"type": "message-received", "message": {"hostile": ' + value + b"}}]"


def utf8_as_latin1(text: str) -> str:
    """A header value as a server hands it over (PEP 3333): its UTF-8 bytes, one character
    each."""
    return text.encode("utf-8").decode("latin-1")


def headers(
    authorization: str | None = AUTH, content_type: str | None = JSON, **more: str
) -> dict[str, str]:
    sent = {name.replace("_", "-"): value for name, value in more.items()}
    if authorization is not None:
        sent["Authorization"] = authorization
    if content_type is not None:
        sent["Content-Type"] = content_type
    return sent


@attrs.frozen
class Case:
    """One hostile request and the one status it must get (``reason``: in the answer)."""

    status: int
    body: bytes = b""
    method: str = "POST"
    headers: dict[str, str] = attrs.field(factory=headers)
    query: bytes = b""
    reason: str = ""
    only: tuple[str, ...] = ()  # the transports that can carry it (all when empty)


TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels"
NOT_UTF8 = "body is not UTF-8"
GENERAL_JSON = "application/json; charset=UTF-8"  # a JSON type the compiled path leaves alone
MANY_ELEMENTS = b"[" + b",".join([MESSAGE_ELEMENT] * (MAX_ARRAY_ELEMENTS + 1)) + b"]"

CASES: dict[str, Case] = {
    # nesting: each depth past the bound refused before anything recurses into it
    "deep arrays, 2,000 levels (4 KB)": Case(400, in_sms(arrays(2000)), reason=TOO_DEEP),
    "deep objects, ~300 KB": Case(400, in_sms(objects(50_000)), reason=TOO_DEEP),
    "deep arrays, ~300 KB": Case(400, in_sms(arrays(150_000)), reason=TOO_DEEP),
    "a deep array as the body": Case(400, arrays(2000), reason=TOO_DEEP),
    "deep in a Messaging v2 element": Case(400, in_message(arrays(2000)), reason=TOO_DEEP),
    "600 levels, short of the decoders' own limit": Case(400, in_sms(arrays(600)), reason=TOO_DEEP),
    "one level past the bound": Case(400, in_sms(arrays(MAX_DEPTH)), reason=TOO_DEEP),
    "one level past the bound, general path": Case(
        400, in_sms(objects(MAX_DEPTH)), headers=headers(content_type=GENERAL_JSON)
    ),
    "at the bound": Case(200, in_sms(arrays(MAX_DEPTH - 1))),
    "at the bound, in a Messaging v2 element": Case(200, in_message(objects(MAX_DEPTH - 3))),
    "at the bound, general path": Case(
        200, in_sms(objects(MAX_DEPTH - 1)), headers=headers(content_type=GENERAL_JSON)
    ),
    # long arrays
    "a long array of empty arrays (~300 KB, 2 levels)": Case(
        200, in_sms(b"[" + b",".join([b"[]"] * 100_000) + b"]")
    ),
    "a long media list": Case(
        200,
        MESSAGE.replace(b'"media"         : [', b'"media": [' + b'"https://x/m",' * 20_000),
    ),
    f"{MAX_ARRAY_ELEMENTS + 1} callbacks in one array": Case(
        400, MANY_ELEMENTS, reason=f"more than {MAX_ARRAY_ELEMENTS} callbacks"
    ),
    # encodings of the body
    "Latin-1 text": Case(400, in_sms('"café"'.encode("latin-1")), reason=NOT_UTF8),
    "an invalid UTF-8 sequence": Case(400, in_sms(b'"\xc3\x28"'), reason=NOT_UTF8),
    "UTF-8 with bytes no encoding has": Case(400, in_sms(b'"\xff\xfe\xfd"'), reason=NOT_UTF8),
    "UTF-16 with a BOM": Case(200, SMS.decode().encode("utf-16")),
    "UTF-8 with a BOM": Case(200, b"\xef\xbb\xbf" + SMS),
    "a lone surrogate escaped": Case(200, in_sms(b'"\\ud800"')),
    # sizes
    "over max_body_size": Case(413, in_sms(b'"' + b"x" * 1_000_000 + b'"'), reason="body over"),
    # header values of any text
    "Authorization not Latin-1 (as received)": Case(
        401, SMS, headers=headers(utf8_as_latin1("Basic ✓✓✓✓"))
    ),
    "Authorization not Latin-1": Case(401, SMS, headers=headers("Basic ✓✓✓✓"), only=CORE),
    "Authorization with a lone surrogate": Case(
        401, SMS, headers=headers("Basic \ud800"), only=CORE
    ),
    "Authorization: the right password in Latin-1": Case(
        401,
        SMS,
        headers=headers(
            "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode("latin-1")).decode()
        ),
    ),
    "Authorization: credentials that are not UTF-8": Case(
        401, SMS, headers=headers("Basic " + base64.b64encode(b"\xff:\xfe").decode())
    ),
    "Authorization: the right token, the scheme in Latin-1 letters": Case(
        401, SMS, headers=headers("Bäsic " + AUTH.split()[1])
    ),
    "no Authorization": Case(401, SMS, headers=headers(None)),
    "Content-Type not Latin-1 (as received)": Case(
        415,
        SMS,
        headers=headers(content_type=utf8_as_latin1("application/jsön")),
        only=ANY_CONTENT_TYPE,
    ),
    "Content-Type not Latin-1": Case(
        415, SMS, headers=headers(content_type="application/js✓n"), only=CORE
    ),
    "a JSON Content-Type with a charset not Latin-1": Case(
        200,
        SMS,
        headers=headers(content_type=utf8_as_latin1("application/json; charset=✓")),
        only=ANY_CONTENT_TYPE,
    ),
    "another header not Latin-1 (as received)": Case(
        200, SMS, headers=headers(X_Note=utf8_as_latin1("✓ ✓"))
    ),
    "another header not Latin-1": Case(200, SMS, headers=headers(X_Note="✓ \ud800"), only=CORE),
    "Content-Length in superscript digits": Case(
        400,
        SMS,
        headers=headers(Content_Length="²"),
        reason="invalid Content-Length",
        only=(*CORE, "asgi"),
    ),
    "Content-Length in Arabic-Indic digits": Case(
        400, SMS, headers=headers(Content_Length="٣"), only=CORE
    ),
    # query strings
    "a percent-encoded byte that is not UTF-8": Case(
        400,
        method="GET",
        query=b"eventType=answer&callId=%ff",
        reason="query string is not UTF-8",
    ),
    "a percent-encoded surrogate": Case(
        400, method="GET", query=b"eventType=answer&callId=%ed%a0%80"
    ),
    "a raw Latin-1 byte": Case(
        400, method="GET", query="eventType=answer&callId=é".encode("latin-1"), only=RAW_QUERY
    ),
    "raw UTF-8": Case(
        200, method="GET", query="eventType=answer&callId=✓".encode(), only=RAW_QUERY
    ),
    "percent-encoded text that is not Latin-1": Case(
        200, method="GET", query=b"eventType=answer&callId=%E2%9C%93"
    ),
    "invalid percent escapes": Case(200, method="GET", query=b"eventType=answer&callId=%zz%4"),
    "a deep JSON parameter": Case(
        400,
        method="GET",
        query=b"eventType=answer&diversion=" + quote(objects(2000)).encode(),
        reason=f"invalid diversion: {TOO_DEEP}",
    ),
    "a deep JSON parameter, 600 levels": Case(
        400, method="GET", query=b"eventType=answer&diversion=" + quote(arrays(600)).encode()
    ),
    "a deep JSON parameter of Voice v2": Case(
        400,
        method="GET",
        query=b"eventType=answer&accountId=1&applicationId=2&machineDetectionResult="
        + quote(objects(600)).encode(),
        reason=f"invalid machineDetectionResult: {TOO_DEEP}",
    ),
    "a GET without credentials": Case(
        401, method="GET", query=load_get_example("answer-1.txt"), headers=headers(None, None)
    ),
}


@pytest.mark.parametrize(
    ("transport", "name"),
    [
        (transport, name)
        for transport in sorted(TRANSPORTS)
        for name, case in sorted(CASES.items())
        if not case.only or transport in case.only  # the transports that can send it
    ],
)
def test_each_hostile_request_gets_its_status(transport: str, name: str) -> None:
    case = CASES[name]
    with counting_receiver() as (receiver, calls), TRANSPORTS[transport].open(receiver) as send:
        response = send(case.method, body=case.body, headers=case.headers, query=case.query)
    assert response.status == case.status, response.body[:300]
    if case.reason:
        assert case.reason in json.loads(response.body)["error"]
    assert len(calls) == (1 if case.status == 200 else 0)
    if case.status >= 400:
        assert b"recursion" not in response.body.lower()


# -- hypothesis: any shape ---------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
payloads = st.fixed_dictionaries(
    {"eventType": st.sampled_from(KINDS) | st.text(max_size=12)},
    optional=dict.fromkeys(FIELDS, json_values),
)
bodies = st.one_of(
    st.binary(max_size=300),
    payloads.map(lambda p: json.dumps(p).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    payloads.map(lambda p: json.dumps(p).encode()[: len(json.dumps(p)) // 2]),  # truncated
    st.integers(1, 3000).map(arrays),  # deeply nested
    st.integers(1, 2000).map(lambda depth: in_sms(arrays(depth))),
    st.integers(1, 600).map(lambda depth: in_sms(objects(depth))),
    st.integers(1, 600).map(lambda depth: in_message(arrays(depth))),
    payloads.map(lambda p: json.dumps(p, ensure_ascii=False).encode("latin-1", "replace")),
    st.just(b'{"eventType": "sms", "segmentCount": NaN, "deliveryCode": Infinity}'),
    st.just(b'{"eventType": "sms", "eventType": "answer", "callId": 1, "callId": "c-2"}'),
    st.just(b'{"eventType": "sms", "segmentCount": 123456789012345678901234567890}'),
    st.just(b'{"eventType": "sms", "text": "\\ud800"}'),
    st.just(b'\xff\xfe{"eventType": "sms"}'),
)
authorizations = st.one_of(
    st.just(AUTH),
    st.just(basic_authorization(USER, PASSWORD + "x")),
    st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60).map(
        lambda t: "Basic " + t  # header values are bytes on the wire: latin-1 at most
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80),
    st.text(st.characters(min_codepoint=32, exclude_categories=["Cs"]), max_size=40).map(
        lambda t: utf8_as_latin1("Basic " + t)  # UTF-8 bytes
    ),
    st.just("Basic " + "A" * 8000),
    st.none(),
)
CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/json,x",
]
queries = st.lists(
    st.tuples(
        st.sampled_from(["eventType", "callId", "media", "time", "hold", "diversion", "x"]),
        st.text(max_size=20) | st.integers(1, 600).map(lambda d: objects(d).decode()),
    ),
    max_size=6,
).map(  # percent-encoded, as on the wire: the decoded values are anything at all
    lambda pairs: "&".join(f"{k}={quote(v, safe='[],')}" for k, v in pairs).encode()
)


def requests(transport: str) -> st.SearchStrategy[dict[str, Any]]:
    content_types = CONTENT_TYPES
    if transport in ANY_CONTENT_TYPE:
        content_types = [*content_types, utf8_as_latin1("application/json; charset=✓")]
    return st.fixed_dictionaries(
        {
            "method": st.sampled_from(["POST", "POST", "POST", "GET", "HEAD", "PUT", "OPTIONS"]),
            "body": bodies,
            "authorization": authorizations,
            "content_type": st.sampled_from(content_types),
            "query": queries | st.sampled_from([b"callId=%ff", b"x=%ed%a0%80", b"eventType=sms&%"]),
        }
    )


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_hostile_requests_never_get_a_5xx(transport: str) -> None:
    with (
        counting_receiver(max_body_size=4096) as (receiver, calls),
        TRANSPORTS[transport].open(receiver) as send,
    ):

        @settings(
            max_examples=EXAMPLES_COUNT,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(requests(transport))
        def check(request: dict[str, Any]) -> None:
            sent = headers(request["authorization"], request["content_type"])
            before = len(calls)
            method = request["method"]
            response = send(method, body=request["body"], headers=sent, query=request["query"])
            assert response.status < 500, (response.status, response.body)
            if method in ("PUT", "OPTIONS"):
                assert response.status == 405
            elif method == "HEAD":
                assert response.status == 200
            elif request["authorization"] != AUTH:
                assert response.status == 401
            if request["authorization"] != AUTH:
                assert len(calls) == before, "a handler ran without valid credentials"
            if (
                response.status >= 400
                and response.headers.get("Content-Type") == "application/json"
            ):
                reason = json.loads(response.body)["error"]  # ours: a short JSON reason
                assert set(json.loads(response.body)) == {"error"}
                assert "recursion" not in reason

        check()
    assert all(authorization == AUTH for authorization in calls)


# -- hypothesis: signatures of any shape, on a receiver that verifies them -----------------

SIGNATURE_SECRET = "fuzzed-shared-secret-0123456789"
SIGNED = {
    "toll-free": HmacSignature.toll_free(SIGNATURE_SECRET),
    "subscriptions": HmacSignature.subscriptions(SIGNATURE_SECRET),
}
RIGHT = "<the right signature>"  # replaced by the body's signature when sent
SIGNED_BODIES = [  # the signed families' own bodies, whole, edited and cut short
    path.read_bytes()
    for folder in ("tollfree", "subscriptions")
    for path in sorted((EXAMPLES.parent.parent / "examples" / "more" / folder).glob("*.json"))
]
signed_bodies = st.sampled_from(SIGNED_BODIES).flatmap(
    lambda body: st.one_of(
        st.just(body),
        st.integers(0, len(body)).map(lambda n: body[:n]),
        st.binary(max_size=8).map(lambda extra: body[:-2] + extra + body[-2:]),
    )
)
signature_values = st.one_of(
    st.just(RIGHT),
    st.none(),
    st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=90),
    st.binary(min_size=32, max_size=32).map(bytes.hex),
    st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()),
    st.binary(min_size=32, max_size=32).map(lambda b: base64.urlsafe_b64encode(b).decode()),
    st.just("f" * 10_240),
)


@pytest.mark.parametrize("family", sorted(SIGNED))
@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_hostile_signatures_never_get_a_5xx_and_only_a_signed_body_is_read(
    transport: str, family: str
) -> None:
    signature = SIGNED[family]
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), signature=signature, max_body_size=4096)
    calls: list[bytes] = []
    receiver.on(Event)(lambda event: calls.append(b""))
    with TRANSPORTS[transport].open(receiver) as send:

        @settings(
            max_examples=EXAMPLES_COUNT,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(bodies | signed_bodies, signature_values)
        def check(body: bytes, value: str | None) -> None:
            sent = headers()
            signed = value == RIGHT
            if value is not None:
                sent[signature.header] = signature.sign(body) if signed else value
            before = len(calls)
            response = send("POST", body=body, headers=sent)
            if len(body) > 4096:
                assert response.status == 413  # before any HMAC
            elif signed:
                assert response.status in (200, 204, 400), (response.status, response.body)
            else:
                assert response.status == 403, (response.status, response.body)
            if not signed:
                assert len(calls) == before, "a handler ran without the right signature"

        check()


# -- the acceptance run: thousands of generated requests, core and WSGI over HTTP ----------


@attrs.frozen
class Hostile:
    """A generated request, and the statuses it may get."""

    method: str
    body: bytes
    headers: dict[str, str]
    query: bytes
    expected: frozenset[int]
    credentials: bool  # the right ones, exactly


def example_bodies() -> list[bytes]:
    found = [path.read_bytes() for path in sorted(EXAMPLES.glob("*.json"))]
    return found + [path.read_bytes() for path in sorted(EXAMPLES_V2.glob("*.json"))]


def mutate(rng: random.Random, data: bytes) -> bytes:
    """A few random edits: bytes flipped, removed, repeated, brackets and quotes put in,
    the end cut off."""
    edited = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        position = rng.randrange(len(edited) + 1)
        action = rng.randrange(6)
        if action == 0 and edited:
            edited[min(position, len(edited) - 1)] = rng.randrange(256)
        elif action == 1:
            del edited[position : position + rng.randint(1, 8)]
        elif action == 2:
            edited[position:position] = edited[position : position + rng.randint(1, 40)]
        elif action == 3:
            edited[position:position] = rng.choice([b"[", b"{", b"]", b"}", b'"', b"\\", b","])
        elif action == 4:
            edited[position:position] = rng.choice([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"])
        else:
            del edited[position:]
    return bytes(edited)


def as_sent(query: bytes) -> bytes:
    """A query string as a client sends it: what a URL cannot carry percent-encoded."""
    return quote(query, safe="=&%+[],:").encode()


def nesting(rng: random.Random) -> bytes:
    depth = rng.choice([rng.randint(MAX_DEPTH + 1, 3000), rng.randint(20_000, 60_000)])
    if depth > 3000 and rng.random() < 0.9:  # the ~300 KB ones sparingly: they take longer
        depth = rng.randint(MAX_DEPTH + 1, 3000)
    inner = rng.choice([arrays, objects])(depth - 1)
    where = rng.randrange(4)
    if where == 0:
        return b"[" + inner + b"]"
    if where == 1:
        return in_sms(inner)
    if where == 2:
        return in_message(inner)
    return b'{"eventType": "' + rng.choice(KINDS).encode() + b'", "a": ' + inner + b"}"


def generate(rng: random.Random, examples: list[bytes], queries: list[bytes]) -> Hostile:
    """One hostile request of a random shape: hostile nesting, long arrays, bodies that are
    not UTF-8, random edits of the documented bodies and query strings, bad credentials,
    bad content types, other methods."""
    shape = rng.randrange(100)
    ok = frozenset({200, 400})  # a request whose status needs a JSON parser to tell
    if shape < 20:
        return Hostile("POST", nesting(rng), headers(), b"", frozenset({400}), True)
    if shape < 25:
        depth = rng.randint(1, MAX_DEPTH - 1)
        body = in_sms(rng.choice([arrays, objects])(depth))
        return Hostile("POST", body, headers(), b"", frozenset({200}), True)
    if shape < 30:
        count = rng.choice([rng.randint(1, 50_000), MAX_ARRAY_ELEMENTS + rng.randint(1, 50)])
        if rng.random() < 0.5:
            body = in_sms(b"[" + b",".join([b"1"] * count) + b"]")
            return Hostile("POST", body, headers(), b"", frozenset({200}), True)
        body = b"[" + b",".join([MESSAGE_ELEMENT] * min(count, MAX_ARRAY_ELEMENTS + 50)) + b"]"
        status = 400 if count > MAX_ARRAY_ELEMENTS else 200
        return Hostile("POST", body, headers(), b"", frozenset({status}), True)
    if shape < 38:
        edited = bytearray(rng.choice(examples))
        position = rng.randrange(1, len(edited) - 1)
        edited[position:position] = rng.choice([b"\xff", b"\xfe\xfd", b"\xc0\xaf"])
        return Hostile("POST", bytes(edited), headers(), b"", frozenset({400}), True)
    if shape < 70:
        body = mutate(rng, rng.choice(examples))
        content_type = rng.choice([JSON, "application/json", GENERAL_JSON])
        return Hostile("POST", body, headers(content_type=content_type), b"", ok, True)
    if shape < 80:
        query = as_sent(
            mutate(rng, rng.choice(queries)) if rng.random() < 0.7 else rng.choice(queries)
        )
        if rng.random() < 0.3:  # text that is not UTF-8
            query += rng.choice([b"&callId=%ff", b"&x=%ed%a0%80", b"&%C3=1"])
            return Hostile("GET", b"", headers(content_type=None), query, frozenset({400}), True)
        if rng.random() < 0.3:  # deep JSON: refused where an object is read (diversion of v1)
            query += b"&diversion=" + quote(objects(rng.randint(MAX_DEPTH + 1, 600))).encode()
        return Hostile("GET", b"", headers(content_type=None), query, ok, True)
    if shape < 92:
        wrong = rng.choice(
            [
                None,
                basic_authorization(USER, PASSWORD + "x"),
                basic_authorization(USER.upper(), PASSWORD),
                utf8_as_latin1("Basic " + "✓" * rng.randint(1, 20)),
                "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode("latin-1")).decode(),
                "Basic " + base64.b64encode(rng.randbytes(rng.randint(0, 30))).decode(),
                AUTH[:-2],
                "Bearer " + AUTH.split()[1],
            ]
        )
        method = rng.choice(["POST", "GET"])
        body = rng.choice([nesting(rng), mutate(rng, rng.choice(examples)), SMS])
        return Hostile(
            method,
            body if method == "POST" else b"",
            headers(wrong),
            as_sent(rng.choice(queries)) if method == "GET" else b"",
            frozenset({401}),
            False,
        )
    if shape < 97:
        wrong_type = rng.choice(
            [None, "text/plain", "image/png", utf8_as_latin1("application/jsön"), "json"]
        )
        body = rng.choice([SMS, nesting(rng)])
        return Hostile("POST", body, headers(content_type=wrong_type), b"", frozenset({415}), True)
    method = rng.choice(["PUT", "DELETE", "PATCH", "HEAD"])
    status = 200 if method == "HEAD" else 405
    return Hostile(method, b"", headers(rng.choice([AUTH, None])), b"", frozenset({status}), False)


@attrs.define
class Tally:
    """What the acceptance run counts."""

    sent: int = 0
    server_errors: list[str] = attrs.Factory(list)
    escaped: list[str] = attrs.Factory(list)
    unauthenticated_dispatches: int = 0
    unexpected: list[str] = attrs.Factory(list)
    statuses: dict[int, int] = attrs.Factory(dict)


def run_hostile(
    send: Callable[[Hostile], CallbackResponse], calls: list[str], count: int, seed: int
) -> Tally:
    rng = random.Random(seed)
    examples = example_bodies()
    queries = [load_get_example(name) for name in get_example_names()]
    tally = Tally()
    for index in range(count):
        request = generate(rng, examples, queries)
        before = len(calls)
        try:
            response = send(request)
        except Exception:
            tally.escaped.append(f"#{index}: {traceback.format_exc()}")
            continue
        tally.sent += 1
        tally.statuses[response.status] = tally.statuses.get(response.status, 0) + 1
        if response.status >= 500:
            tally.server_errors.append(f"#{index} {response.status}: {response.body[:200]!r}")
        if not request.credentials and len(calls) != before:
            tally.unauthenticated_dispatches += 1
        if response.status not in request.expected:
            shown = (request.method, request.body[:80], request.query[:80], request.headers)
            tally.unexpected.append(f"#{index} {response.status} for {shown}")
    return tally


def check_tally(tally: Tally, calls: list[str], count: int) -> None:
    assert tally.escaped == [], tally.escaped[:3]
    assert tally.server_errors == [], tally.server_errors[:3]
    assert tally.unauthenticated_dispatches == 0
    assert all(authorization == AUTH for authorization in calls)
    assert tally.unexpected == [], tally.unexpected[:5]
    assert tally.sent == count
    assert tally.statuses.get(200, 0) > count // 10  # the run reached the handlers too
    assert tally.statuses.get(400, 0) > count // 5


def test_thousands_of_hostile_requests_through_receiver_handle() -> None:
    with counting_receiver() as (receiver, calls):

        def send(request: Hostile) -> CallbackResponse:
            return receiver.handle(
                CallbackRequest(
                    request.method, "/callbacks", request.headers, request.body, request.query
                )
            )

        tally = run_hostile(send, calls, HOSTILE_REQUESTS, seed=20)
    check_tally(tally, calls, HOSTILE_REQUESTS)


def test_thousands_of_hostile_requests_through_the_wsgi_middleware_over_http() -> None:
    escaped: list[str] = []
    lock = threading.Lock()

    def user_app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("299 Mine", [("Content-Type", "text/plain")])
        return [b"mine"]

    with counting_receiver() as (receiver, calls):
        middleware = wsgi.CallbackMiddleware(user_app, receiver)

        def guarded(environ: Any, start_response: Any) -> list[bytes]:
            try:
                return list(middleware(environ, start_response))
            except BaseException:  # werkzeug would answer 500: count it as escaped too
                with lock:
                    escaped.append(traceback.format_exc())
                raise

        with serving(guarded) as base_url:

            def send(request: Hostile) -> CallbackResponse:
                target = "/callbacks" + ("?" + request.query.decode() if request.query else "")
                return http_request(base_url, request.method, target, request.body, request.headers)

            tally = run_hostile(send, calls, HOSTILE_REQUESTS, seed=20)
    assert escaped == [], escaped[:3]
    check_tally(tally, calls, HOSTILE_REQUESTS)
