"""The orphan sweep: work still ``queued`` whose message a broker lost, published again.

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
        A worker runs this in a thread of its own."""
        while not stop.wait(max(1.0, min(60.0, idle / 4))):
            try:
                self.republish(idle)
            except Exception as exc:
                self.queue.logger.warning(
                    "could not look for lost messages (%s); trying again", exc
                )
