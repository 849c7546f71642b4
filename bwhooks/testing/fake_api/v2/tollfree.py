"""Toll-free verification webhook subscriptions
(``/accounts/{accountId}/tollFreeVerification/webhooks/subscriptions``): create (``201``),
list (``200``, ``{links, errors, data}``), replace (``PUT``, ``200``), delete (``204``), as
bandwidth-sdk's ``TollFreeVerificationApi`` reads them; errors in the API's ``TfvError``
body (``{type, description, errors}``, ``errors`` by field). A subscription's
``sharedSecretKey`` and callback password are kept for the fake to sign and authenticate
its deliveries, never written back (the password shows as ``*****``)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import attrs
from werkzeug.wrappers import Request, Response

from bwhooks.http import CallbackResponse
from bwhooks.testing.fake_api.serving import Handler, json_response
from bwhooks.testing.fake_api.v2.bodies import json_object
from bwhooks.testing.fake_api.v2.errors import V2ApiError
from bwhooks.testing.ids import iso_now

__all__ = ["TOLL_FREE", "TollFreeSubscription", "TollFreeWebhooks", "tfv_error"]

_SUBSCRIPTIONS = r"/tollFreeVerification/webhooks/subscriptions"
#: What Bandwidth accepts as a ``sharedSecretKey`` (its OpenAPI pattern).
_SECRET = re.compile(r"[ -~]{16,64}")
_URL = re.compile(r"https?://[^\s/?#]+[^\s]*")
#: How a callback password shows in the API's answers.
MASKED = "*****"


def tfv_error(
    status: int, kind: str, description: str, errors: Mapping[str, list[str]] | None = None
) -> V2ApiError:
    """A toll-free verification API error: ``{type, description}``, and ``errors`` (by
    field, each a list of messages) when there are some."""
    body: dict[str, Any] = {"type": kind, "description": description}
    if errors:
        body["errors"] = dict(errors)
    return V2ApiError(status, body)


class _TollFreeErrors:
    """The toll-free verification API's words for the errors every route can meet."""

    def unauthorized(self) -> V2ApiError:
        return tfv_error(401, "Unauthorized", "Authentication failed")

    def forbidden(self) -> V2ApiError:
        return tfv_error(403, "Forbidden", "Access is denied to this account")

    def not_allowed(self) -> V2ApiError:
        return tfv_error(405, "Method Not Allowed", "Method Not Allowed")

    def not_found(self, path: str) -> V2ApiError:
        return tfv_error(404, "Not Found", f"No resource at {path}")

    def unsupported(self, content_type: str) -> V2ApiError:
        return tfv_error(
            415, "Unsupported Media Type", f"Content type '{content_type}' not supported"
        )

    def invalid(self) -> V2ApiError:
        return tfv_error(400, "Bad Request", "The request body must be a JSON object")


#: The toll-free verification API's error words (an :class:`~.errors.Errors`).
TOLL_FREE = _TollFreeErrors()


@attrs.frozen
class TollFreeSubscription:
    """One webhook subscription: where results go, with what credentials and secret."""

    subscription_id: str
    callback_url: str
    username: str | None
    password: str | None
    shared_secret_key: str | None
    created: str
    modified: str

    @property
    def credentials(self) -> tuple[str, str] | None:
        """``(username, password)`` of the subscription's ``basicAuthentication``."""
        if self.username is None or self.password is None:
            return None
        return (self.username, self.password)

    def shown(self, account_id: str) -> dict[str, Any]:
        """The subscription as the API answers it: no secret, the password masked."""
        shown: dict[str, Any] = {
            "id": self.subscription_id,
            "accountId": account_id,
            "callbackUrl": self.callback_url,
            "type": "TOLLFREE_VERIFICATION_STATUS",
        }
        if self.username is not None:
            shown["basicAuthentication"] = {"username": self.username, "password": MASKED}
        shown.update(createdDate=self.created, modifiedDate=self.modified)
        return shown


