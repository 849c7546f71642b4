"""Hostile input, property-tested through Receiver.handle and every adapter.

Invariants: never a 5xx, never an exception out of the receiver, never a handler call
without valid credentials; a valid callback is 2xx. ``BWHOOKS_FUZZ_EXAMPLES`` sets how many
inputs per transport (`make test` runs a quick subset; `.ci/run` many more).
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

import pytest
from frameworks import TRANSPORTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import AUTH, PASSWORD, USER

from bwhooks import BasicAuth, Receiver
from bwhooks.auth import basic_authorization
from bwhooks.events import EVENT_CLASSES, Event

EXAMPLES = int(os.environ.get("BWHOOKS_FUZZ_EXAMPLES", "40"))
KINDS = sorted({t for cls in EVENT_CLASSES for t in cls.EVENT_TYPES})
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
    st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth),  # deeply nested
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
    st.just("Basic " + "A" * 8000),
    st.none(),
)
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json,x",
    ]
)
queries = st.lists(
    st.tuples(
        st.sampled_from(["eventType", "callId", "media", "time", "hold", "diversion", "x"]),
        st.text(max_size=20),
    ),
    max_size=6,
).map(  # percent-encoded, as on the wire: the decoded values are anything at all
    lambda pairs: "&".join(f"{k}={quote(v, safe='[],')}" for k, v in pairs).encode()
)
requests = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["POST", "POST", "POST", "GET", "HEAD", "PUT", "OPTIONS"]),
        "body": bodies,
        "authorization": authorizations,
        "content_type": content_types,
        "query": queries,
    }
)


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_hostile_requests_never_get_a_5xx(transport: str) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), max_body_size=4096)
    calls: list[tuple[str | None, Event]] = []
    current: dict[str, Any] = {}

    @receiver.on(Event)
    def handler(event: Event) -> None:
        calls.append((current.get("authorization"), event))

    with TRANSPORTS[transport].open(receiver) as send:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(requests)
        def check(request: dict[str, Any]) -> None:
            headers = {"Host": "localhost"}
            if request["authorization"] is not None:
                headers["Authorization"] = request["authorization"]
            if request["content_type"] is not None:
                headers["Content-Type"] = request["content_type"]
            current["authorization"] = request["authorization"]
            before = len(calls)
            try:
                query = request["query"].decode("utf-8")
            except UnicodeDecodeError:
                query = ""
            response = send(
                request["method"],
                body=request["body"],
                headers=headers,
                query=query.encode("utf-8", "replace"),
            )
            assert response.status < 500, (response.status, response.body)
            if request["authorization"] != AUTH:
                assert len(calls) == before, "a handler ran without valid credentials"
                assert response.status in (200, 401, 405, 400) or request["method"] == "HEAD"
            if (
                response.status >= 400
                and response.headers.get("Content-Type") == "application/json"
            ):
                assert set(json.loads(response.body)) == {"error"}  # ours: a short JSON reason

        check()
    assert all(authorization == AUTH for authorization, _ in calls)
