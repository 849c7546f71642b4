"""Voice v2 webhooks (Bandwidth's current Voice API, BXML applications).

Every field is optional, as in Bandwidth's own specification; a field that cannot be
converted is left ``None`` (its value stays in ``raw``) and a warning names it, because
Bandwidth does not retry a voice callback answered ``4xx``. Enumerated values (``cause``,
``direction``, ``status``, ...) are plain strings: the lists below are the documented ones,
and new values are kept as they come.

Synchronous webhooks (:attr:`~bwhooks.events.Event.REPLY` is ``Reply.BXML``) are answered
with the BXML a handler returns, or an empty ``<Response/>``; asynchronous ones with an
empty ``200`` whatever a handler returns (Bandwidth ignores the body).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import attrs

from bwhooks.events._base import Event, Reply, raw_field, wire_field
from bwhooks.events.timestamps import Duration

# -- nested objects -------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class MachineDetectionResult:
    """Answering-machine detection (``machineDetectionResult``).

    ``value``: ``human``, ``answering-machine``, ``tone-detected``, ``silence``,
    ``timeout``, ``error``; ``duration``: how long the detection took.
    """

    value: str | None = None
    duration: Duration | None = None


@attrs.frozen(kw_only=True)
class VoiceDiversion:
    """The most recent SIP Diversion header of an inbound call (``diversion`` on
    ``initiate``): one attribute per usual parameter, every other one kept in ``raw``.

    ``reason``: ``unknown``, ``user-busy``, ``no-answer``, ``unavailable``,
    ``unconditional``, ``time-of-day``, ``do-not-disturb``, ``deflection``, ``follow-me``,
    ``out-of-service``, ``away``; ``privacy``: ``off`` or ``full``; ``screen``: ``no``
    (user-provided) or ``yes`` (network-provided); ``counter`` and ``limit`` are digits, as
    Voice v2 writes them.
    """

    orig_to: str | None = None
    reason: str | None = None
    privacy: str | None = None
    screen: str | None = None
    counter: str | None = None
    limit: str | None = None
    raw: Mapping[str, Any] = raw_field()


@attrs.frozen(kw_only=True)
class StirShaken:
    """STIR/SHAKEN verification of an inbound call (``stirShaken``).

    ``verstat``: ``TN-Verification-Passed``/``-Failed`` (the SDK writes
    ``TN-Validation-...``); ``attestation_indicator``: ``A``, ``B`` or ``C``.
    """

    verstat: str | None = None
    attestation_indicator: str | None = None
    originating_id: str | None = None


@attrs.frozen(kw_only=True)
class RecordingTranscription:
    """The ``transcription`` of ``transcriptionAvailable``: Bandwidth's sources disagree on
    its shape, so it holds all of them: ``id``, ``url``, ``status`` (``available``,
    ``error``, ``timeout``, ...) and ``completed_time`` (the documented examples), ``text``,
    ``confidence`` (0.0 to 1.0) and ``speaker`` (the specification and the SDK)."""

    id: str | None = None
    url: str | None = None
    status: str | None = None
    completed_time: datetime | None = None
    text: str | None = None
    confidence: float | None = None
    speaker: int | None = None


@attrs.frozen(kw_only=True)
class MediaStream:
    """A media stream started by ``<StartStream>`` (``mediaStream``, ``originalMediaStream``).

    ``tracks``: ``inbound``/``outbound``; ``type``: ``WebSocket``; ``duration`` only once
    the stream stopped.
    """

    id: str | None = None
    name: str | None = None
    destination: str | None = None
    start_time: datetime | None = None
    tracks: tuple[str, ...] | None = None
    type: str | None = None
    duration: Duration | None = None


@attrs.frozen(kw_only=True)
class RealTimeTranscription:
    """A real-time transcription started by ``<StartTranscription>``.

    The event's ``realTimeTranscription`` object, which some of Bandwidth's examples call
    ``transcription`` (both are read). ``stabilized`` arrives as ``"true"``/``"false"``;
    ``duration`` once stopped;
    ``status`` (``available``, ``failed``), ``url`` and ``completed_time`` once available.
    """

    id: str | None = None
    name: str | None = None
    start_time: datetime | None = None
    tracks: tuple[str, ...] | None = None
    destination: str | None = None
    stabilized: bool | None = None
    duration: Duration | None = None
    status: str | None = None
    url: str | None = None
    completed_time: datetime | None = None


# -- bases ----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class VoiceEvent(Event):
    """Base class of every Voice v2 webhook: register it to receive them all.

    ``event_time`` is approximately when Bandwidth generated the event; ``tag`` the
    current tag of the call (or of the conference).
    """

    GENERATION: ClassVar[int] = 2
    REPLY: ClassVar[Reply] = Reply.NONE

    event_time: datetime | None = None
    tag: str | None = None


@attrs.frozen(kw_only=True)
class VoiceCallEvent(VoiceEvent):
    """Base class of the Voice v2 webhooks about one call.

    ``direction``: ``inbound`` or ``outbound``; ``from_`` may be ``Private``,
    ``Restricted``, ``Unavailable`` or ``Anonymous``; ``call_url`` is the call's REST URL.
    """

    account_id: str | None = None
    application_id: str | None = None
    from_: str | None = None
    to: str | None = None
    direction: str | None = None
    call_id: str | None = None
    call_url: str | None = None
    enqueued_time: datetime | None = None
    start_time: datetime | None = None
    answer_time: datetime | None = None


@attrs.frozen(kw_only=True)
class VoiceConferenceEvent(VoiceEvent):
    """Base class of the Voice v2 conference webhooks; ``name`` is the conference's."""

    conference_id: str | None = None
    name: str | None = None


