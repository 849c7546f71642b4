"""Fake Numbers webhooks: the XML text Bandwidth posts, realistic, overridable, escaped."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest
from defusedxml.ElementTree import fromstring

from bwhooks import to_xml
from bwhooks.events import (
    AccountNotificationEvent,
    OrderNotificationEvent,
    PortOutValidationEvent,
)
from bwhooks.testing import KINDS, UnknownKindError, fake_event, fake_payload
from bwhooks.testing.fakes import resolve_kind
from bwhooks.testing.fakes_numbers import ORDER_STATUSES

TEN_DIGITS = re.compile(r"\d{10}")


def parsed(text: str) -> ET.Element:
    root: ET.Element = fromstring(text.encode("utf-8"))
    return root


def children(root: ET.Element) -> dict[str, str | None]:
    return {child.tag: child.text for child in root}


def numbers(root: ET.Element, element: str) -> list[str | None]:
    return [number.text for number in root.iterfind(f"{element}/TelephoneNumber")]


@pytest.mark.parametrize(
    ("kind", "root", "cls"),
    [
        ("orderNotification", "Notification", OrderNotificationEvent),
        ("MESSAGING_LOST", "Notification", AccountNotificationEvent),
        ("portOutValidation", "PortOutValidationRequest", PortOutValidationEvent),
    ],
)
def test_each_kind_is_the_xml_text_bandwidth_posts(kind: str, root: str, cls: type) -> None:
    text = fake_payload(kind)
    assert isinstance(text, str)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n')
    assert parsed(text).tag == root
    assert KINDS[kind] is cls
    assert resolve_kind(kind) is cls
    assert parsed(fake_payload(cls)).tag == root  # the class is a kind too


def test_an_order_notification_has_realistic_values() -> None:
    root = parsed(fake_payload("orderNotification"))
    elements = children(root)
    assert list(elements) == [
        "SubscriptionId",
        "OrderType",
        "OrderId",
        "Status",
        "Message",
        "CompletedTelephoneNumbers",
        "LastModifiedDate",
    ]
    assert (elements["OrderType"], elements["Status"]) == ("orders", "COMPLETE")
    for element in ("SubscriptionId", "OrderId"):
        assert str(uuid.UUID(elements[element] or "")) == elements[element]
    assert elements["SubscriptionId"] != elements["OrderId"]
    completed = numbers(root, "CompletedTelephoneNumbers")
    assert len(completed) == 1
    assert TEN_DIGITS.fullmatch(completed[0] or "")
    modified = elements["LastModifiedDate"] or ""
    assert modified.endswith("Z")
    moment = datetime.fromisoformat(modified.replace("Z", "+00:00"))
    assert abs(datetime.now(timezone.utc) - moment) < timedelta(minutes=1)


def test_two_fakes_have_their_own_ids() -> None:
    first, second = (children(parsed(fake_payload("orderNotification"))) for _ in range(2))
    assert first["OrderId"] != second["OrderId"]
    assert first["SubscriptionId"] != second["SubscriptionId"]


def test_an_account_event_and_a_port_out_request_have_their_elements() -> None:
    account = parsed(fake_payload("MESSAGING_LOST"))
    assert list(children(account)) == ["SubscriptionId", "EventType", "ImpactedTelephoneNumbers"]
    assert children(account)["EventType"] == "MESSAGING_LOST"
    assert TEN_DIGITS.fullmatch(numbers(account, "ImpactedTelephoneNumbers")[0] or "")
    port_out = parsed(fake_payload("portOutValidation"))
    assert list(children(port_out)) == [
        "PON",
        "Pin",
        "AccountNumber",
        "ZipCode",
        "SubscriberName",
        "TelephoneNumbers",
    ]
    assert all(children(port_out)[name] for name in ("PON", "Pin", "AccountNumber", "ZipCode"))


def test_overrides_by_attribute_or_element_name() -> None:
    by_attribute = children(parsed(fake_payload("orderNotification", status="FAILED")))
    by_element = children(parsed(fake_payload("orderNotification", Status="FAILED")))
    assert by_attribute["Status"] == by_element["Status"] == "FAILED"
    assert by_attribute["Message"] == "5005: The telephone number is unavailable for ordering"
    text = fake_payload(
        "orderNotification",
        completed_numbers=("9195551234", "9195551235"),
        customer_order_id="my-port-42",
        order_id="a8ef295b-fcf4-44a7-945c-0520c8f49123",
    )
    root = parsed(text)
    assert numbers(root, "CompletedTelephoneNumbers") == ["9195551234", "9195551235"]
    assert children(root)["CustomerOrderId"] == "my-port-42"
    assert children(root)["OrderId"] == "a8ef295b-fcf4-44a7-945c-0520c8f49123"
    one = parsed(fake_payload("portOutValidation", telephone_numbers="2223331000"))
    assert numbers(one, "TelephoneNumbers") == ["2223331000"]
    other = parsed(fake_payload("MESSAGING_LOST", event_type="SOMETHING_NEW"))
    assert children(other)["EventType"] == "SOMETHING_NEW"


def test_none_leaves_an_element_out_and_an_empty_list_is_an_empty_element() -> None:
    root = parsed(fake_payload("orderNotification", message=None, LastModifiedDate=None))
    assert "Message" not in children(root)
    assert "LastModifiedDate" not in children(root)
    port_out = parsed(fake_payload("portOutValidation", pin=None, telephone_numbers=()))
    assert "Pin" not in children(port_out)
    assert port_out.find("TelephoneNumbers") is not None
    assert numbers(port_out, "TelephoneNumbers") == []


def test_an_unknown_name_raises_type_error_listing_the_valid_ones() -> None:
    with pytest.raises(TypeError, match=r"no element 'colour'.*status \(Status\)"):
        fake_payload("orderNotification", colour="red")
    with pytest.raises(TypeError, match="event_type"):  # no EventType in an order notification
        fake_payload("orderNotification", event_type="MESSAGING_LOST")
    with pytest.raises(TypeError, match=r"pon \(PON\)"):
        fake_payload("portOutValidation", Status="FOC")


@pytest.mark.parametrize(
    "text",
    ["<b>bold</b>", "a & b", "]]> <!-- x --> <![CDATA[y]]>", "\"quoted\" 'single'"],
)
def test_values_are_text_never_markup(text: str) -> None:
    root = parsed(fake_payload("orderNotification", message=text, note=text))
    assert children(root)["Message"] == children(root)["Note"] == text
    assert root.find("Message/b") is None
    assert len(root.findall("Message")) == 1


def test_a_character_xml_cannot_carry_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be written"):
        fake_payload("orderNotification", message="nul \x00 here")


def test_number_format_e164() -> None:
    root = parsed(fake_payload("orderNotification", number_format="E164"))
    assert re.fullmatch(r"\+1\d{10}", numbers(root, "CompletedTelephoneNumbers")[0] or "")
    given = parsed(
        fake_payload(
            "MESSAGING_LOST", impacted_numbers=("9195551234", "+449876"), number_format="E164"
        )
    )
    assert numbers(given, "ImpactedTelephoneNumbers") == ["+19195551234", "+449876"]
    with pytest.raises(ValueError, match="number_format"):
        fake_payload("orderNotification", number_format="e.164")
    with pytest.raises(TypeError, match="number_format"):
        fake_payload("v2:answer", number_format="E164")  # a JSON kind has no such option


@pytest.mark.parametrize(
    ("order_type", "status"),
    [
        (order_type, status)
        for order_type, statuses in ORDER_STATUSES.items()
        for status in statuses
    ],
)
def test_every_documented_order_type_and_status_is_makeable(order_type: str, status: str) -> None:
    elements = children(
        parsed(fake_payload("orderNotification", order_type=order_type, status=status))
    )
    assert (elements["OrderType"], elements["Status"]) == (order_type, status)


def test_the_documented_table_is_complete() -> None:
    assert len(ORDER_STATUSES) == 18  # the docs list 18 order types
    assert ORDER_STATUSES["portins"][2] == "FOC"


def test_a_port_in_at_foc_carries_its_foc_date() -> None:
    foc = children(parsed(fake_payload("orderNotification", order_type="portins", status="FOC")))
    date = datetime.fromisoformat((foc["ActualFocDate"] or "").replace("Z", "+00:00"))
    assert (date.hour, date.minute, date.second) == (0, 0, 0)
    assert date > datetime.now(timezone.utc)
    assert "Message" not in foc
    given = datetime(2023, 9, 12, tzinfo=timezone.utc)
    complete = fake_payload(
        "orderNotification", order_type="portins", status="COMPLETE", actual_foc_date=given
    )
    assert children(parsed(complete))["ActualFocDate"] == "2023-09-12T00:00:00Z"
    order = children(parsed(fake_payload("orderNotification", status="FOC")))
    assert "ActualFocDate" not in order  # only port-ins reach FOC


def test_a_misspelt_numbers_kind_is_refused_with_a_suggestion() -> None:
    with pytest.raises(UnknownKindError) as refused:
        fake_payload("orderNotifcation")
    assert refused.value.suggestions == ("orderNotification",)


def test_an_event_is_written_as_its_document() -> None:
    event = OrderNotificationEvent(
        subscription_id="s-1",
        order_type="portins",
        order_id="o-1",
        status="REQUESTED_SUPP",
        note="Losing carrier rejected: <account> & PIN",
        completed_numbers=("9195551234",),
        last_modified=datetime(2024, 5, 2, 18, 3, 11, 120000, tzinfo=timezone.utc),
    )
    root = parsed(to_xml(event).decode())
    elements = children(root)
    del elements["CompletedTelephoneNumbers"]
    assert elements == {
        "SubscriptionId": "s-1",
        "OrderType": "portins",
        "OrderId": "o-1",
        "Status": "REQUESTED_SUPP",
        "Note": "Losing carrier rejected: <account> & PIN",
        "LastModifiedDate": "2024-05-02T18:03:11.120Z",
    }
    assert numbers(root, "CompletedTelephoneNumbers") == ["9195551234"]
    account = parsed(to_xml(AccountNotificationEvent(event_type="MESSAGING_LOST")).decode())
    assert children(account)["EventType"] == "MESSAGING_LOST"


def test_every_documented_element_can_be_written() -> None:
    """The elements of WEBHOOKS-MORE.md §1-2 (Bandwidth's docs and captured bodies)."""
    every = {"note": "n", "message": "m", "customer_order_id": "c", "order_type": "portins"}
    order = parsed(fake_payload("orderNotification", **every))
    assert list(children(order)) == [
        "SubscriptionId",
        "OrderType",
        "OrderId",
        "CustomerOrderId",
        "Status",
        "Message",
        "Note",
        "CompletedTelephoneNumbers",
        "LastModifiedDate",
        "ActualFocDate",
    ]


@pytest.mark.parametrize(
    ("kind", "cls"),
    [
        ("orderNotification", OrderNotificationEvent),
        ("MESSAGING_LOST", AccountNotificationEvent),
        ("portOutValidation", PortOutValidationEvent),
    ],
)
def test_fake_event_is_the_parsed_document(kind: str, cls: type) -> None:
    event = fake_event(kind)
    assert type(event) is cls


def test_fake_event_carries_the_overrides() -> None:
    event = fake_event(
        "orderNotification", order_type="portins", status="FOC", completed_numbers=("9195551234",)
    )
    assert isinstance(event, OrderNotificationEvent)
    assert (event.order_type, event.status, event.completed_numbers) == (
        "portins",
        "FOC",
        ("9195551234",),
    )
    assert event.actual_foc_date is not None
