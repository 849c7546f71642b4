"""The spool's drainer: what a receiver process spooled while the broker was down, published
once it is back (see :mod:`bwhooks.queue.spool`)."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable

from bwhooks.errors import RetryLater
from bwhooks.queue.context import QueueContext, report
from bwhooks.queue.envelopes import Envelope, EnvelopeError, about, event_or_none

__all__ = ["SpoolDrainer"]


class SpoolDrainer:
    """Publishes what ``queue.spool`` holds with ``publish`` (claim and publish an envelope:
    ``True`` when published, ``False`` for a duplicate; raises when the broker fails), in a
    thread of each receiver process while the spool has rows."""

    def __init__(self, queue: QueueContext, publish: Callable[[Envelope], bool]) -> None:
        self.queue = queue
        self.publish = publish
        self._thread: tuple[int, threading.Thread] | None = None  # this process's drainer
        self._checked = 0  # the process that looked for a spool to drain
        self._lock = threading.Lock()

    def drain(self, limit: int = 100) -> int:
        """Publish what the spool holds, oldest first, until it is empty or the broker
        fails again; returns how many envelopes left the spool."""
        queue, spool = self.queue, self.queue.spool
        if spool is None:
            return 0
        drained = 0
        while True:
            rows = spool.take(limit, lease=max(queue.enqueue_ttl, 30.0))
            if not rows:
                return drained
            for position, (row_id, text) in enumerate(rows):
                envelope = _read(text)
                if envelope is None:  # only what cannot be read is dropped, never a publish
                    queue.logger.error("dropped an unreadable spool row %d", row_id)
                    spool.remove(row_id)
                    continue
                try:
                    published = self.publish(envelope)
                except RetryLater:  # another delivery of it is being published: it stays
                    continue  # leased, and is taken again once the lease lapses
                except Exception as exc:  # the broker or the claims store failed: keep it all
                    queue.logger.warning(
                        "could not publish the spool's %s yet (%s: %s): kept for a later try",
                        envelope.key,
                        type(exc).__name__,
                        exc,
                    )
                    for later_id, _ in rows[position:]:
                        spool.release(later_id)
                    return drained
                spool.remove(row_id)
                drained += 1
                event = event_or_none(envelope)
                queue.logger.info(
                    "published the spooled %s for %s", about(envelope, event), envelope.handler
                )
                report(queue, "unspooled" if published else "duplicate", event, envelope.handler)

    def ensure_running(self, *, force: bool = False) -> None:
        """Run the drainer thread in this process while the spool has rows: checked once per
        process (a restarted receiver drains what an earlier one left), and again whenever
        an envelope is spooled (``force``)."""
        spool = self.queue.spool
        if spool is None:
            return
        pid = os.getpid()
        if not force:
            if self._checked == pid:
                return
            self._checked = pid
            if not spool.path.exists():  # nothing was ever spooled here
                return
        with self._lock:
            running = self._thread
            if running is not None and running[0] == pid and running[1].is_alive():
                return
            thread = threading.Thread(target=self._loop, name="bwhooks-spool", daemon=True)
            self._thread = (pid, thread)
            thread.start()

    def _loop(self, interval: float = 1.0) -> None:
        """Drain until the spool is empty; the next spooled envelope starts it again."""
        spool = self.queue.spool
        assert spool is not None
        while True:
            try:
                self.drain()
                if len(spool) == 0:
                    return
            except Exception:
                self.queue.logger.exception("could not read the spool %s", spool.path)
                return
            time.sleep(interval)


def _read(text: str) -> Envelope | None:
    """The envelope a spool row holds, or ``None`` when it holds none (a damaged row)."""
    try:
        return Envelope.from_dict(json.loads(text))
    except (EnvelopeError, ValueError, RecursionError):
        return None
