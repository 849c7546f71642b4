"""v1 messages: send one or a batch of up to 50, and get one."""

from __future__ import annotations

from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from bwhooks.testing.fake_api.serving import Handler, json_response
from bwhooks.testing.fake_api.v1.answers import (
    ApiError,
    created,
    found,
    json_object,
    ok,
    require,
)
from bwhooks.testing.ids import catapult_id

__all__ = ["Messages"]


class MessagesAccount(Protocol):
    """What the messages API reads and writes of the fake."""

    user_id: str
    messages: dict[str, dict[str, Any]]

    @property
    def user_url(self) -> str: ...


class Messages:
    """The ``/messages`` of one v1 user."""

    def __init__(self, account: MessagesAccount) -> None:
        self._account = account
        self.routes: tuple[tuple[str, str, Handler], ...] = (
            ("POST", r"/messages", self._send_messages),
            ("GET", r"/messages/([^/]+)", self._get_message),
        )

    def _message(self, body: dict[str, Any]) -> str:
        require(body, "message", "from", "to", "text")
        if body.get("media") and body.get("receiptRequested", "none") != "none":
            raise ApiError(
                400,
                "bad-request",
                "validation-error",
                "Can not send media and receiptRequested in the same request",
            )
        message_id = catapult_id("m-")
        self._account.messages[message_id] = {
            "id": message_id,
            "messageId": message_id,
            "direction": "out",
            "state": "queued",
            **body,
        }
        return message_id

    def _send_messages(self, payload: Any, request: Request) -> Response:
        if not isinstance(payload, list):
            message_id = self._message(json_object(payload))
            return created(self._account.user_id, f"/messages/{message_id}")
        if len(payload) > 50:
            raise ApiError(400, "bad-request", "multi-message-limit", "At most 50 messages")
        results: list[dict[str, Any]] = []
        for item in payload:
            try:
                location = f"{self._account.user_url}/messages/{self._message(json_object(item))}"
                results.append({"result": "accepted", "location": location})
            except ApiError as error:
                results.append({"result": "error", "error": error.as_body([])})
        return json_response(results, 202)

    def _get_message(self, message_id: str, payload: Any, request: Request) -> Response:
        message = f"The message {message_id} could not be found"
        return ok(found(self._account.messages, message_id, "message-not-found", message))
