"""Conference events (Bandwidth v1 / Catapult)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from bwhooks.events._base import Event


@attrs.frozen(kw_only=True)
class ConferenceRelatedEvent(Event):
    """Base class of the events about a conference (they all carry ``conference_id``)."""

    conference_id: str | None = None


@attrs.frozen(kw_only=True)
class ConferenceEvent(ConferenceRelatedEvent):
    """``conference``: a conference was created or completed; ``status`` says which.

    This event has no ``time``; use ``created_time`` and ``completed_time``.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("conference",)

    conference_uri: str | None = None
    status: str | None = None
    created_time: datetime | None = None
    completed_time: datetime | None = None
    tag: str | None = None


@attrs.frozen(kw_only=True)
class ConferencePlaybackEvent(ConferenceRelatedEvent):
    """``conference-playback``: audio played to the whole conference (``started``/``done``)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("conference-playback",)

    conference_uri: str | None = None
    status: str | None = None
    time: datetime | None = None


@attrs.frozen(kw_only=True)
class ConferenceSpeakEvent(ConferenceRelatedEvent):
    """``conference-speak``: text-to-speech to the whole conference (``started``/``done``)."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("conference-speak",)

    conference_uri: str | None = None
    status: str | None = None
    time: datetime | None = None


@attrs.frozen(kw_only=True)
class ConferenceMemberEvent(ConferenceRelatedEvent):
    """``conference-member``: a member joined, left, was muted or put on hold.

    ``state``: ``active`` or ``completed``; ``hold``: the member can neither hear nor
    speak; ``mute``: the member's audio is muted.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("conference-member",)

    call_id: str | None = None
    member_id: str | None = None
    member_uri: str | None = None
    active_members: int | None = None
    state: str | None = None
    hold: bool | None = None
    mute: bool | None = None
    time: datetime | None = None
