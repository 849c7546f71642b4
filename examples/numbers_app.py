"""Numbers notifications and port-out validation (XML) in a WSGI app: fetch the order a
notification is about from Bandwidth's Numbers API, and answer port-out requests.

Run: BWHOOKS_CREDENTIALS="bw-user:s3cret" BANDWIDTH_ACCOUNT_ID=9900000 \
     BANDWIDTH_API_USER=... BANDWIDTH_API_PASSWORD=... gunicorn examples.numbers_app:app
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from typing import Any, NamedTuple
from urllib.request import Request, urlopen
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring

from bwhooks import (
    AccountNotificationEvent,
    BasicAuth,
    OrderNotificationEvent,
    PortOutAnswer,
    PortOutError,
    PortOutValidationEvent,
    Receiver,
    to_e164,
)
from bwhooks.adapters.wsgi import CallbackMiddleware
from bwhooks.auth import basic_authorization

receiver = Receiver(auth=BasicAuth.from_env())  # BWHOOKS_CREDENTIALS="user:pass[,user2:pass2]"
ready: dict[str, str] = {}  # number (E.164) -> the order that brought it
lost: list[str] = []


class Customer(NamedTuple):
    pin: str
    numbers: frozenset[str]


# Your subscribers by account number, with their port-out PIN (a database, in a real app).
CUSTOMERS = {"777": Customer("2222", frozenset({"+12223331000", "+12223331001"}))}


def fetch_order(order_type: str, order_id: str) -> Element:
    """GET the order from the Numbers API: the notification is only a summary."""
    env = os.environ
    api = env.get("BANDWIDTH_NUMBERS_API", "https://dashboard.bandwidth.com/api")
    url = f"{api}/accounts/{env['BANDWIDTH_ACCOUNT_ID']}/{order_type}/{order_id}"
    auth = basic_authorization(env["BANDWIDTH_API_USER"], env["BANDWIDTH_API_PASSWORD"])
    with urlopen(Request(url, headers={"Authorization": auth}), timeout=10) as answer:  # noqa: S310
        document: Element = fromstring(answer.read())
    return document


@receiver.on(OrderNotificationEvent)
def order_changed(event: OrderNotificationEvent) -> None:
    if event.order_type == "orders" and event.status == "COMPLETE" and event.order_id:
        order = fetch_order(event.order_type, event.order_id)
        for number in order.iter("FullNumber"):
            ready[to_e164(number.text or "")] = event.order_id


@receiver.on(AccountNotificationEvent)
def account_event(event: AccountNotificationEvent) -> None:
    if event.event_type == "MESSAGING_LOST":
        lost.extend(to_e164(number) for number in event.impacted_numbers)


@receiver.on(PortOutValidationEvent)
def validate(event: PortOutValidationEvent) -> PortOutAnswer:
    customer = CUSTOMERS.get(event.account_number or "")
    if customer is None:
        return PortOutAnswer.deny(PortOutError.ACCOUNT_CODE_INVALID)
    if not hmac.compare_digest((event.pin or "").encode(), customer.pin.encode()):
        return PortOutAnswer.deny(PortOutError.PIN_INVALID)
    numbers = {to_e164(n) for n in event.telephone_numbers}
    if not numbers or not numbers <= customer.numbers:  # none named: nothing to allow
        return PortOutAnswer.deny(PortOutError.NUMBER_NOT_RECOGNIZED)
    return PortOutAnswer.allow()


def my_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"my app"]


app = CallbackMiddleware(my_app, receiver, path="/callbacks")  # the rest goes to my_app
