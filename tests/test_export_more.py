"""`bwhooks export` of toll-free verification results, Subscriptions v2 notifications, endpoint
events and Emergency Calling API queries: phone numbers replaced consistently by fictional
ones (the query's ``from`` and the route's ``callback`` alike), the account id by its
placeholder, a device's name and an endpoint's tag replaced, Bandwidth's reasons kept with
what looks personal inside them replaced; ids, statuses, codes and times kept; the fixture
still typed as the same class."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from test_export import recorded

from bwhooks.devtools.fixtures import load_fixture, write_fixtures
from bwhooks.devtools.recording import Delivery, typed
from bwhooks.testing.recorded import Fixture

MORE = Path(__file__).parent / "examples" / "more"
JSON = "application/json; charset=utf-8"
EXAMPLES = sorted(
    p
    for folder in ("tollfree", "subscriptions", "endpoints")
    for p in (MORE / folder).glob("*.json")
)
#: The keys whose values are kept as they are (ids, statuses, codes, times, flags).
KEPT = frozenset(
    {
        "status",
        "internalTicketNumber",
        "denialStatusCode",
        "statusCode",
        "resubmitAllowed",
        "blocked",
        "errorCode",
        "notificationType",
        "requestId",
        "oldNnid",
        "newNnid",
        "activation",
        "endpointId",
        "type",
        "creationTimestamp",
        "expirationTimestamp",
        "eventTime",
        "eventType",
        "deviceId",
    }
)
NAME = "Zoë Ångström's laptop"


def delivery(payload: Any, number: int = 0, **options: Any) -> Delivery:
    return attrs.evolve(recorded(payload, b"", "", body_type=JSON, **options), id=number)


def exported(tmp_path: Path, deliveries: list[Delivery]) -> list[Fixture]:
    return [load_fixture(p) for p in write_fixtures(deliveries, tmp_path / "fixtures")]


def events_of(fixture: Fixture) -> list[dict[str, Any]]:
    headers = (("Content-Type", fixture.content_type),)
    events, refused = typed(fixture.method, fixture.path, fixture.query, headers, fixture.body)
    assert refused is None, refused
    assert events is not None
    return [dict(event) for event in events]


def pairs(value: Any, parent: str = "") -> list[tuple[str, Any]]:
    """Every (key, leaf value) of a JSON document, in order."""
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in pairs(item, key)]
    if isinstance(value, list):
        return [pair for item in value for pair in pairs(item, parent)]
    return [(parent, value)]


def with_device(path: Path) -> dict[str, Any]:
    payload = dict(json.loads(path.read_bytes()))
    if "endpointId" in payload:
        payload["device"] = {
            "deviceId": "dev-42",
            "deviceName": NAME,
            "status": "CONNECTED",
            "creationTimestamp": "2021-01-01T00:00:00Z",
        }
    return payload


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_example_is_exported_scrubbed_and_typed_as_the_same_class(
    tmp_path: Path, example: Path
) -> None:
    payload = with_device(example)
    original = delivery(payload)
    (fixture,) = exported(tmp_path, [original])
    scrubbed = json.loads(fixture.body)
    assert list(scrubbed) == list(payload)  # the structure and its order
    before, after = pairs(payload), pairs(scrubbed)
    assert [key for key, _ in after] == [key for key, _ in before]
    for (key, old), (_, new) in zip(before, after, strict=True):
        if key in KEPT:
            assert new == old, key
        if key in ("phoneNumber", "accountId", "deviceName", "tag", "overwriterCarrier"):
            assert new != old, key
            assert new, key  # replaced, never emptied
        if key == "phoneNumber":
            assert new.startswith("+1555")  # a fictional number, written the same way
    text = fixture.body.decode()
    if "phoneNumber" in payload:
        assert payload["phoneNumber"][2:] not in text
    assert "Zoë" not in text
    assert "9900900" not in text
    (event,) = events_of(fixture)
    (recorded_event,) = original.events or ()
    assert event["class"] == recorded_event["class"]
    assert fixture.event_types == (recorded_event["event_type"],)


def test_a_number_is_replaced_by_the_same_one_across_families_and_deliveries(
    tmp_path: Path,
) -> None:
    number = "+18885550142"
    status = {"accountId": "9900900", "phoneNumber": number, "status": "VERIFIED"}
    denial = {**status, "status": "UNVERIFIED", "denialStatusCode": 511}
    transfer = {"notificationType": "PORTOUT_REQUEST", "phoneNumber": number, "requestId": "r-1"}
    fixtures = exported(tmp_path, [delivery(status, 0), delivery(denial, 1), delivery(transfer, 2)])
    replaced = {json.loads(f.body)["phoneNumber"] for f in fixtures}
    assert len(replaced) == 1
    assert replaced != {number}
    accounts = {json.loads(f.body).get("accountId") for f in fixtures[:2]}
    assert len(accounts) == 1
    assert accounts != {"9900900"}


def test_bandwidths_reasons_keep_their_words_and_lose_what_names_someone(tmp_path: Path) -> None:
    payload = json.loads((MORE / "tollfree" / "denial-1.json").read_bytes())
    payload["declineReasonDescription"] = (
        "Website not accessible; call +19195550199 or write zoe@example.com"
    )
    payload["additionalDenialReasons"][0]["reason"] = "Opt-in for 919-555-0177 missing"
    failure = json.loads((MORE / "tollfree" / "failure-1.json").read_bytes())
    failure["errors"] = ["contact: jane@example.org", "Entries must be a valid array"]
    denial_fixture, failure_fixture = exported(
        tmp_path, [delivery(payload, 0), delivery(failure, 1)]
    )
    denial = json.loads(denial_fixture.body)
    description = denial["declineReasonDescription"]
    assert description.startswith("Website not accessible; call +1555")
    for personal in ("9195550199", "zoe@example.com"):
        assert personal not in description
    reason = denial["additionalDenialReasons"][0]["reason"]
    assert reason.startswith("Opt-in for ")
    assert "555-0177" not in reason
    assert denial["additionalDenialReasons"][1]["reason"] == "Reason B"
    errors = json.loads(failure_fixture.body)["errors"]
    assert "jane@example.org" not in errors[0]
    assert errors[1] == "Entries must be a valid array"
    assert json.loads(failure_fixture.body)["errorMessage"] == "Invalid toll free phone number"


def test_an_emergency_query_keeps_911_and_replaces_the_caller_as_in_its_route(
    tmp_path: Path,
) -> None:
    route = {"aeui": "aeui-jane", "callback": "+19195551234", "name": "Jane Doe", "lat": 35.6}
    query = "to=911&from=%2B19195551234"
    made = recorded(
        json.dumps(route).encode(),
        b"",
        "application/json",
        method="GET",
        query=query,
    )
    made = attrs.evolve(made, body=b"", response_body=json.dumps(route).encode())
    (fixture,) = exported(tmp_path, [made])
    assert fixture.method == "GET"
    assert fixture.query.startswith("to=911&from=%2B1555")
    caller = fixture.query.split("from=")[1].replace("%2B", "+")
    answer = json.loads(fixture.answer)
    assert answer["callback"] == caller  # the same caller, the same fictional number
    assert "Jane" not in fixture.answer.decode()
    (event,) = events_of(fixture)
    assert event["class"] == "EmergencyCallEvent"
    assert event["fields"]["to"] == "911"
    test_call = attrs.evolve(made, query="to=933&from=%2B19195551234")
    (fixture,) = exported(tmp_path / "933", [test_call])
    assert fixture.query.startswith("to=933&")
