"""Dead letters sent back to work: the letter's ``dead`` claim made publishable again, its work
pending, its envelope published, and the letter removed once the broker took it.

A rolling deploy dead-letters work an old worker cannot run (a handler only the new release
has, a payload only the new release reads); once every worker runs the new release, its
dead letters are re-queued (``bwhooks dead-letters --requeue-all``) and run with
``max_attempts`` attempts again. The claims still run each piece of work once.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Iterable

import attrs

from bwhooks.queue.claims import DONE
from bwhooks.queue.context import QueueContext, report
from bwhooks.queue.envelopes import Envelope, EnvelopeError, about, event_or_none

__all__ = ["Requeue", "Requeued", "Requeuer"]


class Requeue(enum.Enum):
    """What became of one dead letter asked to be re-queued."""

    REQUEUED = "re-queued"  # published again; the letter is removed
    DONE = "dropped: its work was done meanwhile"  # removed, nothing published
    MISSING = "no such dead letter"
    BUSY = "its work is queued or running again"  # a re-send meanwhile: the letter stays
    UNREADABLE = "not an envelope this version can publish"  # the letter stays
    FAILED = "the broker did not take it"  # the letter stays, its work publishable


@attrs.frozen
class Requeued:
    """The :class:`Requeue` outcome of dead letter ``id``, and what it is about (the
    envelope's handler, or why it stays)."""

    id: str
    outcome: Requeue
    detail: str = ""

    @property
    def removed(self) -> bool:
        """Whether the letter left the dead-letter stream (published, or its work done)."""
        return self.outcome in (Requeue.REQUEUED, Requeue.DONE)


class Requeuer:
    """Sends the dead letters of ``queue`` back to work, with ``queue.publish``."""

    def __init__(self, queue: QueueContext) -> None:
        self.queue = queue

    def requeue(self, letter_id: str) -> Requeued:
        """Re-queue dead letter ``letter_id``: in one step in the claims store its work is
        publishable again (its attempts counted afresh) and pending, then its envelope is
        published, and the letter removed once the broker took it. A letter whose work was
        done meanwhile is removed without a publish; one whose work is queued or running
        (a re-send meanwhile), or whose publish failed, stays listed."""
        queue = self.queue
        record = queue.claims.dead_letter(letter_id)
        if record is None:
            return Requeued(letter_id, Requeue.MISSING)
        try:
            envelope = Envelope.from_dict(record.get("envelope"))
        except EnvelopeError as exc:
            return Requeued(letter_id, Requeue.UNREADABLE, str(exc))
        text = json.dumps(envelope.to_dict())
        token = uuid.uuid4().hex
        revived = queue.claims.revive(letter_id, envelope.key, token, queue.enqueue_ttl, text)
        if revived == "gone":
            return Requeued(letter_id, Requeue.MISSING)
        if revived == DONE:
            queue.logger.info("dropped dead letter %s: %s was done since", letter_id, envelope.key)
            return Requeued(letter_id, Requeue.DONE, envelope.handler)
        if revived != "revived":
            return Requeued(letter_id, Requeue.BUSY, revived.partition(":")[0])
        return self._publish(letter_id, envelope, token, text)

    def requeue_many(
        self, ids: Iterable[str] | None = None, handler: str | None = None
    ) -> list[Requeued]:
        """Re-queue the dead letters ``ids`` (every letter when ``None``), only those for
        ``handler`` when given; the outcome of each, oldest first for every letter."""
        if ids is None:
            letters = self.queue.claims.all_dead_letters()
            ids = [str(r["id"]) for r in letters if handler in (None, _handler_of(r))]
        elif handler is not None:
            ids = [i for i in ids if _handler_of(self.queue.claims.dead_letter(i)) == handler]
        return [self.requeue(letter_id) for letter_id in ids]

    def _publish(self, letter_id: str, envelope: Envelope, token: str, text: str) -> Requeued:
        queue = self.queue
        try:
            queue.publish(envelope)
        except BaseException as exc:
            try:
                queue.claims.abandon(envelope.key, token)  # publishable: not dead, not pending
            except Exception:  # the store went down too: the claim expires by itself
                queue.logger.debug("could not free the claim of %s", envelope.key)
            if not isinstance(exc, Exception):
                raise
            queue.logger.warning("could not re-queue dead letter %s: %s", letter_id, exc)
            return Requeued(letter_id, Requeue.FAILED, f"{type(exc).__name__}: {exc}")
        try:
            queue.claims.queued(envelope.key, token, queue.done_ttl, text)
        except Exception:  # the worker runs an `enqueuing` claim all the same
            queue.logger.warning("re-queued %s, but could not mark it queued", envelope.key)
        queue.claims.remove_dead_letter(letter_id)
        event = event_or_none(envelope)
        queue.logger.info(
            "re-queued dead letter %s: the %s for %s",
            letter_id,
            about(envelope, event),
            envelope.handler,
        )
        report(queue, "requeued", event, envelope.handler)
        return Requeued(letter_id, Requeue.REQUEUED, envelope.handler)


def _handler_of(record: object) -> object:
    """The handler a dead-letter record's envelope names (``None`` when it names none)."""
    envelope = record.get("envelope") if isinstance(record, dict) else None
    return envelope.get("handler") if isinstance(envelope, dict) else None
