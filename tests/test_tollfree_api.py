"""The fake v2 API's toll-free verification webhook subscriptions: bandwidth-sdk's
TollFreeVerificationApi works against it on a real server, errors are TfvError bodies, no
answer shows a secret or a password, and the fake delivers results as Bandwidth does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import urllib3
from bandwidth import ApiClient, TollFreeVerificationApi
from bandwidth.exceptions import NotFoundException
from bandwidth.models import TfvBasicAuthentication, WebhookSubscriptionRequestSchema

from bwhooks import BasicAuth, Event, HmacSignature, Receiver
from bwhooks.adapters import wsgi
from bwhooks.devtools.demo import serving
from bwhooks.events import TollFreeDenialEvent, TollFreeStatusEvent
from bwhooks.signatures import TOLL_FREE_HEADER
from bwhooks.testing import FakeBandwidthApiV2

SECRET = "tfv-Shared-Secret-0123456789"
PASSWORD = "callback-pässword-42"
CALLBACK = "https://hooks.example.com/bandwidth/tfv"
SUBSCRIPTIONS = "/tollFreeVerification/webhooks/subscriptions"


def request_schema(**fields: Any) -> WebhookSubscriptionRequestSchema:
    values: dict[str, Any] = {
        "callback_url": CALLBACK,
        "basic_authentication": TfvBasicAuthentication(username="bandwidth", password=PASSWORD),
        "shared_secret_key": SECRET,
        **fields,
    }
    return WebhookSubscriptionRequestSchema(**values)


def test_the_sdk_creates_lists_replaces_and_deletes_subscriptions(
    bandwidth_api_v2: FakeBandwidthApiV2,
) -> None:
    api = bandwidth_api_v2
    with ApiClient(api.sdk_configuration()) as client:
        tfv = TollFreeVerificationApi(client)
        created = tfv.create_webhook_subscription_with_http_info(api.account_id, request_schema())
        assert created.status_code == 201
        subscription = created.data
        assert subscription.id in api.toll_free_subscriptions
        assert (subscription.account_id, subscription.callback_url) == (api.account_id, CALLBACK)
        assert subscription.type is not None
        assert subscription.type.value == "TOLLFREE_VERIFICATION_STATUS"
        assert subscription.basic_authentication is not None
        assert subscription.basic_authentication.username == "bandwidth"
        assert subscription.created_date is not None
        kept = api.toll_free_subscriptions[subscription.id]
        assert (kept.shared_secret_key, kept.credentials) == (SECRET, ("bandwidth", PASSWORD))

        listed = tfv.list_webhook_subscriptions_with_http_info(api.account_id)
        assert [s.id for s in listed.data.data] == [subscription.id]
        assert listed.data.links is not None

        replaced = tfv.update_webhook_subscription(
            api.account_id,
            subscription.id,
            WebhookSubscriptionRequestSchema(callback_url="https://hooks.example.com/v2/tfv"),
        )
        assert replaced.callback_url == "https://hooks.example.com/v2/tfv"
        assert replaced.basic_authentication is None  # a replacement, not a patch
        kept = api.toll_free_subscriptions[subscription.id]
        assert (kept.credentials, kept.shared_secret_key) == (None, SECRET)  # the secret stays

        tfv.delete_webhook_subscription(api.account_id, subscription.id)
        assert api.toll_free_subscriptions == {}
        with pytest.raises(NotFoundException) as gone:
            tfv.delete_webhook_subscription(api.account_id, subscription.id)
        assert (
            gone.value.data.description == f"Webhook subscription {subscription.id} was not found"
        )
    for raw in (created.raw_data, listed.raw_data):  # what the API answered, byte for byte
        assert SECRET.encode() not in raw
        assert PASSWORD.encode("utf-8") not in raw
        assert b"sharedSecretKey" not in raw


def call(api: FakeBandwidthApiV2, method: str, path: str, body: Any = None, **headers: str) -> Any:
    sent = {"Authorization": api.authorization(), "Content-Type": "application/json", **headers}
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    response = urllib3.request(method, f"{api.voice_url}{path}", body=data, headers=sent)
    return response.status, (json.loads(response.data) if response.data else None)


def test_invalid_subscriptions_get_tfv_errors_that_show_no_secret(
    bandwidth_api_v2: FakeBandwidthApiV2,
) -> None:
    api = bandwidth_api_v2
    status, body = call(api, "POST", SUBSCRIPTIONS, {"sharedSecretKey": "short-secret"})
    assert status == 400
    assert set(body) == {"type", "description", "errors"}
    assert set(body["errors"]) == {"callbackUrl", "sharedSecretKey"}
    assert "short-secret" not in json.dumps(body)
    too_long = "x" * 65
    for secret in (too_long, "sixteen-chars-é!", "tab\tin-the-secret"):
        status, body = call(
            api, "POST", SUBSCRIPTIONS, {"callbackUrl": CALLBACK, "sharedSecretKey": secret}
        )
        assert (status, list(body["errors"])) == (400, ["sharedSecretKey"])
        assert secret not in json.dumps(body)
    status, body = call(
        api,
        "POST",
        SUBSCRIPTIONS,
        {"callbackUrl": "ftp://x", "basicAuthentication": {"username": "u", "password": ""}},
    )
    assert set(body["errors"]) == {"callbackUrl", "basicAuthentication.password"}
    assert call(api, "POST", SUBSCRIPTIONS, b"[]") == (
        400,
        {"type": "Bad Request", "description": "The request body must be a JSON object"},
    )
    assert call(api, "POST", SUBSCRIPTIONS, b"x", **{"Content-Type": "text/plain"})[0] == 415
    assert call(api, "PUT", f"{SUBSCRIPTIONS}/nope", {"callbackUrl": CALLBACK})[0] == 404
    assert call(api, "PATCH", f"{SUBSCRIPTIONS}/nope", {})[0] == 405
    status, body = call(api, "GET", SUBSCRIPTIONS, Authorization="Basic eDp5")
    assert (status, body["type"]) == (401, "Unauthorized")
    other = urllib3.request(
        "GET",
        f"{api.url}/accounts/1234/{SUBSCRIPTIONS}",
        headers={"Authorization": api.authorization()},
    )
    assert other.status == 403
    assert api.toll_free_subscriptions == {}


@contextmanager
def tfv_receiver(secret: str | None) -> Iterator[tuple[str, list[Event], list[dict[str, str]]]]:
    """A real receiver of toll-free results (Basic, and the signature with ``secret``),
    served on a real server; yields its base URL, the events, each request's headers."""
    receiver = Receiver(
        auth=BasicAuth(("bandwidth", PASSWORD)),
        signature=HmacSignature.toll_free(secret) if secret else None,
    )
    seen: list[Event] = []
    receiver.on(Event)(seen.append)
    app = wsgi.make_app(receiver, path="/bandwidth/tfv")
    headers: list[dict[str, str]] = []

    def recording(environ: dict[str, Any], start_response: Any) -> Any:
        headers.append({k: v for k, v in environ.items() if k.startswith("HTTP_")})
        return app(environ, start_response)

    with serving(recording) as base_url:
        yield base_url, seen, headers


