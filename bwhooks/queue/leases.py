"""A worker's leases: the token a run holds its claim with, whether a holder's process died,
the renewal of a lease while a handler runs, and the run as its handler sees it
(:func:`current_run`)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from contextvars import ContextVar, Token

import attrs

from bwhooks.events import Event
from bwhooks.queue.context import QueueContext, report, task_log

__all__ = ["Lease", "Run", "current_run", "holder_is_dead", "run_token"]


@attrs.frozen(eq=False)
class Run:
    """One run of queued work on a worker, as its handler sees it: :func:`current_run`.

    ``key`` is the work's claim key (``<event key>|<handler>``), ``token`` this run's lease
    token. ``attempt`` (1, 2, ...) is counted in the claims store for the key and only grows:
    a later run of the same work always has a larger one, so it is a **fencing token**. A
    handler writing to its own store can keep it beside what it writes and refuse a write
    that carries a smaller one: a run that lost its lease (frozen, hung, cut off) then
    cannot overwrite the newer run's work. :attr:`lost` and :meth:`still_held` say whether
    another run may have the work now.
    """

    key: str
    token: str
    attempt: int
    _lease: Lease = attrs.field(repr=False)

    @property
    def lost(self) -> bool:
        """Whether the lease was found lost: another run took the work over, the lease
        lapsed, or its renewal stopped (past the queue's ``time_limit``). Stays true."""
        return self._lease.lost

    def still_held(self) -> bool:
        """Whether the claims store still holds the work as this run's (``running:<token>``)
        under a live lease: one round trip, to ask before an irreversible side effect.
        ``False`` also flags the run :attr:`lost`. Raises what the store raises when it
        cannot be reached."""
        return self._lease.still_held()


_current: ContextVar[Run | None] = ContextVar("bwhooks_current_run", default=None)


def current_run() -> Run | None:
    """The :class:`Run` of queued work this code runs in: inside a handler a worker runs
    (and what it calls, an ``async`` handler's tasks included), else ``None``."""
    return _current.get()


class Lease:
    """A run's lease while its handler runs, and its :class:`Run` (:func:`current_run`
    inside the block). On pools that cannot stop a handler at its time limit
    (``queue.renew_leases``) the lease is renewed every third of its length. A lease found
    lost (the claim another run's, the lease lapsed) flags the run :attr:`Run.lost`, logged
    once and reported once (``lease-lost``); a lost run's lease is never renewed again."""

    def __init__(
        self,
        queue: QueueContext,
        key: str,
        token: str,
        attempt: int = 0,
        *,
        event: Event | None = None,
        handler: str = "",
    ) -> None:
        self.queue, self.key, self.token = queue, key, token
        self.log = task_log(queue)  # the run's: its renewal thread logs as the run does
        self.event, self.handler = event, handler
        self.run = Run(key, token, attempt, self)
        self._lost = threading.Event()
        self._losing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reset: Token[Run | None] | None = None

    @property
    def lost(self) -> bool:
        """Whether the run was found to have lost its lease."""
        return self._lost.is_set()

    def lose(self, level: int, message: str, *args: object) -> bool:
        """Flag the run lost; the first time only (``True``), log ``message % args`` at
        ``level`` and report ``lease-lost``."""
        with self._losing:
            if self._lost.is_set():
                return False
            self._lost.set()
        self.log.log(level, message, *args)
        report(self.queue, "lease-lost", self.event, self.handler, attempt=self.run.attempt)
        return True

    def still_held(self) -> bool:
        """Whether the claim is still ``running:<token>`` under a live lease (see
        :meth:`Run.still_held`)."""
        held = self.queue.claims.held(self.key, self.token)
        if not held:
            self.lose(
                logging.WARNING,
                "the run of %s (attempt %d) found its lease lost: another run may have it",
                self.key,
                self.run.attempt,
            )
        return held

    def __enter__(self) -> Run:
        if self.queue.renew_leases:
            self._thread = threading.Thread(
                target=self._renew, args=(time.monotonic(),), daemon=True
            )
            self._thread.start()
        self._reset = _current.set(self.run)
        return self.run

    def __exit__(self, *_: object) -> None:
        if self._reset is not None:
            _current.reset(self._reset)
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _renew(self, started: float) -> None:
        """Renew until the run ends or its lease is lost; ``started``: when the lease was
        taken (a :func:`time.monotonic` time). A renewal that fails (the store unreachable)
        is tried again, until the lease lapsed meanwhile. Past the queue's ``time_limit``
        the lease is left to lapse: a hung handler must not hold its work for ever."""
        queue, renewed = self.queue, started
        while not self._stop.wait(self._until_next(started)) and not self.lost:
            now = time.monotonic()
            if queue.time_limit is not None and now - started >= queue.time_limit:
                self.lose(
                    logging.ERROR,
                    "%s ran past its time limit (%gs); its lease is left to lapse and the work "
                    "runs again elsewhere",
                    self.key,
                    queue.time_limit,
                )
                return
            if now - renewed >= queue.lease:
                self.lose(
                    logging.WARNING,
                    "the lease of %s lapsed while running: not renewed for %.1fs",
                    self.key,
                    now - renewed,
                )
                return
            try:
                held = queue.claims.renew(self.key, self.token, queue.lease)
            except Exception as exc:
                self.log.warning("could not renew the lease of %s (%s): again", self.key, exc)
                continue
            if not held:
                self.lose(
                    logging.WARNING,
                    "lost the lease of %s while running: another run took the work over",
                    self.key,
                )
                return
            renewed = now

    def _until_next(self, started: float) -> float:
        """Seconds until the next renewal (a third of the lease), or the time limit."""
        wait, limit = self.queue.lease / 3, self.queue.time_limit
        if limit is None:
            return wait
        return min(wait, max(0.0, started + limit - time.monotonic()))


def _link(path: str) -> str:
    """The number of a namespace link (``pid:[4026531836]``), or "" if it cannot be read."""
    try:
        target = os.readlink(path)
    except OSError:
        return ""
    number = target.rpartition("[")[2].rstrip("]")
    return number if number.isdigit() else ""


def _place() -> tuple[str, bool]:
    """Where this process's PIDs and start times mean something: its host name, boot id,
    PID namespace and time namespace (``-`` where a part cannot be read). Containers of one
    host share a boot id, and may share a host name: only the PID namespace tells them apart.
    And whether it is known: without its boot or PID namespace, a place proves nothing."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as file:
            boot = file.read().strip()[:8] or "-"
    except OSError:
        boot = "-"
    pids = _link("/proc/self/ns/pid") or "-"
    times = _link("/proc/self/ns/time") or "-"  # start times are read through it
    return f"{socket.gethostname()}/{boot}/{pids}.{times}", boot != "-" and pids != "-"


_PLACE, _KNOWN = _place()


def _stat(pid: int | str) -> tuple[str, str] | None:
    """A process's state and start time (field 22 of ``/proc/<pid>/stat``, clock ticks after
    boot), ``None`` if no process has that PID; :class:`OSError` if it cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if len(fields) < 20:
        raise OSError(f"/proc/{pid}/stat is not a process's stat")
    return fields[0], fields[19]