@attrs.frozen(kw_only=True)
class UnknownVoiceEvent(VoiceEvent):
    """A Voice v2 webhook whose ``eventType`` bwhooks does not know (yet): its data is in
    ``raw``. A handler's BXML answer is sent back, as the kind may be synchronous."""

    REPLY: ClassVar[Reply] = Reply.ANY

    event_type: str


# -- call webhooks --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class VoiceAnswerEvent(VoiceCallEvent):
    """``answer`` (synchronous): an outbound call was answered; answer with its BXML.

    ``machine_detection_result`` only when machine detection ran in ``sync`` mode.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("answer",)
    REPLY: ClassVar[Reply] = Reply.BXML
    ENDS_CALL_UNANSWERED: ClassVar[bool] = True

    machine_detection_result: MachineDetectionResult | None = None
    sip_call_id: str | None = None


@attrs.frozen(kw_only=True)
class VoiceInitiateEvent(VoiceCallEvent):
    """``initiate`` (synchronous): an inbound call arrived; answer with its BXML.

    ``uui`` is the SIP ``User-To-User`` header; ``sip_headers`` the customer ``X-`` headers
    (names kept as sent, lower-case).
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("initiate",)
    REPLY: ClassVar[Reply] = Reply.BXML
    ENDS_CALL_UNANSWERED: ClassVar[bool] = True

    diversion: VoiceDiversion | None = None
    stir_shaken: StirShaken | None = None
    uui: str | None = None
    sip_call_id: str | None = None
    sip_headers: Mapping[str, str] | None = None


@attrs.frozen(kw_only=True)
class VoiceBridgeCompleteEvent(VoiceCallEvent):
    """``bridgeComplete`` (synchronous): the target left the ``<Bridge>`` (or it failed);
    ``cause``: ``busy``, ``rejected``, ``unknown`` or the call causes."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("bridgeComplete",)
    REPLY: ClassVar[Reply] = Reply.BXML

    cause: str | None = None
    error_message: str | None = None
    error_id: str | None = None
    transfer_caller_id: str | None = None
    transfer_to: str | None = None


@attrs.frozen(kw_only=True)
class VoiceBridgeTargetCompleteEvent(VoiceCallEvent):
    """``bridgeTargetComplete`` (synchronous): the originating call left the ``<Bridge>``;
    the BXML answered runs on the target call (``call_id``)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("bridgeTargetComplete",)
    REPLY: ClassVar[Reply] = Reply.BXML


