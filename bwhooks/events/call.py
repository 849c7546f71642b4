"""Voice events about a single call (Bandwidth v1 / Catapult)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from bwhooks.events._base import CallEvent, Diversion


@attrs.frozen(kw_only=True)
class AnswerEvent(CallEvent):
    """``answer``: the call was answered.

    ``call_state`` is ``active``. ``from_``/``to`` are E.164 numbers or SIP addresses.
    The ``withhold_*`` and ``display_name`` fields come with GET (BXML) callbacks.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("answer",)

    from_: str | None = None
    to: str | None = None
    call_state: str | None = None
    application_id: str | None = None
    diversion: Diversion | None = None
    withhold_caller_number: bool | None = None
    withhold_caller_name: bool | None = None
    display_name: str | None = None


@attrs.frozen(kw_only=True)
class IncomingCallEvent(CallEvent):
    """``incomingcall``: a call to one of your numbers; ``call_state`` is ``active``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("incomingcall",)

    from_: str | None = None
    to: str | None = None
    call_state: str | None = None
    application_id: str | None = None
    diversion: Diversion | None = None
    withhold_caller_number: bool | None = None
    withhold_caller_name: bool | None = None
    display_name: str | None = None


@attrs.frozen(kw_only=True)
class HangupEvent(CallEvent):
    """``hangup``: the call ended.

    ``cause``: ``NORMAL_CLEARING``, ``ORIGINATOR_CANCEL``, ``USER_BUSY``, ``CALL_REJECTED``,
    ``UNALLOCATED_NUMBER``, ``NO_ANSWER``, ``NORMAL_TEMPORARY_FAILURE``, or any other
    Q.850 name (anything else signals an internal error). ``call_state``: ``completed``.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("hangup",)

    from_: str | None = None
    to: str | None = None
    cause: str | None = None
    call_state: str | None = None


@attrs.frozen(kw_only=True)
class RejectEvent(HangupEvent):
    """A rejected call: on the wire a ``hangup`` with ``cause`` ``CALL_REJECTED``.

    A literal ``eventType: reject`` (seen in some SDKs) is accepted too. Being a
    :class:`HangupEvent`, it also reaches handlers registered for hangups.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("hangup", "reject")

    cause: str | None = "CALL_REJECTED"


@attrs.frozen(kw_only=True)
class TimeoutEvent(CallEvent):
    """``timeout``: an outbound call was not answered within its ``callTimeout``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("timeout",)

    from_: str | None = None
    to: str | None = None


@attrs.frozen(kw_only=True)
class PlaybackEvent(CallEvent):
    """``playback``: an audio file playback on the call; ``status``: ``started`` or ``done``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("playback",)

    status: str | None = None


@attrs.frozen(kw_only=True)
class SpeakEvent(CallEvent):
    """``speak``: text-to-speech on the call.

    ``status``: ``started`` or ``done``; ``state``: ``PLAYBACK_START`` or ``PLAYBACK_STOP``;
    ``type`` is ``"speak"`` where sent.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("speak",)

    status: str | None = None
    state: str | None = None
    type: str | None = None


@attrs.frozen(kw_only=True)
class DtmfEvent(CallEvent):
    """``dtmf``: one key pressed; ``dtmf_duration`` is in milliseconds."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("dtmf",)

    dtmf_digit: str | None = None
    dtmf_duration: int | None = None


@attrs.frozen(kw_only=True)
class GatherEvent(CallEvent):
    """``gather``: digits collected.

    ``state``: ``completed``. ``reason``: ``max-digits``, ``terminating-digit``,
    ``inter-digit-timeout``, ``hung-up`` (``cancelled`` is seen too).
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("gather",)

    state: str | None = None
    digits: str | None = None
    reason: str | None = None
    gather_id: str | None = None
    terminating_digit: str | None = None


@attrs.frozen(kw_only=True)
class RecordingEvent(CallEvent):
    """``recording``: a call recording is saved (or failed).

    ``state``/``status``: ``complete`` or ``error``. This event has no ``time``; use
    ``start_time`` and ``end_time``.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("recording",)

    recording_id: str | None = None
    recording_uri: str | None = None
    state: str | None = None
    status: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None


@attrs.frozen(kw_only=True)
class ErrorEvent(CallEvent):
    """``error``: the call failed; ``call_state`` is ``error``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("error",)

    from_: str | None = None
    to: str | None = None
    call_state: str | None = None


@attrs.frozen(kw_only=True)
class RedirectEvent(CallEvent):
    """``redirect`` (BXML): the call was redirected; ``call_state`` is ``active``."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("redirect",)

    from_: str | None = None
    to: str | None = None
    call_state: str | None = None


@attrs.frozen(kw_only=True)
class TransferCompleteEvent(CallEvent):
    """``transferComplete`` (BXML): the transferred B-leg ended (sent to leg A)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("transferComplete",)

    from_: str | None = None
    to: str | None = None
    call_state: str | None = None
