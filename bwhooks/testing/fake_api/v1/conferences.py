"""v1 conferences: create, update, play audio, add members (at most 20)."""

from __future__ import annotations

from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from bwhooks.testing.fake_api.serving import Handler
from bwhooks.testing.fake_api.v1.answers import (
    ApiError,
    created,
    flag,
    found,
    json_object,
    ok,
    require,
)
from bwhooks.testing.ids import catapult_id

__all__ = ["Conferences"]


class ConferencesAccount(Protocol):
    """What the conferences API reads and writes of the fake."""

    user_id: str
    conferences: dict[str, dict[str, Any]]
    members: dict[str, dict[str, Any]]


class Conferences:
    """The ``/conferences`` of one v1 user, and their members."""

    def __init__(self, account: ConferencesAccount) -> None:
        self._account = account
        self.routes: tuple[tuple[str, str, Handler], ...] = (
            ("POST", r"/conferences", self._create_conference),
            ("POST", r"/conferences/([^/]+)", self._update_conference),
            ("POST", r"/conferences/([^/]+)/audio", self._conference_audio),
            ("POST", r"/conferences/([^/]+)/members", self._add_member),
        )

    def _conference(self, conference_id: str) -> dict[str, Any]:
        message = f"The conference {conference_id} could not be found"
        conferences = self._account.conferences
        conference: dict[str, Any] = found(
            conferences, conference_id, "conference-not-found", message
        )
        return conference

    def _create_conference(self, payload: Any, request: Request) -> Response:
        body = json_object(payload)
        require(body, "conference", "from")
        conference_id = catapult_id("conf-")
        self._account.conferences[conference_id] = {
            "id": conference_id,
            "state": "created",
            **body,
        }
        return created(self._account.user_id, f"/conferences/{conference_id}")

    def _update_conference(self, conference_id: str, payload: Any, request: Request) -> Response:
        conference = self._conference(conference_id)
        if conference["state"] == "completed":
            raise ApiError(
                403,
                "forbidden",
                "conference-error",
                f"Unable to update conference {conference_id}. Invalid conference state completed",
            )
        conference.update(json_object(payload))
        return ok()

    def _conference_audio(self, conference_id: str, payload: Any, request: Request) -> Response:
        self._conference(conference_id)
        body = json_object(payload)
        if not (body.get("sentence") or body.get("fileUrl")):
            raise ApiError(
                400,
                "bad-request",
                "validation-error",
                "For playing text-to-speech, sentence is required, for playing an "
                "audio file, fileUrl is required",
            )
        return ok()

    def _add_member(self, conference_id: str, payload: Any, request: Request) -> Response:
        conference = self._conference(conference_id)
        body = json_object(payload)
        require(body, "member", "callId")
        members = self._account.members
        active = [m for m in members.values() if m["conference"] == conference_id]
        if len(active) >= 20:
            raise ApiError(403, "limit", "conference-max-members", "At most 20 members")
        member_id = catapult_id("member-")
        members[member_id] = {
            "id": member_id,
            "state": "active",
            "conference": conference_id,
            "mute": flag(body.get("mute")),
            "hold": flag(body.get("hold")),
        }
        conference["state"] = "active"
        return created(self._account.user_id, f"/conferences/{conference_id}/members/{member_id}")
