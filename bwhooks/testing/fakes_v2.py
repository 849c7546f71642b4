"""Realistic fake Voice v2 and Messaging v2 payloads, their values consistent with each other.

Ids have Bandwidth's shapes (``c-95ac8d6e-1a31c52e-...``, ``conf-...``, ``r-<uuid>``), the
``callUrl`` is built from the ``accountId`` and ``callId`` (overridden ones too), and times
are in order: enqueued, started, answered, ended, the event now.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from bwhooks.events import (
    MessageDeliveredEvent,
    MessageFailedEvent,
    MessageReadEvent,
    MessageReceivedEvent,
    MessageSendingEvent,
    MessageSentEvent,
    MessagingEvent,
    RequestedLocationResponseEvent,
    SuggestionResponseEvent,
    UnknownMessagingEvent,
    UnknownVoiceEvent,
    VoiceAnswerEvent,
    VoiceBridgeCompleteEvent,
    VoiceBridgeTargetCompleteEvent,
    VoiceCallCompleteEvent,
    VoiceConferenceCompletedEvent,
    VoiceConferenceCreatedEvent,
    VoiceConferenceMemberExitEvent,
    VoiceConferenceMemberJoinEvent,
    VoiceConferenceRecordingAvailableEvent,
    VoiceConferenceRedirectEvent,
    VoiceDisconnectEvent,
    VoiceDtmfEvent,
    VoiceEvent,
    VoiceGatherEvent,
    VoiceInitiateEvent,
    VoiceMachineDetectionCompleteEvent,
    VoiceMediaStreamRejectedEvent,
    VoiceMediaStreamStartedEvent,
    VoiceMediaStreamStoppedEvent,
    VoiceRealTimeTranscriptionAvailableEvent,
    VoiceRealTimeTranscriptionRejectedEvent,
    VoiceRealTimeTranscriptionStartedEvent,
    VoiceRealTimeTranscriptionStoppedEvent,
    VoiceRecordCompleteEvent,
    VoiceRecordingAvailableEvent,
    VoiceRedirectEvent,
    VoiceReferCompleteEvent,
    VoiceTranscriptionAvailableEvent,
    VoiceTransferAnswerEvent,
    VoiceTransferCompleteEvent,
    VoiceTransferDisconnectEvent,
)
from bwhooks.testing.ids import bandwidth_id, iso, message_id

__all__ = ["fake_messaging_elements", "fake_voice_payload"]

VOICE_API = "https://voice.bandwidth.com/api/v2/accounts"

_Generate = Callable[["_Values"], Any]


def _number() -> str:
    return f"+1919555{secrets.randbelow(10_000):04d}"


class _Values:
    """One payload's values: the overrides first, then generated ones, each made once."""

    def __init__(self, given: Mapping[str, Any], own: Mapping[str, Any]) -> None:
        self.given = given
        self.own = own  # the kind's own values (constants, or generators)
        self.made: dict[str, Any] = {}
        self.now = datetime.now(timezone.utc)

    def __getitem__(self, key: str) -> Any:
        if key in self.given:
            return self.given[key]
        if key not in self.made:
            make = self.own.get(key, _COMMON.get(key))
            if make is None:
                raise KeyError(key)
            self.made[key] = make(self) if callable(make) else make
        return self.made[key]

    def ago(self, seconds: float) -> str:
        return iso(self.now - timedelta(seconds=seconds))


def _stream(v: _Values, *, stopped: bool = False) -> dict[str, Any]:
    stream = {
        "id": bandwidth_id("s"),
        "name": "live_audio",
        "destination": "wss://stream.example.com/calls",
        "startTime": v.ago(8),
        "tracks": ["inbound", "outbound"],
        "type": "WebSocket",
    }
    return {**stream, "duration": "PT7.512S"} if stopped else stream


def _transcription(v: _Values, **extra: Any) -> dict[str, Any]:
    return {
        "id": bandwidth_id("t"),
        "name": "live_transcript",
        "startTime": v.ago(8),
        "tracks": ["inbound"],
        "destination": "wss://transcripts.example.com/calls",
        "stabilized": "true",
        **extra,
    }


