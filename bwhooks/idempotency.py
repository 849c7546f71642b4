"""Duplicate deliveries: Bandwidth delivers at least once, so a callback may come twice.

With an :class:`IdempotencyStore` on the receiver, each callback's key (derived from its
payload by :func:`idempotency_key`) is claimed before the handlers run:

- a new key runs the handlers; their answer is stored under the key;
- a key whose callback was handled is answered with the stored answer, no handler runs;
- a key still being handled (the retry came while the first delivery runs) gets ``409``
  with ``Retry-After``, so nothing is lost if the first delivery then fails;
- a handler failure releases the key, so the retry is processed.

Off by default. :class:`MemoryStore` serves one process; :class:`RedisStore` several
machines.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import attrs

from bwhooks.decoding.parsing import to_payload
from bwhooks.events import Event
from bwhooks.events._base import thaw
from bwhooks.http import CallbackResponse

__all__ = ["Claim", "IdempotencyStore", "MemoryStore", "RedisStore", "idempotency_key"]

DAY = 24 * 60 * 60  # Bandwidth retries messaging callbacks for 24 hours


def idempotency_key(event: Event) -> str:
    """The key of a callback: its ``eventType`` and a digest of its typed content.

    Two deliveries of the same callback (GET or POST, keys in any order) share it; two
    callbacks differing in any field do not. Two *genuine* events share it only when every
    field is equal: see the per-kind notes in the reliability guide (two presses of the
    same DTMF digit within the same ``time`` resolution, for instance). Numbers webhooks,
    toll-free verification results, Subscriptions v2 notifications and endpoint events
    have keys of their own, which name what they tell (see the reliability guide); no
    key holds a secret or a phone number in clear.
    """
    numbers = sys.modules.get("bwhooks.events.numbers")  # loaded with its first event
    if numbers is not None and isinstance(event, numbers.NumbersEvent):
        return _numbers_key(event, numbers)
    family_key = _family_key(type(event))
    if family_key is not None:
        return family_key(event)
    return f"{event.event_type}:{_digest(to_payload(event))}"


def _toll_free_key(event: Any) -> str:
    """A toll-free verification result: its shape, its ticket (``internalTicketNumber``)
    and a digest of all it holds. Bandwidth retries one result with the same body for 24
    hours (one key); a new result for the same number (another status, shape or ticket)
    is a new key."""
    ticket = event.internal_ticket_number
    told = f"{_id_label(ticket)}:" if ticket is not None else ""
    return f"{event.event_type}:{told}{_digest(_document(event))}"


def _subscription_key(event: Any) -> str:
    """A Subscriptions v2 notification: its ``notificationType``, ``requestId`` and a
    digest of all it holds."""
    request = "" if event.request_id is None else _id_label(event.request_id)
    return f"{_id_label(event.event_type)}:{request}:{_digest(_document(event))}"


def _endpoint_key(event: Any) -> str:
    """An endpoint event: its ``eventType``, ``endpointId`` and a digest of its
    ``eventTime`` and ``device`` (one device connecting at one time is one event, whatever
    else a retry tells); one without an ``eventTime`` by a digest of all it holds."""
    document = _document(event)
    told = document if event.event_time is None else [document.get(k) for k in _WHEN]
    endpoint = "" if event.endpoint_id is None else _id_label(event.endpoint_id)
    return f"{_id_label(event.event_type)}:{endpoint}:{_digest(told)}"


_WHEN = ("eventTime", "device")  # what tells two events of one endpoint and type apart
#: The key of each family that has its own, by the module of its event classes (a class
#: derived from one of them is keyed as its base).
_FAMILY_KEYS: dict[str, Callable[[Any], str]] = {
    "bwhooks.events.tollfree": _toll_free_key,
    "bwhooks.events.subscriptions": _subscription_key,
    "bwhooks.events.endpoints": _endpoint_key,
}
_KEYED: dict[type[Any], Callable[[Any], str] | None] = {}


def _family_key(cls: type[Any]) -> Callable[[Any], str] | None:
    """The family key of ``cls`` (``None``: the content's digest), cached by class."""
    try:
        return _KEYED[cls]
    except KeyError:
        modules = (c.__module__ for c in cls.__mro__)
        found = _KEYED[cls] = next((_FAMILY_KEYS[m] for m in modules if m in _FAMILY_KEYS), None)
        return found


def _numbers_key(event: Any, numbers: Any) -> str:
    """The key of a Numbers webhook (see the numbers guide): what names the change it
    notifies, never a PIN, account number or subscriber name in clear.

    - an order or account notification: ``orderNotification:<OrderId>:`` (or its
      ``EventType``) and a digest of all it holds but its ``SubscriptionId``: two
      subscriptions telling one change share it, and any other content is a new key (a
      status told twice with a moved FOC date or more numbers; Bandwidth never sends a
      notification again, so a key shared by two changes would lose one);
    - a port-out validation request: ``portOutValidation:<PON>:`` and the request's digest;
    - an unknown document: its root element and the body's digest.

    Sender-controlled text is in clear only when it is short and plain
    (``[A-Za-z0-9._-]``, at most 64 characters); otherwise by its digest.
    """
    if isinstance(event, numbers.NotificationEvent):
        told = _document(event)
        told.pop("SubscriptionId", None)
        if isinstance(event, numbers.AccountNotificationEvent):
            told["ImpactedTelephoneNumbers"] = sorted(event.impacted_numbers)  # any order
            return f"{_label(event.event_type)}:{_digest(told)}"
        order = "" if event.order_id is None else f"{_label(event.order_id)}:"
        return f"{event.event_type}:{order}{_digest(told)}"
    if isinstance(event, numbers.PortOutValidationEvent):
        pon = "" if event.pon is None else _label(event.pon)
        return f"{event.event_type}:{pon}:{_digest(_document(event))}"
    return f"{_label(event.event_type)}:{_digest(_document(event))}"


def _digest(value: Any) -> str:
    """32 hex digits of the SHA-256 of ``value``'s canonical JSON."""
    canonical = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _document(event: Event) -> Any:
    """What an event's body holds: its document as read (``raw``), or its fields for an
    event built in code."""
    return thaw(event.raw) if event.raw else to_payload(event)


_PLAIN = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)