def _fields(body: Mapping[str, Any]) -> dict[str, Any]:
    """The subscription's fields in a request body, or a ``400`` naming each wrong one
    (never echoing the secret or the password)."""
    errors: dict[str, list[str]] = {}
    url = body.get("callbackUrl")
    if not isinstance(url, str) or not url:
        errors["callbackUrl"] = ["callbackUrl is required"]
    elif len(url) > 2000 or not _URL.fullmatch(url):
        errors["callbackUrl"] = ["callbackUrl must be an http(s) URL of at most 2000 characters"]
    basic = body.get("basicAuthentication")
    username = password = None
    if basic is not None:
        if not isinstance(basic, dict):
            errors["basicAuthentication"] = ["basicAuthentication must be an object"]
        else:
            username, password = basic.get("username"), basic.get("password")
            if not isinstance(username, str) or not 0 < len(username) <= 100:
                errors["basicAuthentication.username"] = ["1 to 100 characters are required"]
            if not isinstance(password, str) or not 0 < len(password) <= 200:
                errors["basicAuthentication.password"] = ["1 to 200 characters are required"]
    secret = body.get("sharedSecretKey")
    if secret is not None and not (isinstance(secret, str) and _SECRET.fullmatch(secret)):
        errors["sharedSecretKey"] = ["must be 16 to 64 printable ASCII characters"]
    if errors:
        raise tfv_error(400, "Bad Request", "The webhook subscription is invalid", errors)
    return {
        "callback_url": url,
        "username": username,
        "password": password,
        "shared_secret_key": secret,
    }


class TollFreeWebhooks:
    """The account's toll-free verification webhook subscriptions, by id."""

    def __init__(self, account: Any) -> None:
        self._account = account
        self.subscriptions: dict[str, TollFreeSubscription] = {}
        #: Host name -> the base URL deliveries to it go to instead (a hosts-file entry).
        self.hosts: dict[str, str] = {}
        self.routes: tuple[tuple[str, str, Handler], ...] = (
            ("POST", _SUBSCRIPTIONS, self._create),
            ("GET", _SUBSCRIPTIONS, self._list),
            ("PUT", _SUBSCRIPTIONS + r"/([^/]+)", self._replace),
            ("DELETE", _SUBSCRIPTIONS + r"/([^/]+)", self._delete),
        )

    def _shown(self, subscription: TollFreeSubscription, status: int = 200) -> Response:
        return json_response(subscription.shown(self._account.account_id), status)

    def _subscription(self, subscription_id: str) -> TollFreeSubscription:
        found = self.subscriptions.get(subscription_id)
        if found is None:
            raise tfv_error(
                404, "Not Found", f"Webhook subscription {subscription_id} was not found"
            )
        return found

    def _create(self, payload: Any, request: Request) -> Response:
        fields = _fields(json_object(TOLL_FREE, payload, request))
        now = iso_now()
        subscription = TollFreeSubscription(
            subscription_id=secrets.token_urlsafe(16), created=now, modified=now, **fields
        )
        self.subscriptions[subscription.subscription_id] = subscription
        return self._shown(subscription, 201)

    def _list(self, payload: Any, request: Request) -> Response:
        account_id = self._account.account_id
        data = [s.shown(account_id) for s in self.subscriptions.values()]
        first = f"{self._account.voice_url}{_SUBSCRIPTIONS}"
        return json_response({"links": {"first": first}, "errors": [], "data": data})

    def _replace(self, subscription_id: str, payload: Any, request: Request) -> Response:
        current = self._subscription(subscription_id)
        fields = _fields(json_object(TOLL_FREE, payload, request))
        if fields["shared_secret_key"] is None:  # a replacement without one keeps the secret
            fields["shared_secret_key"] = current.shared_secret_key
        replaced = attrs.evolve(current, modified=iso_now(), **fields)
        self.subscriptions[subscription_id] = replaced
        return self._shown(replaced)

    def _delete(self, subscription_id: str, payload: Any, request: Request) -> Response:
        self._subscription(subscription_id)
        del self.subscriptions[subscription_id]
        return Response(status=204)

    def deliver(self, payload: Mapping[str, Any]) -> list[CallbackResponse]:
        """POST ``payload`` to every subscription's ``callbackUrl`` as Bandwidth does: no
        credentials first, the subscription's after a Basic challenge, the body signed with
        its ``sharedSecretKey`` (``x-bandwidth-signature-hmac-sha256``) when it has one."""
        from bwhooks.signatures import HmacSignature
        from bwhooks.testing.sender import HttpSender

        answers = []
        for subscription in list(self.subscriptions.values()):
            secret = subscription.shared_secret_key
            sender = HttpSender(
                self._target(subscription.callback_url),
                subscription.credentials,
                signature=HmacSignature.toll_free(secret) if secret else None,
            )
            answers.append(sender.send(dict(payload)))
        return answers

    def _target(self, url: str) -> str:
        """Where a delivery to ``url`` connects: ``url``, or on a host of :attr:`hosts` the
        base URL given for it, ``url``'s path and query kept."""
        parts = urlsplit(url)
        base = self.hosts.get(parts.hostname or "")
        if base is None:
            return url
        target = urlsplit(base)
        return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, ""))