@attrs.frozen(kw_only=True)
class VoiceDisconnectEvent(VoiceCallEvent):
    """``disconnect`` (asynchronous): the call ended.

    ``cause`` (the list is open): ``hangup``, ``busy``, ``timeout``, ``cancel``,
    ``rejected``, ``callback-error``, ``invalid-bxml``, ``application-error``,
    ``account-limit``, ``node-capacity-exceeded``, ``error``, ``unknown``.
    ``sip_response_code`` when Bandwidth's SBC rejected an outbound INVITE.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("disconnect",)

    end_time: datetime | None = None
    cause: str | None = None
    error_message: str | None = None
    error_id: str | None = None
    sip_call_id: str | None = None
    sip_response_code: int | None = None


@attrs.frozen(kw_only=True)
class VoiceDtmfEvent(VoiceCallEvent):
    """``dtmf`` (asynchronous): one digit detected after ``<StartGather>``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("dtmf",)

    digit: str | None = None
    parent_call_id: str | None = None
    transfer_caller_id: str | None = None
    transfer_to: str | None = None


@attrs.frozen(kw_only=True)
class VoiceGatherEvent(VoiceCallEvent):
    """``gather`` (synchronous): ``<Gather>`` finished; ``digits`` is ``""`` on a timeout
    without input, ``terminating_digit`` ``""`` when none ended it."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("gather",)
    REPLY: ClassVar[Reply] = Reply.BXML

    digits: str | None = None
    terminating_digit: str | None = None
    parent_call_id: str | None = None
    transfer_caller_id: str | None = None
    transfer_to: str | None = None


@attrs.frozen(kw_only=True)
class VoiceMachineDetectionCompleteEvent(VoiceCallEvent):
    """``machineDetectionComplete`` (asynchronous): the ``async`` machine detection result;
    act on it with the Update Call REST endpoint."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("machineDetectionComplete",)

    machine_detection_result: MachineDetectionResult | None = None


@attrs.frozen(kw_only=True)
class VoiceRecordCompleteEvent(VoiceCallEvent):
    """``recordComplete`` (also spelled ``recordingComplete``; synchronous): ``<Record>``
    ended while the call is up; the BXML answered runs next. ``file_format``: ``wav`` or
    ``mp3``; the media is downloadable once ``recordingAvailable`` comes."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("recordComplete", "recordingComplete")
    REPLY: ClassVar[Reply] = Reply.BXML

    parent_call_id: str | None = None
    recording_id: str | None = None
    media_url: str | None = None
    end_time: datetime | None = None
    duration: Duration | None = None
    file_format: str | None = None
    channels: int | None = None
    transfer_caller_id: str | None = None
    transfer_to: str | None = None


@attrs.frozen(kw_only=True)
class VoiceRecordingAvailableEvent(VoiceCallEvent):
    """``recordingAvailable`` (asynchronous): a recording can be downloaded.

    ``status``: ``complete``, ``partial``, ``error`` (also ``processing``, ``deleted``).
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("recordingAvailable",)

    parent_call_id: str | None = None
    recording_id: str | None = None
    media_url: str | None = None
    end_time: datetime | None = None
    duration: Duration | None = None
    file_format: str | None = None
    channels: int | None = None
    status: str | None = None
    transfer_caller_id: str | None = None
    transfer_to: str | None = None


@attrs.frozen(kw_only=True)
class VoiceRedirectEvent(VoiceCallEvent):
    """``redirect`` (synchronous): ``<Redirect>`` or the Update Call REST request
    redirected the call; answer with its BXML."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("redirect",)
    REPLY: ClassVar[Reply] = Reply.BXML

    parent_call_id: str | None = None
    transfer_caller_id: str | None = None
    transfer_to: str | None = None


@attrs.frozen(kw_only=True)
class VoiceTranscriptionAvailableEvent(VoiceCallEvent):
    """``transcriptionAvailable`` (asynchronous): a recording's transcription is ready."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("transcriptionAvailable",)

    parent_call_id: str | None = None
    recording_id: str | None = None
    media_url: str | None = None
    end_time: datetime | None = None
    duration: Duration | None = None
    file_format: str | None = None
    transcription: RecordingTranscription | None = None
    transfer_caller_id: str | None = None
    transfer_to: str | None = None


@attrs.frozen(kw_only=True)
class VoiceTransferAnswerEvent(VoiceCallEvent):
    """``transferAnswer`` (synchronous): a ``<Transfer>`` B-leg (``call_id``) answered;
    the BXML answered runs on it before it is bridged to ``parent_call_id``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("transferAnswer",)
    REPLY: ClassVar[Reply] = Reply.BXML

    parent_call_id: str | None = None
    transfer_caller_id: str | None = None
    transfer_to: str | None = None


@attrs.frozen(kw_only=True)
class VoiceTransferCompleteEvent(VoiceCallEvent):
    """``transferComplete`` (synchronous, to the A-leg): the transferred B-leg ended;
    ``cause`` as on ``disconnect``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("transferComplete",)
    REPLY: ClassVar[Reply] = Reply.BXML

    transfer_caller_id: str | None = None
    transfer_to: str | None = None
    cause: str | None = None
    error_message: str | None = None
    error_id: str | None = None


