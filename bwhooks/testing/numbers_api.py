"""A fake of Bandwidth's Numbers (Dashboard) API, for Numbers webhook handlers to call next.

Bandwidth's ``https://dashboard.bandwidth.com/api``: XML bodies, Basic auth with an API
user. It serves what a notification handler fetches (``GET`` of an order, a port-in, a
disconnect, a TN option order, each with the shape of Bandwidth's client libraries'
fixtures) and what a setup script calls (subscriptions: create, list, get, delete);
wrong credentials are a ``401``, another account a ``403``, an unknown id a ``404`` with
Bandwidth's ``<ResponseStatus>`` error body. It records every request.
:meth:`FakeNumbersApi.handle` is a plain werkzeug handler; the ``numbers_api`` pytest
fixture serves it on pytest-httpserver.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from bwhooks.auth import basic_authorization
from bwhooks.testing.fake_api.numbers.bodies import NumbersApiError
from bwhooks.testing.fake_api.numbers.orders import Order, Orders
from bwhooks.testing.fake_api.numbers.subscriptions import Subscription, Subscriptions
from bwhooks.testing.fake_api.serving import RecordedRequest, RequestLog, Routes
from bwhooks.testing.fakes import fake_payload

__all__ = ["FakeNumbersApi", "NumbersApiError", "Order", "Subscription"]


class FakeNumbersApi:
    """Bandwidth's Numbers (Dashboard) API for one account, in memory.

    Point your client at :attr:`url` (the API base, Bandwidth's ``.../api``), with
    ``username``/``password`` as Basic credentials. Seed the orders a notification is about
    with :meth:`add_order` (and :meth:`notification` makes that notification's XML);
    ``orders`` and ``subscriptions`` hold the resources, ``requests`` what was called.
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        account_id: str = "9900000",
        username: str = "api-user",
        password: str = "api-password",  # noqa: S107  (a fake API's fake credentials)
        site_id: str = "2297",
    ) -> None:
        self.base = base_url.rstrip("/")
        self.account_id, self.site_id = account_id, site_id
        self.username, self.password = username, password
        self.requests: list[RecordedRequest] = []
        self._log = RequestLog(self)
        self._orders = Orders(self)
        self._subscriptions = Subscriptions(self)
        self._routes = Routes(*self._orders.routes, *self._subscriptions.routes)

    # -- where things are -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API base (``<server>/api``), as ``https://dashboard.bandwidth.com/api``."""
        return f"{self.base}/api"

    @property
    def account_url(self) -> str:
        """``<url>/accounts/<account_id>``: where the account's resources live."""
        return f"{self.url}/accounts/{self.account_id}"

    def authorization(self) -> str:
        """The ``Authorization`` header a client of this API sends."""
        return basic_authorization(self.username, self.password)

    # -- seeding and inspecting -------------------------------------------------------------

    @property
    def orders(self) -> dict[str, Order]:
        """The seeded orders, by id."""
        return self._orders.orders

    @property
    def subscriptions(self) -> dict[str, Subscription]:
        """The subscriptions created, by id (callback passwords included, for assertions)."""
        return self._subscriptions.subscriptions

    def add_order(
        self,
        order_type: str = "orders",
        status: str = "COMPLETE",
        numbers: Iterable[str] | None = None,
        *,
        order_id: str | None = None,
        customer_order_id: str | None = None,
    ) -> str:
        """Seed an order (``orders``, ``portins``, ``disconnects`` or ``tnoptions``) with
        its status and numbers (one 10-digit number when not given); returns its id."""
        if numbers is None:
            numbers = (f"919555{secrets.randbelow(10_000):04d}",)
        return self._orders.add(order_type, status, numbers, order_id, customer_order_id)

    def notification(self, order_id: str, **overrides: Any) -> str:
        """The XML of the notification Bandwidth sends about the order (its type, id,
        status, numbers; the subscription id of a subscription to its order type, if one
        was created), with ``overrides`` as ``fake_payload`` takes them."""
        order = self.orders[order_id]
        subscription = next(
            (s for s in self.subscriptions.values() if s.order_type == order.order_type), None
        )
        values: dict[str, Any] = {
            "order_type": order.order_type,
            "order_id": order.order_id,
            "status": order.status,
            "completed_numbers": order.numbers,
            "customer_order_id": order.customer_order_id,
            "last_modified": order.modified,
        }
        if subscription is not None:
            values["subscription_id"] = subscription.subscription_id
        text: str = fake_payload("orderNotification", **{**values, **overrides})
        return text

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """The recorded requests with this method whose path under the account
        (``/orders/...``, ``/subscriptions``) fully matches the regular expression ``path``."""
        return self._log.matching(method, path)

    # -- serving ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request (a werkzeug handler, e.g. for pytest-httpserver)."""
        path = unquote(request.path)
        body = request.get_data()
        prefix = f"/api/accounts/{self.account_id}"
        try:
            response = self._serve(request, path, prefix)
        except NumbersApiError as error:
            response = error.response()
        self._log.record(request, path.removeprefix(prefix), None, body, response.status_code)
        return response

    def _serve(self, request: Request, path: str, prefix: str) -> Response:
        """Credentials first, then the account, then the route."""
        if request.headers.get("Authorization") != self.authorization():
            raise NumbersApiError(401)
        match = re.fullmatch(r"/api/accounts/([^/]+)(/.*)?", path)
        if match is None:
            raise NumbersApiError(404)
        if match.group(1) != self.account_id:
            raise NumbersApiError(403)
        rest = match.group(2) or ""
        answer = self._routes.answer(request.method, rest, None, request)
        if answer is not None:
            return answer
        raise NumbersApiError(405 if self._routes.serves(rest) else 404)
