"""Queued handlers, engine-neutral: what a receiver publishes and what a worker runs.

A handler registered with ``on(..., queue=queue)`` is not called by the receiver: the
queue's publisher is. It claims the ``(event, handler)`` pair in the shared claims store
(:mod:`bwhooks.queue.claims`), publishes an :class:`Envelope` (the event's wire payload and the
request's method, path, query and headers, never ``Authorization``) and returns, so the
callback is answered ``2xx`` only once the broker took it. A worker re-types the envelope
with the same parser and calls the same function under a lease: :meth:`TaskQueue.run`.

A task engine plugs in by subclassing :class:`TaskQueue` with :meth:`TaskQueue.publish`
and a worker task that calls :meth:`TaskQueue.run` and acts on its :class:`Verdict`
(:class:`bwhooks.queue.celery.CeleryQueue` does this for Celery).
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import json
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from bwhooks.decoding import decode
from bwhooks.decoding.parsing import MAX_DEPTH, nests_deeper
from bwhooks.dispatch import current_request, handling
from bwhooks.errors import InvalidCallback, QueueUnavailable, RetryLater
from bwhooks.events import Event
from bwhooks.events._base import thaw
from bwhooks.http import CREDENTIAL_HEADERS, CallbackRequest, Headers
from bwhooks.idempotency import DAY, idempotency_key
from bwhooks.observe import event_ids
from bwhooks.queue.claims import DEFAULT_QUEUE, ENQUEUING, RUNNING, RedisClaims, Start
from bwhooks.queue.spool import Spool
from bwhooks.registry import Handler, Queue

__all__ = [
    "ENVELOPE_VERSION",
    "DeadLetter",
    "Envelope",
    "EnvelopeError",
    "Queue",
    "QueueOutcome",
    "TaskQueue",
    "Verdict",
]

ENVELOPE_VERSION = 1


class EnvelopeError(ValueError):
    """A message that is not a bwhooks envelope this version can run."""


@attrs.frozen
class Envelope:
    """One queued ``(event, handler)``: the event as it came over the wire, and the request.

    ``payload`` is the event's JSON object (``None`` for a GET callback, whose fields are
    the ``query``); ``array`` tells a Messaging v2 element. ``key`` identifies the event and
    handler across every receiver and worker. Serialized as a small versioned JSON object.
    """

    key: str
    handler: str
    payload: Mapping[str, Any] | None
    array: bool
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    received_at: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form that travels through the broker."""
        return {
            "v": ENVELOPE_VERSION,
            "key": self.key,
            "handler": self.handler,
            "payload": self.payload,
            "array": self.array,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": [list(pair) for pair in self.headers],
            "received_at": self.received_at,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Envelope:
        """Read an envelope; :class:`EnvelopeError` for anything else (a field of another
        type included). What its payload and query hold is read by :meth:`request`."""
        if not isinstance(data, Mapping) or data.get("v") != ENVELOPE_VERSION:
            version = data.get("v") if isinstance(data, Mapping) else None
            shown = repr(version) if version is None or isinstance(version, int) else "?"
            raise EnvelopeError(f"not a version {ENVELOPE_VERSION} envelope (v={shown})")
        try:
            payload = data["payload"]
            if payload is not None and not isinstance(payload, Mapping):
                raise TypeError("payload is not an object")
            headers = tuple(_header(pair) for pair in data["headers"])
            key, handler, method, path, query, received_at = (
                data[name] for name in ("key", "handler", "method", "path", "query", "received_at")
            )
            texts = (key, handler, method, path, query, received_at)
            if not all(isinstance(text, str) for text in texts):
                raise TypeError("a text field is not text")
            array = data["array"]
            if not isinstance(array, bool):
                raise TypeError("array is not true or false")
            return cls(
                key=key,
                handler=handler,
                payload=payload,
                array=array,
                method=method,
                path=path,
                query=query,
                headers=headers,
                received_at=received_at,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise EnvelopeError(f"malformed envelope ({type(exc).__name__}: {exc})") from None

    def request(self) -> CallbackRequest:
        """The request as a worker's handler sees it (:func:`~bwhooks.current_request`): its
        body is this one event (in an array for a Messaging v2 element).

        :class:`~bwhooks.InvalidCallback` for a payload no receiver would have accepted
        (nested deeper than :data:`~bwhooks.decoding.parsing.MAX_DEPTH` levels) or a query that no
        request carries (not Latin-1 text)."""
        body = b""
        if self.payload is not None:
            if nests_deeper(self.payload):
                raise InvalidCallback(f"payload nested deeper than {MAX_DEPTH} levels")
            body = json.dumps([self.payload] if self.array else self.payload).encode()
        try:
            query = self.query.encode("latin-1")
        except UnicodeEncodeError:
            raise InvalidCallback("query string is not Latin-1 text") from None
        return CallbackRequest(self.method, self.path, Headers(self.headers), body, query)

    def event(self, request: CallbackRequest | None = None) -> Event:
        """The typed event again, by the receiver's own decoding."""
        (event,) = decode(request or self.request())
        return event


@attrs.frozen
class QueueOutcome:
    """One step of queued work, as given to ``metrics``.

    ``name`` on a receiver: ``queued``, ``duplicate`` (already queued or done),
    ``spooled``, ``unspooled`` (published from the spool) or ``unqueued`` (the broker was
    down: ``500``); on a worker: ``handled``, ``skipped`` (done before), ``retried``,
    ``deferred`` (another worker's live lease), ``dead-lettered`` or ``republished`` (its
    message lost by the broker). ``duration`` is the handler's run time on a worker.
    """

    name: str
    event_type: str | None
    ids: str
    handler: str
    attempt: int = 0
    duration: float = 0.0


@attrs.frozen
class DeadLetter:
    """Work given up on: the envelope, why, after how many attempts, when."""

    envelope: Mapping[str, Any]
    error: str
    attempts: int
    at: str


class Verdict(enum.Enum):
    """What the engine does with the message after :meth:`TaskQueue.run`."""

    ACK = "ack"  # done, a duplicate, or dead-lettered: acknowledge it
    RETRY = "retry"  # run it again after ``countdown`` seconds


@attrs.frozen
class Ran:
    """The verdict, and the delay before a retry."""

    verdict: Verdict
    countdown: float = 0.0


class TaskQueue:
    """The engine-neutral half of a queue; an engine subclasses it with :meth:`publish`.

    ``claims`` is the shared store; ``spool`` (a :class:`~bwhooks.queue.spool.Spool`, or ``None``)
    keeps events Bandwidth would not retry while the broker is down. A worker holds a
    ``lease`` (seconds) on each run, gives up after ``max_attempts`` runs (dead letter), and
    retries after ``retry_backoff * 2**(attempt-1)`` seconds (at most ``retry_backoff_max``,
    with jitter). A completed run is remembered for ``done_ttl`` seconds.
    """

    def __init__(
        self,
        claims: RedisClaims | None,
        *,
        name: str = DEFAULT_QUEUE,
        spool: Spool | None = None,
        lease: float = 120.0,
        max_attempts: int = 8,
        retry_backoff: float = 2.0,
        retry_backoff_max: float = 300.0,
        done_ttl: float = 2 * DAY,
        enqueue_ttl: float = 30.0,
        renew_leases: bool = True,
        on_dead_letter: Callable[[DeadLetter], Any] | None = None,
        metrics: Callable[[QueueOutcome], Any] | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._claims = claims
        self.name = name
        self.spool = spool
        self.lease = lease
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.retry_backoff_max = retry_backoff_max
        self.done_ttl = done_ttl
        self.enqueue_ttl = enqueue_ttl
        self.renew_leases = renew_leases
        self.on_dead_letter = on_dead_letter
        self.metrics = metrics
        self.logger = logger or logging.getLogger("bwhooks.queue")
        self.handlers: dict[str, Handler] = {}
        self._drainer: tuple[int, threading.Thread] | None = None
        self._spool_checked = 0  # the process that looked for a spool to drain
        self._drain_lock = threading.Lock()

    @property
    def claims(self) -> RedisClaims:
        """The shared claims store (built by :meth:`make_claims` when first needed)."""
        if self._claims is None:
            self._claims = self.make_claims()
        return self._claims

    # -- the engine's part ------------------------------------------------------------------

    def make_claims(self) -> RedisClaims:
        """The claims store, when none was given."""
        raise ValueError(f"queue {self.name!r} has no claims store")

    def publish(self, envelope: Envelope) -> None:
        """Hand ``envelope`` to the broker, within a bounded time; raise if it was not
        accepted."""
        raise NotImplementedError

    # -- receivers --------------------------------------------------------------------------

    def bind(self, handler: Handler) -> Callable[[Event], None]:
        """Register ``handler`` under its ``module:qualname`` and return its publisher."""
        name = f"{getattr(handler, '__module__', '?')}:{getattr(handler, '__qualname__', '?')}"
        known = self.handlers.get(name)
        if known is not None and known is not handler and _code(known) is not _code(handler):
            raise ValueError(
                f"two different handlers are named {name} on queue {self.name!r}: "
                "workers find handlers by name, give them distinct names"
            )
        self.handlers[name] = handler

        def publish_event(event: Event) -> None:
            self.enqueue(self.envelope(name, event, current_request()), event)

        publish_event.__qualname__ = f"{name} (queued)"
        return publish_event

    def envelope(self, handler: str, event: Event, request: CallbackRequest) -> Envelope:
        """The envelope of ``event`` for ``handler``, from the request that carried it."""
        get = request.method == "GET"
        return Envelope(
            key=f"{idempotency_key(event)}|{handler}",
            handler=handler,
            payload=None if get else thaw(event.raw),
            array=not get and request.body.lstrip()[:1] == b"[",
            method=request.method,
            path=request.path,
            query=request.query_string.decode("latin-1"),
            headers=tuple(
                pair
                for pair in request.headers.pairs()
                if pair[0].lower() not in CREDENTIAL_HEADERS
            ),
            received_at=datetime.now(timezone.utc).isoformat(),
        )

    def enqueue(self, envelope: Envelope, event: Event) -> None:
        """Claim and publish ``envelope``; when the broker (or the store) fails, spool it if
        Bandwidth would not retry the event, else raise :class:`QueueUnavailable`."""
        self._ensure_drainer()
        try:
            published = self._claim_and_publish(envelope)
        except RetryLater:
            raise
        except Exception as exc:
            self._unqueued(envelope, event, exc)
            return
        self._report("queued" if published else "duplicate", event, envelope.handler)

    def _claim_and_publish(self, envelope: Envelope) -> bool:
        """``True`` when published, ``False`` for a duplicate; raises if it could not be."""
        token = uuid.uuid4().hex
        held = self.claims.enqueue(envelope.key, token, self.enqueue_ttl)
        if held is not None:
            if held.startswith(ENQUEUING):
                raise RetryLater("the same event is being queued by another delivery")
            return False  # queued, running, done or dead: handled once already
        try:
            self.publish(envelope)
        except BaseException:
            try:
                self.claims.abandon(envelope.key, token)
            except Exception:  # the store went down too: the claim expires by itself
                self.logger.debug("could not free the claim of %s", envelope.key)
            raise
        try:
            self.claims.queued(envelope.key, token, self.done_ttl, json.dumps(envelope.to_dict()))
        except Exception:  # the worker runs an `enqueuing` claim all the same
            self.logger.warning("published %s, but could not mark it queued", envelope.key)
        return True

    def _unqueued(self, envelope: Envelope, event: Event, error: Exception) -> None:
        reason = f"{type(error).__name__}: {error}"
        if event.RETRIED_AFTER_FAILURE or self.spool is None:
            self._report("unqueued", event, envelope.handler)
            raise QueueUnavailable(reason) from error
        try:
            self.spool.put(json.dumps(envelope.to_dict()))
        except Exception as exc:
            self._report("unqueued", event, envelope.handler)
            raise QueueUnavailable(f"{reason}; the spool failed too: {exc}") from error
        self.logger.warning(
            "could not queue the %s event (%s) for %s (%s): spooled in %s, published when "
            "the broker is back",
            event.event_type,
            event_ids(event),
            envelope.handler,
            reason,
            self.spool.path,
        )
        self._report("spooled", event, envelope.handler)
        self._ensure_drainer(force=True)

    # -- the spool --------------------------------------------------------------------------

    def drain_spool(self, limit: int = 100) -> int:
        """Publish what the spool holds, oldest first, until it is empty or the broker
        fails again; returns how many envelopes left the spool."""
        if self.spool is None:
            return 0
        drained = 0
        while True:
            rows = self.spool.take(limit, lease=max(self.enqueue_ttl, 30.0))
            if not rows:
                return drained
            for position, (row_id, text) in enumerate(rows):
                try:
                    envelope = Envelope.from_dict(json.loads(text))
                    published = self._claim_and_publish(envelope)
                except (EnvelopeError, ValueError):
                    self.logger.error("dropped an unreadable spool row %d", row_id)
                    self.spool.remove(row_id)
                    continue
                except Exception:
                    for later_id, _ in rows[position:]:
                        self.spool.release(later_id)
                    return drained
                self.spool.remove(row_id)
                drained += 1
                event = _event_or_none(envelope)
                about = _about(envelope, event)
                self.logger.info("published the spooled %s for %s", about, envelope.handler)
                self._report("unspooled" if published else "duplicate", event, envelope.handler)

    def _ensure_drainer(self, *, force: bool = False) -> None:
        """Run the drainer thread in this process while the spool has rows: checked once per
        process (a restarted receiver drains what an earlier one left), and again whenever
        an envelope is spooled (``force``)."""
        if self.spool is None:
            return
        pid = os.getpid()
        if not force:
            if self._spool_checked == pid:
                return
            self._spool_checked = pid
            if not self.spool.path.exists():  # nothing was ever spooled here
                return
        with self._drain_lock:
            drainer = self._drainer
            if drainer is not None and drainer[0] == pid and drainer[1].is_alive():
                return
            thread = threading.Thread(target=self._drain_loop, name="bwhooks-spool", daemon=True)
            self._drainer = (pid, thread)
            thread.start()

    def _drain_loop(self, interval: float = 1.0) -> None:
        """Drain until the spool is empty; the next spooled envelope starts it again."""
        assert self.spool is not None
        while True:
            try:
                self.drain_spool()
                if len(self.spool) == 0:
                    return
            except Exception:
                self.logger.exception("could not read the spool %s", self.spool.path)
                return
            time.sleep(interval)

    def republish_orphans(self, idle: float, limit: int = 100) -> int:
        """Publish again the work still ``queued`` that nothing moved for ``idle`` seconds
        (its message lost by the broker); returns how many. A duplicate message is
        harmless: the claims run the work once."""
        republished = 0
        for text in self.claims.sweep(idle, limit):
            envelope = Envelope.from_dict(json.loads(text))
            self.publish(envelope)
            republished += 1
            event = _event_or_none(envelope)
            about = _about(envelope, event)
            self.logger.warning(
                "published the %s for %s again: queued %s, its message was lost",
                about,
                envelope.handler,
                envelope.received_at,
            )
            self._report("republished", event, envelope.handler)
        return republished

    # -- workers ----------------------------------------------------------------------------

    def run(self, data: Any) -> Ran:
        """Run one message on a worker: take the lease, re-type the event, call the handler
        with :func:`~bwhooks.current_request` set, then mark it done, retry it, or
        dead-letter it. Never raises for the handler's failure."""
        try:
            envelope = Envelope.from_dict(data)
        except EnvelopeError as exc:
            self.logger.error("dead-lettered a message that is not an envelope: %s", exc)
            self._dead_letter(data if isinstance(data, Mapping) else {"data": data}, exc, 0)
            return Ran(Verdict.ACK)
        try:
            request = envelope.request()
            event: Event | None = envelope.event(request)
            unreadable: InvalidCallback | None = None
        except InvalidCallback as exc:  # a newer receiver's payload this worker cannot read,
            event, unreadable = None, exc  # or one no receiver sent: dead-lettered below
        token = run_token()
        begun = self.claims.begin(envelope.key, token, self.lease, self.done_ttl)
        if begun.start is Start.BUSY and holder_is_dead(begun.holder):
            # A pool child killed mid-run on this machine: its message came back at once,
            # its lease would hold the work for the rest of its length. Take it over.
            self.logger.info("%s was held by a process that died: taken over", envelope.key)
            begun = self.claims.begin(
                envelope.key, token, self.lease, self.done_ttl, take_over=RUNNING + begun.holder
            )
        if begun.start is Start.BUSY:
            wait = begun.wait + random.uniform(0.1, 1.0)  # noqa: S311  (jitter)
            self.logger.info("%s is running elsewhere: again in %.1fs", envelope.key, wait)
            self._report("deferred", event, envelope.handler)
            return Ran(Verdict.RETRY, wait)
        if begun.start is not Start.RUN:
            self.logger.info("%s was %s before: skipped", envelope.key, begun.start.value)
            self._report("skipped", event, envelope.handler)
            return Ran(Verdict.ACK)
        attempt = begun.attempt
        if attempt > self.max_attempts:  # lost worker after lost worker: a poison message
            error = RuntimeError(f"{attempt - 1} attempts, the last ones lost with their worker")
            return self._give_up(envelope, event, token, error, attempt - 1)
        if event is None:
            assert unreadable is not None
            return self._give_up(envelope, None, token, unreadable, attempt)
        handler = self.handlers.get(envelope.handler)
        started = time.perf_counter()
        try:
            if handler is None:
                raise LookupError(f"no handler {envelope.handler} on queue {self.name!r} here")
            with handling(request), self._leased(envelope.key, token):
                result = handler(event)
                if inspect.isawaitable(result):
                    asyncio.run(_awaited(result))
        except Exception as exc:
            return self._failed(envelope, event, token, exc, attempt)
        duration = time.perf_counter() - started
        if not self.claims.finish(envelope.key, token, self.done_ttl):
            self.logger.warning("%s completed after its lease was lost", envelope.key)
        self.logger.info(
            "handled %s event (%s) with %s on attempt %d in %.1f ms",
            event.event_type,
            event_ids(event),
            envelope.handler,
            attempt,
            duration * 1000,
        )
        self._report("handled", event, envelope.handler, attempt, duration)
        return Ran(Verdict.ACK)

    def _failed(
        self, envelope: Envelope, event: Event, token: str, error: Exception, attempt: int
    ) -> Ran:
        if attempt >= self.max_attempts:
            return self._give_up(envelope, event, token, error, attempt)
        self.claims.give_back(envelope.key, token, self.done_ttl)
        countdown = self.backoff(attempt)
        self.logger.warning(
            "handler %s failed on %s event (%s), attempt %d of %d: again in %.1fs",
            envelope.handler,
            event.event_type,
            event_ids(event),
            attempt,
            self.max_attempts,
            countdown,
            exc_info=error,
        )
        self._report("retried", event, envelope.handler, attempt)
        return Ran(Verdict.RETRY, countdown)

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number ``attempt``: exponential, capped, with jitter."""
        ceiling = min(self.retry_backoff_max, self.retry_backoff * 2 ** (attempt - 1))
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311  (jitter)

    def _give_up(
        self,
        envelope: Envelope,
        event: Event | None,
        token: str,
        error: BaseException,
        attempts: int,
    ) -> Ran:
        self.claims.bury(envelope.key, token, self.done_ttl)
        about = _about(envelope, event)
        self.logger.error(
            "dead-lettered the %s for %s after %d attempts: %s",
            about,
            envelope.handler,
            attempts,
            type(error).__name__,
            exc_info=error,
        )
        self._dead_letter(envelope.to_dict(), error, attempts)
        self._report("dead-lettered", event, envelope.handler, attempts)
        return Ran(Verdict.ACK)

    def _dead_letter(
        self, envelope: Mapping[str, Any], error: BaseException, attempts: int
    ) -> None:
        letter = DeadLetter(
            envelope=_storable(envelope),
            error=f"{type(error).__name__}: {error}",
            attempts=attempts,
            at=datetime.now(timezone.utc).isoformat(),
        )
        self.claims.add_dead_letter(attrs.asdict(letter), max_length=10_000)
        if self.on_dead_letter is not None:
            try:
                self.on_dead_letter(letter)
            except Exception:
                self.logger.exception("the on_dead_letter hook failed")

    def dead_letters(self, count: int = 100) -> list[DeadLetter]:
        """The newest ``count`` dead letters, oldest first."""
        return [DeadLetter(**record) for record in self.claims.dead_letters(count)]

    def _leased(self, key: str, token: str) -> _Lease:
        return _Lease(self, key, token)

    def _report(
        self,
        name: str,
        event: Event | None,
        handler: str,
        attempt: int = 0,
        duration: float = 0.0,
    ) -> None:
        if self.metrics is None:
            return
        outcome = QueueOutcome(
            name,
            event.event_type if event else None,
            event_ids(event) if event else "",
            handler,
            attempt,
            duration,
        )
        try:
            self.metrics(outcome)
        except Exception:
            self.logger.exception("the metrics hook failed")


class _Lease:
    """Renews a run's lease every third of its length while the handler runs (for pools
    that cannot stop a handler at its time limit)."""

    def __init__(self, queue: TaskQueue, key: str, token: str) -> None:
        self.queue, self.key, self.token = queue, key, token
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> None:
        if self.queue.renew_leases:
            self._thread = threading.Thread(target=self._renew, daemon=True)
            self._thread.start()

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _renew(self) -> None:
        queue = self.queue
        while not self._stop.wait(queue.lease / 3):
            try:
                if not queue.claims.renew(self.key, self.token, queue.lease):
                    queue.logger.warning("lost the lease of %s while running", self.key)
                    return
            except Exception:
                queue.logger.warning("could not renew the lease of %s", self.key)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _about(envelope: Envelope, event: Event | None) -> str:
    """``"sms event (ids)"`` for logs (the key when the event cannot be read)."""
    if event is None:
        return f"unreadable event {envelope.key}"
    return f"{event.event_type} event ({event_ids(event)})"


def _header(pair: Any) -> tuple[str, str]:
    """One ``[name, value]`` pair of an envelope's headers."""
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        raise TypeError("a header is not a [name, value] pair")
    name, value = pair
    if not isinstance(name, str) or not isinstance(value, str):
        raise TypeError("a header name or value is not text")
    return name, value


def _storable(message: Mapping[str, Any]) -> dict[str, Any]:
    """A dead letter's message as the store can keep it: each value as it came, but one
    nested deeper than :data:`~bwhooks.decoding.parsing.MAX_DEPTH` levels (which would exhaust the
    recursion of any encoder) replaced by a note, and anything but JSON by its ``repr``."""
    kept: dict[str, Any] = {}
    for name, value in message.items():
        if nests_deeper(value):
            kept[str(name)] = f"(not kept: nested deeper than {MAX_DEPTH} levels)"
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            kept[str(name)] = repr(value)
        else:
            kept[str(name)] = value
    return kept


def _event_or_none(envelope: Envelope) -> Event | None:
    try:
        return envelope.event()
    except InvalidCallback:
        return None


def _machine() -> str:
    """This machine, across reboots: its host name and boot id."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as file:
            boot = file.read().strip()[:8]
    except OSError:
        boot = "-"
    return f"{socket.gethostname()}/{boot}"


_MACHINE = _machine()


def run_token() -> str:
    """A run's lease token: this machine, this process, and a random part."""
    return f"{_MACHINE}:{os.getpid()}:{uuid.uuid4().hex}"


def holder_is_dead(holder: str) -> bool:
    """Whether a lease's holder is a process of this machine that no longer runs (a killed
    pool child): only then can a lease be taken over before it expires."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != _MACHINE or not parts[1].isdigit():
        return False
    pid_text = parts[1]
    if int(pid_text) == os.getpid():
        return False
    if not os.path.isdir("/proc"):
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False
    try:
        with open(f"/proc/{pid_text}/stat") as file:
            state = file.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return state in ("Z", "X")  # a zombie, not reaped yet: dead all the same


def _code(handler: Handler) -> object:
    return getattr(handler, "__code__", handler)
