"""Typed Bandwidth callback events: one frozen, slotted attrs class per kind of callback.

Every class derives from :class:`Event`. Bandwidth v1 (Catapult) classes are named after the
``eventType`` (``AnswerEvent``); Voice v2 ones start with ``Voice`` (``VoiceAnswerEvent``,
base :class:`VoiceEvent`); Messaging v2 ones are named after the ``type``
(``MessageDeliveredEvent``, base :class:`MessagingEvent`).

Attributes are the snake_case of the wire keys (``callId`` -> ``call_id``, ``from`` ->
``from_``). Only ``event_type`` is required; every other field is ``None`` when absent.
Every event keeps the payload exactly as received in ``raw``, read-only all the way down.
"""

from __future__ import annotations

from bwhooks.events._base import CallEvent, Diversion, Event, LazyRaw, Reply, UnknownEvent
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
from bwhooks.events.messaging_v2 import *  # noqa: F403
from bwhooks.events.messaging_v2 import MESSAGING_V2_CLASSES, UnknownMessagingEvent
from bwhooks.events.messaging_v2 import __all__ as _messaging_v2
from bwhooks.events.transcription import TranscriptionEvent
from bwhooks.events.voice_v2 import *  # noqa: F403
from bwhooks.events.voice_v2 import VOICE_V2_CLASSES, UnknownVoiceEvent
from bwhooks.events.voice_v2 import __all__ as _voice_v2
from bwhooks.timestamps import Duration

__all__ = [  # noqa: PLE0604  (the v2 names are added from their modules)
    "EVENT_CLASSES",
    "MESSAGING_V2_CLASSES",
    "VOICE_V2_CLASSES",
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
    "Duration",
    "ErrorEvent",
    "Event",
    "GatherEvent",
    "HangupEvent",
    "IncomingCallEvent",
    "LazyRaw",
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
    *_voice_v2,
    *_messaging_v2,
]

#: Every concrete Bandwidth v1 event class (``UnknownEvent`` aside).
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
UNKNOWN_EVENT_CLASSES: tuple[type[Event], ...] = (
    UnknownEvent,
    UnknownVoiceEvent,
    UnknownMessagingEvent,
)
