"""What the roles of a queue share: the queue that composes them, as they see it, and the
outcomes they report.

A queue is composed of roles, each a class of its own: the
:class:`~bwhooks.queue.publishing.Publisher` (a receiver's side), its
:class:`~bwhooks.queue.draining.SpoolDrainer`, the :class:`~bwhooks.queue.running.Worker`
(a worker's side) and the :class:`~bwhooks.queue.sweeping.OrphanSweeper`. Each is given the
queue that composes it (a :class:`QueueContext`, such as
:class:`~bwhooks.queue.tasks.TaskQueue`) and reads its settings when it uses them, so that a
setting or hook changed on the queue later counts.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import attrs

from bwhooks.events import Event
from bwhooks.observe import event_ids
from bwhooks.queue.claims import RedisClaims
from bwhooks.queue.envelopes import DeadLetter, Envelope
from bwhooks.queue.spool import Spool
from bwhooks.registry import Handler

__all__ = [
    "Deadline",
    "NotReplicated",
    "PublishTimeout",
    "QueueContext",
    "QueueOutcome",
    "TaskLog",
    "publish_deadline",
    "report",
    "running_task",
    "task_log",
]


class PublishTimeout(TimeoutError):
    """Claiming and publishing an envelope did not end within the queue's
    ``publish_timeout``: the callback is answered as when the broker is down."""


class NotReplicated(PublishTimeout):
    """Published, but fewer replicas of the claims Redis than the queue's ``replicas``
    acknowledged it within ``publish_timeout``: answered as when the broker is down (a
    retried or spooled copy is absorbed by the claims)."""


T = TypeVar("T")


@attrs.frozen
class Deadline:
    """The one bound of a claim-and-publish (``at``, a :func:`time.monotonic` time): its
    caller waits no longer (:meth:`run`), and each step starts only with time left and
    waits at most what is left (:meth:`left`)."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """The deadline ``seconds`` from now."""
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        """Seconds left, ``0.0`` once past."""
        return max(0.0, self.at - time.monotonic())

    def left(self, step: str) -> float:
        """Seconds left for ``step``; raises :class:`PublishTimeout` when none are."""
        remaining = self.remaining()
        if remaining <= 0.0:
            raise PublishTimeout(f"out of time before {step}")
        return remaining

    def run(self, work: Callable[[], T], what: str) -> T:
        """``work()`` under this deadline, on one of this process's publishing threads,
        waited for until the deadline: its result or its exception, or
        :class:`PublishTimeout` while it is still blocked in a call that takes no deadline
        (one socket read of a silent broker or store), which it then finishes on its own,
        starting no further step."""
        context = contextvars.copy_context()  # the caller's context, this deadline applied
        context.run(_deadline.set, self)
        outcome = _PUBLISHING.submit(lambda: context.run(work))
        try:
            return outcome.result(timeout=self.remaining())
        except FutureTimeout:
            raise PublishTimeout(f"{what} took longer than the deadline") from None


class _PublishingThreads:
    """This process's threads that claim and publish, at most ``size`` at once: more wait
    their turn (a publish stuck on a silent broker holds one until its socket times out)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.forget()

    def forget(self) -> None:
        """Start afresh: a forked child has none of its parent's threads."""
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, work: Callable[[], T]) -> Future[T]:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.size, thread_name_prefix="bwhooks-publish")
            return self._pool.submit(work)


_PUBLISHING = _PublishingThreads(32)
if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_PUBLISHING.forget)


_deadline: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "bwhooks_publish_deadline", default=None
)


def publish_deadline() -> Deadline | None:
    """The deadline of the claim-and-publish under way in this context (a queue engine's
    :meth:`~QueueContext.publish` bounds its waits by it), else ``None``."""
    return _deadline.get()


