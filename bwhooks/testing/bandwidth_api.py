"""A fake of Bandwidth's v1 REST API, for handlers under test to call back.

It follows Bandwidth's documented behaviour: Basic auth with the API token and secret,
``201`` with a ``Location`` header on creation, ``200`` on updates, Bandwidth's error bodies
(``{"category", "code", "message"}``), and the validations a handler is likely to trip.
It records every request. :meth:`FakeBandwidthApi.handle` is a plain werkzeug handler;
the ``bandwidth_api`` pytest fixture serves it on pytest-httpserver. Each resource family
is served by a class of its own in :mod:`bwhooks.testing.fake_api.v1`.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from bwhooks.auth import basic_authorization
from bwhooks.testing.fake_api.serving import (
    RecordedRequest,
    RequestLog,
    Routes,
    json_response,
    read_json,
)
from bwhooks.testing.fake_api.v1.answers import ApiError
from bwhooks.testing.fake_api.v1.calls import Calls
from bwhooks.testing.fake_api.v1.conferences import Conferences
from bwhooks.testing.fake_api.v1.media import Media
from bwhooks.testing.fake_api.v1.messages import Messages

__all__ = ["ApiError", "FakeBandwidthApi", "RecordedRequest"]


class FakeBandwidthApi:
    """Bandwidth's v1 REST API for one user, in memory.

    ``url`` is the API base to configure in the code under test (``.../v1``); requests
    must carry ``token``/``secret`` as Basic credentials. ``requests`` lists what was
    called; ``calls``, ``messages``, ``media``, ``recordings`` and ``conferences`` hold
    the resources, so a test can seed them (:meth:`add_call`, :meth:`add_recording`,
    :meth:`add_media`) and inspect them.
    """

    def __init__(
        self,
        base_url: str = "",
        *,
        user_id: str = "u-test",
        token: str = "t-token",  # noqa: S107  (a fake API's fake credentials)
        secret: str = "s-secret",  # noqa: S107
    ) -> None:
        self.url = base_url.rstrip("/") + "/v1"
        self.user_id, self.token, self.secret = user_id, token, secret
        self.requests: list[RecordedRequest] = []
        self.calls: dict[str, dict[str, Any]] = {}
        self.gathers: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.media: dict[str, tuple[bytes, str]] = {}
        self.recordings: dict[str, dict[str, Any]] = {}
        self.conferences: dict[str, dict[str, Any]] = {}
        self.members: dict[str, dict[str, Any]] = {}
        self._log = RequestLog(self)
        self._calls = Calls(self)
        self._media = Media(self, self._calls.call)
        self._routes = Routes(
            *self._calls.routes,
            *self._media.routes,
            *Messages(self).routes,
            *Conferences(self).routes,
        )

    # -- seeding and inspecting ---------------------------------------------------------

    @property
    def user_url(self) -> str:
        """``<url>/users/<user_id>``: where the user's resources live."""
        return f"{self.url}/users/{self.user_id}"

    def authorization(self) -> str:
        """The ``Authorization`` header a client of this API sends."""
        return basic_authorization(self.token, self.secret)

    def add_call(self, call_id: str | None = None, **fields: Any) -> str:
        """Seed an active inbound call; returns its id."""
        return self._calls.add(call_id, **fields)

    def add_media(self, name: str, data: bytes, content_type: str = "audio/wav") -> str:
        """Seed a media file; returns its URL."""
        return self._media.add(name, data, content_type)

    def add_recording(
        self, call_id: str, data: bytes = b"RIFF", recording_id: str | None = None
    ) -> str:
        """Seed a complete recording of ``call_id`` with its media; returns its id."""
        return self._media.add_recording(call_id, data, recording_id)

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """The recorded requests with this method whose path (under the user) matches."""
        return self._log.matching(method, path)

    # -- serving ------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request (a werkzeug handler, e.g. for pytest-httpserver)."""
        path = request.path
        prefix = f"/v1/users/{self.user_id}"
        body = request.get_data()
        payload = read_json(body, request.is_json)
        try:
            response = self._serve(request, prefix, payload)
        except ApiError as error:
            details = [
                {"name": "requestMethod", "value": request.method},
                {"name": "requestPath", "value": path.lstrip("/")},
            ]
            response = json_response(error.as_body(details), error.status)
        self._log.record(request, path.removeprefix(prefix), payload, body, response.status_code)
        return response

    def _serve(self, request: Request, prefix: str, payload: Any) -> Response:
        """Credentials first, then the user, then the route."""
        path = request.path
        if request.headers.get("Authorization") != self.authorization():
            raise ApiError(
                401, "authentication", "unauthorized", "Incorrect or disabled credentials"
            )
        if not path.startswith(prefix + "/"):
            raise ApiError(
                401,
                "authorization",
                "user-access-denied",
                f"User {self.token} does not have permission to access {path}",
            )
        path = path[len(prefix) :]
        answer = self._routes.answer(request.method, path, payload, request)
        if answer is None:
            message = f"The resource {path} was not found"
            raise ApiError(404, "not-found", "resource-not-found", message)
        return answer