@attrs.frozen(kw_only=True)
class VoiceTransferDisconnectEvent(VoiceCallEvent):
    """``transferDisconnect`` (asynchronous): a ``<Transfer>`` B-leg ended, for any reason;
    ``cause`` as on ``disconnect``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("transferDisconnect",)

    parent_call_id: str | None = None
    end_time: datetime | None = None
    transfer_caller_id: str | None = None
    transfer_to: str | None = None
    cause: str | None = None
    error_message: str | None = None
    error_id: str | None = None


@attrs.frozen(kw_only=True)
class VoiceMediaStreamStartedEvent(VoiceCallEvent):
    """``mediaStreamStarted`` (asynchronous): a ``<StartStream>`` stream started."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("mediaStreamStarted",)

    media_stream: MediaStream | None = None


@attrs.frozen(kw_only=True)
class VoiceMediaStreamStoppedEvent(VoiceCallEvent):
    """``mediaStreamStopped`` (asynchronous): a stream ended; ``cause``: ``closed``,
    ``connection-error``, ``error``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("mediaStreamStopped",)

    cause: str | None = None
    error_message: str | None = None
    media_stream: MediaStream | None = None


@attrs.frozen(kw_only=True)
class VoiceMediaStreamRejectedEvent(VoiceCallEvent):
    """``mediaStreamRejected`` (asynchronous): a stream could not start; ``cause``:
    ``connection-error``, ``duplicate`` (then ``original_media_stream`` is the running
    one), ``error``, ``track-limit``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("mediaStreamRejected",)

    cause: str | None = None
    error_message: str | None = None
    media_stream: MediaStream | None = None
    original_media_stream: MediaStream | None = None


@attrs.frozen(kw_only=True)
class VoiceRealTimeTranscriptionStartedEvent(VoiceCallEvent):
    """``realTimeTranscriptionStarted`` (asynchronous): a real-time transcription started."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("realTimeTranscriptionStarted",)

    real_time_transcription: RealTimeTranscription | None = wire_field(
        "realTimeTranscription", "transcription"
    )


@attrs.frozen(kw_only=True)
class VoiceRealTimeTranscriptionStoppedEvent(VoiceCallEvent):
    """``realTimeTranscriptionStopped`` (asynchronous): it ended; ``cause``: ``closed``,
    ``connection-error``, ``error``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("realTimeTranscriptionStopped",)

    cause: str | None = None
    error_message: str | None = None
    real_time_transcription: RealTimeTranscription | None = wire_field(
        "realTimeTranscription", "transcription"
    )


@attrs.frozen(kw_only=True)
class VoiceRealTimeTranscriptionRejectedEvent(VoiceCallEvent):
    """``realTimeTranscriptionRejected`` (asynchronous): it could not start; ``cause``:
    ``connection-error``, ``duplicate`` (then ``original_transcription`` is the running
    one), ``error``, ``track-limit``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("realTimeTranscriptionRejected",)

    cause: str | None = None
    error_message: str | None = None
    real_time_transcription: RealTimeTranscription | None = wire_field(
        "realTimeTranscription", "transcription"
    )
    original_transcription: RealTimeTranscription | None = None


@attrs.frozen(kw_only=True)
class VoiceRealTimeTranscriptionAvailableEvent(VoiceCallEvent):
    """``realTimeTranscriptionAvailable`` (asynchronous): the transcription can be
    downloaded from ``real_time_transcription.url``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("realTimeTranscriptionAvailable",)

    real_time_transcription: RealTimeTranscription | None = wire_field(
        "realTimeTranscription", "transcription"
    )


