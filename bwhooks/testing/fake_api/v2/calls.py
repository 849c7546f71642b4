"""Voice v2 calls (``/accounts/{accountId}/calls``): create, get, list, redirect or hang
up, replace the BXML, pause or resume the recording; and the account's statistics."""

from __future__ import annotations

import re
import uuid
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from bwhooks.testing.fake_api.serving import Handler, json_response
from bwhooks.testing.fake_api.v2.bodies import E164, bxml_document, json_object, public
from bwhooks.testing.fake_api.v2.errors import VOICE, voice_error
from bwhooks.testing.ids import bandwidth_id, iso_now

__all__ = ["Calls"]

_CALL_REQUIRED = ("from", "to", "answerUrl", "applicationId")
_RANGES = {"callTimeout": (1, 300), "callbackTimeout": (1, 25), "priority": (1, 5)}


class CallsAccount(Protocol):
    """What the calls API reads and writes of the fake."""

    account_id: str
    calls: dict[str, dict[str, Any]]

    @property
    def voice_url(self) -> str: ...


class Calls:
    """The calls of one account."""

    def __init__(self, account: CallsAccount) -> None:
        self._account = account
        self.routes: tuple[tuple[str, str, Handler], ...] = (
            ("POST", r"/calls", self._create_call),
            ("GET", r"/calls", self._list_calls),
            ("GET", r"/calls/([^/]+)", self._get_call),
            ("POST", r"/calls/([^/]+)", self._update_call),
            ("PUT", r"/calls/([^/]+)/bxml", self._update_call_bxml),
            ("PUT", r"/calls/([^/]+)/recording", self._update_recording_state),
            ("GET", r"/statistics", self._statistics),
        )

    def add(self, call_id: str | None = None, **fields: Any) -> str:
        """An answered inbound call (``fields`` by wire name override); returns its id."""
        call_id = call_id or bandwidth_id("c")
        now = iso_now()
        self._account.calls[call_id] = {
            "applicationId": str(uuid.uuid4()),
            "accountId": self._account.account_id,
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

    def answer(self, call_id: str) -> None:
        """The callee answers: the call becomes ``answered``."""
        call = self._account.calls[call_id]
        call.update(state="answered", answerTime=iso_now(), lastUpdate=iso_now())

    def _call(self, call_id: str) -> dict[str, Any]:
        if call_id not in self._account.calls:
            raise voice_error(404, "validation", f"Call [{call_id}] not found")
        return self._account.calls[call_id]

    @staticmethod
    def _check(body: dict[str, Any]) -> None:
        """Refuse a new call's body as the API does, one error at a time."""
        if any(not body.get(name) for name in _CALL_REQUIRED):
            required = ", ".join(_CALL_REQUIRED)
            raise voice_error(
                400,
                "validation",
                f"Missing at least one required field. Required fields are [{required}]",
            )
        for name in ("to", "from"):
            value = body[name]
            if not (E164.fullmatch(str(value)) or (name == "to" and str(value).startswith("sip:"))):
                raise voice_error(
                    400, "validation", f"Invalid {name}: must be an E164 telephone number"
                )
        if not re.match(r"https?://", str(body["answerUrl"])):
            raise voice_error(
                400, "validation", "Invalid answerUrl: only http and https are allowed."
            )
        if body.get("answerMethod", "POST") not in ("GET", "POST"):
            raise voice_error(
                400, "validation", "Invalid answerUrl method. Supported methods: [POST, GET]"
            )
        for name, (low, high) in _RANGES.items():
            value = body.get(name)
            if value is not None and not (isinstance(value, int | float) and low <= value <= high):
                raise voice_error(
                    400,
                    "validation",
                    f"{name} must be within the range [{low}, {high}], but was {value}",
                )

    def _create_call(self, payload: Any, request: Request) -> Response:
        body = json_object(VOICE, payload, request)
        self._check(body)
        call_id = bandwidth_id("c")
        call_url = f"{self._account.voice_url}/calls/{call_id}"
        self._account.calls[call_id] = {
            "applicationId": body["applicationId"],
            "accountId": self._account.account_id,
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
            "accountId": self._account.account_id,
            "callId": call_id,
            "to": body["to"],
            "from": body["from"],
            "enqueuedTime": self._account.calls[call_id]["enqueuedTime"],
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
        return json_response(answer, 201, {"Location": call_url})

    def _list_calls(self, payload: Any, request: Request) -> Response:
        found = [
            public(call)
            for call in self._account.calls.values()
            if all(call.get(k) == request.args[k] for k in ("to", "from") if k in request.args)
        ]
        return json_response(found)

    def _get_call(self, call_id: str, payload: Any, request: Request) -> Response:
        return json_response(public(self._call(call_id)))

    @staticmethod
    def _modifiable(call_id: str, call: dict[str, Any], *, answered: bool = True) -> None:
        if call["state"] == "disconnected" or (answered and call["state"] != "answered"):
            raise voice_error(
                409, "validation", f"Call [{call_id}] cannot be modified in its current state", ""
            )

    def _update_call(self, call_id: str, payload: Any, request: Request) -> Response:
        call = self._call(call_id)
        body = json_object(VOICE, payload, request)
        state = body.get("state") or "active"
        if state not in ("active", "completed"):
            raise voice_error(400, "validation", f"Invalid state: {state}")
        if state == "active" and not body.get("redirectUrl"):
            raise voice_error(400, "validation", "redirectUrl is required when state is active")
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

    def _update_call_bxml(self, call_id: str, payload: Any, request: Request) -> Response:
        call = self._call(call_id)
        document = bxml_document(request)
        self._modifiable(call_id, call)
        call.setdefault("_bxml", []).append(document)
        return Response(status=204)

    def _update_recording_state(self, call_id: str, payload: Any, request: Request) -> Response:
        call = self._call(call_id)
        body = json_object(VOICE, payload, request)
        if body.get("state") not in ("paused", "recording"):
            raise voice_error(400, "validation", "state must be paused or recording")
        call["_recording"] = body["state"]
        return Response(status=200)

    def _statistics(self, payload: Any, request: Request) -> Response:
        return json_response({"currentCallQueueSize": 0, "maxCallQueueSize": 900})