@attrs.frozen
class QueueOutcome:
    """One step of queued work, as given to ``metrics``.

    ``name`` on a receiver: ``queued``, ``duplicate`` (already queued or done),
    ``spooled``, ``unspooled`` (published from the spool) or ``unqueued`` (the broker was
    down: ``500``); on a worker: ``handled`` (completed and marked done), ``skipped``
    (done before), ``retried``, ``deferred`` (another worker's live lease),
    ``dead-lettered``, ``republished`` (its message lost by the broker) or ``lease-lost``
    (once per run: another run took its work over, its lease lapsed, or, past the queue's
    ``time_limit``, its renewal stopped; a run whose work another run took over is not
    ``handled`` when it completes); wherever a dead letter is re-queued: ``requeued``
    (published again). ``duration`` is the handler's run time on a worker.

    Gauges, reported by each worker after each sweep for lost work, carry a ``value`` (no
    event, no handler): ``spool-depth`` (envelopes in this host's spool), ``pending`` (work
    published and not finished), ``pending-oldest-age`` (seconds since the pending work that
    moved least recently last moved) and ``dead-letters`` (letters kept).
    """

    name: str
    event_type: str | None
    ids: str
    handler: str
    attempt: int = 0
    duration: float = 0.0
    value: float = 0.0


class QueueContext(Protocol):
    """A queue as its roles see it: its settings and hooks (see
    :class:`~bwhooks.queue.tasks.TaskQueue` for each), the handlers bound to it by name, its
    claims store, and its engine's :meth:`publish`."""

    name: str
    spool: Spool | None
    lease: float
    max_attempts: int
    retry_backoff: float
    retry_backoff_max: float
    done_ttl: float
    enqueue_ttl: float
    publish_timeout: float
    replicas: int
    renew_leases: bool
    time_limit: float | None
    on_dead_letter: Callable[[DeadLetter], Any] | None
    metrics: Callable[[QueueOutcome], Any] | None
    logger: logging.Logger
    handlers: dict[str, Handler]

    @property
    def claims(self) -> RedisClaims:
        """The shared claims store."""

    def publish(self, envelope: Envelope) -> None:
        """Hand ``envelope`` to the broker within :func:`publish_deadline` (when none is
        set, within ``publish_timeout``); raise if it was not taken."""


def report(
    queue: QueueContext,
    name: str,
    event: Event | None,
    handler: str,
    *,
    attempt: int = 0,
    duration: float = 0.0,
    value: float = 0.0,
) -> None:
    """Give the :class:`QueueOutcome` ``name`` to the queue's ``metrics`` hook, if any; a
    failing hook is logged, never raised."""
    if queue.metrics is None:
        return
    outcome = QueueOutcome(
        name,
        event.event_type if event else None,
        event_ids(event) if event else "",
        handler,
        attempt,
        duration,
        value,
    )
    try:
        queue.metrics(outcome)
    except Exception:
        task_log(queue).exception("the metrics hook failed")


if TYPE_CHECKING:
    _Adapter = logging.LoggerAdapter[logging.Logger]
else:  # subscripted only from Python 3.11
    _Adapter = logging.LoggerAdapter


class TaskLog(_Adapter):
    """A queue's logger as a worker's run of one message logs through it: each line begins
    with ``[task <id>]`` and its record carries ``task_id`` (the engine's id of the message,
    Celery's task id), so that the engine's own lines about it can be joined with bwhooks'."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        extra = self.extra or {}
        kwargs["extra"] = {**(kwargs.get("extra") or {}), **extra}
        return f"[task {extra.get('task_id')}] {msg}", kwargs


_task_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "bwhooks_task_id", default=None
)


@contextmanager
def running_task(task_id: str | None) -> Iterator[None]:
    """Within it, :func:`task_log` logs as the run of the message ``task_id`` (``None``: an
    engine that gives no id)."""
    token = _task_id.set(task_id)
    try:
        yield
    finally:
        _task_id.reset(token)


def task_log(queue: QueueContext) -> logging.Logger | TaskLog:
    """``queue.logger``, as the run of a message under way in this context logs (a
    :class:`TaskLog` when its engine gave the message's id)."""
    task_id = _task_id.get()
    return queue.logger if task_id is None else TaskLog(queue.logger, {"task_id": task_id})
