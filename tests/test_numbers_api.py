"""The fake Numbers (Dashboard) API, driven over real HTTP by a plain client (http.client)."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urlsplit

import pytest
from defusedxml.ElementTree import fromstring
from support import PASSWORD, USER

from bwhooks import BasicAuth, Receiver
from bwhooks.adapters import wsgi
from bwhooks.auth import basic_authorization
from bwhooks.events import OrderNotificationEvent
from bwhooks.testing import CallbackClient, FakeNumbersApi

XML = "application/xml"

SUBSCRIPTION = b"""<?xml version="1.0"?>
<Subscription>
    <OrderType>portins</OrderType>
    <CallbackSubscription>
        <URL>https://example.com/numbers</URL>
        <Expiry>3600</Expiry>
        <CallbackCredentials>
            <BasicAuthentication>
                <Username>hook-user</Username>
                <Password>hook-secret</Password>
            </BasicAuthentication>
        </CallbackCredentials>
    </CallbackSubscription>
</Subscription>"""


class Answer:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = dict(response.getheaders())
        self.body = response.read()

    @property
    def xml(self) -> ET.Element:
        assert self.headers["Content-Type"].startswith(XML)
        root: ET.Element = fromstring(self.body)
        return root


def call(
    api: FakeNumbersApi,
    method: str,
    path: str,
    body: bytes | None = None,
    authorization: str | None = "",
) -> Answer:
    """``method`` ``path`` (under the account unless it starts with ``/api``) over HTTP."""
    parts = urlsplit(api.url)
    target = path if path.startswith("/api") else urlsplit(api.account_url).path + path
    headers = {"Content-Type": "application/xml"}
    authorization = api.authorization() if authorization == "" else authorization
    if authorization is not None:
        headers["Authorization"] = authorization
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(method, target, body=body, headers=headers)
        return Answer(connection.getresponse())
    finally:
        connection.close()


def error(answer: Answer) -> tuple[str, str | None, str | None]:
    root = answer.xml
    return (
        root.tag,
        root.findtext("ResponseStatus/ErrorCode"),
        root.findtext("ResponseStatus/Description"),
    )


def test_a_number_order_as_the_api_answers_it(numbers_api: FakeNumbersApi) -> None:
    order_id = numbers_api.add_order(
        "orders", "COMPLETE", ["9195551234", "9195551235"], customer_order_id="mine"
    )
    answer = call(numbers_api, "GET", f"/orders/{order_id}")
    assert answer.status == 200
    root = answer.xml
    assert root.tag == "OrderResponse"
    assert (root.findtext("OrderStatus"), root.findtext("Order/id")) == ("COMPLETE", order_id)
    assert root.findtext("Order/CustomerOrderId") == "mine"
    completed = [n.text for n in root.iterfind("CompletedNumbers/TelephoneNumber/FullNumber")]
    assert completed == ["9195551234", "9195551235"]
    assert (root.findtext("CompletedQuantity"), root.findtext("FailedQuantity")) == ("2", "0")


def test_a_failed_order_lists_its_errors(numbers_api: FakeNumbersApi) -> None:
    order_id = numbers_api.add_order("orders", "FAILED", ["9195551234"])
    root = call(numbers_api, "GET", f"/orders/{order_id}").xml
    assert root.findtext("OrderStatus") == "FAILED"
    assert root.find("CompletedNumbers/TelephoneNumber") is None
    assert root.findtext("ErrorList/Error/Code") == "5005"
    assert root.findtext("ErrorList/Error/TelephoneNumber") == "9195551234"


def test_a_port_in_a_disconnect_and_a_tn_option_order(numbers_api: FakeNumbersApi) -> None:
    port_in = numbers_api.add_order("portins", "FOC", ["9195551234"])
    root = call(numbers_api, "GET", f"/portins/{port_in}").xml
    assert (root.tag, root.findtext("OrderId")) == ("LnpOrderResponse", port_in)
    assert root.findtext("ProcessingStatus") == "FOC"
    assert [n.text for n in root.iterfind("ListOfPhoneNumbers/PhoneNumber")] == ["9195551234"]
    disconnect = numbers_api.add_order("disconnects", "COMPLETE", ["9195551235"])
    root = call(numbers_api, "GET", f"/disconnects/{disconnect}").xml
    assert root.tag == "DisconnectTelephoneNumberOrderResponse"
    assert (root.findtext("OrderStatus"), root.findtext("orderRequest/id")) == (
        "COMPLETE",
        disconnect,
    )
    numbers = root.iterfind("orderRequest/DisconnectTelephoneNumberOrderType/*/TelephoneNumber")
    assert [n.text for n in numbers] == ["9195551235"]
    options = numbers_api.add_order("tnoptions", "PARTIAL", ["9195551236"])
    root = call(numbers_api, "GET", f"/tnoptions/{options}").xml
    assert (root.tag, root.findtext("OrderId")) == ("TnOptionOrder", options)
    assert root.findtext("ProcessingStatus") == "PARTIAL"
    assert root.findtext("TnOptionGroups/TnOptionGroup/TelephoneNumbers/TelephoneNumber") == (
        "9195551236"
    )


@pytest.mark.parametrize(
    ("order_type", "root"),
    [
        ("orders", "OrderResponse"),
        ("portins", "LnpOrderResponse"),
        ("disconnects", "DisconnectTelephoneNumberOrderResponse"),
        ("tnoptions", "TnOptionOrderResponse"),
    ],
)
def test_an_unknown_id_is_a_404_with_bandwidths_error_body(
    numbers_api: FakeNumbersApi, order_type: str, root: str
) -> None:
    answer = call(numbers_api, "GET", f"/{order_type}/no-such-order")
    assert answer.status == 404
    tag, code, description = error(answer)
    assert (tag, code is not None) == (root, True)
    assert description == "Order with id 'no-such-order' not found"


def test_an_order_is_found_under_its_own_type_only(numbers_api: FakeNumbersApi) -> None:
    order_id = numbers_api.add_order("portins", "SUBMITTED")
    assert call(numbers_api, "GET", f"/orders/{order_id}").status == 404
    assert call(numbers_api, "GET", f"/portins/{order_id}").status == 200


def test_credentials_account_paths_and_methods(numbers_api: FakeNumbersApi) -> None:
    order_id = numbers_api.add_order()
    wrong = basic_authorization(numbers_api.username, "nope")
    assert call(numbers_api, "GET", f"/orders/{order_id}", authorization=wrong).status == 401
    assert call(numbers_api, "GET", f"/orders/{order_id}", authorization=None).status == 401
    assert call(numbers_api, "GET", f"/api/accounts/123/orders/{order_id}").status == 403
    assert call(numbers_api, "GET", "/no-such-thing").status == 404
    assert call(numbers_api, "PUT", f"/orders/{order_id}").status == 405


def test_subscriptions_create_list_get_delete(numbers_api: FakeNumbersApi) -> None:
    created = call(numbers_api, "POST", "/subscriptions", SUBSCRIPTION)
    assert (created.status, created.body) == (201, b"")
    location = created.headers["Location"]
    assert location.startswith(numbers_api.account_url + "/subscriptions/")
    subscription_id = location.rsplit("/", 1)[1]
    kept = numbers_api.subscriptions[subscription_id]
    assert (kept.order_type, kept.url, kept.expiry) == (
        "portins",
        "https://example.com/numbers",
        3600,
    )
    assert (kept.username, kept.password) == ("hook-user", "hook-secret")
    listed = call(numbers_api, "GET", "/subscriptions")
    assert listed.status == 200
    root = listed.xml
    assert root.tag == "SubscriptionsResponse"
    assert [s.text for s in root.iterfind("Subscriptions/Subscription/SubscriptionId")] == [
        subscription_id
    ]
    assert root.findtext(".//CallbackSubscription/URL") == "https://example.com/numbers"
    assert b"hook-secret" not in listed.body  # a password is never written back
    assert (
        call(numbers_api, "GET", "/subscriptions?orderType=orders").xml.find(
            "Subscriptions/Subscription"
        )
        is None
    )
    one = call(numbers_api, "GET", f"/subscriptions/{subscription_id}").xml
    assert one.findtext("Subscriptions/Subscription/OrderType") == "portins"
    assert call(numbers_api, "DELETE", f"/subscriptions/{subscription_id}").status == 200
    gone = call(numbers_api, "GET", f"/subscriptions/{subscription_id}")
    assert gone.status == 404
    assert error(gone)[0] == "SubscriptionResponse"
    assert numbers_api.subscriptions == {}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (
            b"<Subscription><CallbackSubscription><URL>u</URL></CallbackSubscription>"
            b"</Subscription>",
            "OrderType or EventType",
        ),
        (b"<Subscription><OrderType>orders</OrderType></Subscription>", "CallbackSubscription"),
        (b"<Subscription><OrderType>orders", "not a valid XML document"),
        (
            b'<!DOCTYPE s [<!ENTITY x "boom">]><Subscription><OrderType>&x;</OrderType>'
            b"</Subscription>",
            "not a valid XML document",
        ),
        (b"<Order/>", "Expected a <Subscription> document"),
    ],
)
def test_an_invalid_subscription_is_a_400(
    numbers_api: FakeNumbersApi, body: bytes, says: str
) -> None:
    answer = call(numbers_api, "POST", "/subscriptions", body)
    assert answer.status == 400
    tag, _, description = error(answer)
    assert tag == "SubscriptionResponse"
    assert says in (description or "")
    assert numbers_api.subscriptions == {}


def test_requests_are_recorded_without_their_credentials(numbers_api: FakeNumbersApi) -> None:
    order_id = numbers_api.add_order()
    call(numbers_api, "GET", f"/orders/{order_id}")
    call(numbers_api, "POST", "/subscriptions", SUBSCRIPTION)
    [got] = numbers_api.requests_to("GET", r"/orders/.+")
    assert (got.path, got.status) == (f"/orders/{order_id}", 200)
    assert "Authorization" not in got.headers
    [posted] = numbers_api.requests_to("POST", "/subscriptions")
    assert posted.body == SUBSCRIPTION


def test_the_notification_of_a_seeded_order(numbers_api: FakeNumbersApi) -> None:
    call(numbers_api, "POST", "/subscriptions", SUBSCRIPTION)
    [subscription_id] = numbers_api.subscriptions
    order_id = numbers_api.add_order("portins", "FOC", ["9195551234"], customer_order_id="c-1")
    root: ET.Element = fromstring(numbers_api.notification(order_id).encode())
    assert root.tag == "Notification"
    assert (root.findtext("OrderType"), root.findtext("OrderId")) == ("portins", order_id)
    assert (root.findtext("Status"), root.findtext("CustomerOrderId")) == ("FOC", "c-1")
    assert root.findtext("SubscriptionId") == subscription_id
    assert root.findtext("CompletedTelephoneNumbers/TelephoneNumber") == "9195551234"
    assert root.findtext("ActualFocDate")
    overridden = fromstring(numbers_api.notification(order_id, note="LOA needed").encode())
    assert overridden.findtext("Note") == "LOA needed"


def test_only_the_served_order_types_can_be_seeded() -> None:
    with pytest.raises(ValueError, match="orders, portins, disconnects, tnoptions"):
        FakeNumbersApi().add_order("e911s", "COMPLETE")


def test_a_handler_fetches_the_order_it_is_notified_of(numbers_api: FakeNumbersApi) -> None:
    statuses: list[str | None] = []
    receiver = Receiver(auth=BasicAuth((USER, PASSWORD)))

    @receiver.on(OrderNotificationEvent)
    def notified(event: OrderNotificationEvent) -> None:
        request = urllib.request.Request(
            f"{numbers_api.account_url}/{event.order_type}/{event.order_id}",
            headers={"Authorization": numbers_api.authorization()},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            statuses.append(fromstring(response.read()).findtext("OrderStatus"))

    order_id = numbers_api.add_order("orders", "PARTIAL")
    client = CallbackClient(wsgi.make_app(receiver), (USER, PASSWORD))
    assert client.send(numbers_api.notification(order_id)).status == 200
    assert statuses == ["PARTIAL"]
    assert len(numbers_api.requests_to("GET", f"/orders/{order_id}")) == 1


def test_it_serves_beside_the_v2_apis(numbers_api: FakeNumbersApi, bandwidth_api_v2: Any) -> None:
    order_id = numbers_api.add_order("portins", "COMPLETE")
    assert call(numbers_api, "GET", f"/portins/{order_id}").status == 200
    assert urlsplit(numbers_api.url).port != urlsplit(bandwidth_api_v2.url).port
    token = urllib.request.Request(
        bandwidth_api_v2.voice_url + "/calls/c-none",
        headers={"Authorization": bandwidth_api_v2.authorization()},
    )
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(token, timeout=10)
    missing.value.close()
    assert missing.value.code == 404  # the v2 fake answered, not the Numbers one
    assert numbers_api.requests_to("GET", r".*calls.*") == []
