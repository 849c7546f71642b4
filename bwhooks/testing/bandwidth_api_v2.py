"""A fake of Bandwidth's v2 REST APIs (Messaging v2 and Voice v2), for handlers to call back.

It follows Bandwidth's documented behaviour (``bandwidth/REST-v2.md`` in the project's
research): the paths under ``/api/v2`` (``/users/{accountId}/...`` for messaging,
``/accounts/{accountId}/...`` for voice), OAuth2 client credentials (the token endpoint,
then ``Bearer``) and Basic API users, credentials checked before the account (``401``) and
the account before the resource (``403``, then ``404``), the exact success codes the SDK
reads (``202`` for a message, ``201`` with ``Location`` for a call, ``200``/``204``
updates), and each API's error bodies (voice ``{type, description, id}``, messaging
``{type, description}`` with ``fieldErrors``). bandwidth-sdk works against it unchanged
(:meth:`FakeBandwidthApiV2.sdk_configuration`). It records every request. Each API is
served by a class of its own in :mod:`bwhooks.testing.fake_api.v2`; the toll-free
verification webhook subscriptions too, and the fake delivers a verification result to
them as Bandwidth does (:meth:`FakeBandwidthApiV2.send_toll_free_result`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from bwhooks.auth import basic_authorization
from bwhooks.http import CallbackResponse
from bwhooks.testing.fake_api.serving import (
    RecordedRequest,
    RequestLog,
    Routes,
    json_response,
    read_json,
)
from bwhooks.testing.fake_api.v2.calls import Calls
from bwhooks.testing.fake_api.v2.conferences import Conferences
from bwhooks.testing.fake_api.v2.errors import MESSAGING, VOICE, V2ApiError
from bwhooks.testing.fake_api.v2.messaging import Messaging
from bwhooks.testing.fake_api.v2.oauth2 import OAUTH2_PATH, TokenEndpoint
from bwhooks.testing.fake_api.v2.recordings import Recordings
from bwhooks.testing.fake_api.v2.tollfree import TOLL_FREE, TollFreeSubscription, TollFreeWebhooks
from bwhooks.testing.fakes import fake_payload

__all__ = ["FakeBandwidthApiV2", "TollFreeSubscription", "V2ApiError"]


class FakeBandwidthApiV2:
    """Bandwidth's Messaging v2 and Voice v2 REST APIs for one account, in memory.

    Point bandwidth-sdk at it with :meth:`sdk_configuration` (OAuth2 by default, Basic with
    ``oauth=False``), or your own client at :attr:`url` (voice under
    :attr:`voice_url`, messaging under :attr:`messaging_url`, tokens at :attr:`token_url`).
    ``requests`` lists what was called; ``messages``, ``media``, ``calls``, ``recordings``
    and ``conferences`` hold the resources, which a test can seed (:meth:`add_call`,
    :meth:`add_recording`, :meth:`add_conference`, :meth:`add_media`) and inspect.
    A created call starts ``initiated``: :meth:`answer_call` answers it, as the callee would.
    Toll-free verification webhook subscriptions (``TollFreeVerificationApi``) are kept in
    :attr:`toll_free_subscriptions`; :meth:`send_toll_free_result` delivers a result to them.
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        account_id: str = "9900000",
        username: str = "api-user",
        password: str = "api-password",  # noqa: S107  (a fake API's fake credentials)
        client_id: str = "client-id",
        client_secret: str = "client-secret",  # noqa: S107
        token_lifetime: int = 3600,
    ) -> None:
        self.base = base_url.rstrip("/")
        self.account_id = account_id
        self.username, self.password = username, password
        self.client_id, self.client_secret = client_id, client_secret
        self.token_lifetime = token_lifetime
        self.tokens: dict[str, float] = {}  # access token -> expiry (time.time())
        self.requests: list[RecordedRequest] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self.media: dict[str, tuple[bytes, str]] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self.recordings: dict[str, dict[str, Any]] = {}
        self.transcriptions: dict[str, dict[str, Any]] = {}
        self.conferences: dict[str, dict[str, Any]] = {}
        self._log = RequestLog(self)
        self._token = TokenEndpoint(self)
        self._messaging = Messaging(self)
        self._calls = Calls(self)
        self._recordings = Recordings(self)
        self._conferences = Conferences(self)
        self._toll_free = TollFreeWebhooks(self)
        self._messaging_routes = Routes(*self._messaging.routes)
        self._voice_routes = Routes(
            *self._calls.routes,
            *self._recordings.routes,
            *self._conferences.routes,
            *self._toll_free.routes,
        )

    # -- where things are -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The v2 API base (``<server>/api/v2``): the SDK's ``host``."""
        return f"{self.base}/api/v2"

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint (client credentials)."""
        return f"{self.base}{OAUTH2_PATH}"

    @property
    def voice_url(self) -> str:
        """``<url>/accounts/<account_id>``: the account's voice resources."""
        return f"{self.url}/accounts/{self.account_id}"

    @property
    def messaging_url(self) -> str:
        """``<url>/users/<account_id>``: the account's messaging resources."""
        return f"{self.url}/users/{self.account_id}"

    def authorization(self) -> str:
        """The Basic ``Authorization`` header of the fake's API user."""
        return basic_authorization(self.username, self.password)

    def sdk_configuration(self, *, oauth: bool = True) -> Any:
        """A ``bandwidth.Configuration`` for bandwidth-sdk, pointed at this fake: OAuth2
        client credentials (the SDK fetches its token here), or Basic with ``oauth=False``."""
        from bandwidth import Configuration

        credentials: dict[str, str] = (
            {"client_id": self.client_id, "client_secret": self.client_secret}
            if oauth
            else {"username": self.username, "password": self.password}
        )
        return Configuration(
            host=self.url,
            ignore_operation_servers=True,  # voice and messaging share the fake's base
            access_token_url=self.token_url,
            **credentials,
        )

    # -- seeding and inspecting -------------------------------------------------------------

    def add_call(self, call_id: str | None = None, **fields: Any) -> str:
        """Seed an answered inbound call (fields by wire name); returns its id."""
        return self._calls.add(call_id, **fields)

    def answer_call(self, call_id: str) -> None:
        """The callee answers: the call becomes ``answered`` (and can be redirected)."""
        self._calls.answer(call_id)

    def add_recording(
        self,
        call_id: str,
        data: bytes = b"RIFF\x00\x00\x00\x00WAVE",
        recording_id: str | None = None,
    ) -> str:
        """Seed a complete recording of ``call_id`` with its media; returns its id."""
        return self._recordings.add(call_id, data, recording_id)

    def add_conference(self, name: str = "my-conference", *member_call_ids: str) -> str:
        """Seed an active conference with these calls as members; returns its id."""
        return self._conferences.add(name, member_call_ids)

    def add_media(self, media_id: str, data: bytes, content_type: str = "image/png") -> str:
        """Seed a messaging media file; returns its URL."""
        return self._messaging.add_media(media_id, data, content_type)

    @property
    def toll_free_subscriptions(self) -> dict[str, TollFreeSubscription]:
        """The toll-free verification webhook subscriptions, by id (their secrets and
        passwords included, for assertions: the API never shows them)."""
        return self._toll_free.subscriptions

    def send_toll_free_result(
        self, result: str | Mapping[str, Any] = "tollfree:verified", **overrides: Any
    ) -> list[CallbackResponse]:
        """Deliver a toll-free verification result to every webhook subscription, as
        Bandwidth does: the challenge first, then the subscription's credentials, the body
        signed with its ``sharedSecretKey`` when it has one. ``result`` is a kind
        (``"tollfree:denial"``, ...: see ``fake_payload``, with ``overrides``; its
        ``accountId`` is this fake's) or the JSON object itself. Returns each final answer."""
        if isinstance(result, str):
            payload = fake_payload(result, **{"accountId": self.account_id, **overrides})
        else:
            payload = {**result, **overrides}
        return self._toll_free.deliver(payload)

    def resolve(self, host: str, base_url: str) -> None:
        """Deliver to callback URLs on ``host`` at ``base_url`` instead (their path and query
        kept), like a hosts-file entry: bandwidth-sdk accepts only a ``callbackUrl`` with a
        domain name (``https://hooks.example.com/tfv``), a test's receiver listens on
        ``http://127.0.0.1:PORT``."""
        self._toll_free.hosts[host] = base_url

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """The recorded requests with this method whose path (under ``/api/v2``, or the
        token endpoint's ``/oauth2/token``) matches the regular expression ``path``."""
        return self._log.matching(method, path)

    # -- serving ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request (a werkzeug handler, e.g. for pytest-httpserver)."""
        path = unquote(request.path)
        body = request.get_data()
        payload = read_json(body, request.mimetype.endswith("json"))
        try:
            if path == OAUTH2_PATH and request.method == "POST":
                response = self._token.grant(request)
            else:
                response = self._serve(request, path, payload)
        except V2ApiError as error:
            response = json_response(error.body, error.status, error.headers)
        recorded = path.removeprefix("/api/v2").removeprefix("/api/v1")
        self._log.record(request, recorded, payload, body, response.status_code)
        return response

    def _serve(self, request: Request, path: str, payload: Any) -> Response:
        """Credentials first, then the account, then the API's route for the path."""
        messaging = "/users/" in path
        toll_free = "/tollFreeVerification/" in path
        errors = MESSAGING if messaging else TOLL_FREE if toll_free else VOICE
        routes = self._messaging_routes if messaging else self._voice_routes
        if not self._token.authenticated(request):
            raise errors.unauthorized()
        match = re.fullmatch(r"/api/v2/(users|accounts)/([^/]+)(/.*)?", path)
        if match is None:
            raise errors.not_found(path)
        if match.group(2) != self.account_id:
            raise errors.forbidden()
        rest = match.group(3) or ""
        answer = routes.answer(request.method, rest, payload, request)
        if answer is not None:
            return answer
        raise errors.not_allowed() if routes.serves(rest) else errors.not_found(path)