def _label(text: str) -> str:
    """``text`` when it is short and plain, else ``sha256-`` and 16 hex digits of it."""
    if _PLAIN.fullmatch(text):
        return text
    return "sha256-" + hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]


_PHONE = re.compile(r"\+?[0-9]{7,15}", re.ASCII)


def _id_label(text: str) -> str:
    """An id in a key (:func:`_label`), by its digest when it could be a phone number."""
    if _PHONE.fullmatch(text):
        return "sha256-" + hashlib.sha256(text.encode()).hexdigest()[:16]
    return _label(text)


class Claim(enum.Enum):
    """What :meth:`IdempotencyStore.claim` found."""

    NEW = "new"  # claimed: run the handlers
    IN_FLIGHT = "in-flight"  # another delivery is being handled: ask for a retry
    DONE = "done"  # handled: replay the stored answer


@attrs.frozen
class Claimed:
    """The claim, and the stored answer when it is :attr:`Claim.DONE`."""

    claim: Claim
    response: CallbackResponse | None = None


class IdempotencyStore(Protocol):
    """Where a receiver records which callbacks it has handled.

    A store may set ``blocking = False`` when its calls do no I/O; otherwise an async
    receiver makes them in a worker thread.
    """

    def claim(self, key: str) -> Claimed:
        """Claim ``key`` atomically for one delivery, or say why not."""
        ...

    def complete(self, key: str, response: CallbackResponse) -> None:
        """The delivery holding ``key`` was handled; keep its answer for duplicates."""
        ...

    def release(self, key: str) -> None:
        """The delivery holding ``key`` failed; let the next delivery run."""
        ...


class MemoryStore:
    """An in-process store with expiry; thread-safe. Keys live ``ttl`` seconds once done,
    and a claim ``in_flight_ttl`` seconds (a crashed delivery cannot block a key)."""

    blocking = False  # no I/O: an async receiver calls it on its loop

    def __init__(
        self,
        ttl: float = DAY,
        *,
        in_flight_ttl: float = 60.0,
        max_keys: int = 1_000_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl, self.in_flight_ttl, self.max_keys = ttl, in_flight_ttl, max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, CallbackResponse | None]] = {}

    def claim(self, key: str) -> Claimed:
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > now:
                response = entry[1]
                return Claimed(Claim.DONE, response) if response else Claimed(Claim.IN_FLIGHT)
            if len(self._entries) >= self.max_keys:
                self._evict(now)
            self._entries[key] = (now + self.in_flight_ttl, None)
            return Claimed(Claim.NEW)

    def complete(self, key: str, response: CallbackResponse) -> None:
        with self._lock:
            self._entries[key] = (self._clock() + self.ttl, response)

    def release(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self, now: float) -> None:
        expired = [key for key, (until, _) in self._entries.items() if until <= now]
        for key in expired:
            del self._entries[key]
        if len(self._entries) >= self.max_keys:  # still full: drop the oldest tenth
            for key in list(self._entries)[: max(1, self.max_keys // 10)]:
                del self._entries[key]


class RedisStore:
    """A store in Redis, shared by every receiver process and machine.

    ``client`` is a ``redis.Redis`` (``pip install redis``). A claim is one ``SET NX EX``;
    the stored answer is JSON. Keys are prefixed with ``prefix``. Under an async server
    each call runs in a worker thread, so the event loop never waits on Redis.
    """

    blocking = True  # network I/O: an async receiver calls it in a thread

    def __init__(
        self, client: Any, *, prefix: str = "bwhooks:", ttl: int = DAY, in_flight_ttl: int = 60
    ) -> None:
        self.client, self.prefix, self.ttl, self.in_flight_ttl = client, prefix, ttl, in_flight_ttl

    def claim(self, key: str) -> Claimed:
        name = self.prefix + key
        if self.client.set(name, b"", nx=True, ex=self.in_flight_ttl):
            return Claimed(Claim.NEW)
        stored = self.client.get(name)
        if not stored:  # being handled (or gone in between: ask for a retry all the same)
            return Claimed(Claim.IN_FLIGHT)
        return Claimed(Claim.DONE, _load(stored))

    def complete(self, key: str, response: CallbackResponse) -> None:
        self.client.set(self.prefix + key, _dump(response), ex=self.ttl)

    def release(self, key: str) -> None:
        self.client.delete(self.prefix + key)


def _dump(response: CallbackResponse) -> bytes:
    return json.dumps(
        {
            "status": response.status,
            "headers": list(response.headers.pairs()),
            "body": base64.b64encode(response.body).decode("ascii"),
        }
    ).encode()


def _load(stored: bytes) -> CallbackResponse:
    data = json.loads(stored)
    headers = [(name, value) for name, value in data["headers"]]
    return CallbackResponse(data["status"], headers, base64.b64decode(data["body"]))
