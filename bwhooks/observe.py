"""What became of each callback: outcomes for metrics and logs, payloads masked for DEBUG."""

from __future__ import annotations

import logging
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from bwhooks.notes import Fact, Note

if TYPE_CHECKING:
    from concurrent.futures import Future

    from bwhooks.events import Event
    from bwhooks.http import CallbackResponse, Headers

__all__ = ["OUTCOMES", "Observer", "Outcome", "event_ids", "mask_payload"]

#: Every outcome name; each request ends with exactly one of them.
OUTCOMES = ("handled", "duplicate", "challenged", "rejected", "refused", "failed")
_PHONE = re.compile(r"\+?\d{7,15}")
# What a person typed, said or shared, and what a SIP peer sent: only their length is logged.
_PRIVATE = frozenset(
    {
        "text",
        "digits",
        "digit",
        "dtmfDigit",
        "displayName",
        "uui",
        "postbackData",
        "latitude",
        "longitude",
        "Pin",  # a port-out validation request's: never logged
        "AccountNumber",
        "ZipCode",
        "SubscriberName",
        "Note",  # a note a person added to a Numbers order
        "deviceName",  # an endpoint's device, often named after its owner
        "tag",  # an endpoint's tag: the app's label, which may name its user
    }
)
# Free text that may name a number (``5005: The telephone number 9195550199 is ...``): its
# phone numbers keep their last 4 digits.
_WORDS = frozenset(
    {
        "Message",
        "Description",
        "description",
        # a toll-free verification's denial, block or failure, in Bandwidth's words
        "declineReasonDescription",
        "denialReasonDescription",
        "reason",
        "blockedReason",
        "errorMessage",
        "errors",
    }
)
# Beside its ids, what names a Numbers order in a log line (only with an ``order_type``).
_ORDER_NAMES = ("order_type", "status")


@attrs.frozen
class Outcome:
    """One callback request's outcome, as given to ``Receiver(metrics=...)``.

    ``name``: ``handled`` (2xx from the handlers), ``duplicate`` (answered from the
    idempotency store, or asked to retry), ``challenged`` (401 without credentials),
    ``rejected`` (401 with wrong ones), ``refused`` (another 4xx) or ``failed`` (5xx).
    ``duration`` is the seconds spent dispatching (0 for requests refused before).
    """

    name: str
    status: int
    event_type: str | None
    ids: str
    duration: float


def mask_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A payload fit for DEBUG logs: phone numbers keep their last 4 digits (in lists, and
    in a Numbers ``Message``, an error's ``description`` or a toll-free verification's
    reasons too), message text, digits, locations, SIP user data, a device's name and an
    endpoint's tag only their length; ids, states and times are kept."""
    return {key: _masked(key, value) for key, value in payload.items()}


def _masked(key: str, value: Any) -> Any:
    if key in _PRIVATE and isinstance(value, str):
        return f"<{len(value)} chars>"
    if isinstance(value, str) and _PHONE.fullmatch(value):
        return _stars(value)
    if key in _NUMBERS and isinstance(value, str):  # a number in any format: its digits
        return _starred_digits(value)
    if key in _WORDS and isinstance(value, str):
        return _PHONE.sub(lambda number: _stars(number.group()), value)
    if isinstance(value, Mapping):
        return mask_payload(value)
    if isinstance(value, list | tuple):
        return [_masked(key, item) for item in value]
    return value


_STARS = str.maketrans("0123456789", "**********")
#: Keys whose value is a phone number whatever its format (a query's ``+`` read as a space,
#: punctuation, a line break): every digit but the last four starred.
_NUMBERS = frozenset({"from", "to", "callback", "phoneNumber"})
_DIGIT = re.compile(r"\d")


def _starred_digits(value: str) -> str:
    """``value`` with every digit but its last four starred (kept whole with fewer than
    five: ``911``)."""
    count = len(_DIGIT.findall(value))
    if count < 5:
        return value
    starred = iter(range(count - 4))
    return _DIGIT.sub(
        lambda digit: "*" if next(starred, None) is not None else digit.group(), value
    )


def _stars(number: str) -> str:
    """A phone number with all but its last 4 digits starred."""
    return number[:-4].translate(_STARS) + number[-4:]