def _own_proc() -> bool:
    """Whether /proc shows this process's PID namespace (not a host's, not none)."""
    try:
        return os.readlink("/proc/self") == str(os.getpid())
    except OSError:
        return False


def run_token() -> str:
    """A run's lease token, ``<host>/<boot>/<pid ns>.<time ns>:<pid>/<start>:<random>``:
    where this process runs, which process it is (its start time tells it from a later
    process given its PID), and a random part."""
    try:
        stat = _stat(os.getpid()) if _own_proc() else None
    except OSError:
        stat = None
    process = f"{os.getpid()}/{stat[1]}" if stat is not None else f"{os.getpid()}/-"
    return f"{_PLACE}:{process}:{uuid.uuid4().hex}"


def holder_is_dead(holder: str) -> bool:
    """Whether a lease's holder is provably a process that no longer runs (a killed pool
    child): only then can a lease be taken over before it expires. Provably: the holder ran
    in this PID namespace of this boot, and its PID now names no process, or a process that
    started at another time. Anything else (another host, boot or namespace, a token of an
    older version, no /proc, something unreadable) is waited out."""
    parts = holder.rsplit(":", 2)
    if len(parts) != 3 or not _KNOWN or parts[0] != _PLACE:
        return False
    pid, _, began = parts[1].partition("/")  # a start of "-" (or none): the PID alone
    if not pid.isdigit() or not (began.isdigit() or began in ("", "-")):
        return False
    if int(pid) == os.getpid() or not _own_proc():
        return False
    try:
        stat = _stat(pid)
    except OSError:
        return False
    if stat is None:
        return True  # no process has its PID any more
    state, start = stat
    if state in ("Z", "X"):  # a zombie, not reaped yet: dead all the same
        return True
    return began.isdigit() and start != began  # its PID is another process's now