_COMMON: dict[str, _Generate] = {
    "eventTime": lambda v: iso(v.now),
    "accountId": lambda v: str(10_000_000 + secrets.randbelow(90_000_000)),
    "applicationId": lambda v: str(uuid.uuid4()),
    "from": lambda v: _number(),
    "to": lambda v: _number(),
    "direction": lambda v: "outbound",
    "callId": lambda v: bandwidth_id("c"),
    "parentCallId": lambda v: bandwidth_id("c"),
    "callUrl": lambda v: f"{VOICE_API}/{v['accountId']}/calls/{v['callId']}",
    "enqueuedTime": lambda v: v.ago(14),
    "startTime": lambda v: v.ago(12),
    "answerTime": lambda v: v.ago(10),
    "endTime": lambda v: v.ago(1),
    "tag": lambda v: "order-1234",
    "transferCallerId": lambda v: v["from"],
    "transferTo": lambda v: _number(),
    "cause": lambda v: "hangup",
    "conferenceId": lambda v: bandwidth_id("conf"),
    "name": lambda v: "support-conference",
    "recordingId": lambda v: f"r-{uuid.uuid4()}",
    "mediaUrl": lambda v: f"{v['callUrl']}/recordings/{v['recordingId']}/media",
    "duration": lambda v: "PT9.512S",
    "fileFormat": lambda v: "wav",
    "channels": lambda v: 1,
    "status": lambda v: "complete",
    "machineDetectionResult": lambda v: {"value": "human", "duration": "PT4.9891287S"},
}
_CALL = ("accountId", "applicationId", "from", "to", "direction", "callId", "callUrl")
_ANSWERED = (*_CALL, "startTime", "answerTime")
_TRANSFER = ("transferCallerId", "transferTo")
_RECORDING = ("recordingId", "mediaUrl", "endTime", "duration", "fileFormat")
_CONFERENCE = ("conferenceId", "name")
_CONFERENCE_MEMBER = (*_CONFERENCE, "from", "to", "callId")
_ERROR = {"cause": "error", "errorMessage": "The destination closed the connection"}

# Per class: the wire keys a real payload of that kind carries (``eventTime`` and
# ``eventType`` aside), and that kind's own values.
_VOICE: dict[type[VoiceEvent], tuple[tuple[str, ...], dict[str, Any]]] = {
    VoiceAnswerEvent: (_ANSWERED, {}),
    VoiceInitiateEvent: ((*_CALL, "startTime"), {"direction": "inbound"}),
    VoiceBridgeCompleteEvent: ((*_ANSWERED, "cause"), {}),
    VoiceBridgeTargetCompleteEvent: (_ANSWERED, {}),
    VoiceDisconnectEvent: ((*_ANSWERED, "endTime", "cause"), {}),
    VoiceDtmfEvent: ((*_ANSWERED, "digit"), {"digit": "5"}),
    VoiceGatherEvent: (
        (*_ANSWERED, "digits", "terminatingDigit"),
        {"digits": "123", "terminatingDigit": "#"},
    ),
    VoiceMachineDetectionCompleteEvent: ((*_ANSWERED, "machineDetectionResult"), {}),
    VoiceRecordCompleteEvent: ((*_ANSWERED, *_RECORDING, "channels"), {}),
    VoiceRecordingAvailableEvent: ((*_CALL, "startTime", *_RECORDING, "channels", "status"), {}),
    VoiceRedirectEvent: (_ANSWERED, {}),
    VoiceTranscriptionAvailableEvent: (
        (*_CALL, "startTime", *_RECORDING, "transcription"),
        {
            "transcription": lambda v: {
                "id": f"t-{uuid.uuid4()}",
                "url": f"{v['callUrl']}/recordings/{v['recordingId']}/transcription",
                "status": "available",
                "completedTime": v.ago(0.5),
            }
        },
    ),
    VoiceTransferAnswerEvent: ((*_ANSWERED, *_TRANSFER, "parentCallId"), {}),
    VoiceTransferCompleteEvent: ((*_ANSWERED, *_TRANSFER, "cause"), {"direction": "inbound"}),
    VoiceTransferDisconnectEvent: (
        (*_ANSWERED, "parentCallId", "endTime", *_TRANSFER, "cause"),
        {},
    ),
    VoiceMediaStreamStartedEvent: ((*_ANSWERED, "mediaStream"), {"mediaStream": _stream}),
    VoiceMediaStreamStoppedEvent: (
        (*_ANSWERED, "cause", "mediaStream"),
        {"cause": "closed", "mediaStream": lambda v: _stream(v, stopped=True)},
    ),
    VoiceMediaStreamRejectedEvent: (
        (*_ANSWERED, "cause", "errorMessage", "mediaStream"),
        {**_ERROR, "mediaStream": _stream},
    ),
    VoiceRealTimeTranscriptionStartedEvent: (
        (*_ANSWERED, "realTimeTranscription"),
        {"realTimeTranscription": _transcription},
    ),
    VoiceRealTimeTranscriptionStoppedEvent: (
        (*_ANSWERED, "cause", "realTimeTranscription"),
        {
            "cause": "closed",
            "realTimeTranscription": lambda v: _transcription(v, duration="PT7.512S"),
        },
    ),
    VoiceRealTimeTranscriptionRejectedEvent: (
        (*_ANSWERED, "cause", "errorMessage", "realTimeTranscription"),
        {**_ERROR, "realTimeTranscription": _transcription},
    ),
    VoiceRealTimeTranscriptionAvailableEvent: (
        (*_ANSWERED, "realTimeTranscription"),
        {
            "realTimeTranscription": lambda v: _transcription(
                v,
                status="available",
                url=f"{v['callUrl']}/transcriptions/{bandwidth_id('t')}",
                completedTime=v.ago(0.5),
            )
        },
    ),
    VoiceReferCompleteEvent: (
        (*_ANSWERED, "referCallStatus", "referSipResponseCode", "notifySipResponseCode"),
        {"referCallStatus": "success", "referSipResponseCode": 202, "notifySipResponseCode": 200},
    ),
    VoiceCallCompleteEvent: (  # 2017-2019: no eventTime, a bare upper-case UUID call id
        ("from", "to", "direction", "callId", "completeTime", "cause"),
        {"callId": lambda v: str(uuid.uuid4()).upper(), "completeTime": lambda v: v.ago(0)},
    ),
    VoiceConferenceCreatedEvent: (_CONFERENCE, {}),
    VoiceConferenceRedirectEvent: (_CONFERENCE, {}),
    VoiceConferenceMemberJoinEvent: (_CONFERENCE_MEMBER, {}),
    VoiceConferenceMemberExitEvent: (_CONFERENCE_MEMBER, {}),
    VoiceConferenceCompletedEvent: (_CONFERENCE, {}),
    VoiceConferenceRecordingAvailableEvent: (
        (*_CONFERENCE, "accountId", "channels", "startTime", *_RECORDING, "status"),
        {
            "mediaUrl": lambda v: (
                f"{VOICE_API}/{v['accountId']}/conferences/{v['conferenceId']}"
                f"/recordings/{v['recordingId']}/media"
            ),
            "status": "complete",
        },
    ),
    UnknownVoiceEvent: (_ANSWERED, {}),
}
_NO_EVENT_TIME = (VoiceCallCompleteEvent,)


