"""v1 media files and call recordings (a recording's audio is a media file)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from bwhooks.testing.fake_api.serving import Handler
from bwhooks.testing.fake_api.v1.answers import ApiError, found, ok
from bwhooks.testing.ids import catapult_id

__all__ = ["Media"]


class MediaAccount(Protocol):
    """What the media and recordings APIs read and write of the fake."""

    media: dict[str, tuple[bytes, str]]
    recordings: dict[str, dict[str, Any]]

    @property
    def user_url(self) -> str: ...


class Media:
    """The ``/media`` files and the recordings of one v1 user; ``call`` finds a call or
    answers ``404``."""

    def __init__(self, account: MediaAccount, call: Callable[[str], object]) -> None:
        self._account, self._call = account, call
        self.routes: tuple[tuple[str, str, Handler], ...] = (
            ("GET", r"/calls/(c-[^/]+)/recordings", self._call_recordings),
            ("GET", r"/recordings/([^/]+)", self._get_recording),
            ("GET", r"/media", self._list_media),
            ("GET", r"/media/([^/]+)", self._get_media),
            ("PUT", r"/media/([^/]+)", self._put_media),
            ("DELETE", r"/media/([^/]+)", self._delete_media),
        )

    def add(self, name: str, data: bytes, content_type: str) -> str:
        """A media file; returns its URL."""
        self._account.media[name] = (data, content_type)
        return f"{self._account.user_url}/media/{name}"

    def add_recording(self, call_id: str, data: bytes, recording_id: str | None) -> str:
        """A complete recording of ``call_id``, its audio a media file; returns its id."""
        recordings = self._account.recordings
        recording_id = recording_id or catapult_id("rec-")
        media = self.add(f"{call_id}-{len(recordings) + 1}.wav", data, "audio/wav")
        recordings[recording_id] = {
            "id": recording_id,
            "call": f"{self._account.user_url}/calls/{call_id}",
            "media": media,
            "state": "complete",
        }
        return recording_id

    def _call_recordings(self, call_id: str, payload: Any, request: Request) -> Response:
        self._call(call_id)
        url = f"{self._account.user_url}/calls/{call_id}"
        return ok([r for r in self._account.recordings.values() if r["call"] == url])

    def _get_recording(self, recording_id: str, payload: Any, request: Request) -> Response:
        message = f"The recording {recording_id} could not be found"
        return ok(found(self._account.recordings, recording_id, "recording-not-found", message))

    def _list_media(self, payload: Any, request: Request) -> Response:
        return ok(
            [
                {
                    "mediaName": name,
                    "contentLength": len(data),
                    "content": f"{self._account.user_url}/media/{name}",
                }
                for name, (data, _) in self._account.media.items()
            ]
        )

    def _get_media(self, name: str, payload: Any, request: Request) -> Response:
        message = f"The media resource named {name} could not be found"
        data, content_type = found(self._account.media, name, "media-not-found", message)
        return Response(data, 200, content_type=content_type)

    def _put_media(self, name: str, payload: Any, request: Request) -> Response:
        if request.content_length is None:
            raise ApiError(
                400,
                "bad-request",
                "validation-error",
                "The media size must be specified by the Content-Length header",
            )
        content_type = request.content_type or "application/octet-stream"
        self.add(name, request.get_data(), content_type)
        return ok()

    def _delete_media(self, name: str, payload: Any, request: Request) -> Response:
        self._get_media(name, payload, request)
        del self._account.media[name]
        return ok()
