"""The orders a Numbers notification is about, as the Dashboard API answers ``GET`` on them:
number orders (``OrderResponse``), port-ins (``LnpOrderResponse``), disconnects
(``DisconnectTelephoneNumberOrderResponse``) and TN option orders (``TnOptionOrder``), with
the shapes of Bandwidth's client libraries' fixtures (python-bandwidth-iris,
java-bandwidth-iris)."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import attrs
from werkzeug.wrappers import Response

from bwhooks.testing.fake_api.numbers.bodies import (
    NumbersApiError,
    node,
    numbers,
    optional,
    xml_response,
)
from bwhooks.testing.fake_api.serving import Handler
from bwhooks.testing.ids import iso

__all__ = ["ORDER_TYPES", "Order", "Orders"]

#: The order types the fake serves, and the root of a missing one's error body.
ORDER_TYPES = {
    "orders": "OrderResponse",
    "portins": "LnpOrderResponse",
    "disconnects": "DisconnectTelephoneNumberOrderResponse",
    "tnoptions": "TnOptionOrderResponse",
}
_FAILED = ("FAILED", "EXCEPTION")
_DONE = ("COMPLETE", "PARTIAL")


@attrs.define
class Order:
    """One seeded order: what a notification summarizes and a ``GET`` details."""

    order_type: str
    order_id: str
    status: str
    numbers: tuple[str, ...]
    customer_order_id: str | None = None
    created: datetime = attrs.field(factory=lambda: datetime.now(timezone.utc))
    modified: datetime = attrs.field(factory=lambda: datetime.now(timezone.utc))


class Orders:
    """The account's orders of every type served, by id; ``GET`` answers each."""

    def __init__(self, owner: Any) -> None:
        self._owner = owner
        self.orders: dict[str, Order] = {}
        bodies: dict[str, Callable[[Order], ET.Element]] = {
            "orders": self._number_order,
            "portins": self._port_in,
            "disconnects": self._disconnect,
            "tnoptions": self._tn_options,
        }
        self.routes: list[tuple[str, str, Handler]] = [
            ("GET", rf"/{order_type}/([^/]+)", self._getter(order_type, body))
            for order_type, body in bodies.items()
        ]

    def add(
        self,
        order_type: str,
        status: str,
        numbers: Iterable[str],
        order_id: str | None,
        customer_order_id: str | None,
    ) -> str:
        """Seed an order; returns its id (a UUID, as Bandwidth's)."""
        if order_type not in ORDER_TYPES:
            served = ", ".join(ORDER_TYPES)
            raise ValueError(f"the fake serves these order types: {served}; not {order_type!r}")
        order_id = order_id or str(uuid.uuid4())
        self.orders[order_id] = Order(
            order_type, order_id, status, tuple(numbers), customer_order_id
        )
        return order_id

    def _getter(self, order_type: str, body: Callable[[Order], ET.Element]) -> Handler:
        def get(order_id: str, **_: Any) -> Response:
            order = self.orders.get(order_id)
            if order is None or order.order_type != order_type:
                raise NumbersApiError(
                    404,
                    ORDER_TYPES[order_type],
                    5004 if order_type == "orders" else 7201,
                    f"Order with id '{order_id}' not found",
                )
            return xml_response(body(order))

        return get

    def _number_order(self, order: Order) -> ET.Element:
        done = order.status in _DONE
        failed = () if done else order.numbers
        return node(
            "OrderResponse",
            [
                node("CompletedQuantity", len(order.numbers) if done else 0),
                node("CreatedByUser", self._owner.username),
                node("LastModifiedDate", iso(order.modified)),
                node("OrderCompleteDate", iso(order.modified)) if done else None,
                node(
                    "Order",
                    [
                        optional("CustomerOrderId", order.customer_order_id),
                        node("OrderCreateDate", iso(order.created)),
                        node("BackOrderRequested", "false"),
                        node("id", order.order_id),
                        node(
                            "ExistingTelephoneNumberOrderType",
                            [numbers("TelephoneNumberList", order.numbers)],
                        ),
                        node("PartialAllowed", "true"),
                        node("SiteId", self._owner.site_id),
                    ],
                ),
                node("OrderStatus", order.status),
                node(
                    "CompletedNumbers",
                    [
                        node("TelephoneNumber", [node("FullNumber", number)])
                        for number in (order.numbers if done else ())
                    ],
                ),
                _errors(failed, 5005, "The telephone number is unavailable for ordering"),
                node("FailedQuantity", len(failed)),
            ],
        )

    def _port_in(self, order: Order) -> ET.Element:
        foc = order.created + timedelta(days=3)
        return node(
            "LnpOrderResponse",
            [
                node("OrderId", order.order_id),
                node("Status", [node("Code", 200), node("Description", "Order received")]),
                node("ProcessingStatus", order.status),
                optional("CustomerOrderId", order.customer_order_id),
                node("LoaAuthorizingPerson", "John Doe"),
                node(
                    "Subscriber",
                    [node("SubscriberType", "BUSINESS"), node("BusinessName", "Acme Corporation")],
                ),
                optional("BillingTelephoneNumber", next(iter(order.numbers), None)),
                numbers("ListOfPhoneNumbers", order.numbers, "PhoneNumber"),
                node("RequestedFocDate", foc.strftime("%Y-%m-%dT00:00:00Z")),
                node("OrderCreateDate", iso(order.created)),
                node("LastModifiedDate", iso(order.modified)),
                node("userId", self._owner.username),
                node("BillingType", "PORTIN"),
            ],
        )

    def _disconnect(self, order: Order) -> ET.Element:
        failed = order.numbers if order.status in _FAILED else ()
        return node(
            "DisconnectTelephoneNumberOrderResponse",
            [
                _errors(
                    failed,
                    5006,
                    "Telephone number could not be disconnected since it is not associated"
                    " with your account",
                ),
                node(
                    "orderRequest",
                    [
                        optional("CustomerOrderId", order.customer_order_id),
                        node("OrderCreateDate", iso(order.created)),
                        node("id", order.order_id),
                        node(
                            "DisconnectTelephoneNumberOrderType",
                            [
                                numbers("TelephoneNumberList", order.numbers),
                                node("DisconnectMode", "normal"),
                            ],
                        ),
                    ],
                ),
                node("OrderStatus", order.status),
            ],
        )

    def _tn_options(self, order: Order) -> ET.Element:
        failed = order.numbers if order.status in _FAILED else ()
        return node(
            "TnOptionOrder",
            [
                node("OrderCreateDate", iso(order.created)),
                node("AccountId", self._owner.account_id),
                node("CreatedByUser", self._owner.username),
                node("OrderId", order.order_id),
                node("LastModifiedDate", iso(order.modified)),
                node("ProcessingStatus", order.status),
                node(
                    "TnOptionGroups",
                    [
                        node(
                            "TnOptionGroup",
                            [node("Sms", "on"), numbers("TelephoneNumbers", order.numbers)],
                        )
                    ],
                ),
                _errors(failed, 5076, "Telephone number is not available."),
            ],
        )


def _errors(failed: Iterable[str], code: int, description: str) -> ET.Element:
    """``<ErrorList>``: one ``<Error>`` per failed number (empty when none failed)."""
    return node(
        "ErrorList",
        [
            node(
                "Error",
                [node("Code", code), node("Description", description), node("TelephoneNumber", tn)],
            )
            for tn in failed
        ],
    )
