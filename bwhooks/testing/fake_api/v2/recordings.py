"""Voice v2 recordings (``/accounts/{accountId}/recordings``, ``.../calls/{callId}/recordings``):
list, get, delete, download or delete the media; request, get and delete a transcription."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response

from bwhooks.testing.fake_api.serving import Handler, json_response
from bwhooks.testing.fake_api.v2.bodies import json_object, public
from bwhooks.testing.fake_api.v2.errors import VOICE, voice_error
from bwhooks.testing.ids import iso_now

__all__ = ["Recordings"]

_AUDIO = {"wav": "audio/vnd.wave", "mp3": "audio/mpeg"}
_RECORDING = r"/calls/([^/]+)/recordings/([^/]+)"


class RecordingsAccount(Protocol):
    """What the recordings API reads and writes of the fake."""

    account_id: str
    calls: dict[str, dict[str, Any]]
    recordings: dict[str, dict[str, Any]]
    transcriptions: dict[str, dict[str, Any]]

    @property
    def voice_url(self) -> str: ...


class Recordings:
    """The call recordings of one account, and their transcriptions."""

    def __init__(self, account: RecordingsAccount) -> None:
        self._account = account
        self.routes: tuple[tuple[str, str, Handler], ...] = (
            ("GET", r"/recordings", self._list_account_recordings),
            ("GET", r"/calls/([^/]+)/recordings", self._list_call_recordings),
            ("GET", _RECORDING, self._get_recording),
            ("DELETE", _RECORDING, self._delete_recording),
            ("GET", _RECORDING + "/media", self._download_recording),
            ("DELETE", _RECORDING + "/media", self._delete_recording_media),
            ("GET", _RECORDING + "/transcription", self._get_transcription),
            ("POST", _RECORDING + "/transcription", self._transcribe),
            ("DELETE", _RECORDING + "/transcription", self._delete_transcription),
        )

    def add(self, call_id: str, data: bytes, recording_id: str | None) -> str:
        """A complete recording of ``call_id`` with its media; returns its id."""
        recording_id = recording_id or f"r-{uuid.uuid4()}"
        call = self._account.calls.get(call_id, {})
        url = f"{self._account.voice_url}/calls/{call_id}/recordings/{recording_id}/media"
        self._account.recordings[recording_id] = {
            "applicationId": call.get("applicationId"),
            "accountId": self._account.account_id,
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
            "mediaUrl": url,
            "transcription": None,
            "_media": data,
        }
        return recording_id

    def _recording(self, call_id: str, recording_id: str) -> dict[str, Any]:
        recording = self._account.recordings.get(recording_id)
        if recording is None or recording["callId"] != call_id:
            raise voice_error(404, "validation", f"Recording [{recording_id}] not found")
        return recording

    def _list_account_recordings(self, payload: Any, request: Request) -> Response:
        return json_response([public(r) for r in self._account.recordings.values()])

    def _list_call_recordings(self, call_id: str, payload: Any, request: Request) -> Response:
        recordings = self._account.recordings.values()
        found = [public(r) for r in recordings if r["callId"] == call_id]
        return json_response(found)  # an unknown call has none: 200 []

    def _get_recording(
        self, call_id: str, recording_id: str, payload: Any, request: Request
    ) -> Response:
        return json_response(public(self._recording(call_id, recording_id)))

    def _delete_recording(
        self, call_id: str, recording_id: str, payload: Any, request: Request
    ) -> Response:
        self._recording(call_id, recording_id)
        del self._account.recordings[recording_id]
        self._account.transcriptions.pop(recording_id, None)
        return Response(status=204)

    def _download_recording(
        self, call_id: str, recording_id: str, payload: Any, request: Request
    ) -> Response:
        recording = self._recording(call_id, recording_id)
        if recording.get("_media") is None:
            raise voice_error(404, "validation", f"Recording [{recording_id}] media not found")
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
        if recording_id not in self._account.transcriptions:
            raise voice_error(404, "validation", f"Transcription of [{recording_id}] not found")
        return json_response(self._account.transcriptions[recording_id])

    def _transcribe(
        self, call_id: str, recording_id: str, payload: Any, request: Request
    ) -> Response:
        recording = self._recording(call_id, recording_id)
        recording["_transcribe"] = json_object(VOICE, payload, request)
        self._account.transcriptions[recording_id] = {
            "transcripts": [{"speaker": 0, "text": "Hello from the fake.", "confidence": 0.95}]
        }
        url = f"{self._account.voice_url}/calls/{call_id}/recordings/{recording_id}/transcription"
        recording["transcription"] = {
            "id": f"t-{uuid.uuid4()}",
            "status": "available",
            "completedTime": iso_now(),
            "url": url,
        }
        return Response(status=204)

    def _delete_transcription(
        self, call_id: str, recording_id: str, payload: Any, request: Request
    ) -> Response:
        self._recording(call_id, recording_id)
        self._account.transcriptions.pop(recording_id, None)
        return Response(status=204)
