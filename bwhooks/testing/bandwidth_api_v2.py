"""A fake of Bandwidth's v2 REST APIs (Messaging v2 and Voice v2), for handlers to call back.

It follows Bandwidth's documented behaviour (``bandwidth/REST-v2.md`` in the project's
research): the paths under ``/api/v2`` (``/users/{accountId}/...`` for messaging,
``/accounts/{accountId}/...`` for voice), OAuth2 client credentials (the token endpoint,
then ``Bearer``) and Basic API users, credentials checked before the account (``401``) and
the account before the resource (``403``, then ``404``), the exact success codes the SDK
reads (``202`` for a message, ``201`` with ``Location`` for a call, ``200``/``204``
updates), and each API's error bodies (voice ``{type, description, id}``, messaging
``{type, description}`` with ``fieldErrors``). bandwidth-sdk works against it unchanged
(:meth:`FakeBandwidthApiV2.sdk_configuration`). It records every request.
"""

from __future__ import annotations

import base64
import json
import math
import re
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree

from werkzeug.wrappers import Request, Response

from bwhooks.auth import basic_authorization
from bwhooks.testing.bandwidth_api import RecordedRequest
from bwhooks.testing.ids import bandwidth_id, iso_now, message_id

__all__ = ["FakeBandwidthApiV2", "V2ApiError"]

_E164 = re.compile(r"\+[1-9]\d{6,14}")
_JSON = "application/json"
_MESSAGING, _VOICE = "messaging", "voice"
_CALL_REQUIRED = ("from", "to", "answerUrl", "applicationId")
_RANGES = {"callTimeout": (1, 300), "callbackTimeout": (1, 25), "priority": (1, 5)}
_AUDIO = {"wav": "audio/vnd.wave", "mp3": "audio/mpeg"}


