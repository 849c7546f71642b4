"""The transcription event (Bandwidth v1 / Catapult)."""

from __future__ import annotations

from typing import ClassVar

import attrs

from bwhooks.events._base import Event


@attrs.frozen(kw_only=True)
class TranscriptionEvent(Event):
    """``transcription``: a recording's transcription is ready (or failed).

    ``state``/``status``: ``completed`` or ``error``. ``text`` holds the first 1026
    characters, ``text_size`` the full length, ``text_url`` the whole text.
    It carries no ``call_id`` and no ``time``.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("transcription",)

    transcription_id: str | None = None
    transcription_uri: str | None = None
    recording_id: str | None = None
    state: str | None = None
    status: str | None = None
    text: str | None = None
    text_size: int | None = None
    text_url: str | None = None