class Observer:
    """Reports each callback once it is answered: what dispatch noted of its events (a
    failure, an event no handler takes, a duplicate...), then its outcome (one INFO line,
    the metrics hook) and the masked payloads at DEBUG."""

    def __init__(self, logger: logging.Logger, metrics: Callable[[Outcome], None] | None) -> None:
        self.logger = logger
        self.metrics = metrics

    def enabled(self) -> bool:
        """Whether outcomes are reported: a metrics hook, or INFO logging enabled."""
        return self.metrics is not None or self.logger.isEnabledFor(logging.INFO)

    def report(
        self,
        headers: Headers,
        events: tuple[Event, ...],
        response: CallbackResponse | None,
        duration: float,
        *,
        duplicate: bool = False,
        notes: Sequence[Note] = (),
    ) -> None:
        """Report one request: what was noted of its events, then its answer (``None``:
        dispatch raised, there is no outcome). ``events`` is empty for a request refused
        before parsing; ``duration`` counts for nothing in a duplicate's outcome."""
        for note in notes:
            self.tell(note)
        if response is None or not self.enabled():
            return
        logger = self.logger
        status = response.status
        if duplicate:
            name = "duplicate"
            duration = 0.0  # answered from the store: no handler ran
        elif status == 401:
            name = "rejected" if "authorization" in headers else "challenged"
        elif status >= 500:
            name = "failed"
        elif status >= 400:
            name = "refused"
        else:
            name = "handled"
        ids = " ".join(event_ids(event) for event in events)
        event_type = ",".join(dict.fromkeys(event.event_type for event in events)) or None
        if self.metrics is not None:
            try:
                self.metrics(Outcome(name, status, event_type, ids, duration))
            except Exception:
                logger.exception("the metrics hook failed")
        logger.info(
            "callback %s (%s): %d %s in %.2f ms",
            event_type or "-",
            ids or "no ids",
            status,
            name,
            duration * 1000,
        )
        if events and logger.isEnabledFor(logging.DEBUG):
            from bwhooks.decoding.parsing import to_payload

            for event in events:
                logger.debug("payload of %s: %s", event.event_type, mask_payload(to_payload(event)))

    def tell(self, note: Note) -> None:
        """Log one :class:`~bwhooks.notes.Note` at its level: never a body or credentials,
        the event's type and ids."""
        level, template, fields = _TOLD[note.fact]
        if note.fact is Fact.OVER_BUDGET and note.detail.late is not None:
            note.detail.late.add_done_callback(lambda outcome: self._late(note, outcome))
        if not self.logger.isEnabledFor(level):
            return
        event = note.event
        values = {
            "type": event.event_type,
            "ids": event_ids(event),
            "handler": note.handler,
            "detail": note.detail,
        }
        self.logger.log(
            level,
            template,
            *(values[field] for field in fields),
            exc_info=note.detail if note.fact is Fact.FAILED else None,
        )

    def _late(self, note: Note, outcome: Future[Any]) -> None:
        """Tell what a handler left running in its thread past its event's deadline came
        to, once it comes (in that thread): dropped."""
        if outcome.cancelled():
            return
        error = outcome.exception()
        came = type(error if error is not None else outcome.result()).__name__
        came = f"raised {came}" if error is not None else f"returned its result ({came})"
        self.logger.error(
            "handler %s of the %s request (%s) %s after its budget ran out: dropped, "
            "the request was answered already",
            note.handler,
            note.event.event_type,
            event_ids(note.event),
            came,
        )


