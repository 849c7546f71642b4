"""Typed Bandwidth callback events: one frozen, slotted attrs class per ``eventType``.

Attributes are the snake_case of the wire keys (``callId`` -> ``call_id``, ``from`` ->
``from_``). Only ``event_type`` is required; every other field is ``None`` when absent.
Every event keeps the payload exactly as received in ``raw``.
"""

from __future__ import annotations

from bwhooks.events._base import CallEvent, Diversion, Event, Reply, UnknownEvent
from bwhooks.events.call import (
    AnswerEvent,
    DtmfEvent,
    ErrorEvent,
    GatherEvent,
    HangupEvent,
    IncomingCallEvent,
    PlaybackEvent,
    RecordingEvent,
    RedirectEvent,
    RejectEvent,
    SpeakEvent,
    TimeoutEvent,
    TransferCompleteEvent,
)
from bwhooks.events.conference import (
    ConferenceEvent,
    ConferenceMemberEvent,
    ConferencePlaybackEvent,
    ConferenceRelatedEvent,
    ConferenceSpeakEvent,
)
from bwhooks.events.messaging import MessageEvent, MmsEvent, SmsEvent
from bwhooks.events.transcription import TranscriptionEvent

__all__ = [
    "EVENT_CLASSES",
    "UNKNOWN_EVENT_CLASSES",
    "AnswerEvent",
    "CallEvent",
    "ConferenceEvent",
    "ConferenceMemberEvent",
    "ConferencePlaybackEvent",
    "ConferenceRelatedEvent",
    "ConferenceSpeakEvent",
    "Diversion",
    "DtmfEvent",
    "ErrorEvent",
    "Event",
    "GatherEvent",
    "HangupEvent",
    "IncomingCallEvent",
    "MessageEvent",
    "MmsEvent",
    "PlaybackEvent",
    "RecordingEvent",
    "RedirectEvent",
    "RejectEvent",
    "Reply",
    "SmsEvent",
    "SpeakEvent",
    "TimeoutEvent",
    "TranscriptionEvent",
    "TransferCompleteEvent",
    "UnknownEvent",
]

#: Every concrete event class bwhooks parses into (``UnknownEvent`` aside).
EVENT_CLASSES: tuple[type[Event], ...] = (
    SmsEvent,
    MmsEvent,
    AnswerEvent,
    PlaybackEvent,
    TimeoutEvent,
    ConferenceEvent,
    ConferencePlaybackEvent,
    ConferenceMemberEvent,
    ConferenceSpeakEvent,
    DtmfEvent,
    GatherEvent,
    IncomingCallEvent,
    HangupEvent,
    RecordingEvent,
    RejectEvent,
    SpeakEvent,
    TranscriptionEvent,
    ErrorEvent,
    RedirectEvent,
    TransferCompleteEvent,
)

#: The classes of events whose type bwhooks does not know (yet): their data is in ``raw``.
UNKNOWN_EVENT_CLASSES: tuple[type[Event], ...] = (UnknownEvent,)
