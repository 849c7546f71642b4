"""v1 calls: create, get and update (transfer included), audio, DTMF and gathers."""

from __future__ import annotations

import re
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from bwhooks.testing.fake_api.serving import Handler
from bwhooks.testing.fake_api.v1.answers import (
    ApiError,
    created,
    found,
    json_object,
    ok,
    require,
)
from bwhooks.testing.ids import catapult_id

__all__ = ["Calls"]

_DTMF = re.compile(r"[A-D0-9#*,wW]{1,92}")
_CALL_STATES = {"active", "rejected", "completed", "transferring"}


class CallsAccount(Protocol):
    """What the calls API reads and writes of the fake."""

    user_id: str
    calls: dict[str, dict[str, Any]]
    gathers: dict[str, dict[str, Any]]


class Calls:
    """The ``/calls`` resources of one v1 user."""

    def __init__(self, account: CallsAccount) -> None:
        self._account = account
        self.routes: tuple[tuple[str, str, Handler], ...] = (
            ("POST", r"/calls", self._create_call),
            ("GET", r"/calls/(c-[^/]+)", self._get_call),
            ("POST", r"/calls/(c-[^/]+)", self._update_call),
            ("POST", r"/calls/(c-[^/]+)/audio", self._call_audio),
            ("POST", r"/calls/(c-[^/]+)/dtmf", self._call_dtmf),
            ("POST", r"/calls/(c-[^/]+)/gather", self._create_gather),
            ("GET", r"/calls/(c-[^/]+)/gather/([^/]+)", self._get_gather),
            ("POST", r"/calls/(c-[^/]+)/gather/([^/]+)", self._stop_gather),
        )

    def add(self, call_id: str | None = None, **fields: Any) -> str:
        """A call (active and inbound unless ``fields`` say otherwise); returns its id."""
        call_id = call_id or catapult_id("c-")
        self._account.calls[call_id] = {
            "id": call_id,
            "direction": "in",
            "state": "active",
            **fields,
        }
        return call_id

    def call(self, call_id: str) -> dict[str, Any]:
        """The call, or the API's ``404``."""
        message = f"The call {call_id} could not be found"
        call: dict[str, Any] = found(self._account.calls, call_id, "call-not-found", message)
        return call

    def _created(self, path: str) -> Response:
        return created(self._account.user_id, path)

    def _create_call(self, payload: Any, request: Request) -> Response:
        body = json_object(payload)
        require(body, "call", "from", "to")
        call_id = self.add(
            direction="out",
            state="started",
            **{k: v for k, v in body.items() if k not in ("id", "direction", "state")},
        )
        return self._created(f"/calls/{call_id}")

    def _get_call(self, call_id: str, payload: Any, request: Request) -> Response:
        return ok(self.call(call_id))

    def _update_call(self, call_id: str, payload: Any, request: Request) -> Response:
        call, body = self.call(call_id), json_object(payload)
        state = body.get("state")
        if state is not None and (not isinstance(state, str) or state not in _CALL_STATES):
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
            require(body, "call", "transferTo")
            if call["state"] != "active":
                raise ApiError(
                    403,
                    "forbidden",
                    "call-invalid-state",
                    f"Unable to update call {call_id}. Invalid call state {call['state']}",
                )
            new_call = self.add(direction="out", state="started", to=body["transferTo"])
            call["state"] = "transferring"
            return self._created(f"/calls/{new_call}")
        call.update(body)
        return ok()

    def _call_audio(self, call_id: str, payload: Any, request: Request) -> Response:
        self.call(call_id)
        body = json_object(payload)
        if len(str(body.get("sentence", ""))) > 1000:
            raise ApiError(
                400,
                "bad-request",
                "validation-error",
                "The 'sentence' exceeds the limit of 1000 characters",
            )
        return ok()

    def _call_dtmf(self, call_id: str, payload: Any, request: Request) -> Response:
        self.call(call_id)
        if not _DTMF.fullmatch(str(json_object(payload).get("dtmfOut", ""))):
            raise ApiError(
                400,
                "bad-request",
                "validation-error",
                "dtmfOut must be 1 to 92 of the characters 0-9 A-D # * , w W",
            )
        return ok()

    def _create_gather(self, call_id: str, payload: Any, request: Request) -> Response:
        self.call(call_id)
        body = json_object(payload)
        max_digits = body.get("maxDigits", 1)
        if isinstance(max_digits, str) and max_digits.isascii() and max_digits.isdigit():
            max_digits = int(max_digits)
        if not isinstance(max_digits, int) or isinstance(max_digits, bool):
            raise ApiError(400, "bad-request", "validation-error", "maxDigits must be a number")
        if max_digits > 30:
            raise ApiError(400, "bad-request", "validation-error", "maxDigits must be at most 30")
        gathers = self._account.gathers
        if any(g["call_id"] == call_id and g["state"] == "started" for g in gathers.values()):
            raise ApiError(
                409,
                "conflict",
                "call-duplicate-gather-error",
                f"DTMF digits are already being gathered for call {call_id}",
            )
        gather_id = catapult_id("g-")
        gathers[gather_id] = {"id": gather_id, "state": "started", "call_id": call_id, **body}
        return self._created(f"/calls/{call_id}/gather/{gather_id}")

    def _gather(self, call_id: str, gather_id: str) -> dict[str, Any]:
        gather = self._account.gathers.get(gather_id)
        if gather is None or gather["call_id"] != call_id:
            raise ApiError(404, "not-found", "resource-not-found", f"Gather {gather_id} not found")
        return gather

    def _get_gather(self, call_id: str, gather_id: str, payload: Any, request: Request) -> Response:
        return ok(self._gather(call_id, gather_id))

    def _stop_gather(
        self, call_id: str, gather_id: str, payload: Any, request: Request
    ) -> Response:
        gather = self._gather(call_id, gather_id)
        if json_object(payload) != {"state": "completed"}:
            raise ApiError(
                400, "bad-request", "validation-error", "The only update allowed is state:completed"
            )
        gather["state"] = "completed"
        return ok()
