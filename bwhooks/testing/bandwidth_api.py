"""A fake of Bandwidth's v1 REST API, for handlers under test to call back.

It follows Bandwidth's documented behaviour: Basic auth with the API token and secret,
``201`` with a ``Location`` header on creation, ``200`` on updates, Bandwidth's error bodies
(``{"category", "code", "message"}``), and the validations a handler is likely to trip.
It records every request. :meth:`FakeBandwidthApi.handle` is a plain werkzeug handler;
the ``bandwidth_api`` pytest fixture serves it on pytest-httpserver.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from typing import Any

import attrs
from werkzeug.wrappers import Request, Response

from bwhooks.auth import basic_authorization

__all__ = ["ApiError", "FakeBandwidthApi", "RecordedRequest"]

_DTMF = re.compile(r"[A-D0-9#*,wW]{1,92}")
_CALL_STATES = {"active", "rejected", "completed", "transferring"}


class ApiError(Exception):
    """A Bandwidth error answer: HTTP status and the documented error body."""

    def __init__(self, status: int, category: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.category, self.code, self.message = status, category, code, message


@attrs.frozen
class RecordedRequest:
    """A request the fake received: method, path under the user, parsed JSON body."""

    method: str
    path: str
    json: Any
    body: bytes
    headers: dict[str, str]
    status: int


def _id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _require(body: dict[str, Any], resource: str, *names: str) -> None:
    for name in names:
        if not str(body.get(name, "")).strip():
            raise ApiError(
                400,
                "bad-request",
                "missing-property",
                f"The '{resource}' resource property '{name}' is required but was not specified",
            )


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
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Any]]] = [
            (method, re.compile(pattern), handler)
            for method, pattern, handler in (
                ("POST", r"/calls", self._create_call),
                ("GET", r"/calls/(c-[^/]+)", self._get_call),
                ("POST", r"/calls/(c-[^/]+)", self._update_call),
                ("POST", r"/calls/(c-[^/]+)/audio", self._call_audio),
                ("POST", r"/calls/(c-[^/]+)/dtmf", self._call_dtmf),
                ("POST", r"/calls/(c-[^/]+)/gather", self._create_gather),
                ("GET", r"/calls/(c-[^/]+)/gather/([^/]+)", self._get_gather),
                ("POST", r"/calls/(c-[^/]+)/gather/([^/]+)", self._stop_gather),
                ("GET", r"/calls/(c-[^/]+)/recordings", self._call_recordings),
                ("GET", r"/recordings/([^/]+)", self._get_recording),
                ("GET", r"/media", self._list_media),
                ("GET", r"/media/([^/]+)", self._get_media),
                ("PUT", r"/media/([^/]+)", self._put_media),
                ("DELETE", r"/media/([^/]+)", self._delete_media),
                ("POST", r"/messages", self._send_messages),
                ("GET", r"/messages/([^/]+)", self._get_message),
                ("POST", r"/conferences", self._create_conference),
                ("POST", r"/conferences/([^/]+)", self._update_conference),
                ("POST", r"/conferences/([^/]+)/audio", self._conference_audio),
                ("POST", r"/conferences/([^/]+)/members", self._add_member),
            )
        ]

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
        call_id = call_id or _id("c-")
        self.calls[call_id] = {"id": call_id, "direction": "in", "state": "active", **fields}
        return call_id

    def add_media(self, name: str, data: bytes, content_type: str = "audio/wav") -> str:
        """Seed a media file; returns its URL."""
        self.media[name] = (data, content_type)
        return f"{self.user_url}/media/{name}"

    def add_recording(
        self, call_id: str, data: bytes = b"RIFF", recording_id: str | None = None
    ) -> str:
        """Seed a complete recording of ``call_id`` with its media; returns its id."""
        recording_id = recording_id or _id("rec-")
        media = self.add_media(f"{call_id}-{len(self.recordings) + 1}.wav", data)
        self.recordings[recording_id] = {
            "id": recording_id,
            "call": f"{self.user_url}/calls/{call_id}",
            "media": media,
            "state": "complete",
        }
        return recording_id

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """The recorded requests with this method whose path (under the user) matches."""
        pattern = re.compile(path)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    # -- serving ------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request (a werkzeug handler, e.g. for pytest-httpserver)."""
        path = request.path
        prefix = f"/v1/users/{self.user_id}"
        body_bytes = request.get_data()
        try:
            payload = json.loads(body_bytes) if body_bytes and request.is_json else None
        except ValueError:
            payload = None
        try:
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
            response = self._route(request.method, path[len(prefix) :], payload, request)
        except ApiError as error:
            body = {
                "category": error.category,
                "code": error.code,
                "message": error.message,
                "details": [
                    {"name": "requestMethod", "value": request.method},
                    {"name": "requestPath", "value": path.lstrip("/")},
                ],
            }
            response = Response(json.dumps(body), error.status, content_type="application/json")
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        self.requests.append(
            RecordedRequest(
                request.method,
                path[len(prefix) :] if path.startswith(prefix) else path,
                payload,
                body_bytes,
                headers,
                response.status_code,
            )
        )
        return response

    def _route(self, method: str, path: str, payload: Any, request: Request) -> Response:
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match and route_method == method:
                result: Response = handler(*match.groups(), payload=payload, request=request)
                return result
        raise ApiError(404, "not-found", "resource-not-found", f"The resource {path} was not found")

    @staticmethod
    def _object(payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise ApiError(400, "bad-request", "validation-error", "Bad parameters")
        return payload

    def _created(self, path: str) -> Response:
        return Response(status=201, headers={"Location": f"/v1/users/{self.user_id}{path}"})

    @staticmethod
    def _ok(body: Any = None) -> Response:
        if body is None:
            return Response(status=200)
        return Response(json.dumps(body), 200, content_type="application/json")

    def _call(self, call_id: str) -> dict[str, Any]:
        if call_id not in self.calls:
            raise ApiError(
                404, "not-found", "call-not-found", f"The call {call_id} could not be found"
            )
        return self.calls[call_id]

    # -- calls --------------------------------------------------------------------------

    def _create_call(self, payload: Any, request: Request) -> Response:
        body = self._object(payload)
        _require(body, "call", "from", "to")
        call_id = self.add_call(
            direction="out",
            state="started",
            **{k: v for k, v in body.items() if k not in ("id", "direction", "state")},
        )
        return self._created(f"/calls/{call_id}")

    def _get_call(self, call_id: str, payload: Any, request: Request) -> Response:
        return self._ok(self._call(call_id))

    def _update_call(self, call_id: str, payload: Any, request: Request) -> Response:
        call, body = self._call(call_id), self._object(payload)
        state = body.get("state")
        if state is not None and state not in _CALL_STATES:
            raise ApiError(
                400,
                "bad-request",
                "validation-error",
                f"The 'call' resource property 'state' must be one of the following "
                f"values: {', '.join(sorted(_CALL_STATES))}",
            )
        if state is not None and call["state"] in ("completed", "rejected"):
            raise ApiError(
                403,
                "forbidden",
                "call-invalid-state",
                f"You can't update the call's state after being set to {call['state']}",  # noqa: S608
            )
        if state == "transferring":
            _require(body, "call", "transferTo")
            if call["state"] != "active":
                raise ApiError(
                    403,
                    "forbidden",
                    "call-invalid-state",
                    f"Unable to update call {call_id}. Invalid call state {call['state']}",
                )
            new_call = self.add_call(direction="out", state="started", to=body["transferTo"])
            call["state"] = "transferring"
            return self._created(f"/calls/{new_call}")
        call.update(body)
        return self._ok()

    def _call_audio(self, call_id: str, payload: Any, request: Request) -> Response:
        self._call(call_id)
        body = self._object(payload)
        if len(str(body.get("sentence", ""))) > 1000:
            raise ApiError(
                400,
                "bad-request",
                "validation-error",
                "The 'sentence' exceeds the limit of 1000 characters",
            )
        return self._ok()

    def _call_dtmf(self, call_id: str, payload: Any, request: Request) -> Response:
        self._call(call_id)
        if not _DTMF.fullmatch(str(self._object(payload).get("dtmfOut", ""))):
            raise ApiError(
                400,
                "bad-request",
                "validation-error",
                "dtmfOut must be 1 to 92 of the characters 0-9 A-D # * , w W",
            )
        return self._ok()

    def _create_gather(self, call_id: str, payload: Any, request: Request) -> Response:
        self._call(call_id)
        body = self._object(payload)
        if int(body.get("maxDigits", 1)) > 30:
            raise ApiError(400, "bad-request", "validation-error", "maxDigits must be at most 30")
        if any(g["call_id"] == call_id and g["state"] == "started" for g in self.gathers.values()):
            raise ApiError(
                409,
                "conflict",
                "call-duplicate-gather-error",
                f"DTMF digits are already being gathered for call {call_id}",
            )
        gather_id = _id("g-")
        self.gathers[gather_id] = {"id": gather_id, "state": "started", "call_id": call_id, **body}
        return self._created(f"/calls/{call_id}/gather/{gather_id}")

    def _gather(self, call_id: str, gather_id: str) -> dict[str, Any]:
        gather = self.gathers.get(gather_id)
        if gather is None or gather["call_id"] != call_id:
            raise ApiError(404, "not-found", "resource-not-found", f"Gather {gather_id} not found")
        return gather

    def _get_gather(self, call_id: str, gather_id: str, payload: Any, request: Request) -> Response:
        return self._ok(self._gather(call_id, gather_id))

    def _stop_gather(
        self, call_id: str, gather_id: str, payload: Any, request: Request
    ) -> Response:
        gather = self._gather(call_id, gather_id)
        if self._object(payload) != {"state": "completed"}:
            raise ApiError(
                400, "bad-request", "validation-error", "The only update allowed is state:completed"
            )
        gather["state"] = "completed"
        return self._ok()

    def _call_recordings(self, call_id: str, payload: Any, request: Request) -> Response:
        self._call(call_id)
        url = f"{self.user_url}/calls/{call_id}"
        return self._ok([r for r in self.recordings.values() if r["call"] == url])

    def _get_recording(self, recording_id: str, payload: Any, request: Request) -> Response:
        if recording_id not in self.recordings:
            raise ApiError(
                404,
                "not-found",
                "recording-not-found",
                f"The recording {recording_id} could not be found",
            )
        return self._ok(self.recordings[recording_id])

    # -- media --------------------------------------------------------------------------

    def _list_media(self, payload: Any, request: Request) -> Response:
        return self._ok(
            [
                {
                    "mediaName": name,
                    "contentLength": len(data),
                    "content": f"{self.user_url}/media/{name}",
                }
                for name, (data, _) in self.media.items()
            ]
        )

    def _get_media(self, name: str, payload: Any, request: Request) -> Response:
        if name not in self.media:
            raise ApiError(
                404,
                "not-found",
                "media-not-found",
                f"The media resource named {name} could not be found",
            )
        data, content_type = self.media[name]
        return Response(data, 200, content_type=content_type)

    def _put_media(self, name: str, payload: Any, request: Request) -> Response:
        if request.content_length is None:
            raise ApiError(
                400,
                "bad-request",
                "validation-error",
                "The media size must be specified by the Content-Length header",
            )
        self.add_media(name, request.get_data(), request.content_type or "application/octet-stream")
        return self._ok()

    def _delete_media(self, name: str, payload: Any, request: Request) -> Response:
        self._get_media(name, payload, request)
        del self.media[name]
        return self._ok()

    # -- messages -----------------------------------------------------------------------

    def _message(self, body: dict[str, Any]) -> str:
        _require(body, "message", "from", "to", "text")
        if body.get("media") and body.get("receiptRequested", "none") != "none":
            raise ApiError(
                400,
                "bad-request",
                "validation-error",
                "Can not send media and receiptRequested in the same request",
            )
        message_id = _id("m-")
        self.messages[message_id] = {
            "id": message_id,
            "messageId": message_id,
            "direction": "out",
            "state": "queued",
            **body,
        }
        return message_id

    def _send_messages(self, payload: Any, request: Request) -> Response:
        if not isinstance(payload, list):
            return self._created(f"/messages/{self._message(self._object(payload))}")
        if len(payload) > 50:
            raise ApiError(400, "bad-request", "multi-message-limit", "At most 50 messages")
        results: list[dict[str, Any]] = []
        for item in payload:
            try:
                location = f"{self.user_url}/messages/{self._message(self._object(item))}"
                results.append({"result": "accepted", "location": location})
            except ApiError as error:
                results.append(
                    {
                        "result": "error",
                        "error": {
                            "category": error.category,
                            "code": error.code,
                            "message": error.message,
                            "details": [],
                        },
                    }
                )
        return Response(json.dumps(results), 202, content_type="application/json")

    def _get_message(self, message_id: str, payload: Any, request: Request) -> Response:
        if message_id not in self.messages:
            raise ApiError(
                404,
                "not-found",
                "message-not-found",
                f"The message {message_id} could not be found",
            )
        return self._ok(self.messages[message_id])

    # -- conferences --------------------------------------------------------------------

    def _conference(self, conference_id: str) -> dict[str, Any]:
        if conference_id not in self.conferences:
            raise ApiError(
                404,
                "not-found",
                "conference-not-found",
                f"The conference {conference_id} could not be found",
            )
        return self.conferences[conference_id]

    def _create_conference(self, payload: Any, request: Request) -> Response:
        body = self._object(payload)
        _require(body, "conference", "from")
        conference_id = _id("conf-")
        self.conferences[conference_id] = {"id": conference_id, "state": "created", **body}
        return self._created(f"/conferences/{conference_id}")

    def _update_conference(self, conference_id: str, payload: Any, request: Request) -> Response:
        conference = self._conference(conference_id)
        if conference["state"] == "completed":
            raise ApiError(
                403,
                "forbidden",
                "conference-error",
                f"Unable to update conference {conference_id}. Invalid conference state completed",
            )
        conference.update(self._object(payload))
        return self._ok()

    def _conference_audio(self, conference_id: str, payload: Any, request: Request) -> Response:
        self._conference(conference_id)
        body = self._object(payload)
        if not (body.get("sentence") or body.get("fileUrl")):
            raise ApiError(
                400,
                "bad-request",
                "validation-error",
                "For playing text-to-speech, sentence is required, for playing an "
                "audio file, fileUrl is required",
            )
        return self._ok()

    def _add_member(self, conference_id: str, payload: Any, request: Request) -> Response:
        conference = self._conference(conference_id)
        body = self._object(payload)
        _require(body, "member", "callId")
        active = [m for m in self.members.values() if m["conference"] == conference_id]
        if len(active) >= 20:
            raise ApiError(403, "limit", "conference-max-members", "At most 20 members")
        member_id = _id("member-")
        self.members[member_id] = {
            "id": member_id,
            "state": "active",
            "conference": conference_id,
            "mute": _flag(body.get("mute")),
            "hold": _flag(body.get("hold")),
        }
        conference["state"] = "active"
        return self._created(f"/conferences/{conference_id}/members/{member_id}")
