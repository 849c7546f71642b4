"""Voice v2 conferences (``/accounts/{accountId}/conferences``): list, get, redirect or end,
replace the BXML; get and update members."""

from __future__ import annotations

from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from bwhooks.testing.fake_api.serving import Handler, json_response
from bwhooks.testing.fake_api.v2.bodies import bxml_document, json_object, public
from bwhooks.testing.fake_api.v2.errors import VOICE, voice_error
from bwhooks.testing.ids import bandwidth_id, iso_now

__all__ = ["Conferences"]

_CONFERENCE = r"/conferences/([^/]+)"


class ConferencesAccount(Protocol):
    """What the conferences API reads and writes of the fake."""

    conferences: dict[str, dict[str, Any]]

    @property
    def voice_url(self) -> str: ...


class Conferences:
    """The conferences of one account, and their members."""

    def __init__(self, account: ConferencesAccount) -> None:
        self._account = account
        self.routes: tuple[tuple[str, str, Handler], ...] = (
            ("GET", r"/conferences", self._list_conferences),
            ("GET", _CONFERENCE, self._get_conference),
            ("POST", _CONFERENCE, self._update_conference),
            ("PUT", _CONFERENCE + "/bxml", self._update_conference_bxml),
            ("GET", _CONFERENCE + "/members/([^/]+)", self._get_member),
            ("PUT", _CONFERENCE + "/members/([^/]+)", self._update_member),
        )

    def add(self, name: str, member_call_ids: tuple[str, ...]) -> str:
        """An active conference with these calls as members; returns its id."""
        conference_id = bandwidth_id("conf")
        self._account.conferences[conference_id] = {
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

    def _conference(self, conference_id: str) -> dict[str, Any]:
        if conference_id not in self._account.conferences:
            raise voice_error(404, "validation", f"Conference [{conference_id}] not found")
        return self._account.conferences[conference_id]

    def _members(self, conference_id: str) -> list[dict[str, Any]]:
        conference = self._conference(conference_id)
        return [self._member(conference_id, call_id) for call_id in conference["_members"]]

    def _member(self, conference_id: str, call_id: str) -> dict[str, Any]:
        member = self._conference(conference_id)["_members"].get(call_id)
        if member is None:
            raise voice_error(404, "validation", f"Member [{call_id}] not found")
        url = f"{self._account.voice_url}/conferences/{conference_id}/members/{call_id}"
        return {"callId": call_id, "conferenceId": conference_id, "memberUrl": url, **member}

    def _list_conferences(self, payload: Any, request: Request) -> Response:
        name = request.args.get("name")
        return json_response(
            [
                public(conference)
                for conference in self._account.conferences.values()
                if name is None or conference["name"] == name
            ]
        )

    def _get_conference(self, conference_id: str, payload: Any, request: Request) -> Response:
        conference = public(self._conference(conference_id))
        return json_response({**conference, "activeMembers": self._members(conference_id)})

    def _update_conference(self, conference_id: str, payload: Any, request: Request) -> Response:
        conference = self._conference(conference_id)
        body = json_object(VOICE, payload, request)
        status = body.get("status") or "active"
        if status not in ("active", "completed"):
            raise voice_error(400, "validation", f"Invalid status: {status}")
        if status == "active" and not body.get("redirectUrl"):
            raise voice_error(400, "validation", "redirectUrl is required when status is active")
        if status == "completed":
            conference.update(completedTime=iso_now(), _members={})
        return Response(status=204)

    def _update_conference_bxml(
        self, conference_id: str, payload: Any, request: Request
    ) -> Response:
        self._conference(conference_id)["_bxml"].append(bxml_document(request))
        return Response(status=204)

    def _get_member(
        self, conference_id: str, call_id: str, payload: Any, request: Request
    ) -> Response:
        return json_response(self._member(conference_id, call_id))

    def _update_member(
        self, conference_id: str, call_id: str, payload: Any, request: Request
    ) -> Response:
        self._member(conference_id, call_id)
        body = json_object(VOICE, payload, request)
        member = self._account.conferences[conference_id]["_members"][call_id]
        member.update({k: body[k] for k in ("mute", "hold", "callIdsToCoach") if k in body})
        return Response(status=204)