@attrs.frozen(kw_only=True)
class VoiceReferCompleteEvent(VoiceCallEvent):
    """``referComplete``: a ``<Refer>`` finished; ``refer_call_status``: ``success`` (the
    call is gone, the answer ignored) or ``failure`` (the BXML answered runs on the call)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("referComplete",)
    REPLY: ClassVar[Reply] = Reply.BXML

    refer_call_status: str | None = None
    refer_sip_response_code: int | None = None
    notify_sip_response_code: int | None = None


@attrs.frozen(kw_only=True)
class VoiceCallCompleteEvent(VoiceCallEvent):
    """``callComplete`` (asynchronous): the call ended, as Voice v2 said before
    ``disconnect`` (2017-2019); ``cause``: ``busy``, ``timeout``, ``hangup``, ``error``,
    ``callbackLimitExceeded``, ``unknown``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("callComplete",)

    complete_time: datetime | None = None
    cause: str | None = None


# -- conference webhooks --------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class VoiceConferenceCreatedEvent(VoiceConferenceEvent):
    """``conferenceCreated`` (synchronous; an empty answer is fine): only ``PlayAudio``,
    ``SpeakSentence`` and the recording verbs are valid in the BXML answered."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("conferenceCreated",)
    REPLY: ClassVar[Reply] = Reply.BXML


@attrs.frozen(kw_only=True)
class VoiceConferenceRedirectEvent(VoiceConferenceEvent):
    """``conferenceRedirect`` (synchronous; an empty answer is fine): the Update Conference
    REST request redirected it."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("conferenceRedirect",)
    REPLY: ClassVar[Reply] = Reply.BXML


@attrs.frozen(kw_only=True)
class VoiceConferenceMemberJoinEvent(VoiceConferenceEvent):
    """``conferenceMemberJoin`` (synchronous; an empty answer is fine): a call joined."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("conferenceMemberJoin",)
    REPLY: ClassVar[Reply] = Reply.BXML

    from_: str | None = None
    to: str | None = None
    call_id: str | None = None


@attrs.frozen(kw_only=True)
class VoiceConferenceMemberExitEvent(VoiceConferenceEvent):
    """``conferenceMemberExit`` (synchronous; an empty answer is fine): a call left."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("conferenceMemberExit",)
    REPLY: ClassVar[Reply] = Reply.BXML

    from_: str | None = None
    to: str | None = None
    call_id: str | None = None


@attrs.frozen(kw_only=True)
class VoiceConferenceCompletedEvent(VoiceConferenceEvent):
    """``conferenceCompleted`` (asynchronous): the last member left."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("conferenceCompleted",)


@attrs.frozen(kw_only=True)
class VoiceConferenceRecordingAvailableEvent(VoiceConferenceEvent):
    """``conferenceRecordingAvailable`` (asynchronous): a conference recording can be
    downloaded; ``status`` as on ``recordingAvailable``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("conferenceRecordingAvailable",)

    account_id: str | None = None
    recording_id: str | None = None
    channels: int | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: Duration | None = None
    file_format: str | None = None
    media_url: str | None = None
    status: str | None = None


#: Every Voice v2 class, in the order of Bandwidth's event index.
VOICE_V2_CLASSES: tuple[type[VoiceEvent], ...] = (
    VoiceAnswerEvent,
    VoiceBridgeCompleteEvent,
    VoiceBridgeTargetCompleteEvent,
    VoiceConferenceCreatedEvent,
    VoiceConferenceRedirectEvent,
    VoiceConferenceMemberJoinEvent,
    VoiceConferenceMemberExitEvent,
    VoiceConferenceCompletedEvent,
    VoiceConferenceRecordingAvailableEvent,
    VoiceDisconnectEvent,
    VoiceDtmfEvent,
    VoiceGatherEvent,
    VoiceInitiateEvent,
    VoiceMachineDetectionCompleteEvent,
    VoiceRecordCompleteEvent,
    VoiceRecordingAvailableEvent,
    VoiceRedirectEvent,
    VoiceTranscriptionAvailableEvent,
    VoiceTransferAnswerEvent,
    VoiceTransferCompleteEvent,
    VoiceTransferDisconnectEvent,
    VoiceMediaStreamStartedEvent,
    VoiceMediaStreamStoppedEvent,
    VoiceMediaStreamRejectedEvent,
    VoiceRealTimeTranscriptionStartedEvent,
    VoiceRealTimeTranscriptionStoppedEvent,
    VoiceRealTimeTranscriptionRejectedEvent,
    VoiceRealTimeTranscriptionAvailableEvent,
    VoiceReferCompleteEvent,
    VoiceCallCompleteEvent,
)
