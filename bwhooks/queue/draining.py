"""The spool's drainer: what a receiver process spooled while the broker was down, published
once it is back by every process of the host that uses the queue (see
:mod:`bwhooks.queue.spool`)."""

from __future__ import annotations

import json
import os
import threading
import weakref
from collections.abc import Callable

from bwhooks.errors import RetryLater
from bwhooks.queue.context import QueueContext, report
from bwhooks.queue.envelopes import Envelope, EnvelopeError, about, event_or_none

__all__ = ["SpoolDrainer"]


class SpoolDrainer:
    """Publishes what ``queue.spool`` holds with ``publish`` (claim and publish an envelope:
    ``True`` when published, ``False`` for a duplicate; raises when the broker fails).

    Every process that uses the queue drains its host's spool in a thread of its own
    (:meth:`ensure_running`): a receiver from the moment a handler is bound to the queue (its
    start-up), a worker as well, so that a spool a receiver left is published by whatever
    runs on that host with the same path. The thread looks every :attr:`interval` seconds;
    a failure (the broker, the claims store, the spool file itself) is logged and the next
    look waits twice as long, up to :attr:`backoff_max`: it never stops on an error.
    """

    #: Seconds between two looks at the spool.
    interval: float = 2.0
    #: The longest wait between two looks after failures.
    backoff_max: float = 30.0

    def __init__(self, queue: QueueContext, publish: Callable[[Envelope], bool]) -> None:
        self.queue = queue
        self.publish = publish
        # this process's drainer thread, and what stops it
        self._thread: tuple[int, threading.Thread, threading.Event] | None = None
        self._lock = threading.Lock()
        # Held while a step touches SQLite, Redis or the broker, and by a fork: a process
        # forked from this one (a prefork pool, gunicorn --preload) never inherits a lock or
        # an import the drainer thread held at that moment.
        self._busy = threading.Lock()
        _guard_forks(self)

    def drain(self, limit: int = 100) -> int:
        """Publish what the spool holds, oldest first, until it is empty or the broker
        fails again; returns how many envelopes left the spool."""
        return self._drain(limit)[0]

    def _drain(self, limit: int) -> tuple[int, bool]:
        """How many envelopes left the spool, and whether a publish failed."""
        queue, spool = self.queue, self.queue.spool
        if spool is None:
            return 0, False
        drained = 0
        while True:
            with self._busy:
                rows = spool.take(limit, lease=max(queue.enqueue_ttl, 30.0))
            if not rows:
                return drained, False
            for position, (row_id, text) in enumerate(rows):
                with self._busy:
                    left = self._publish_row(row_id, text)
                    if left is None:  # the broker failed: this row and the next ones wait
                        for later_id, _ in rows[position:]:
                            spool.release(later_id)
                        return drained, True
                drained += left

    def _publish_row(self, row_id: int, text: str) -> int | None:
        """1 when the row left the spool published (or a duplicate), 0 when it stays or was
        unreadable, ``None`` when publishing failed."""
        queue, spool = self.queue, self.queue.spool
        assert spool is not None
        envelope = _read(text)
        if envelope is None:  # only what cannot be read is dropped, never a publish
            queue.logger.error("dropped an unreadable spool row %d", row_id)
            spool.remove(row_id)
            return 0
        try:
            published = self.publish(envelope)
        except RetryLater:  # another delivery of it is being published: it stays leased,
            return 0  # and is taken again once the lease lapses
        except Exception as exc:  # the broker or the claims store failed: keep it
            queue.logger.warning(
                "could not publish the spool's %s yet (%s: %s): kept for a later try",
                envelope.key,
                type(exc).__name__,
                exc,
            )
            return None
        spool.remove(row_id)
        event = event_or_none(envelope)
        queue.logger.info(
            "published the spooled %s for %s", about(envelope, event), envelope.handler
        )
        report(queue, "unspooled" if published else "duplicate", event, envelope.handler)
        return 1

    def ensure_running(self, *, force: bool = False) -> None:
        """Run the drainer thread in this process, unless it runs already (a forked process
        starts its own). Called when a handler is bound, on each publish and by a worker at
        start-up; ``force`` (an envelope was just spooled) asks nothing more: the thread
        looks at the spool every :attr:`interval` seconds anyway."""
        if self.queue.spool is None:
            return
        pid = os.getpid()
        with self._lock:
            running = self._thread
            if running is not None and running[0] == pid and running[1].is_alive():
                return
            stop = threading.Event()
            thread = threading.Thread(
                target=self.keep_draining, args=(stop,), name="bwhooks-spool", daemon=True
            )
            self._thread = (pid, thread, stop)
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop this process's drainer thread, waiting up to ``timeout`` seconds for it."""
        with self._lock:
            running, self._thread = self._thread, None
        if running is not None and running[0] == os.getpid():
            running[2].set()
            running[1].join(timeout)

    def keep_draining(self, stop: threading.Event) -> None:
        """Drain the spool now and every :attr:`interval` seconds until ``stop`` is set;
        after a failure the wait doubles, up to :attr:`backoff_max`."""
        spool = self.queue.spool
        assert spool is not None
        failures = 0
        while not stop.is_set():
            try:
                # A host where nothing was ever spooled has no file, and gets none.
                failed = spool.path.exists() and self._drain(100)[1]
            except Exception:
                self.queue.logger.exception("could not drain the spool %s", spool.path)
                failed = True
            failures = failures + 1 if failed else 0
            wait = self.interval * 2 ** min(failures, 16)
            stop.wait(min(wait, max(self.backoff_max, self.interval)))


def _read(text: str) -> Envelope | None:
    """The envelope a spool row holds, or ``None`` when it holds none (a damaged row)."""
    try:
        return Envelope.from_dict(json.loads(text))
    except (EnvelopeError, ValueError, RecursionError):
        return None


def _guard_forks(drainer: SpoolDrainer) -> None:
    """A fork of this process waits until ``drainer`` is between two steps; the child gets
    a free lock (its copy of the held one would never be released)."""
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.ref(drainer)

    def before() -> None:
        found = ref()
        if found is not None:
            found._busy.acquire()

    def in_parent() -> None:
        found = ref()
        if found is not None and found._busy.locked():
            found._busy.release()

    def in_child() -> None:
        found = ref()
        if found is not None:
            found._busy = threading.Lock()

    os.register_at_fork(before=before, after_in_parent=in_parent, after_in_child=in_child)