# Each fact's log line: its level, its text and the fields that fill it in, in order.
_TOLD: dict[Fact, tuple[int, str, tuple[str, ...]]] = {
    Fact.UNKNOWN_TYPE: (logging.INFO, "unknown callback event type %r (%s)", ("type", "ids")),
    Fact.NO_HANDLER: (logging.INFO, "no handler for %s event (%s)", ("type", "ids")),
    Fact.INLINE_ONLY: (
        logging.WARNING,
        "%s did not receive the %s request (%s): it is never queued, %s; register an "
        "inline handler of it",
        ("handler", "type", "ids", "detail"),
    ),
    Fact.ENDS_CALL: (
        logging.WARNING,
        "no handler answered the %s event (%s) with BXML: the empty answer ends the call",
        ("type", "ids"),
    ),
    Fact.UNUSABLE_ANSWER: (
        logging.ERROR,
        "handler %s returned a %s for %s event (%s); return None, BXML (str, bytes or "
        "an object with to_bxml()) or a CallbackResponse",
        ("handler", "detail", "type", "ids"),
    ),
    Fact.IGNORED_BXML: (
        logging.ERROR,
        "handler %s returned BXML for the %s event (%s), whose answer Bandwidth ignores: not sent",
        ("handler", "type", "ids"),
    ),
    Fact.IGNORED_ANSWER: (
        logging.ERROR,
        "handler %s returned a %s for the %s event (%s), whose answer Bandwidth ignores: not sent",
        ("handler", "detail", "type", "ids"),
    ),
    Fact.PORT_OUT_FALLBACK: (
        logging.ERROR,
        "%s request (%s): %s; %s",
        ("type", "ids", "handler", "detail"),
    ),
    Fact.NO_ROUTE: (
        logging.ERROR,
        "%s query (%s): %s; answered %s: Bandwidth sends the 911 call to its emergency call center",
        ("type", "ids", "handler", "detail"),
    ),
    Fact.LATE_ROUTE: (
        logging.ERROR,
        "handler %s answered the %s query (%s) %s: Bandwidth may have sent the 911 call "
        "to its emergency call center already (the late route is sent all the same)",
        ("handler", "type", "ids", "detail"),
    ),
    Fact.NOT_RETRIED: (
        logging.ERROR,
        "the %s event (%s) was answered %s: Bandwidth does not retry it, it is lost",
        ("type", "ids", "detail"),
    ),
    Fact.CONFLICT: (
        logging.ERROR,
        "handlers %s both answered the %s event (%s): an answer must have one author",
        ("handler", "type", "ids"),
    ),
    Fact.RETRY_ASKED: (
        logging.INFO,
        "%s asked for a later delivery of the %s event (%s): %s",
        ("handler", "type", "ids", "detail"),
    ),
    Fact.NOT_QUEUED: (
        logging.ERROR,
        "%s: the %s event (%s) could not be queued (%s): answered 500 so that "
        "Bandwidth delivers it again",
        ("handler", "type", "ids", "detail"),
    ),
    Fact.TIMED_OUT: (
        logging.ERROR,
        "handler %s ran past %ss on %s event (%s): cancelled",
        ("handler", "detail", "type", "ids"),
    ),
    Fact.OVER_BUDGET: (
        logging.ERROR,
        "handler %s of the %s request (%s) %s",
        ("handler", "type", "ids", "detail"),
    ),
    Fact.FAILED: (logging.ERROR, "handler %s failed on %s event (%s)", ("handler", "type", "ids")),
    Fact.DUPLICATE_ANSWERED: (
        logging.INFO,
        "duplicate %s event (%s): answered again",
        ("type", "ids"),
    ),
    Fact.DUPLICATE_IN_FLIGHT: (
        logging.INFO,
        "duplicate %s event (%s) while the first is handled: retry asked",
        ("type", "ids"),
    ),
    Fact.STORE_FAILED: (
        logging.ERROR,
        "the idempotency store failed on the %s event (%s): %s; %s",
        ("type", "ids", "detail", "handler"),
    ),
}


_ID_NAMES: dict[type[Any], tuple[tuple[str, str], ...]] = {}


def event_ids(event: Event) -> str:
    """The event's ids (``call_id=c-1 gather_id=g-2``) for logs: never credentials or text.

    A nested object's ``id`` counts as ``<attribute>_id`` (``message_id=...``); the
    class's :attr:`~bwhooks.events.Event.LOGGED` attributes follow (a toll-free number
    ``+*******5555``); an event with no id attribute (one whose type bwhooks does not know)
    gives the ``...Id`` keys of its payload.
    """
    names = _ID_NAMES.get(type(event))
    if names is None:
        names = _ID_NAMES[type(event)] = _id_names(type(event))
    found: list[tuple[str, Any]] = []
    for attribute, label in names:
        value = getattr(event, attribute)
        if value is not None and label != attribute:  # a nested object's id
            value = getattr(value, "id", None) or getattr(value, label, None)
        if value is not None:
            found.append((label, value))
    for attribute in type(event).LOGGED:
        value = getattr(event, attribute, None)
        if isinstance(value, str) and _PHONE.fullmatch(value):
            value = _stars(value)
        if value is not None:
            found.append((attribute, value))
    if not names:
        found = [(k, v) for k, v in event.raw.items() if k.endswith("Id") and isinstance(v, str)]
    return " ".join(f"{k}={_shown(v)}" for k, v in found) or "no ids"


def _shown(value: Any) -> str:
    """A value in a log line: as it is, or quoted and escaped when it holds a control
    character (a line break could forge another log line)."""
    text = str(value)
    return text if text.isprintable() else ascii(text)


def _id_names(cls: type[Any]) -> tuple[tuple[str, str], ...]:
    """``(attribute, label)`` of each id: ``*_id`` attributes, nested objects' ``id``, a
    port order number (``pon``), and a Numbers order's type and status."""
    hints = typing.get_type_hints(cls)
    names: list[tuple[str, str]] = []
    fields = attrs.fields_dict(cls)
    order = _ORDER_NAMES if "order_type" in fields else ()
    for field in fields.values():
        if field.name.endswith("_id") or field.name == "pon" or field.name in order:
            names.append((field.name, field.name))
            continue
        nested = [t for t in typing.get_args(hints[field.name]) if attrs.has(t)]
        own = attrs.fields_dict(nested[0]) if nested else {}
        if "id" in own or f"{field.name}_id" in own:  # message.id, device.device_id
            names.append((field.name, f"{field.name}_id"))
    return tuple(names)