def test_a_result_is_delivered_to_each_subscription_challenge_first_and_signed(
    bandwidth_api_v2: FakeBandwidthApiV2,
) -> None:
    api = bandwidth_api_v2
    with ApiClient(api.sdk_configuration()) as client, tfv_receiver(SECRET) as (url, seen, headers):
        api.resolve("hooks.example.com", url)
        TollFreeVerificationApi(client).create_webhook_subscription(
            api.account_id, request_schema()
        )
        (answer,) = api.send_toll_free_result("tollfree:denial", phone_number="+18885550100")
        assert answer.status == 204
        (event,) = seen
        assert isinstance(event, TollFreeDenialEvent)
        assert (event.phone_number, event.account_id) == ("+18885550100", api.account_id)
        assert event.additional_denial_reasons
        (verified,) = api.send_toll_free_result({"accountId": "1", "phoneNumber": "+18005550000"})
        assert verified.status == 204
        assert isinstance(seen[1], TollFreeStatusEvent)
    challenge, retried = headers[:2]
    assert "HTTP_AUTHORIZATION" not in challenge
    header = "HTTP_" + TOLL_FREE_HEADER.upper().replace("-", "_")
    assert challenge[header] == retried[header]
    assert len(challenge[header]) == 64  # lowercase hex
    assert challenge[header] == challenge[header].lower()


def test_a_subscription_with_another_secret_or_none_is_refused(
    bandwidth_api_v2: FakeBandwidthApiV2,
) -> None:
    api = bandwidth_api_v2
    with ApiClient(api.sdk_configuration()) as client, tfv_receiver(SECRET) as (url, seen, _):
        api.resolve("hooks.example.com", url)
        tfv = TollFreeVerificationApi(client)
        tfv.create_webhook_subscription(
            api.account_id, request_schema(shared_secret_key="another-secret-0123")
        )
        tfv.create_webhook_subscription(api.account_id, request_schema(shared_secret_key=None))
        answers = api.send_toll_free_result("tollfree:verified")
        assert [a.status for a in answers] == [403, 403]
    assert seen == []


def test_a_subscription_without_credentials_or_secret_gets_one_unsigned_attempt(
    bandwidth_api_v2: FakeBandwidthApiV2,
) -> None:
    """The fake takes any http(s) callbackUrl (the SDK wants a domain name; a plain HTTP
    client may subscribe a local server directly)."""
    api = bandwidth_api_v2
    with tfv_receiver(None) as (url, seen, headers):
        status, _ = call(api, "POST", SUBSCRIPTIONS, {"callbackUrl": f"{url}/bandwidth/tfv"})
        assert status == 201
        (answer,) = api.send_toll_free_result(
            {"accountId": "1", "phoneNumber": "+18005550000", "status": "VERIFIED"}
        )
        assert answer.status == 401  # challenged, and no credentials to answer with
    (only,) = headers
    assert not any("SIGNATURE" in name for name in only)
    assert seen == []
