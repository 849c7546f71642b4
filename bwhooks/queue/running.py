"""A worker's side of a queue: take the lease, run the handler once, then mark the work done,
retry it, or dead-letter it; and the dead letters kept."""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import random
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from bwhooks.dispatch import handling
from bwhooks.errors import InvalidCallback
from bwhooks.events import Event
from bwhooks.http import CallbackRequest
from bwhooks.observe import event_ids
from bwhooks.queue.claims import RUNNING, Begun, Start
from bwhooks.queue.context import QueueContext, report, running_task, task_log
from bwhooks.queue.envelopes import DeadLetter, Envelope, EnvelopeError, about, storable
from bwhooks.queue.leases import Lease, holder_is_dead, run_token

__all__ = ["Ran", "Verdict", "Worker"]

#: About how many dead letters the store keeps.
DEAD_LETTERS_KEPT = 10_000


class Verdict(enum.Enum):
    """What the engine does with the message after :meth:`Worker.run`."""

    ACK = "ack"  # done, a duplicate, or dead-lettered: acknowledge it
    RETRY = "retry"  # run it again after ``countdown`` seconds


@attrs.frozen
class Ran:
    """The verdict, and the delay before a retry."""

    verdict: Verdict
    countdown: float = 0.0


class Worker:
    """What a worker does with a message of ``queue``: :meth:`run` it once under a lease in
    the shared claims store, retry a failure after :meth:`backoff`, and give up after
    ``queue.max_attempts`` runs (a :class:`~bwhooks.queue.envelopes.DeadLetter`)."""

    def __init__(self, queue: QueueContext) -> None:
        self.queue = queue

    def run(self, data: Any, task_id: str | None = None) -> Ran:
        """Run one message: take the lease, re-type the event, call the handler with
        :func:`~bwhooks.current_request` set, then mark it done, retry it, or dead-letter
        it. Never raises for the handler's failure. Each line logged for it begins with
        ``[task <task_id>]`` when the engine gives the message's id."""
        with running_task(task_id):
            return self._run(data)

    def _run(self, data: Any) -> Ran:
        queue = self.queue
        try:
            envelope = Envelope.from_dict(data)
        except EnvelopeError as exc:
            task_log(queue).error("dead-lettered a message that is not an envelope: %s", exc)
            self._dead_letter(data if isinstance(data, Mapping) else {"data": data}, exc, 0)
            return Ran(Verdict.ACK)
        try:
            request = envelope.request()
            event: Event | None = envelope.event(request)
            unreadable: InvalidCallback | None = None
        except InvalidCallback as exc:  # a newer receiver's payload this worker cannot read,
            event, unreadable = None, exc  # or one no receiver sent: dead-lettered below
        token = run_token()
        begun = self._begin(envelope, token)
        if begun.start is Start.BUSY:
            wait = begun.wait + random.uniform(0.1, 1.0)  # noqa: S311  (jitter)
            task_log(queue).info("%s is running elsewhere: again in %.1fs", envelope.key, wait)
            report(queue, "deferred", event, envelope.handler)
            return Ran(Verdict.RETRY, wait)
        if begun.start is not Start.RUN:
            task_log(queue).info("%s was %s before: skipped", envelope.key, begun.start.value)
            report(queue, "skipped", event, envelope.handler)
            return Ran(Verdict.ACK)
        attempt = begun.attempt
        if attempt > queue.max_attempts:  # lost worker after lost worker: a poison message
            error = RuntimeError(f"{attempt - 1} attempts, the last ones lost with their worker")
            return self._give_up(envelope, event, token, error, attempt - 1)
        if event is None:
            assert unreadable is not None
            return self._give_up(envelope, None, token, unreadable, attempt)
        return self._call(envelope, event, request, token, attempt)

    def _begin(self, envelope: Envelope, token: str) -> Begun:
        """Take the lease of ``envelope``'s work (unless it is done, dead or leased)."""
        queue = self.queue
        begun = queue.claims.begin(envelope.key, token, queue.lease, queue.done_ttl)
        if begun.start is Start.BUSY and holder_is_dead(begun.holder):
            # A pool child killed mid-run on this machine: its message came back at once,
            # its lease would hold the work for the rest of its length. Take it over.
            task_log(queue).info("%s was held by a process that died: taken over", envelope.key)
            begun = queue.claims.begin(
                envelope.key, token, queue.lease, queue.done_ttl, take_over=RUNNING + begun.holder
            )
        return begun

    def _call(
        self, envelope: Envelope, event: Event, request: CallbackRequest, token: str, attempt: int
    ) -> Ran:
        """Call the handler under the lease; done, or failed."""
        queue = self.queue
        handler = queue.handlers.get(envelope.handler)
        lease = Lease(queue, envelope.key, token, attempt, event=event, handler=envelope.handler)
        started = time.perf_counter()
        try:
            if handler is None:
                raise LookupError(f"no handler {envelope.handler} on queue {queue.name!r} here")
            with handling(request), lease:  # current_run() inside
                result = handler(event)
                if inspect.isawaitable(result):
                    asyncio.run(_awaited(result))
        except Exception as exc:
            return self._failed(envelope, event, token, exc, attempt)
        duration = time.perf_counter() - started
        if not queue.claims.finish(envelope.key, token, queue.done_ttl):
            self._not_done(lease)
            return Ran(Verdict.ACK)
        task_log(queue).info(
            "handled %s event (%s) with %s on attempt %d in %.1f ms",
            event.event_type,
            event_ids(event),
            envelope.handler,
            attempt,
            duration * 1000,
        )
        report(queue, "handled", event, envelope.handler, attempt=attempt, duration=duration)
        return Ran(Verdict.ACK)

    def _not_done(self, lease: Lease) -> None:
        """A run completed, and another run had taken its work over: not marked done."""
        if not lease.lose(
            logging.WARNING,
            "%s completed, but its lease lapsed and another run took it over: not marked done",
            lease.key,
        ):
            task_log(self.queue).info(
                "%s completed after its run lost the lease: not marked done", lease.key
            )

    def _failed(
        self, envelope: Envelope, event: Event, token: str, error: Exception, attempt: int
    ) -> Ran:
        queue = self.queue
        if attempt >= queue.max_attempts:
            return self._give_up(envelope, event, token, error, attempt)
        if not queue.claims.give_back(envelope.key, token, queue.done_ttl):
            return self._not_ours(envelope, error)
        countdown = self.backoff(attempt)
        task_log(queue).warning(
            "handler %s failed on %s event (%s), attempt %d of %d: again in %.1fs",
            envelope.handler,
            event.event_type,
            event_ids(event),
            attempt,
            queue.max_attempts,
            countdown,
            exc_info=error,
        )
        report(queue, "retried", event, envelope.handler, attempt=attempt)
        return Ran(Verdict.RETRY, countdown)

    def _not_ours(self, envelope: Envelope, error: BaseException) -> Ran:
        """A run failed after another run took its work over: that run decides the work's
        end (no retry, no dead letter from this one); this message is acknowledged."""
        task_log(self.queue).warning(
            "%s failed (%s) after another run took the work over: left to that run",
            envelope.key,
            type(error).__name__,
        )
        return Ran(Verdict.ACK)

    def backoff(self, attempt: int) -> float:
        """Seconds before retry number ``attempt``: exponential, capped, with jitter."""
        queue = self.queue
        ceiling = min(queue.retry_backoff_max, queue.retry_backoff * 2 ** (attempt - 1))
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))  # noqa: S311  (jitter)

    def _give_up(
        self,
        envelope: Envelope,
        event: Event | None,
        token: str,
        error: BaseException,
        attempts: int,
    ) -> Ran:
        queue = self.queue
        if not queue.claims.bury(envelope.key, token, queue.done_ttl):
            return self._not_ours(envelope, error)
        task_log(queue).error(
            "dead-lettered the %s for %s after %d attempts: %s",
            about(envelope, event),
            envelope.handler,
            attempts,
            type(error).__name__,
            exc_info=error,
        )
        self._dead_letter(envelope.to_dict(), error, attempts)
        report(queue, "dead-lettered", event, envelope.handler, attempt=attempts)
        return Ran(Verdict.ACK)

    def _dead_letter(
        self, envelope: Mapping[str, Any], error: BaseException, attempts: int
    ) -> None:
        queue = self.queue
        letter = DeadLetter(
            envelope=storable(envelope),
            error=f"{type(error).__name__}: {error}",
            attempts=attempts,
            at=datetime.now(timezone.utc).isoformat(),
        )
        letter_id = queue.claims.add_dead_letter(letter.record(), max_length=DEAD_LETTERS_KEPT)
        letter = attrs.evolve(letter, id=letter_id)
        if queue.on_dead_letter is not None:
            try:
                queue.on_dead_letter(letter)
            except Exception:
                task_log(queue).exception("the on_dead_letter hook failed")

    def dead_letters(self, count: int = 100) -> list[DeadLetter]:
        """The newest ``count`` dead letters, oldest first."""
        return [DeadLetter(**record) for record in self.queue.claims.dead_letters(count)]


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
