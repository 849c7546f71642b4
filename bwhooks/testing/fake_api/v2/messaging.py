"""Messaging v2 (``/users/{accountId}``): send and search messages; upload, download, list
and delete media."""

from __future__ import annotations

import math
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from bwhooks.testing.fake_api.serving import JSON, Handler, json_response
from bwhooks.testing.fake_api.v2.bodies import E164, json_object
from bwhooks.testing.fake_api.v2.errors import MESSAGING, messaging_error
from bwhooks.testing.ids import iso_now, message_id

__all__ = ["Messaging"]


class MessagingAccount(Protocol):
    """What the messaging API reads and writes of the fake."""

    account_id: str
    messages: dict[str, dict[str, Any]]
    media: dict[str, tuple[bytes, str]]

    @property
    def messaging_url(self) -> str: ...


class Messaging:
    """The messages and media of one account."""

    def __init__(self, account: MessagingAccount) -> None:
        self._account = account
        self.routes: tuple[tuple[str, str, Handler], ...] = (
            ("POST", r"/messages", self._create_message),
            ("GET", r"/messages", self._list_messages),
            ("GET", r"/media", self._list_media),
            ("GET", r"/media/(.+)", self._get_media),
            ("PUT", r"/media/(.+)", self._upload_media),
            ("DELETE", r"/media/(.+)", self._delete_media),
        )

    def add_media(self, media_id: str, data: bytes, content_type: str) -> str:
        """A media file; returns its URL."""
        self._account.media[media_id] = (data, content_type)
        return f"{self._account.messaging_url}/media/{media_id}"

    @staticmethod
    def _field_errors(body: dict[str, Any]) -> list[dict[str, str]]:
        errors = []
        to = body.get("to")
        if not isinstance(to, list) or not to or not all(isinstance(n, str) for n in to):
            errors.append({"fieldName": "to", "description": "'to' must be a non-empty list"})
        for name in ("from", "applicationId"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                errors.append({"fieldName": name, "description": f"'{name}' must be specified"})
        sender = body.get("from")
        if isinstance(sender, str) and sender.startswith("+") and not E164.fullmatch(sender):
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
        return errors

    def _create_message(self, payload: Any, request: Request) -> Response:
        body = json_object(MESSAGING, payload, request)
        errors = self._field_errors(body)
        if errors:
            raise messaging_error(
                400, "request-validation", "Your request could not be accepted", errors
            )
        text, media = body.get("text"), body.get("media")
        message = {
            "id": message_id(),
            "owner": body["from"],
            "applicationId": body["applicationId"],
            "time": iso_now(),
            "segmentCount": 1 if media else max(1, math.ceil(len(text or "") / 160)),
            "direction": "out",
            "to": body["to"],
            "from": body["from"],
            "text": text or "",
            "priority": body.get("priority", "default"),
        }
        message.update({k: body[k] for k in ("media", "tag", "expiration") if k in body})
        self._account.messages[message["id"]] = message
        return json_response(message, 202)

    def _list_messages(self, payload: Any, request: Request) -> Response:
        query = request.args
        if not query:
            raise messaging_error(400, "request-validation", "Your request could not be accepted")
        items = [
            self._search_result(message)
            for message in self._account.messages.values()
            if ("messageId" not in query or message["id"] == query["messageId"])
            and ("sourceTn" not in query or message["from"] == query["sourceTn"])
            and ("destinationTn" not in query or query["destinationTn"] in message["to"])
        ]
        return json_response({"totalCount": len(items), "pageInfo": {}, "messages": items})

    def _search_result(self, message: dict[str, Any]) -> dict[str, Any]:
        recipients = message["to"]
        return {
            "messageId": message["id"],
            "accountId": self._account.account_id,
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

    def _list_media(self, payload: Any, request: Request) -> Response:
        return json_response(
            [
                {
                    "content": f"{self._account.messaging_url}/media/{name}",
                    "contentLength": len(data),
                    "mediaName": name,
                }
                for name, (data, _) in self._account.media.items()
            ]
        )

    def _get_media(self, media_id: str, payload: Any, request: Request) -> Response:
        if media_id not in self._account.media:
            raise messaging_error(404, "not-found", f"Media {media_id} not found")
        data, content_type = self._account.media[media_id]
        return Response(data, 200, content_type=content_type)

    def _upload_media(self, media_id: str, payload: Any, request: Request) -> Response:
        content_type = request.headers.get("Content-Type", "")
        if not content_type or content_type.startswith(JSON):
            raise messaging_error(
                415, "unsupported-content-type", "Send the file with its own media type"
            )
        self._account.media[media_id] = (request.get_data(), content_type)
        return Response(status=204)

    def _delete_media(self, media_id: str, payload: Any, request: Request) -> Response:
        self._account.media.pop(media_id, None)  # deleting twice is no error
        return Response(status=204)
