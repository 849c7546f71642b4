"""Subscribe your callback URL to Numbers notifications: one subscription per order type,
with the credentials your receiver checks, and an explicit expiry.

Run: BANDWIDTH_ACCOUNT_ID=9900000 BANDWIDTH_API_USER=... BANDWIDTH_API_PASSWORD=... \
     BWHOOKS_CREDENTIALS="bw-user:s3cret" python examples/numbers_subscribe.py https://example.com/callbacks
"""

from __future__ import annotations

import os
import sys
from urllib.request import Request, urlopen
from xml.etree.ElementTree import Element, SubElement, tostring  # writing XML only

from bwhooks.auth import basic_authorization

ORDER_TYPES = ("orders", "portins", "disconnects", "tnoptions")  # tnoptions: 10DLC campaigns
EXPIRY = 365 * 24 * 60 * 60  # seconds: without one, a subscription stops after a day


def subscription(order_type: str, url: str, user: str, password: str) -> bytes:
    """The ``<Subscription>`` document (ElementTree escapes every value)."""
    root = Element("Subscription")
    SubElement(root, "OrderType").text = order_type
    callback = SubElement(root, "CallbackSubscription")
    SubElement(callback, "URL").text = url
    SubElement(callback, "Expiry").text = str(EXPIRY)
    basic = SubElement(SubElement(callback, "CallbackCredentials"), "BasicAuthentication")
    SubElement(basic, "Username").text = user
    SubElement(basic, "Password").text = password
    written: bytes = tostring(root, encoding="utf-8", xml_declaration=True)
    return written


def subscribe(url: str) -> list[str]:
    """Create the subscriptions; the URL of each (the ``Location`` Bandwidth answers)."""
    env = os.environ
    api = env.get("BANDWIDTH_NUMBERS_API", "https://dashboard.bandwidth.com/api")
    endpoint = f"{api}/accounts/{env['BANDWIDTH_ACCOUNT_ID']}/subscriptions"
    auth = basic_authorization(env["BANDWIDTH_API_USER"], env["BANDWIDTH_API_PASSWORD"])
    user, _, password = env["BWHOOKS_CREDENTIALS"].split(",")[0].partition(":")
    created = []
    for order_type in ORDER_TYPES:
        body = subscription(order_type, url, user, password)
        headers = {"Authorization": auth, "Content-Type": "application/xml"}
        with urlopen(Request(endpoint, body, headers), timeout=10) as answer:  # noqa: S310
            created.append(answer.headers["Location"])
    return created


if __name__ == "__main__":
    for location in subscribe(sys.argv[1]):
        print(location)