class V2ApiError(Exception):
    """An error answer of the v2 APIs: the status and the API's own error body."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(body.get("description", ""))
        self.status, self.body, self.headers = status, body, headers or {}


def _voice_error(
    status: int, kind: str, description: str, error_id: str | None = None
) -> V2ApiError:
    return V2ApiError(status, {"type": kind, "description": description, "id": error_id})


def _messaging_error(
    status: int, kind: str, description: str, field_errors: list[dict[str, str]] | None = None
) -> V2ApiError:
    body: dict[str, Any] = {"type": kind, "description": description}
    if field_errors:
        body["fieldErrors"] = field_errors
    return V2ApiError(status, body)


class FakeBandwidthApiV2:
    """Bandwidth's Messaging v2 and Voice v2 REST APIs for one account, in memory.

    Point bandwidth-sdk at it with :meth:`sdk_configuration` (OAuth2 by default, Basic with
    ``oauth=False``), or your own client at :attr:`url` (voice under
    :attr:`voice_url`, messaging under :attr:`messaging_url`, tokens at :attr:`token_url`).
    ``requests`` lists what was called; ``messages``, ``media``, ``calls``, ``recordings``
    and ``conferences`` hold the resources, which a test can seed (:meth:`add_call`,
    :meth:`add_recording`, :meth:`add_conference`, :meth:`add_media`) and inspect.
    A created call starts ``initiated``: :meth:`answer_call` answers it, as the callee would.
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
        self._messaging_routes = self._compile(
            ("POST", r"/messages", self._create_message),
            ("GET", r"/messages", self._list_messages),
            ("GET", r"/media", self._list_media),
            ("GET", r"/media/(.+)", self._get_media),
            ("PUT", r"/media/(.+)", self._upload_media),
            ("DELETE", r"/media/(.+)", self._delete_media),
        )
        recording = r"/calls/([^/]+)/recordings/([^/]+)"
        conference = r"/conferences/([^/]+)"
        self._voice_routes = self._compile(
            ("POST", r"/calls", self._create_call),
            ("GET", r"/calls", self._list_calls),
            ("GET", r"/calls/([^/]+)", self._get_call),
            ("POST", r"/calls/([^/]+)", self._update_call),
            ("PUT", r"/calls/([^/]+)/bxml", self._update_call_bxml),
            ("PUT", r"/calls/([^/]+)/recording", self._update_recording_state),
            ("GET", r"/recordings", self._list_account_recordings),
            ("GET", r"/calls/([^/]+)/recordings", self._list_call_recordings),
            ("GET", recording, self._get_recording),
            ("DELETE", recording, self._delete_recording),
            ("GET", recording + "/media", self._download_recording),
            ("DELETE", recording + "/media", self._delete_recording_media),
            ("GET", recording + "/transcription", self._get_transcription),
            ("POST", recording + "/transcription", self._transcribe),
            ("DELETE", recording + "/transcription", self._delete_transcription),
            ("GET", r"/conferences", self._list_conferences),
            ("GET", conference, self._get_conference),
            ("POST", conference, self._update_conference),
            ("PUT", conference + "/bxml", self._update_conference_bxml),
            ("GET", conference + "/members/([^/]+)", self._get_member),
            ("PUT", conference + "/members/([^/]+)", self._update_member),
            ("GET", r"/statistics", self._statistics),
        )

    @staticmethod
    def _compile(
        *routes: tuple[str, str, Callable[..., Response]],
    ) -> list[tuple[str, re.Pattern[str], Callable[..., Response]]]:
        return [(method, re.compile(pattern), handler) for method, pattern, handler in routes]

    # -- where things are -----------------------------------------------------------------

    @property
    def url(self) -> str:
        """The v2 API base (``<server>/api/v2``): the SDK's ``host``."""
        return f"{self.base}/api/v2"

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint (client credentials)."""
        return f"{self.base}/api/v1/oauth2/token"

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
        call_id = call_id or bandwidth_id("c")
        now = iso_now()
        self.calls[call_id] = {
            "applicationId": str(uuid.uuid4()),
            "accountId": self.account_id,
            "callId": call_id,
            "parentCallId": None,
            "to": "+19195550100",
            "from": "+19195550199",
            "direction": "inbound",
            "state": "answered",
            "enqueuedTime": None,
            "startTime": now,
            "answerTime": now,
            "endTime": None,
            "disconnectCause": None,
            "errorMessage": None,
            "errorId": None,
            "lastUpdate": now,
            **fields,
        }
        return call_id

    def answer_call(self, call_id: str) -> None:
        """The callee answers: the call becomes ``answered`` (and can be redirected)."""
        call = self.calls[call_id]
        call.update(state="answered", answerTime=iso_now(), lastUpdate=iso_now())

    def add_recording(
        self,
        call_id: str,
        data: bytes = b"RIFF\x00\x00\x00\x00WAVE",
        recording_id: str | None = None,
    ) -> str:
        """Seed a complete recording of ``call_id`` with its media; returns its id."""
        recording_id = recording_id or f"r-{uuid.uuid4()}"
        call = self.calls.get(call_id, {})
        self.recordings[recording_id] = {
            "applicationId": call.get("applicationId"),
            "accountId": self.account_id,
            "callId": call_id,
            "parentCallId": None,
            "recordingId": recording_id,
            "to": call.get("to"),
            "from": call.get("from"),
            "transferCallerId": None,
            "transferTo": None,
            "duration": "PT9.512S",
            "direction": call.get("direction", "inbound"),
            "channels": 1,
            "startTime": iso_now(),
            "endTime": iso_now(),
            "fileFormat": "wav",
            "status": "complete",
            "mediaUrl": f"{self.voice_url}/calls/{call_id}/recordings/{recording_id}/media",
            "transcription": None,
            "_media": data,
        }
        return recording_id

    def add_conference(self, name: str = "my-conference", *member_call_ids: str) -> str:
        """Seed an active conference with these calls as members; returns its id."""
        conference_id = bandwidth_id("conf")
        self.conferences[conference_id] = {
            "id": conference_id,
            "name": name,
            "createdTime": iso_now(),
            "completedTime": None,
            "conferenceEventUrl": None,
            "conferenceEventMethod": "POST",
            "tag": None,
            "_members": {
                call_id: {"mute": False, "hold": False, "callIdsToCoach": None}
                for call_id in member_call_ids
            },
            "_bxml": [],
        }
        return conference_id

    def add_media(self, media_id: str, data: bytes, content_type: str = "image/png") -> str:
        """Seed a messaging media file; returns its URL."""
        self.media[media_id] = (data, content_type)
        return f"{self.messaging_url}/media/{media_id}"

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """The recorded requests with this method whose path (under ``/api/v2``, or the
        token endpoint's ``/oauth2/token``) matches the regular expression ``path``."""
        pattern = re.compile(path)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    # -- serving ----------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one request (a werkzeug handler, e.g. for pytest-httpserver)."""
        path = unquote(request.path)
        body = request.get_data()
        api = _MESSAGING if "/users/" in path else _VOICE
        try:
            payload = json.loads(body) if body and request.mimetype.endswith("json") else None
        except ValueError:
            payload = None
        try:
            if path == "/api/v1/oauth2/token" and request.method == "POST":
                response = self._token(request)
            else:
                response = self._serve(api, request, path, payload)
        except V2ApiError as error:
            response = Response(
                json.dumps(error.body), error.status, error.headers, content_type=_JSON
            )
        recorded = path.removeprefix("/api/v2").removeprefix("/api/v1")
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        self.requests.append(
            RecordedRequest(request.method, recorded, payload, body, headers, response.status_code)
        )
        return response

    def _token(self, request: Request) -> Response:
        """The OAuth2 client-credentials grant (RFC 6749 error bodies: Bandwidth documents
        none)."""
        expected = basic_authorization(self.client_id, self.client_secret)
        if request.headers.get("Authorization") != expected:
            error = {"error": "invalid_client", "error_description": "Bad client credentials"}
            return self._json(error, 401)
        if request.form.get("grant_type") != "client_credentials":
            error = {"error": "unsupported_grant_type", "error_description": "client_credentials"}
            return self._json(error, 400)
        token = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
        self.tokens[token] = time.time() + self.token_lifetime
        grant = {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}
        return self._json(grant)

    def _authenticated(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            expiry = self.tokens.get(header[len("Bearer ") :])
            return expiry is not None and expiry > time.time()
        return header == self.authorization()

    def _serve(self, api: str, request: Request, path: str, payload: Any) -> Response:
        match = re.fullmatch(r"/api/v2/(users|accounts)/([^/]+)(/.*)?", path)
        if not self._authenticated(request):  # credentials before anything else
            if api == _MESSAGING:
                raise _messaging_error(401, "unauthorized", "Authentication Failed")
            raise _voice_error(401, "authentication-error", "The credentials provided were invalid")
        if match is None:
            raise self._not_found(api, path)
        if match.group(2) != self.account_id:  # then the account
            if api == _MESSAGING:
                raise _messaging_error(403, "forbidden", "Access Denied")
            raise _voice_error(403, "authorization-error", "Access is denied")
        rest = match.group(3) or ""
        routes = self._messaging_routes if api == _MESSAGING else self._voice_routes
        methods = []
        for method, pattern, handler in routes:
            found = pattern.fullmatch(rest)
            if found is None:
                continue
            if method != request.method:
                methods.append(method)
                continue
            return handler(*found.groups(), payload=payload, request=request)
        if methods:
            if api == _MESSAGING:
                raise _messaging_error(405, "method-not-allowed", "Method Not Allowed")
            raise _voice_error(405, "validation", "Method Not Allowed")
        raise self._not_found(api, path)

    @staticmethod
    def _not_found(api: str, path: str) -> V2ApiError:
        if api == _MESSAGING:  # a framework-style body, not {type, description}
            body = {
                "timestamp": iso_now(),
                "status": 404,
                "error": "Not Found",
                "message": "Not Found",
                "path": path,
            }
            return V2ApiError(404, body)
        return _voice_error(404, "validation", "Not Found")

    @staticmethod
    def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(body), status, headers, content_type=_JSON)

    @staticmethod
    def _object(api: str, payload: Any, request: Request) -> dict[str, Any]:
        if not request.mimetype.endswith("json"):
            content_type = request.headers.get("Content-Type", "")
            if api == _MESSAGING:
                raise _messaging_error(
                    415,
                    "unsupported-content-type",
                    f"Content type '{content_type}' not supported. Please use 'application/json'",
                )
            raise _voice_error(415, "validation", f"Content type '{content_type}' not supported")
        if not isinstance(payload, dict):
            if api == _MESSAGING:
                raise _messaging_error(
                    400, "request-validation", "Your request could not be accepted"
                )
            raise _voice_error(400, "validation", "There is something wrong with the request")
        return payload

    # -- messaging ----------------------------------------------------------------------------

    def _create_message(self, payload: Any, request: Request) -> Response:
        body = self._object(_MESSAGING, payload, request)
        errors = []
        to = body.get("to")
        if not isinstance(to, list) or not to or not all(isinstance(n, str) for n in to):
            errors.append({"fieldName": "to", "description": "'to' must be a non-empty list"})
        for name in ("from", "applicationId"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                errors.append({"fieldName": name, "description": f"'{name}' must be specified"})
        sender = body.get("from")
        if isinstance(sender, str) and sender.startswith("+") and not _E164.fullmatch(sender):
            description = (
                f"'{sender}' must be replaced with a valid E164 formatted telephone number"
            )
            errors.append({"fieldName": "from", "description": description})
        text, media = body.get("text"), body.get("media")
        if text is not None and (not isinstance(text, str) or len(text) > 2048):
            errors.append({"fieldName": "text", "description": "'text' is at most 2048 characters"})
        if not text and not media:
            errors.append({"fieldName": "text", "description": "'text' or 'media' is required"})
        if body.get("priority") not in (None, "default", "high"):
            errors.append(
                {"fieldName": "priority", "description": "'priority' must be default or high"}
            )
        if errors:
            raise _messaging_error(
                400, "request-validation", "Your request could not be accepted", errors
            )
        message = {
            "id": message_id(),
            "owner": body["from"],
            "applicationId": body["applicationId"],
            "time": iso_now(),
            "segmentCount": 1 if media else max(1, math.ceil(len(text or "") / 160)),
            "direction": "out",
            "to": to,
            "from": body["from"],
            "text": text or "",
            "priority": body.get("priority", "default"),
        }
        message.update({k: body[k] for k in ("media", "tag", "expiration") if k in body})
        self.messages[message["id"]] = message
        return self._json(message, 202)

    def _list_messages(self, payload: Any, request: Request) -> Response:
        query = request.args
        if not query:
            raise _messaging_error(400, "request-validation", "Your request could not be accepted")
        items = []
        for message in self.messages.values():
            recipients = message["to"]
            if "messageId" in query and message["id"] != query["messageId"]:
                continue
            if "sourceTn" in query and message["from"] != query["sourceTn"]:
                continue
            if "destinationTn" in query and query["destinationTn"] not in recipients:
                continue
            items.append(
                {
                    "messageId": message["id"],
                    "accountId": self.account_id,
                    "sourceTn": message["from"],
                    "destinationTn": recipients[0],
                    "messageStatus": "SENT",
                    "messageDirection": "OUTBOUND",
                    "messageType": "mms" if message.get("media") else "sms",
                    "segmentCount": message["segmentCount"],
                    "errorCode": 0,
                    "receiveTime": message["time"],
                    "carrierName": None,
                    "messageSize": len(message["text"].encode()),
                    "messageLength": len(message["text"]),
                    "attachmentCount": len(message.get("media", [])),
                    "recipientCount": len(recipients),
                    "campaignClass": None,
                }
            )
        return self._json({"totalCount": len(items), "pageInfo": {}, "messages": items})

    def _list_media(self, payload: Any, request: Request) -> Response:
        return self._json(
            [
                {
                    "content": f"{self.messaging_url}/media/{name}",
                    "contentLength": len(data),
                    "mediaName": name,
                }
                for name, (data, _) in self.media.items()
            ]
        )

    def _get_media(self, media_id: str, payload: Any, request: Request) -> Response:
        if media_id not in self.media:
            raise _messaging_error(404, "not-found", f"Media {media_id} not found")
        data, content_type = self.media[media_id]
        return Response(data, 200, content_type=content_type)

    def _upload_media(self, media_id: str, payload: Any, request: Request) -> Response:
        content_type = request.headers.get("Content-Type", "")
        if not content_type or content_type.startswith(_JSON):
            raise _messaging_error(
                415, "unsupported-content-type", "Send the file with its own media type"
            )
        self.media[media_id] = (request.get_data(), content_type)
        return Response(status=204)

    def _delete_media(self, media_id: str, payload: Any, request: Request) -> Response:
        self.media.pop(media_id, None)  # deleting twice is no error
        return Response(status=204)

    # -- voice: calls -------------------------------------------------------------------------

    def _call(self, call_id: str) -> dict[str, Any]:
        if call_id not in self.calls:
            raise _voice_error(404, "validation", f"Call [{call_id}] not found")
        return self.calls[call_id]

    @staticmethod
    def _public(resource: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in resource.items() if not k.startswith("_")}

    def _create_call(self, payload: Any, request: Request) -> Response:
        body = self._object(_VOICE, payload, request)
        if any(not body.get(name) for name in _CALL_REQUIRED):
            required = ", ".join(_CALL_REQUIRED)
            raise _voice_error(
                400,
                "validation",
                f"Missing at least one required field. Required fields are [{required}]",
            )
        for name in ("to", "from"):
            value = body[name]
            if not (
                _E164.fullmatch(str(value)) or (name == "to" and str(value).startswith("sip:"))
            ):
                raise _voice_error(
                    400, "validation", f"Invalid {name}: must be an E164 telephone number"
                )
        if not re.match(r"https?://", str(body["answerUrl"])):
            raise _voice_error(
                400, "validation", "Invalid answerUrl: only http and https are allowed."
            )
        if body.get("answerMethod", "POST") not in ("GET", "POST"):
            raise _voice_error(
                400, "validation", "Invalid answerUrl method. Supported methods: [POST, GET]"
            )
        for name, (low, high) in _RANGES.items():
            value = body.get(name)
            if value is not None and not (isinstance(value, int | float) and low <= value <= high):
                raise _voice_error(
                    400,
                    "validation",
                    f"{name} must be within the range [{low}, {high}], but was {value}",
                )
        call_id = bandwidth_id("c")
        call_url = f"{self.voice_url}/calls/{call_id}"
        self.calls[call_id] = {
            "applicationId": body["applicationId"],
            "accountId": self.account_id,
            "callId": call_id,
            "parentCallId": None,
            "to": body["to"],
            "from": body["from"],
            "direction": "outbound",
            "state": "initiated",
            "enqueuedTime": iso_now(),
            "startTime": iso_now(),
            "answerTime": None,
            "endTime": None,
            "disconnectCause": None,
            "errorMessage": None,
            "errorId": None,
            "lastUpdate": iso_now(),
            "_request": body,
            "_bxml": [],
        }
        masked = {"password": "*****"} if body.get("password") else {}
        masked |= {"fallbackPassword": "*****"} if body.get("fallbackPassword") else {}
        answer = {
            "applicationId": body["applicationId"],
            "accountId": self.account_id,
            "callId": call_id,
            "to": body["to"],
            "from": body["from"],
            "enqueuedTime": self.calls[call_id]["enqueuedTime"],
            "callUrl": call_url,
            "callTimeout": body.get("callTimeout", 30),
            "callbackTimeout": body.get("callbackTimeout", 15),
            "tag": body.get("tag"),
            "answerMethod": body.get("answerMethod", "POST"),
            "answerUrl": body["answerUrl"],
            "answerFallbackMethod": body.get("answerFallbackMethod", "POST"),
            "answerFallbackUrl": body.get("answerFallbackUrl"),
            "disconnectMethod": body.get("disconnectMethod", "POST"),
            "disconnectUrl": body.get("disconnectUrl"),
            "username": body.get("username"),
            "password": None,
            "fallbackUsername": body.get("fallbackUsername"),
            "fallbackPassword": None,
            "priority": body.get("priority", 5),
            **masked,
        }
        return self._json(answer, 201, {"Location": call_url})

    def _list_calls(self, payload: Any, request: Request) -> Response:
        found = [
            self._public(call)
            for call in self.calls.values()
            if all(call.get(k) == request.args[k] for k in ("to", "from") if k in request.args)
        ]
        return self._json(found)

    def _get_call(self, call_id: str, payload: Any, request: Request) -> Response:
        return self._json(self._public(self._call(call_id)))

    def _modifiable(self, call_id: str, call: dict[str, Any], *, answered: bool = True) -> None:
        if call["state"] == "disconnected" or (answered and call["state"] != "answered"):
            raise _voice_error(
                409, "validation", f"Call [{call_id}] cannot be modified in its current state", ""
            )

    def _update_call(self, call_id: str, payload: Any, request: Request) -> Response:
        call = self._call(call_id)
        body = self._object(_VOICE, payload, request)
        state = body.get("state") or "active"
        if state not in ("active", "completed"):
            raise _voice_error(400, "validation", f"Invalid state: {state}")
        if state == "active" and not body.get("redirectUrl"):
            raise _voice_error(400, "validation", "redirectUrl is required when state is active")
        self._modifiable(call_id, call, answered=state == "active")
        if state == "completed":
            cause = "hangup" if call["state"] == "answered" else "cancel"
            call.update(state="disconnected", endTime=iso_now(), disconnectCause=cause)
        else:
            call.setdefault("_redirects", []).append(body)
        if "tag" in body:
            call["_tag"] = body["tag"]
        call["lastUpdate"] = iso_now()
        return Response(status=200)

    def _bxml(self, request: Request) -> str:
        if request.mimetype not in ("application/xml", "text/xml"):
            content_type = request.headers.get("Content-Type", "")
            raise _voice_error(415, "validation", f"Content type '{content_type}' not supported")
        document = request.get_data(as_text=True)
        try:
            root = ElementTree.fromstring(document)  # noqa: S314  (test input, a fake API)
        except ElementTree.ParseError:
            raise _voice_error(400, "validation", "Invalid BXML: not an XML document") from None
        if root.tag not in ("Bxml", "Response"):
            raise _voice_error(400, "validation", "Invalid BXML: the root element must be <Bxml>")
        return document

    def _update_call_bxml(self, call_id: str, payload: Any, request: Request) -> Response:
        call = self._call(call_id)
        document = self._bxml(request)
        self._modifiable(call_id, call)
        call.setdefault("_bxml", []).append(document)
        return Response(status=204)

    def _update_recording_state(self, call_id: str, payload: Any, request: Request) -> Response:
        call = self._call(call_id)
        body = self._object(_VOICE, payload, request)
        if body.get("state") not in ("paused", "recording"):
            raise _voice_error(400, "validation", "state must be paused or recording")
        call["_recording"] = body["state"]
        return Response(status=200)

    # -- voice: recordings and transcriptions ----------------------------------------------------

    def _recording(self, call_id: str, recording_id: str) -> dict[str, Any]:
        recording = self.recordings.get(recording_id)
        if recording is None or recording["callId"] != call_id:
            raise _voice_error(404, "validation", f"Recording [{recording_id}] not found")
        return recording

    def _list_account_recordings(self, payload: Any, request: Request) -> Response:
        return self._json([self._public(r) for r in self.recordings.values()])

    def _list_call_recordings(self, call_id: str, payload: Any, request: Request) -> Response:
        found = [self._public(r) for r in self.recordings.values() if r["callId"] == call_id]
        return self._json(found)  # an unknown call has none: 200 []

    def _get_recording(
        self, call_id: str, recording_id: str, payload: Any, request: Request
    ) -> Response:
        return self._json(self._public(self._recording(call_id, recording_id)))

    def _delete_recording(
        self, call_id: str, recording_id: str, payload: Any, request: Request
    ) -> Response:
        self._recording(call_id, recording_id)
        del self.recordings[recording_id]
        self.transcriptions.pop(recording_id, None)
        return Response(status=204)

    def _download_recording(
        self, call_id: str, recording_id: str, payload: Any, request: Request
    ) -> Response:
        recording = self._recording(call_id, recording_id)
        if recording.get("_media") is None:
            raise _voice_error(404, "validation", f"Recording [{recording_id}] media not found")
        content_type = _AUDIO.get(recording["fileFormat"], "application/octet-stream")
        return Response(recording["_media"], 200, content_type=content_type)

    def _delete_recording_media(
        self, call_id: str, recording_id: str, payload: Any, request: Request
    ) -> Response:
        recording = self._recording(call_id, recording_id)
        recording.update(_media=None, mediaUrl=None)
        return Response(status=204)

    def _get_transcription(
        self, call_id: str, recording_id: str, payload: Any, request: Request
    ) -> Response:
        self._recording(call_id, recording_id)
        if recording_id not in self.transcriptions:
            raise _voice_error(404, "validation", f"Transcription of [{recording_id}] not found")
        return self._json(self.transcriptions[recording_id])

    def _transcribe(
        self, call_id: str, recording_id: str, payload: Any, request: Request
    ) -> Response:
        recording = self._recording(call_id, recording_id)
        recording["_transcribe"] = self._object(_VOICE, payload, request)
        self.transcriptions[recording_id] = {
            "transcripts": [{"speaker": 0, "text": "Hello from the fake.", "confidence": 0.95}]
        }
        recording["transcription"] = {
            "id": f"t-{uuid.uuid4()}",
            "status": "available",
            "completedTime": iso_now(),
            "url": f"{self.voice_url}/calls/{call_id}/recordings/{recording_id}/transcription",
        }
        return Response(status=204)

    def _delete_transcription(
        self, call_id: str, recording_id: str, payload: Any, request: Request
    ) -> Response:
        self._recording(call_id, recording_id)
        self.transcriptions.pop(recording_id, None)
        return Response(status=204)

    # -- voice: conferences and the account ------------------------------------------------------

    def _conference(self, conference_id: str) -> dict[str, Any]:
        if conference_id not in self.conferences:
            raise _voice_error(404, "validation", f"Conference [{conference_id}] not found")
        return self.conferences[conference_id]

    def _members(self, conference_id: str) -> list[dict[str, Any]]:
        conference = self._conference(conference_id)
        return [self._member(conference_id, call_id) for call_id in conference["_members"]]

    def _member(self, conference_id: str, call_id: str) -> dict[str, Any]:
        member = self._conference(conference_id)["_members"].get(call_id)
        if member is None:
            raise _voice_error(404, "validation", f"Member [{call_id}] not found")
        url = f"{self.voice_url}/conferences/{conference_id}/members/{call_id}"
        return {"callId": call_id, "conferenceId": conference_id, "memberUrl": url, **member}

    def _list_conferences(self, payload: Any, request: Request) -> Response:
        name = request.args.get("name")
        return self._json(
            [
                self._public(conference)
                for conference in self.conferences.values()
                if name is None or conference["name"] == name
            ]
        )

    def _get_conference(self, conference_id: str, payload: Any, request: Request) -> Response:
        conference = self._public(self._conference(conference_id))
        return self._json({**conference, "activeMembers": self._members(conference_id)})

    def _update_conference(self, conference_id: str, payload: Any, request: Request) -> Response:
        conference = self._conference(conference_id)
        body = self._object(_VOICE, payload, request)
        status = body.get("status") or "active"
        if status not in ("active", "completed"):
            raise _voice_error(400, "validation", f"Invalid status: {status}")
        if status == "active" and not body.get("redirectUrl"):
            raise _voice_error(400, "validation", "redirectUrl is required when status is active")
        if status == "completed":
            conference.update(completedTime=iso_now(), _members={})
        return Response(status=204)

    def _update_conference_bxml(
        self, conference_id: str, payload: Any, request: Request
    ) -> Response:
        self._conference(conference_id)["_bxml"].append(self._bxml(request))
        return Response(status=204)

    def _get_member(
        self, conference_id: str, call_id: str, payload: Any, request: Request
    ) -> Response:
        return self._json(self._member(conference_id, call_id))

    def _update_member(
        self, conference_id: str, call_id: str, payload: Any, request: Request
    ) -> Response:
        self._member(conference_id, call_id)
        body = self._object(_VOICE, payload, request)
        member = self.conferences[conference_id]["_members"][call_id]
        member.update({k: body[k] for k in ("mute", "hold", "callIdsToCoach") if k in body})
        return Response(status=204)

    def _statistics(self, payload: Any, request: Request) -> Response:
        return self._json({"currentCallQueueSize": 0, "maxCallQueueSize": 900})
