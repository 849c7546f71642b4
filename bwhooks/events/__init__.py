"""Typed Bandwidth callback events: one frozen, slotted attrs class per kind of callback.

Every class derives from :class:`Event`. Bandwidth v1 (Catapult) classes are named after the
``eventType`` (``AnswerEvent``); Voice v2 ones start with ``Voice`` (``VoiceAnswerEvent``,
base :class:`VoiceEvent`); Messaging v2 ones are named after the ``type``
(``MessageDeliveredEvent``, base :class:`MessagingEvent`); Numbers webhooks (XML) are
named after what they notify (``OrderNotificationEvent``, base :class:`NumbersEvent`);
toll-free verification results after their shape (``TollFreeDenialEvent``, base
:class:`TollFreeVerificationEvent`); Subscriptions v2 notifications are
:class:`SubscriptionNotificationEvent`; WebRTC endpoint events are named after the
``eventType`` (``DeviceConnectedEvent``, base :class:`EndpointEvent`); an Emergency Calling
API routing query is an :class:`EmergencyCallEvent`.

Attributes are the snake_case of the wire keys (``callId`` -> ``call_id``, ``from`` ->
``from_``). Only ``event_type`` is required; every other field is ``None`` when absent.
Every event keeps the payload exactly as received in ``raw``, read-only all the way down.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bwhooks.events._base import CallEvent, Diversion, Event, LazyRaw, Reply, UnknownEvent
from bwhooks.events.timestamps import Duration

if TYPE_CHECKING:  # at run time each module is loaded when one of its names is first used
    from bwhooks.events.call import *  # noqa: F403
    from bwhooks.events.conference import *  # noqa: F403
    from bwhooks.events.emergency import *  # noqa: F403
    from bwhooks.events.endpoints import *  # noqa: F403
    from bwhooks.events.endpoints import ENDPOINT_CLASSES as ENDPOINT_CLASSES
    from bwhooks.events.messaging import *  # noqa: F403
    from bwhooks.events.messaging_v2 import *  # noqa: F403
    from bwhooks.events.messaging_v2 import MESSAGING_V2_CLASSES as MESSAGING_V2_CLASSES
    from bwhooks.events.numbers import *  # noqa: F403
    from bwhooks.events.numbers import NUMBERS_CLASSES as NUMBERS_CLASSES
    from bwhooks.events.subscriptions import *  # noqa: F403
    from bwhooks.events.subscriptions import SUBSCRIPTION_CLASSES as SUBSCRIPTION_CLASSES
    from bwhooks.events.tollfree import *  # noqa: F403
    from bwhooks.events.tollfree import TOLL_FREE_CLASSES as TOLL_FREE_CLASSES
    from bwhooks.events.transcription import *  # noqa: F403
    from bwhooks.events.voice_v2 import *  # noqa: F403
    from bwhooks.events.voice_v2 import VOICE_V2_CLASSES as VOICE_V2_CLASSES

    EVENT_CLASSES: tuple[type[Event], ...]
    UNKNOWN_EVENT_CLASSES: tuple[type[Event], ...]

#: The public names of each module of event classes, which has no ``__all__`` of its own:
#: a module is imported when one of its names is first used (``import bwhooks`` creates no
#: event class; some 90 attrs classes cost tens of milliseconds to create).
_MODULES: dict[str, tuple[str, ...]] = {
    "call": (
        "AnswerEvent",
        "DtmfEvent",
        "ErrorEvent",
        "GatherEvent",
        "HangupEvent",
        "IncomingCallEvent",
        "PlaybackEvent",
        "RecordingEvent",
        "RedirectEvent",
        "RejectEvent",
        "SpeakEvent",
        "TimeoutEvent",
        "TransferCompleteEvent",
    ),
    "conference": (
        "ConferenceEvent",
        "ConferenceMemberEvent",
        "ConferencePlaybackEvent",
        "ConferenceRelatedEvent",
        "ConferenceSpeakEvent",
    ),
    "messaging": (
        "MessageEvent",
        "MmsEvent",
        "SmsEvent",
    ),
    "transcription": ("TranscriptionEvent",),
    "emergency": ("EmergencyCallEvent",),
    "voice_v2": (
        "MachineDetectionResult",
        "MediaStream",
        "RealTimeTranscription",
        "RecordingTranscription",
        "StirShaken",
        "UnknownVoiceEvent",
        "VoiceAnswerEvent",
        "VoiceBridgeCompleteEvent",
        "VoiceBridgeTargetCompleteEvent",
        "VoiceCallCompleteEvent",
        "VoiceCallEvent",
        "VoiceConferenceCompletedEvent",
        "VoiceConferenceCreatedEvent",
        "VoiceConferenceEvent",
        "VoiceConferenceMemberExitEvent",
        "VoiceConferenceMemberJoinEvent",
        "VoiceConferenceRecordingAvailableEvent",
        "VoiceConferenceRedirectEvent",
        "VoiceDisconnectEvent",
        "VoiceDiversion",
        "VoiceDtmfEvent",
        "VoiceEvent",
        "VoiceGatherEvent",
        "VoiceInitiateEvent",
        "VoiceMachineDetectionCompleteEvent",
        "VoiceMediaStreamRejectedEvent",
        "VoiceMediaStreamStartedEvent",
        "VoiceMediaStreamStoppedEvent",
        "VoiceRealTimeTranscriptionAvailableEvent",
        "VoiceRealTimeTranscriptionRejectedEvent",
        "VoiceRealTimeTranscriptionStartedEvent",
        "VoiceRealTimeTranscriptionStoppedEvent",
        "VoiceRecordCompleteEvent",
        "VoiceRecordingAvailableEvent",
        "VoiceRedirectEvent",
        "VoiceReferCompleteEvent",
        "VoiceTranscriptionAvailableEvent",
        "VoiceTransferAnswerEvent",
        "VoiceTransferCompleteEvent",
        "VoiceTransferDisconnectEvent",
        "VOICE_V2_CLASSES",
    ),
    "messaging_v2": (
        "CallbackMessage",
        "InboundMessageEvent",
        "MessageDeliveredEvent",
        "MessageFailedEvent",
        "MessageReadEvent",
        "MessageReceivedEvent",
        "MessageSendingEvent",
        "MessageSentEvent",
        "MessageStatusEvent",
        "MessagingEvent",
        "RbmLocationResponse",
        "RbmMessageContent",
        "RbmMessageContentFile",
        "RbmSuggestionResponse",
        "RequestedLocationResponseEvent",
        "SuggestionResponseEvent",
        "UnknownMessagingEvent",
        "MESSAGING_V2_CLASSES",
    ),
    "numbers": (
        "AccountNotificationEvent",
        "NotificationEvent",
        "NumbersEvent",
        "OrderNotificationEvent",
        "PortOutValidationEvent",
        "UnknownNumbersEvent",
        "NUMBERS_CLASSES",
        "to_e164",
    ),
    "tollfree": (
        "AdditionalDenialReason",
        "TollFreeBlockedEvent",
        "TollFreeDenialEvent",
        "TollFreeFailureEvent",
        "TollFreeStatusEvent",
        "TollFreeVerificationEvent",
        "TOLL_FREE_CLASSES",
    ),
    "subscriptions": (
        "SubscriptionNotificationEvent",
        "SUBSCRIPTION_CLASSES",
    ),
    "endpoints": (
        "EndpointDevice",
        "DeviceConnectedEvent",
        "DeviceDisconnectedEvent",
        "EndpointEvent",
        "UnknownEndpointEvent",
        "ENDPOINT_CLASSES",
    ),
}
_MODULE_OF = {name: module for module, names in _MODULES.items() for name in names}
#: Every concrete Bandwidth v1 event class (``UnknownEvent`` aside), in this order.
_V1_CLASSES = (
    "SmsEvent",
    "MmsEvent",
    "AnswerEvent",
    "PlaybackEvent",
    "TimeoutEvent",
    "ConferenceEvent",
    "ConferencePlaybackEvent",
    "ConferenceMemberEvent",
    "ConferenceSpeakEvent",
    "DtmfEvent",
    "GatherEvent",
    "IncomingCallEvent",
    "HangupEvent",
    "RecordingEvent",
    "RejectEvent",
    "SpeakEvent",
    "TranscriptionEvent",
    "ErrorEvent",
    "RedirectEvent",
    "TransferCompleteEvent",
)

__all__ = [  # noqa: PLE0604  (the names of the modules are added from _MODULES)
    "EVENT_CLASSES",
    "UNKNOWN_EVENT_CLASSES",
    "CallEvent",
    "Diversion",
    "Duration",
    "Event",
    "LazyRaw",
    "Reply",
    "UnknownEvent",
    *_MODULE_OF,
]


def __getattr__(name: str) -> Any:
    """An event class (or a tuple of them), its module imported on first use."""
    if name == "EVENT_CLASSES":
        #: Every concrete Bandwidth v1 event class (``UnknownEvent`` aside).
        value: Any = tuple(__getattr__(n) for n in _V1_CLASSES)
    elif name == "UNKNOWN_EVENT_CLASSES":
        #: The classes of events whose type bwhooks does not know (yet): data in ``raw``.
        value = (
            UnknownEvent,
            __getattr__("UnknownVoiceEvent"),
            __getattr__("UnknownMessagingEvent"),
            __getattr__("UnknownNumbersEvent"),
            __getattr__("UnknownEndpointEvent"),
        )
    elif name in _MODULE_OF:
        value = getattr(importlib.import_module(f"bwhooks.events.{_MODULE_OF[name]}"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
