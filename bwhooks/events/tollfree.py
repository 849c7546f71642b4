"""Toll-free verification (TFV) results: one JSON object per number, four shapes.

Bandwidth posts the result of a toll-free verification request to the account's TFV webhook
subscription. No field names the shape: bwhooks decides it by the keys present
(:func:`bwhooks.families.tollfree.class_of`). Every field is optional; a field that cannot be
converted is left ``None`` (its value stays in ``raw``) with a warning, never refused:
Bandwidth retries a TFV callback answered other than ``2xx`` for 24 hours. The answer is an
empty ``204``.
"""

from __future__ import annotations

from typing import ClassVar

import attrs

from bwhooks.events._base import Event, Reply, shape_field, wire_field


@attrs.frozen(kw_only=True)
class AdditionalDenialReason:
    """One more reason a verification was denied (an ``additionalDenialReasons`` item):
    ``status_code`` (``512``, ...), ``reason`` (free text), ``resubmit_allowed``."""

    status_code: int | None = None
    reason: str | None = None
    resubmit_allowed: bool | None = None


@attrs.frozen(kw_only=True)
class TollFreeVerificationEvent(Event):
    """Base class of the four toll-free verification results: register it to receive them
    all.

    ``phone_number`` is the toll-free number (E.164); ``status``: ``VERIFIED``,
    ``UNVERIFIED`` (older docs also ``PENDING``; an open set); ``internal_ticket_number``
    the verification request's id (a UUID). ``event_type`` is bwhooks's name of the shape
    (Bandwidth sends none).
    """

    GENERATION: ClassVar[int] = 2  # a field that cannot be converted is left None
    REPLY: ClassVar[Reply] = Reply.NO_CONTENT
    RETRIED_AFTER_FAILURE: ClassVar[bool] = True  # for 24 hours

    event_type: str = shape_field()
    account_id: str | None = None
    phone_number: str | None = None
    status: str | None = None
    internal_ticket_number: str | None = None


@attrs.frozen(kw_only=True)
class TollFreeStatusEvent(TollFreeVerificationEvent):
    """The verification's status changed (``VERIFIED`` or ``UNVERIFIED``): a body with
    none of the denial, failure or blocked keys."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("tollFreeStatus",)


@attrs.frozen(kw_only=True)
class TollFreeDenialEvent(TollFreeVerificationEvent):
    """The verification was denied.

    ``denial_status_code`` (``511``, ...); ``decline_reason_description`` read from
    ``declineReasonDescription`` or its pre-2025 spelling ``denialReasonDescription``;
    ``additional_denial_reasons`` the other reasons (a tuple of
    :class:`AdditionalDenialReason`); ``resubmit_allowed`` whether the request may be sent
    again; ``blocked`` and ``blocked_reason`` when the number is blocked as well.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("tollFreeDenial",)

    denial_status_code: int | None = None
    decline_reason_description: str | None = wire_field(
        "declineReasonDescription", "denialReasonDescription"
    )
    additional_denial_reasons: tuple[AdditionalDenialReason, ...] | None = None
    resubmit_allowed: bool | None = None
    blocked: bool | None = None
    blocked_reason: str | None = None


@attrs.frozen(kw_only=True)
class TollFreeFailureEvent(TollFreeVerificationEvent):
    """The verification request could not be processed.

    ``error_code`` a string (``"400"``); ``error_message`` and ``errors`` (strings) say
    what was wrong; ``is_bad_request`` the older documents' flag.
    """

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("tollFreeFailure",)

    error_code: str | None = None
    error_message: str | None = None
    errors: tuple[str, ...] | None = None
    is_bad_request: bool | None = None


@attrs.frozen(kw_only=True)
class TollFreeBlockedEvent(TollFreeVerificationEvent):
    """The number is blocked from verification (``blocked`` true); ``blocked_reason``
    says why."""

    EVENT_TYPES: ClassVar[tuple[str, ...]] = ("tollFreeBlocked",)

    blocked: bool | None = None
    blocked_reason: str | None = None


#: Every toll-free verification class, one per shape.
TOLL_FREE_CLASSES: tuple[type[TollFreeVerificationEvent], ...] = (
    TollFreeStatusEvent,
    TollFreeDenialEvent,
    TollFreeFailureEvent,
    TollFreeBlockedEvent,
)
