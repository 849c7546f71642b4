"""Answers to port-out validation requests (:class:`~bwhooks.PortOutValidationEvent`).

A handler returns :meth:`PortOutAnswer.allow` or :meth:`PortOutAnswer.deny`; bwhooks sends
the ``<PortOutValidationResponse>`` Bandwidth documents, the request's ``PON`` echoed.
Bandwidth approves the port-out on anything else: no answer, an invalid one, any ``4xx`` or
``5xx``, and an error code it does not document (``7599`` included). So a deny that would
approve is refused when it is built, and what the receiver answers when no handler does is
its ``port_out_fallback`` (:class:`PortOutFallback`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

import attrs

from bwhooks.xmltext import check_text, document

__all__ = ["AcceptableValues", "PortOutAnswer", "PortOutError", "PortOutFallback"]


class PortOutError(enum.IntEnum):
    """The error codes of a port-out deny Bandwidth documents; any other code (``7599``
    too) approves the port-out. :attr:`description` is the documented meaning."""

    ACCOUNT_CODE_MISSING = 7510
    ACCOUNT_CODE_INVALID = 7511
    PIN_MISSING = 7512
    PIN_INVALID = 7513
    ZIP_CODE_MISSING = 7514
    ZIP_CODE_INVALID = 7515
    NUMBER_NOT_RECOGNIZED = 7516
    TOO_MANY_NUMBERS = 7517
    NUMBER_NOT_ACTIVE = 7518
    CUSTOMER_INFO_MISMATCH = 7519
    INVALID_REQUEST = 7598  # Bandwidth sends the port-out to exception, for a person

    @property
    def description(self) -> str:
        """The documented meaning: the ``<Description>`` sent by default."""
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    PortOutError.ACCOUNT_CODE_MISSING: "Account Code Missing",
    PortOutError.ACCOUNT_CODE_INVALID: "Invalid Account Code",
    PortOutError.PIN_MISSING: "PIN Missing",
    PortOutError.PIN_INVALID: "PIN Invalid",
    PortOutError.ZIP_CODE_MISSING: "ZIP Code Missing",
    PortOutError.ZIP_CODE_INVALID: "Invalid ZIP Code",
    PortOutError.NUMBER_NOT_RECOGNIZED: "Telephone Number Not Recognized For This Account",
    PortOutError.TOO_MANY_NUMBERS: "Too Many Telephone Numbers",
    PortOutError.NUMBER_NOT_ACTIVE: "Telephone Number Not Active",
    PortOutError.CUSTOMER_INFO_MISMATCH: "Customer Information Does Not Match",
    PortOutError.INVALID_REQUEST: "Invalid Request",
}


class PortOutFallback(enum.Enum):
    """What a receiver answers a port-out validation request that no handler answered
    (none registered, each returned ``None`` or something else than a
    :class:`PortOutAnswer`, or one raised): ``Receiver(port_out_fallback=...)``."""

    REVIEW = "review"
    """The default: deny with ``7598`` (Invalid Request), which Bandwidth sends to
    exception for a person to review. A bug in a handler never approves a port-out."""
    APPROVE = "approve"
    """Bandwidth's own rule: no answer approves. An unanswered request is answered
    ``Portable`` true; a handler that raised is answered ``500``, which approves too."""


def _numbers(value: Iterable[str] | str) -> tuple[str, ...]:
    numbers = (value,) if isinstance(value, str) else tuple(value)
    for number in numbers:
        _text(number)
    return numbers


def _text(value: Any) -> str | None:
    """``value`` when an answer can carry it (``None`` or text XML can carry): refused
    where the answer is built, in the handler, never when it is sent (a ``5xx`` then
    would approve the port-out)."""
    if value is None:
        return value
    if isinstance(value, str):
        return check_text(value)
    raise TypeError(f"expected a string, not {type(value).__name__}")


@attrs.frozen(kw_only=True)
class AcceptableValues:
    """The values a deny tells the gaining carrier are right (each optional): sent in
    ``<AcceptableValues>`` in the documented order."""

    pin: str | None = attrs.field(default=None, converter=_text)
    account_number: str | None = attrs.field(default=None, converter=_text)
    zip_code: str | None = attrs.field(default=None, converter=_text)
    subscriber_name: str | None = attrs.field(default=None, converter=_text)
    telephone_numbers: tuple[str, ...] = attrs.field(default=(), converter=_numbers)

    def children(self) -> list[tuple[str, Any]]:
        """The elements of ``<AcceptableValues>``, in order (``None`` left out)."""
        pairs: list[tuple[str, Any]] = [
            (name, value)
            for name, value in (
                ("Pin", self.pin),
                ("AccountNumber", self.account_number),
                ("ZipCode", self.zip_code),
                ("SubscriberName", self.subscriber_name),
            )
            if value is not None
        ]
        if self.telephone_numbers:
            pairs.append(
                ("TelephoneNumbers", [("TelephoneNumber", n) for n in self.telephone_numbers])
            )
        return pairs


ErrorSpec = PortOutError | int | tuple[int, str]
"""An error of a deny: a :class:`PortOutError` (its documented description), a code, or
``(code, description)``."""


def _error(spec: Any) -> tuple[PortOutError, str]:
    if isinstance(spec, tuple):
        if len(spec) != 2 or not isinstance(spec[1], str):
            raise ValueError(f"a port-out error is (code, description), not {spec!r}")
        code, description = spec
    else:
        code, description = spec, None
    if isinstance(code, bool) or not isinstance(code, int):
        raise ValueError(f"a port-out error code is an integer, not {code!r}")
    _text(description)
    try:
        error = PortOutError(code)
    except ValueError:
        raise ValueError(
            f"port-out error code {code} is not one Bandwidth documents (7510-7519, 7598): "
            "Bandwidth would approve the port-out"
        ) from None
    return error, error.description if description is None else description


@attrs.frozen(init=False)
class PortOutAnswer:
    """A handler's answer to a :class:`~bwhooks.PortOutValidationEvent`: :meth:`allow` or
    :meth:`deny`. Sent ``200`` as the documented ``<PortOutValidationResponse>``."""

    portable: bool
    errors: tuple[tuple[PortOutError, str], ...]
    acceptable: AcceptableValues | None

    def __init__(
        self,
        portable: bool,
        errors: Iterable[ErrorSpec] = (),
        acceptable: AcceptableValues | None = None,
    ) -> None:
        found = tuple(_error(spec) for spec in errors)
        if portable and (found or acceptable is not None):
            raise ValueError("an allow carries no errors nor acceptable values")
        if not portable and not found:
            raise ValueError(
                "a deny needs at least one error (Bandwidth approves a deny without one)"
            )
        if acceptable is not None and not isinstance(acceptable, AcceptableValues):
            raise TypeError("acceptable must be an AcceptableValues")
        self.__attrs_init__(portable, found, acceptable)

    @classmethod
    def allow(cls) -> PortOutAnswer:
        """The numbers may be ported out."""
        return cls(True)

    @classmethod
    def deny(cls, *errors: ErrorSpec, acceptable: AcceptableValues | None = None) -> PortOutAnswer:
        """The port-out is refused for ``errors`` (at least one; each a
        :class:`PortOutError`, a documented code, or ``(code, description)``);
        ``acceptable`` tells the right values. ``ValueError`` for no error or a code
        Bandwidth does not document (it would approve)."""
        return cls(False, errors, acceptable)

    def to_xml(self, pon: str | None) -> bytes:
        """The ``<PortOutValidationResponse>`` document, ``pon`` echoed (empty when the
        request had none); all text escaped."""
        children: list[tuple[str, Any]] = [
            ("Portable", "true" if self.portable else "false"),
            ("PON", pon or None),
        ]
        if self.errors:
            children.append(
                (
                    "Errors",
                    [
                        ("Error", [("Code", str(int(code))), ("Description", text)])
                        for code, text in self.errors
                    ],
                )
            )
        if self.acceptable is not None:
            children.append(("AcceptableValues", self.acceptable.children()))
        return document("PortOutValidationResponse", children)


#: The answer of :attr:`PortOutFallback.REVIEW`.
REVIEW = PortOutAnswer.deny(PortOutError.INVALID_REQUEST)
