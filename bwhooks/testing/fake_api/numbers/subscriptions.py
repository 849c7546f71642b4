"""Notification subscriptions (Subscriptions v1): ``POST`` creates one (``201``, its URL in
``Location``), ``GET`` lists them (``?orderType=`` filters) or reads one, ``DELETE`` ends
one. Callback passwords are kept for the test to read, never written back."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from typing import Any

import attrs
from werkzeug.wrappers import Request, Response

from bwhooks.testing.fake_api.numbers.bodies import (
    NumbersApiError,
    node,
    optional,
    read_xml,
    xml_response,
)
from bwhooks.testing.fake_api.serving import Handler

__all__ = ["Subscription", "Subscriptions"]

_ROOT = "SubscriptionResponse"


@attrs.frozen
class Subscription:
    """One subscription as created: what it watches, where it calls back, with what."""

    subscription_id: str
    order_type: str | None
    event_type: str | None
    order_id: str | None
    url: str | None
    expiry: int
    username: str | None
    password: str | None
    number_format: str | None
    email: str | None


class Subscriptions:
    """The account's subscriptions, by id."""

    def __init__(self, owner: Any) -> None:
        self._owner = owner
        self.subscriptions: dict[str, Subscription] = {}
        self.routes: list[tuple[str, str, Handler]] = [
            ("POST", r"/subscriptions", self._create),
            ("GET", r"/subscriptions", self._list),
            ("GET", r"/subscriptions/([^/]+)", self._get),
            ("DELETE", r"/subscriptions/([^/]+)", self._delete),
        ]

    def _create(self, *, request: Request, **_: Any) -> Response:
        document = read_xml(request.get_data(), "Subscription")
        order_type, event_type = document.findtext("OrderType"), document.findtext("EventType")
        if not (order_type or event_type):
            raise NumbersApiError(400, _ROOT, 12001, "OrderType or EventType is required")
        url = document.findtext("CallbackSubscription/URL")
        email = document.findtext("EmailSubscription/Email")
        if not (url or email):
            raise NumbersApiError(
                400, _ROOT, 12002, "CallbackSubscription or EmailSubscription is required"
            )
        expiry = document.findtext("CallbackSubscription/Expiry") or "86400"
        if not expiry.isdigit():
            raise NumbersApiError(
                400, _ROOT, 12003, f"Expiry '{expiry}' is not a number of seconds"
            )
        basic = "CallbackSubscription/CallbackCredentials/BasicAuthentication/"
        subscription = Subscription(
            subscription_id=str(uuid.uuid4()),
            order_type=order_type,
            event_type=event_type,
            order_id=document.findtext("OrderId"),
            url=url,
            expiry=int(expiry),
            username=document.findtext(basic + "Username"),
            password=document.findtext(basic + "Password"),
            number_format=document.findtext("NumberFormat"),
            email=email,
        )
        self.subscriptions[subscription.subscription_id] = subscription
        location = f"{self._owner.account_url}/subscriptions/{subscription.subscription_id}"
        return Response("", 201, {"Location": location})

    def _list(self, *, request: Request, **_: Any) -> Response:
        order_type = request.args.get("orderType")
        chosen = [s for s in self.subscriptions.values() if order_type in (None, s.order_type)]
        return _listing(chosen)

    def _found(self, subscription_id: str) -> Subscription:
        found = self.subscriptions.get(subscription_id)
        if found is None:
            raise NumbersApiError(
                404, _ROOT, 12004, f"Subscription '{subscription_id}' does not exist"
            )
        return found

    def _get(self, subscription_id: str, **_: Any) -> Response:
        return _listing([self._found(subscription_id)])

    def _delete(self, subscription_id: str, **_: Any) -> Response:
        del self.subscriptions[self._found(subscription_id).subscription_id]
        return Response("", 200)


def _listing(subscriptions: list[Subscription]) -> Response:
    """``<SubscriptionsResponse><Subscriptions><Subscription>...``, as Bandwidth lists them
    (and answers for one)."""
    return xml_response(
        node("SubscriptionsResponse", [node("Subscriptions", [_written(s) for s in subscriptions])])
    )


def _written(subscription: Subscription) -> ET.Element:
    callback = None
    if subscription.url is not None:
        credentials = None
        if subscription.username is not None:
            credentials = node(
                "CallbackCredentials",
                [node("BasicAuthentication", [node("Username", subscription.username)])],
            )
        callback = node(
            "CallbackSubscription",
            [node("URL", subscription.url), node("Expiry", subscription.expiry), credentials],
        )
    email = None
    if subscription.email is not None:
        email = node("EmailSubscription", [node("Email", subscription.email)])
    return node(
        "Subscription",
        [
            node("SubscriptionId", subscription.subscription_id),
            optional("OrderType", subscription.order_type),
            optional("EventType", subscription.event_type),
            optional("OrderId", subscription.order_id),
            optional("NumberFormat", subscription.number_format),
            email,
            callback,
        ],
    )
