"""A durable local spool: envelopes that could not be queued while the broker was down.

Bandwidth does not retry a voice callback answered ``5xx``, so a queued handler's voice
event is written here (SQLite, ``synchronous=FULL``: on disk before the ``2xx``) and
published when the broker is back. Every receiver process on the machine may share one
file: a row is leased while it is being published, so two processes never publish it at
the same moment, and a publish that lands twice is absorbed by the claims.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["SPOOL_DIR_VARIABLE", "Spool", "default_spool_path", "unchosen_spool_risk"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    envelope TEXT NOT NULL,
    spooled_at REAL NOT NULL,
    lease_until REAL NOT NULL DEFAULT 0
)
"""


_NO_LINK = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_COMPANIONS = ("-wal", "-shm", "-journal")


def _make_private(path: Path) -> None:
    """``path`` created ``0600`` or made so, never through a symbolic link (at the file or
    at one of SQLite's companions beside it): :class:`OSError` otherwise."""
    for suffix in _COMPANIONS:
        companion = path.with_name(path.name + suffix)
        if companion.is_symlink():
            raise OSError(f"{companion} is a symbolic link: the spool is never written through one")
    for target, create in (
        (path, os.O_CREAT),
        *((path.with_name(path.name + s), 0) for s in _COMPANIONS),
    ):
        try:
            descriptor = os.open(target, os.O_RDONLY | create | _NO_LINK, 0o600)
        except FileNotFoundError:
            continue  # a companion SQLite has not made (it gives them the file's mode)
        try:
            found = os.fstat(descriptor)
            if not stat.S_ISREG(found.st_mode):
                raise OSError(f"{target} is not a regular file")
            if stat.S_IMODE(found.st_mode) != 0o600 and os.chmod in os.supports_fd:
                os.chmod(descriptor, 0o600)
        finally:
            os.close(descriptor)


#: The environment variable naming the spool's folder (a volume that outlives a container).
SPOOL_DIR_VARIABLE = "BWHOOKS_SPOOL_DIR"
#: Files that say this process runs in a container (Docker, Podman).
CONTAINER_MARKS = (Path("/.dockerenv"), Path("/run/.containerenv"))


def default_spool_path(name: str) -> Path:
    """``$BWHOOKS_SPOOL_DIR/spool-<name>.sqlite3`` when that is set, else
    ``$XDG_STATE_HOME/bwhooks/spool-<name>.sqlite3`` (``~/.local/state`` by default)."""
    folder = os.environ.get(SPOOL_DIR_VARIABLE)
    if folder:
        return Path(folder) / f"spool-{name}.sqlite3"
    state = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(state) / "bwhooks" / f"spool-{name}.sqlite3"


def unchosen_spool_risk(name: str) -> str | None:
    """Why the default spool of queue ``name`` may be lost, when nobody chose its place
    (neither ``$BWHOOKS_SPOOL_DIR`` nor ``$XDG_STATE_HOME`` is set) and it falls in a
    temporary folder or in a container's own filesystem (gone when the container is
    replaced); ``None`` otherwise."""
    if os.environ.get(SPOOL_DIR_VARIABLE) or os.environ.get("XDG_STATE_HOME"):
        return None
    path = Path(os.path.realpath(default_spool_path(name)))
    temporary = {tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm"}  # noqa: S108
    if any(path.is_relative_to(os.path.realpath(folder)) for folder in temporary):
        return f"{path} is in a temporary folder"
    if any(mark.exists() for mark in CONTAINER_MARKS) or os.environ.get("KUBERNETES_SERVICE_HOST"):
        existing = next(folder for folder in path.parents if folder.exists())
        if existing.stat().st_dev == Path("/").stat().st_dev:
            return f"{path} is in the container's own filesystem, lost when it is replaced"
    return None


class _Made:
    """The spool files this process has made ready, each once: checking a file's mode opens
    and closes it, and closing any descriptor of an SQLite file drops every lock this
    process holds on it (SQLite's documented way to corrupt a database), so it is never done
    while a connection of this process is open. Across processes, making one ready is
    serialized by a lock file beside it (``flock``)."""

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        """Start afresh (a forked child: a lock held by another thread stays held)."""
        self.lock = threading.Lock()
        self.paths: set[str] = set()

    def ready(self, path: Path) -> None:
        """Make the spool file at ``path`` ready, unless this process did already."""
        with self.lock:
            key = os.path.realpath(path)
            if key in self.paths:
                return
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with _exclusive(path.with_name(path.name + ".lock")):
                _make_private(path)
                connection = sqlite3.connect(path, timeout=10, isolation_level=None)
                try:
                    (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
                    if str(mode).lower() != "wal":  # kept in the file once set
                        connection.execute("PRAGMA journal_mode=WAL")
                    connection.execute(_SCHEMA)
                finally:
                    connection.close()
            self.paths.add(key)


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock_path`` (made ``0600``, never through a link);
    without ``fcntl`` (Windows), this process's lock only."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | _NO_LINK, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # the lock file: SQLite holds no lock on it


_MADE = _Made()
if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_MADE.forget)


class Spool:
    """Envelopes waiting for the broker, in the SQLite file at ``path`` (created readable by
    its owner only: it holds callback payloads). Safe to share between threads and
    processes from the first use on."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._ready = False  # the file is made when first used, not on import

    def _create(self) -> None:
        _MADE.ready(self.path)
        self._ready = True

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self._create()
        connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            connection.execute("PRAGMA synchronous=FULL")
            yield connection
        finally:
            connection.close()

    def put(self, envelope: str) -> None:
        """Keep ``envelope`` (JSON text) until it is published; on disk when this returns."""
        with self._connection() as connection:
            connection.execute(
                "INSERT INTO spool (envelope, spooled_at) VALUES (?, ?)", (envelope, time.time())
            )

    def take(self, limit: int, lease: float) -> list[tuple[int, str]]:
        """Lease up to ``limit`` of the oldest envelopes for ``lease`` seconds."""
        now = time.time()
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                rows = connection.execute(
                    "SELECT id, envelope FROM spool WHERE lease_until < ? ORDER BY id LIMIT ?",
                    (now, limit),
                ).fetchall()
                connection.executemany(
                    "UPDATE spool SET lease_until = ? WHERE id = ?",
                    [(now + lease, row[0]) for row in rows],
                )
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        return [(int(row[0]), str(row[1])) for row in rows]

    def remove(self, row_id: int) -> None:
        """The envelope was published (or was a duplicate): forget it."""
        with self._connection() as connection:
            connection.execute("DELETE FROM spool WHERE id = ?", (row_id,))

    def release(self, row_id: int) -> None:
        """The publish failed: the envelope waits for the next attempt."""
        with self._connection() as connection:
            connection.execute("UPDATE spool SET lease_until = 0 WHERE id = ?", (row_id,))

    def depth(self) -> int:
        """How many envelopes wait (those being published included); ``0`` when the file
        was never made (asking does not make it)."""
        if not self._ready and not self.path.exists():
            return 0
        return len(self)

    def __len__(self) -> int:
        with self._connection() as connection:
            return int(connection.execute("SELECT COUNT(*) FROM spool").fetchone()[0])
