"""Toll-free verification results: four shapes told apart by their keys, both spellings of
the renamed fields, never refused for their content (Bandwidth retries for 24 hours),
answered ``204``, signed bodies verified through every way in, bandwidth-sdk's models as an
independent producer."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import warnings
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from bandwidth import models as sdk
from bandwidth_delivery import as_bandwidth, load_more, more_names
from support import AUTH, JSON, PASSWORD, USER, Send

from bwhooks import (
    AdditionalDenialReason,
    BasicAuth,
    CallbackRequest,
    Event,
    FieldConversionWarning,
    HmacSignature,
    Receiver,
    TollFreeBlockedEvent,
    TollFreeDenialEvent,
    TollFreeFailureEvent,
    TollFreeStatusEvent,
    TollFreeVerificationEvent,
    parse_event,
    to_payload,
)
from bwhooks import events as bwhooks_events
from bwhooks.decoding.compiled import decode_body
from bwhooks.families import DEFAULT, TollFree

Connect = Callable[[Receiver], Send]
SECRET = "a-shared-secret-of-tfv"  # 16 to 64 printable characters, as Bandwidth requires
HEADER = "x-bandwidth-signature-hmac-sha256"
EXPECTED: dict[str, type[TollFreeVerificationEvent]] = {
    "blocked-1.json": TollFreeBlockedEvent,
    "denial-1.json": TollFreeDenialEvent,
    "denial-2022.json": TollFreeDenialEvent,
    "failure-1.json": TollFreeFailureEvent,
    "verified-1.json": TollFreeStatusEvent,
}


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {HEADER: hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def collecting(receiver: Receiver) -> list[Event]:
    seen: list[Event] = []
    receiver.on(TollFreeVerificationEvent)(seen.append)
    return seen


def test_the_examples_are_the_four_shapes() -> None:
    assert more_names("tollfree") == sorted(EXPECTED)
    for name, cls in EXPECTED.items():
        event = parse_event(json.loads(load_more("tollfree", name)))
        assert type(event) is cls, name
        assert isinstance(event, TollFreeVerificationEvent)
        assert event.account_id == "9900900"
        assert event.phone_number is not None
        assert event.phone_number.startswith("+18")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_shape_is_received_through_every_way_in_and_answered_204(
    connect: Connect, name: str
) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    seen = collecting(receiver)
    answered = as_bandwidth(connect(receiver), load_more("tollfree", name))
    assert (answered.status, answered.body) == (204, b"")
    (event,) = seen
    assert type(event) is EXPECTED[name]
    assert event == parse_event(json.loads(load_more("tollfree", name)))


def test_each_shape_reads_its_fields() -> None:
    denial = parse_event(json.loads(load_more("tollfree", "denial-1.json")))
    assert denial == TollFreeDenialEvent(
        account_id="9900900",
        phone_number="+18885555555",
        status="UNVERIFIED",
        internal_ticket_number="acde070d-8c4c-4f0d-9d8a-162843c10333",
        denial_status_code=511,
        decline_reason_description=(
            "Invalid Information - Can't Validate URL - Website is not accessible / not available"
        ),
        resubmit_allowed=True,
        additional_denial_reasons=(
            AdditionalDenialReason(status_code=512, reason="Reason A", resubmit_allowed=True),
            AdditionalDenialReason(status_code=513, reason="Reason B", resubmit_allowed=True),
        ),
        blocked=False,
    )
    assert denial.event_type == "tollFreeDenial"
    failure = parse_event(json.loads(load_more("tollfree", "failure-1.json")))
    assert isinstance(failure, TollFreeFailureEvent)
    assert (failure.error_code, failure.error_message) == ("400", "Invalid toll free phone number")
    assert failure.errors == ("optInWorkflowImageURLs: Entries must be a valid array of objects.",)
    blocked = parse_event(json.loads(load_more("tollfree", "blocked-1.json")))
    assert isinstance(blocked, TollFreeBlockedEvent)
    assert blocked.blocked is True
    assert blocked.blocked_reason == "Toll-free number was used to send spam messages"
    status = parse_event(json.loads(load_more("tollfree", "verified-1.json")))
    assert status == TollFreeStatusEvent(
        account_id="9900900", phone_number="+18335555555", status="VERIFIED"
    )


BASE = {"accountId": "9900900", "phoneNumber": "+18885555555"}


def test_both_spellings_of_the_denial_description_read_into_one_attribute() -> None:
    old = parse_event({**BASE, "denialReasonDescription": "Disallowed Content - Gambling"})
    new = parse_event({**BASE, "declineReasonDescription": "Disallowed Content - Gambling"})
    assert isinstance(old, TollFreeDenialEvent)
    assert isinstance(new, TollFreeDenialEvent)
    assert old.decline_reason_description == new.decline_reason_description
    assert old.decline_reason_description == "Disallowed Content - Gambling"
    both = parse_event(
        {**BASE, "declineReasonDescription": "current", "denialReasonDescription": "older"}
    )
    assert isinstance(both, TollFreeDenialEvent)
    assert both.decline_reason_description == "current"
    assert both.raw["denialReasonDescription"] == "older"


@pytest.mark.parametrize(
    ("payload", "cls"),
    [
        ({"status": "VERIFIED"}, TollFreeStatusEvent),
        ({"status": "PENDING", "blocked": False}, TollFreeStatusEvent),
        ({"status": "UNVERIFIED", "blocked": True}, TollFreeBlockedEvent),
        ({"blockedReason": "spam"}, TollFreeBlockedEvent),
        ({"denialStatusCode": 511}, TollFreeDenialEvent),
        ({"resubmitAllowed": False, "blocked": True}, TollFreeDenialEvent),
        ({"additionalDenialReasons": []}, TollFreeDenialEvent),
        ({"errorCode": "400"}, TollFreeFailureEvent),
        ({"isBadRequest": True, "errorMessage": "bad"}, TollFreeFailureEvent),
        ({"errors": ["x"], "status": "UNVERIFIED"}, TollFreeFailureEvent),
    ],
)
def test_the_shape_is_decided_by_the_keys_present(
    payload: Mapping[str, Any], cls: type[Event]
) -> None:
    assert type(parse_event({**BASE, **payload})) is cls
    assert DEFAULT.class_for({**BASE, **payload}) is cls


def test_the_older_failure_flag_is_read() -> None:
    event = parse_event({**BASE, "isBadRequest": True, "errorMessage": "bad request"})
    assert isinstance(event, TollFreeFailureEvent)
    assert (event.is_bad_request, event.error_message, event.error_code) == (
        True,
        "bad request",
        None,
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"phoneNumber": "+18885555555", "status": "VERIFIED"},  # no accountId
        {"accountId": "9900900", "status": "VERIFIED"},  # no phoneNumber
        {**BASE, "eventType": "answer"},
        {**BASE, "type": "message-delivered", "message": {}},
        {**BASE, "notificationType": "PORTOUT_REQUEST"},
    ],
)
def test_only_objects_with_its_keys_and_no_others_family_keys_are_toll_free(
    payload: Mapping[str, Any],
) -> None:
    assert TollFree().class_for(payload) is None
    assert TollFree().class_for({**BASE, "status": "VERIFIED"}, in_array=True) is None


def test_unknown_keys_are_kept_and_it_goes_back_to_its_wire_form() -> None:
    payload = {**BASE, "status": "VERIFIED", "brandNew": {"nested": [1, 2]}}
    event = parse_event(payload)
    assert event.raw["brandNew"] == {"nested": [1, 2]}
    assert to_payload(event) == payload
    denial = parse_event(json.loads(load_more("tollfree", "denial-1.json")))
    assert parse_event(to_payload(denial)) == denial
    old = parse_event(json.loads(load_more("tollfree", "denial-2022.json")))
    assert parse_event(to_payload(old)) == old


def test_a_field_that_cannot_be_converted_is_none_with_a_warning_never_refused(
    connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    payload = {
        **BASE,
        "denialStatusCode": "five-eleven",
        "blocked": "perhaps",
        "additionalDenialReasons": [
            {"statusCode": "bad", "reason": "Reason A", "resubmitAllowed": True},
            7,
            {"statusCode": 513, "reason": "Reason B"},
        ],
        "declineReasonDescription": "kept",
    }
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    seen = collecting(receiver)
    with caplog.at_level(logging.WARNING, "bwhooks.decoding.parsing"):
        answered = as_bandwidth(connect(receiver), payload)
    assert answered.status == 204
    (event,) = seen
    assert isinstance(event, TollFreeDenialEvent)
    assert (event.denial_status_code, event.blocked) == (None, None)
    assert event.decline_reason_description == "kept"
    assert event.additional_denial_reasons == (
        AdditionalDenialReason(reason="Reason A", resubmit_allowed=True),
        AdditionalDenialReason(status_code=513, reason="Reason B"),
    )
    assert event.raw["denialStatusCode"] == "five-eleven"
    (record,) = [r for r in caplog.records if r.name == "bwhooks.decoding.parsing"]
    text = record.getMessage()
    for path in ("denialStatusCode", "blocked", "additionalDenialReasons[0].statusCode"):
        assert path in text
    assert "additionalDenialReasons[1]" in text
    assert "five-eleven" not in text
    assert "perhaps" not in text


def test_the_conversion_warning_is_a_field_conversion_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FieldConversionWarning)
        event = parse_event({**BASE, "errors": {"not": "a list"}, "errorCode": 400})
    assert isinstance(event, TollFreeFailureEvent)
    assert (event.errors, event.error_code) == (None, "400")  # a number is its string
    assert [w.category for w in caught] == [FieldConversionWarning]


def test_a_handlers_answer_is_ignored_and_204_sent(connect: Connect) -> None:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))
    receiver.on(TollFreeVerificationEvent)(lambda event: "<Response/>")
    answered = as_bandwidth(connect(receiver), load_more("tollfree", "verified-1.json"))
    assert (answered.status, answered.body) == (204, b"")


def test_the_compiled_path_leaves_them_to_the_general_one() -> None:
    for name in EXPECTED:
        assert decode_body(load_more("tollfree", name)) is None, name


# -- signed bodies -----------------------------------------------------------------------


def signed_receiver() -> tuple[Receiver, list[Event]]:
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)), signature=HmacSignature.toll_free(SECRET))
    return receiver, collecting(receiver)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_signed_result_is_accepted_with_the_right_secret(connect: Connect, name: str) -> None:
    receiver, seen = signed_receiver()
    body = load_more("tollfree", name)  # the bytes exactly as sent, whitespace and all
    answered = as_bandwidth(connect(receiver), body, signed(body))
    assert answered.status == 204
    assert [type(e) for e in seen] == [EXPECTED[name]]


def test_a_wrong_or_missing_signature_is_refused_403_and_no_handler_runs(
    connect: Connect,
) -> None:
    receiver, seen = signed_receiver()
    send = connect(receiver)
    body = load_more("tollfree", "denial-1.json")
    reformatted = json.dumps(json.loads(body)).encode()  # same JSON, other bytes
    for headers, sent in (
        (signed(body, "another-secret-of-16"), body),
        ({}, body),
        ({HEADER: "not hex"}, body),
        (signed(body), reformatted),
    ):
        refused = as_bandwidth(send, sent, headers)  # the challenge comes first
        assert refused.status == 403
        assert json.loads(refused.body) == {"error": "forbidden"}
    assert seen == []


def test_the_challenge_comes_before_the_signature(connect: Connect) -> None:
    receiver, seen = signed_receiver()
    body = load_more("tollfree", "verified-1.json")
    send = connect(receiver)
    for headers in (signed(body), signed(body, "another-secret-of-16")):
        challenged = send(body=body, headers={"Content-Type": JSON, **headers})
        assert challenged.status == 401
    wrong = send(
        body=body, headers={"Content-Type": JSON, "Authorization": "Basic eDp5", **signed(body)}
    )
    assert wrong.status == 401
    assert seen == []


# -- bandwidth-sdk as an independent producer ------------------------------------------


def sdk_results() -> list[tuple[Any, type[TollFreeVerificationEvent], dict[str, Any]]]:
    """(an SDK model, the class bwhooks types it as, attribute values)."""
    ticket = "acde070d-8c4c-4f0d-9d8a-162843c10333"
    common = {"account_id": "9900900", "phone_number": "+18885550100"}
    return [
        (
            sdk.VerificationWebhook(
                **common, status=sdk.TfvCallbackStatusEnum.VERIFIED, internal_ticket_number=ticket
            ),
            TollFreeStatusEvent,
            {**common, "status": "VERIFIED", "internal_ticket_number": ticket},
        ),
        (
            sdk.VerificationDenialWebhook(
                **common,
                status="UNVERIFIED",
                internal_ticket_number=ticket,
                denial_status_code=511,
                decline_reason_description="Invalid Information",
                resubmit_allowed=True,
                blocked=False,
                additional_denial_reasons=[
                    sdk.AdditionalDenialReason(status_code=512, reason="A", resubmit_allowed=True),
                    sdk.AdditionalDenialReason(status_code=513, reason="B", resubmit_allowed=False),
                ],
            ),
            TollFreeDenialEvent,
            {
                **common,
                "status": "UNVERIFIED",
                "denial_status_code": 511,
                "decline_reason_description": "Invalid Information",
                "resubmit_allowed": True,
                "blocked": False,
                "additional_denial_reasons": (
                    AdditionalDenialReason(status_code=512, reason="A", resubmit_allowed=True),
                    AdditionalDenialReason(status_code=513, reason="B", resubmit_allowed=False),
                ),
            },
        ),
        (
            sdk.FailureWebhook(
                **common,
                error_code="400",
                error_message="Invalid toll free phone number",
                errors=["businessName: required", "optInWorkflowImageURLs: invalid"],
                internal_ticket_number=ticket,
            ),
            TollFreeFailureEvent,
            {
                **common,
                "error_code": "400",
                "error_message": "Invalid toll free phone number",
                "errors": ("businessName: required", "optInWorkflowImageURLs: invalid"),
            },
        ),
        (
            sdk.BlockedWebhook(
                **common,
                status=sdk.TfvCallbackStatusEnum.UNVERIFIED,
                internal_ticket_number=ticket,
                blocked=True,
                blocked_reason="Used to send spam",
            ),
            TollFreeBlockedEvent,
            {
                **common,
                "status": "UNVERIFIED",
                "blocked": True,
                "blocked_reason": "Used to send spam",
            },
        ),
    ]


@pytest.mark.parametrize("index", range(4))
def test_bandwidth_sdk_results_are_typed_through_every_way_in(connect: Connect, index: int) -> None:
    model, cls, values = sdk_results()[index]
    receiver, seen = signed_receiver()
    body = model.to_json().encode()
    answered = as_bandwidth(connect(receiver), body, signed(body))
    assert answered.status == 204
    (event,) = seen
    assert type(event) is cls
    for name, value in values.items():
        assert getattr(event, name) == value, name
    assert event.raw == json.loads(body)


def test_the_names_are_exported_from_both_modules() -> None:
    import bwhooks

    for name in (
        "TollFreeVerificationEvent",
        "TollFreeStatusEvent",
        "TollFreeDenialEvent",
        "TollFreeFailureEvent",
        "TollFreeBlockedEvent",
        "AdditionalDenialReason",
    ):
        assert getattr(bwhooks, name) is getattr(bwhooks_events, name)
        assert name in bwhooks.__all__
        assert name in bwhooks_events.__all__
    event = TollFreeStatusEvent(account_id="1")
    assert not hasattr(event, "__dict__")  # slotted
    with pytest.raises(AttributeError):
        event.account_id = "2"  # frozen


def test_the_request_handled_directly_is_the_same(receiver: Receiver) -> None:
    seen = collecting(receiver)
    body = load_more("tollfree", "blocked-1.json")
    request = CallbackRequest("POST", "/", [("Content-Type", JSON), ("Authorization", AUTH)], body)
    assert receiver.handle(request).status == 204
    assert isinstance(seen[0], TollFreeBlockedEvent)
