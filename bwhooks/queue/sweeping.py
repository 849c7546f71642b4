"""The orphan sweep: work still ``queued`` whose message a broker lost, published again; and
the queue's gauges, reported after each sweep.

The claims keep every published envelope pending until a worker finishes it
(:meth:`~bwhooks.queue.claims.RedisClaims.sweep`); work that nothing moved for a while is
published again, and a duplicate message is harmless: the claims run the work once.
"""

from __future__ import annotations

import json
import threading

from bwhooks.queue.context import QueueContext, report
from bwhooks.queue.envelopes import Envelope, about, event_or_none

__all__ = ["OrphanSweeper"]


class OrphanSweeper:
    """Publishes again, with ``queue.publish``, the work of ``queue`` its broker lost."""

    def __init__(self, queue: QueueContext) -> None:
        self.queue = queue

    def republish(self, idle: float, limit: int = 100) -> int:
        """Publish again the work still ``queued`` that nothing moved for ``idle`` seconds
        (its message lost by the broker); returns how many."""
        queue = self.queue
        republished = 0
        for text in queue.claims.sweep(idle, limit):
            envelope = Envelope.from_dict(json.loads(text))
            queue.publish(envelope)
            republished += 1
            event = event_or_none(envelope)
            queue.logger.warning(
                "published the %s for %s again: queued %s, its message was lost",
                about(envelope, event),
                envelope.handler,
                envelope.received_at,
            )
            report(queue, "republished", event, envelope.handler)
        return republished

    def keep_sweeping(self, idle: float, stop: threading.Event) -> None:
        """:meth:`republish` what was idle ``idle`` seconds, every quarter of that (between
        1 s and a minute), until ``stop`` is set; a failed sweep is logged and tried again.
        After each sweep, the :meth:`gauges` go to the ``metrics`` hook. A worker runs this
        in a thread of its own."""
        while not stop.wait(max(1.0, min(60.0, idle / 4))):
            try:
                self.republish(idle)
            except Exception as exc:
                self.queue.logger.warning(
                    "could not look for lost messages (%s); trying again", exc
                )
            self.report_gauges()

    def gauges(self) -> dict[str, float]:
        """The queue's gauges, now: ``spool-depth`` (envelopes in this host's spool, 0
        without one), ``pending`` (work published, not finished), ``pending-oldest-age``
        (seconds since the pending work that moved least recently last moved, 0 when none)
        and ``dead-letters`` (letters kept)."""
        queue = self.queue
        claims = queue.claims
        return {
            "spool-depth": float(queue.spool.depth() if queue.spool is not None else 0),
            "pending": float(claims.pending_count()),
            "pending-oldest-age": claims.oldest_pending_age(),
            "dead-letters": float(claims.dead_letter_count()),
        }

    def report_gauges(self) -> None:
        """Give each of the :meth:`gauges` to the ``metrics`` hook as a
        :class:`~bwhooks.queue.context.QueueOutcome` with its ``value`` (nothing is read
        without a hook); a failure to read them is logged."""
        if self.queue.metrics is None:
            return
        try:
            gauges = self.gauges()
        except Exception as exc:
            self.queue.logger.warning("could not read the queue's gauges (%s)", exc)
            return
        for name, value in gauges.items():
            report(self.queue, name, None, "", value=value)