def fake_voice_payload(
    cls: type[VoiceEvent], event_type: str, overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """The wire payload of one Voice v2 webhook of ``cls``, ``overrides`` (wire keys) applied
    at the top level and used wherever a value derives from them."""
    keys, own = _VOICE[cls]
    values = _Values(overrides, own)
    payload: dict[str, Any] = {"eventType": event_type}
    if cls not in _NO_EVENT_TIME:
        payload["eventTime"] = values["eventTime"]
    payload.update((key, values[key]) for key in keys)
    payload.update(overrides)
    return payload


# -- Messaging v2 ------------------------------------------------------------------------------

_MESSAGING: dict[type[MessagingEvent], tuple[str, str]] = {  # direction, description
    MessageReceivedEvent: ("in", "Incoming message received"),
    SuggestionResponseEvent: ("in", "Incoming message received"),
    RequestedLocationResponseEvent: ("in", "Incoming message received"),
    MessageSendingEvent: ("out", "Message is sending to carrier"),
    MessageSentEvent: ("out", "Message sent to carrier"),
    MessageDeliveredEvent: ("out", "Message delivered to carrier"),
    MessageFailedEvent: ("out", "forbidden to country"),
    MessageReadEvent: ("out", "Message read by recipient"),
    UnknownMessagingEvent: ("out", "ok"),
}


def fake_messaging_elements(
    cls: type[MessagingEvent], message_type: str, count: int
) -> list[dict[str, Any]]:
    """``count`` elements of a Messaging v2 delivery of ``cls`` (one application, one pair
    of numbers, a message each, a second apart)."""
    direction, description = _MESSAGING[cls]
    application, ours, theirs = str(uuid.uuid4()), _number(), _number()
    now = datetime.now(timezone.utc)
    elements = []
    for index in range(count):
        moment = now - timedelta(seconds=count - 1 - index)
        sender, recipient = (theirs, ours) if direction == "in" else (ours, theirs)
        message: dict[str, Any] = {
            "id": message_id(),
            "owner": ours,
            "applicationId": application,
            "time": iso(moment - timedelta(seconds=2)),
            "segmentCount": 1,
            "direction": direction,
            "to": [recipient],
            "from": sender,
            "text": "Is my order ready?" if direction == "in" else "",
        }
        if direction == "out":
            message["tag"] = "order-1234"
        if cls is SuggestionResponseEvent:
            message["channel"] = "RBM"
            message["suggestionResponse"] = {"text": "Yes", "postbackData": "eWVz"}
        if cls is RequestedLocationResponseEvent:
            message["channel"] = "RBM"
            message["locationResponse"] = {"latitude": "37.7749", "longitude": "-122.4194"}
        element: dict[str, Any] = {
            "type": message_type,
            "time": iso(moment),
            "to": recipient,
            "description": description,
            "message": message,
        }
        if cls is MessageFailedEvent:
            element["errorCode"] = 4432
        if cls is MessageReadEvent:
            element["eventTime"] = iso(moment)
        elements.append(element)
    return elements
