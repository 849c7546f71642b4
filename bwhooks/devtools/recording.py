"""Recorded deliveries: every callback a local listener received, kept in an SQLite file.

``bwhooks listen --record FILE`` keeps, for each request: when it arrived, its method, path,
query string and headers (credentials masked), the body byte for byte, the typed events it
became (class and fields) or why it was refused, the answer (status, headers, body) and how
long it took. A ``401`` challenge and the retry that follows are paired (the retry's
``challenge_id``).

The file holds message text and phone numbers: it is created, and kept, readable and
writable by its owner only (an existing file is set to ``0600``, SQLite's ``-wal`` and
``-shm`` files take that mode), and never through a symbolic link. Whatever an unknown sender
sends costs little room: a refused request (any ``4xx`` answer, a ``401`` first of all) keeps
only its first :data:`REFUSED_LIMIT` bytes of body, query string and headers (its original
length and a ``truncated`` flag recorded), and the file keeps at most ``max_deliveries``
rows and ``max_bytes`` bytes of them (the oldest go first). Reads go a page at a time
(:meth:`Recorder.pages`), so memory stays bounded however large the file; a reader opens the
file read-only (``Recorder(path, read_only=True)``) and never changes it, nor a file that
is not a recording.

The schema is versioned with SQLite's ``user_version`` (:data:`SCHEMA_VERSION`); an older
file is migrated when a listener opens it, a file of a newer version is refused rather than
misread. Standard library only.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from bwhooks.http import mask_credentials

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DELIVERIES",
    "REFUSED_LIMIT",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Delivery",
    "Recorder",
    "event_record",
    "mask_headers",
    "typed",
]

#: The version of the file's schema (SQLite ``PRAGMA user_version``).
SCHEMA_VERSION = 2
#: How many deliveries a file keeps by default; past it the oldest are deleted.
DEFAULT_MAX_DELIVERIES = 10_000
#: How many bytes of deliveries (the ``size`` of their rows) a file keeps by default (64 MiB).
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
#: What a refused delivery (any ``4xx`` answer) keeps of its body (bytes), of its query string,
#: of its headers and of the reason bwhooks refuses it (characters), each: the rest is cut,
#: and its events are dropped when their JSON is longer.
REFUSED_LIMIT = 4096
#: How long a ``401`` challenge waits for its retry to be paired with it (seconds).
CHALLENGE_WINDOW = 60.0
#: How many challenges wait for their retry at most (the oldest are forgotten first).
MAX_CHALLENGES = 1024
#: A page of :meth:`Recorder.pages`: at most this many deliveries ...
PAGE_ROWS = 100
#: ... and this many bytes of them (a larger delivery is a page of its own).
PAGE_BYTES = 1024 * 1024

SCHEMA = """
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,          -- in arrival order
    size INTEGER NOT NULL,           -- bytes of the texts and blobs below (what --max-bytes counts)
    received_at TEXT NOT NULL,       -- ISO 8601, UTC, microseconds
    kind TEXT NOT NULL,              -- live | forwarded | replayed
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT NOT NULL,             -- the raw query string (GET callbacks carry fields)
    headers TEXT NOT NULL,           -- JSON [[name, value], ...], credentials masked
    body_size INTEGER NOT NULL,      -- the body's length as received, in bytes
    truncated INTEGER NOT NULL,      -- 1: the request is kept in part (refused: its first 4 KB)
    body BLOB NOT NULL,              -- byte for byte (its first bytes when truncated)
    events TEXT,                     -- JSON [{"class", "event_type", "fields", "handlers"?}]
    refused TEXT,                    -- why bwhooks refuses the body, when it does
    status INTEGER NOT NULL,         -- the answer
    response_headers TEXT NOT NULL,  -- JSON [[name, value], ...]
    response_body BLOB NOT NULL,
    duration_ms REAL NOT NULL,       -- from the request's arrival to the answer's end
    challenge_id INTEGER,            -- the 401 this request retried, if any
    replay_of INTEGER                -- the recorded delivery this one replayed, if any
);
CREATE INDEX deliveries_challenge ON deliveries (challenge_id);
"""

# The columns a Delivery is read from, in its fields' order.
_COLUMNS = (
    "id, received_at, kind, method, path, query, headers, body, body_size, truncated, events, "
    "refused, status, response_headers, response_body, duration_ms, challenge_id, replay_of"
)
# The texts and blobs a row's size counts (the same sum as Recorder.record's, in SQL).
_SIZED = (
    "received_at",
    "kind",
    "method",
    "path",
    "query",
    "headers",
    "body",
    "events",
    "refused",
    "response_headers",
    "response_body",
)
_SIZE_SQL = " + ".join(f"coalesce(length(CAST({name} AS BLOB)), 0)" for name in _SIZED)
# A version 1 file read as it is (read-only): the columns it lacks, computed.
_COLUMNS_V1 = _COLUMNS.replace("body_size, truncated", "length(body), 0")
# Version 1 to 2: the table rebuilt with the new columns (size before the blobs, so that
# reading it never walks a large body).
_MIGRATE_V1 = f"""
DROP INDEX IF EXISTS deliveries_challenge;
ALTER TABLE deliveries RENAME TO deliveries_v1;
{SCHEMA}
INSERT INTO deliveries (size, {_COLUMNS}) SELECT {_SIZE_SQL}, {_COLUMNS_V1} FROM deliveries_v1;
DROP TABLE deliveries_v1;
"""  # noqa: S608  (constants only)


@attrs.frozen(kw_only=True)
class Delivery:
    """One recorded request and its answer (a row of the file). ``body_size`` is the
    body's length as received; ``truncated`` says the request is kept in part (``body``
    holds its first bytes only)."""

    id: int = 0
    received_at: datetime
    kind: str = "live"
    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    body_size: int = attrs.field(
        default=attrs.Factory(lambda self: len(self.body), takes_self=True)
    )
    truncated: bool = False
    events: tuple[Mapping[str, Any], ...] | None = None
    refused: str | None = None
    status: int
    response_headers: tuple[tuple[str, str], ...] = ()
    response_body: bytes = b""
    duration_ms: float = 0.0
    challenge_id: int | None = None
    replay_of: int | None = None

    def header(self, name: str) -> str | None:
        """The first value of request header ``name`` (any case)."""
        key = name.lower()
        return next((v for n, v in self.headers if n.lower() == key), None)


def mask_headers(headers: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The headers with credentials and cookies masked (:func:`bwhooks.http.mask_credentials`):
    ``Basic <masked>`` keeps the scheme."""
    return mask_credentials(headers)


class Recorder:
    """Appends deliveries to an SQLite file (thread-safe: one connection, one lock), keeping
    at most ``max_deliveries`` of them and ``max_bytes`` bytes (the oldest go first; the
    newest is always kept). With ``read_only``, only reads an existing recording: the file
    is opened read-only and left as it is. Raises :class:`ValueError`, saying why, for a
    file that is not a recording, a symbolic link, a file of a newer schema, or (read-only)
    an empty file."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_deliveries: int = DEFAULT_MAX_DELIVERIES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        read_only: bool = False,
    ) -> None:
        if max_deliveries < 1:
            raise ValueError("max_deliveries must be at least 1")
        if max_bytes < 1:
            raise ValueError("max_bytes must be at least 1")
        self.path = Path(path)
        self.max_deliveries = max_deliveries
        self.max_bytes = max_bytes
        self.read_only = read_only
        self._lock = threading.Lock()
        self._challenges: dict[str, tuple[int, float]] = {}  # request key -> (401 id, when)
        self._total = 0  # the bytes the rows hold (the sum of their size)
        self._version = SCHEMA_VERSION
        if read_only:
            self._db = _connect_read_only(self.path)
            try:
                self._version = _version(self._db, self.path)
                if self._version == 0:
                    raise ValueError(
                        f"{self.path} is not a file of recorded deliveries: it is empty"
                    )
            except ValueError:
                self._db.close()
                raise
        else:
            self._db = _connect_private(self.path)
            try:
                self._open()
            except (sqlite3.DatabaseError, ValueError) as exc:
                self._db.close()
                if isinstance(exc, ValueError):
                    raise
                raise ValueError(
                    f"{self.path} is not a file of recorded deliveries: {exc}"
                ) from None
        self._columns = _COLUMNS if self._version >= 2 else _COLUMNS_V1
        self._size = "size" if self._version >= 2 else f"({_SIZE_SQL})"

    def _open(self) -> None:
        """Create the schema in a new file, migrate an older one, keep the bounds."""
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("PRAGMA journal_mode=WAL")
        # The -wal file in proportion to the bound: checkpointed every max_bytes / 4 (at most
        # SQLite's 1,000 pages) and cut back to max_bytes after each checkpoint.
        page = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        pages = max(16, min(1000, self.max_bytes // 4 // page))
        self._db.execute(f"PRAGMA wal_autocheckpoint={pages}")
        self._db.execute(f"PRAGMA journal_size_limit={max(self.max_bytes, 64 * page)}")
        self._version = _version(self._db, self.path)
        if self._version < SCHEMA_VERSION:
            with self._transaction():  # the tables and their version, or nothing
                script = SCHEMA if self._version == 0 else _MIGRATE_V1
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._version = SCHEMA_VERSION
        total, newest = self._db.execute(
            "SELECT coalesce(sum(size), 0), max(id) FROM deliveries"
        ).fetchone()
        if newest is not None:  # a file recorded with larger bounds than these
            with self._transaction():
                total = self._trim(newest, total)
        self._total = int(total)

    def record(self, delivery: Delivery) -> int:
        """Append ``delivery`` (its ``id`` is ignored); returns the id it was given. A
        refused delivery (``4xx``) keeps its first :data:`REFUSED_LIMIT` bytes of body,
        query string and headers; the oldest deliveries go past the bounds."""
        if self.read_only:
            raise ValueError(f"{self.path} was opened read-only")
        key = _request_key(delivery)
        now = time.monotonic()
        values, size = _stored(delivery)
        with self._lock:
            challenge_id = delivery.challenge_id
            if challenge_id is None and delivery.header("Authorization") is not None:
                found = self._challenges.pop(key, None)
                if found is not None and now - found[1] <= CHALLENGE_WINDOW:
                    challenge_id = found[0]
            with self._transaction():
                cursor = self._db.execute(
                    "INSERT INTO deliveries (size, received_at, kind, method, path, query, "
                    "headers, body_size, truncated, body, events, refused, status, "
                    "response_headers, response_body, duration_ms, challenge_id, replay_of) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (size, *values, challenge_id, delivery.replay_of),
                )
                row_id = int(cursor.lastrowid or 0)
                total = self._trim(row_id, self._total + size)
            self._total = total  # once committed
            if delivery.status == 401 and delivery.header("Authorization") is None:
                self._challenges[key] = (row_id, now)
                for stale in [
                    k for k, (_, t) in self._challenges.items() if now - t > CHALLENGE_WINDOW
                ]:
                    del self._challenges[stale]
                while len(self._challenges) > MAX_CHALLENGES:
                    del self._challenges[next(iter(self._challenges))]
        return row_id

    def _trim(self, newest: int, total: int) -> int:
        """Delete the oldest rows past the bounds, never ``newest``, the rows holding
        ``total`` bytes; returns the bytes left."""
        cut = newest - self.max_deliveries  # the rows up to this id go
        total -= self._db.execute(
            "SELECT coalesce(sum(size), 0) FROM deliveries WHERE id <= ?", (cut,)
        ).fetchone()[0]
        if total > self.max_bytes:
            with closing(
                self._db.execute(
                    "SELECT id, size FROM deliveries WHERE id > ? AND id < ? ORDER BY id",
                    (cut, newest),
                )
            ) as oldest:
                for row_id, size in oldest:
                    cut, total = row_id, total - size
                    if total <= self.max_bytes:
                        break
        self._db.execute("DELETE FROM deliveries WHERE id <= ?", (cut,))
        return int(total)

    def pages(
        self, *, after: int = 0, rows: int = PAGE_ROWS, max_bytes: int = PAGE_BYTES
    ) -> Iterator[list[Delivery]]:
        """The deliveries with an id over ``after``, oldest first, a page at a time: at most
        ``rows`` deliveries and ``max_bytes`` bytes each (a larger delivery is a page of its
        own), so that memory stays bounded however large the file."""
        while True:
            with self._lock:
                sizes = self._db.execute(
                    _select(f"id, {self._size}", "WHERE id > ? ORDER BY id LIMIT ?"),
                    (after, rows),
                ).fetchall()
            if not sizes:
                return
            last, total = sizes[0][0], 0
            for row_id, size in sizes:
                if total and total + size > max_bytes:
                    break
                last, total = row_id, total + size
            with self._lock:
                found = self._db.execute(
                    _select(self._columns, "WHERE id > ? AND id <= ? ORDER BY id"),
                    (after, last),
                ).fetchall()
            after = last
            if found:  # (deleted meanwhile, past the bounds: the next page follows)
                yield [_delivery(row) for row in found]

    def deliveries(self, *, after: int = 0, limit: int | None = None) -> list[Delivery]:
        """The recorded deliveries with an id over ``after``, oldest first (``limit`` of
        them; all of them in memory without it: :meth:`pages` reads a large file)."""
        query = _select(self._columns, "WHERE id > ? ORDER BY id")
        parameters: tuple[Any, ...] = (after,)
        if limit is not None:
            query += " LIMIT ?"
            parameters += (limit,)
        with self._lock:
            rows = self._db.execute(query, parameters).fetchall()
        return [_delivery(row) for row in rows]

    def newest(self) -> int:
        """The id of the newest delivery (0 when there is none)."""
        with self._lock:
            return int(
                self._db.execute("SELECT coalesce(max(id), 0) FROM deliveries").fetchone()[0]
            )

    def get(self, delivery_id: int) -> Delivery | None:
        """The delivery with this id, if the file still holds it."""
        with self._lock:
            row = self._db.execute(
                _select(self._columns, "WHERE id = ?"), (delivery_id,)
            ).fetchone()
        return None if row is None else _delivery(row)

    def retried(self, ids: Iterable[int]) -> set[int]:
        """Which of these deliveries (``401`` challenges) a recorded retry answered."""
        wanted = list(ids)
        if not wanted:
            return set()
        marks = ", ".join("?" * len(wanted))
        with self._lock:
            rows = self._db.execute(
                _select("DISTINCT challenge_id", f"WHERE challenge_id IN ({marks})"),
                wanted,
            ).fetchall()
        return {row[0] for row in rows}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self) -> Any:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *rest: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


def _stored(delivery: Delivery) -> tuple[tuple[Any, ...], int]:
    """The values a row keeps of ``delivery`` (a refused one cut to :data:`REFUSED_LIMIT`),
    from ``received_at`` to ``duration_ms``, and the row's size."""
    method, path, query = delivery.method, delivery.path, delivery.query
    headers, body = mask_headers(delivery.headers), delivery.body
    events = None if delivery.events is None else json.dumps(delivery.events)
    refused, truncated = delivery.refused, delivery.truncated
    if 400 <= delivery.status < 500:  # refused: whoever sent it, little of it is kept
        kept = (
            method[:REFUSED_LIMIT],
            path[:REFUSED_LIMIT],
            query[:REFUSED_LIMIT],
            _cut_headers(headers, REFUSED_LIMIT),
            body[:REFUSED_LIMIT],
            None if events is None or len(events) > REFUSED_LIMIT else events,
            None if refused is None else refused[:REFUSED_LIMIT],  # it may quote the body
        )
        truncated = truncated or kept != (method, path, query, headers, body, events, refused)
        method, path, query, headers, body, events, refused = kept
    texts = (
        delivery.received_at.astimezone(timezone.utc).isoformat(),
        delivery.kind,
        method,
        path,
        query,
        json.dumps(headers),
    )
    answer_headers = json.dumps(mask_headers(delivery.response_headers))
    size = (
        sum(len(text.encode("utf-8", "surrogatepass")) for text in texts)
        + len(body)
        + len((events or "").encode())
        + len((refused or "").encode("utf-8", "surrogatepass"))
        + len(answer_headers.encode())
        + len(delivery.response_body)
    )
    values = (
        *texts,
        delivery.body_size,
        int(truncated),
        body,
        events,
        refused,
        delivery.status,
        answer_headers,
        delivery.response_body,
        delivery.duration_ms,
    )
    return values, size


def _cut_headers(headers: tuple[tuple[str, str], ...], limit: int) -> tuple[tuple[str, str], ...]:
    """The first headers, names and values, up to ``limit`` characters in all."""
    kept, room = [], limit
    for name, value in headers:
        if room <= 0:
            break
        pair = (name[:room], value[: max(room - len(name), 0)])
        kept.append(pair)
        room -= len(pair[0]) + len(pair[1])
    return tuple(kept)


def _select(columns: str, rest: str) -> str:
    """A query of the deliveries table: ``columns`` and ``rest`` are constants of this
    module (values are always bound parameters)."""
    return f"SELECT {columns} FROM deliveries {rest}"  # noqa: S608


def _version(db: sqlite3.Connection, path: Path) -> int:
    """The schema version of a recording (``0``: an empty file); :class:`ValueError` for
    anything else, read without writing."""
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise ValueError(f"{path} is not a file of recorded deliveries: {exc}") from None
    if version == 0 and not tables:
        return 0
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"{path} holds recorded deliveries of schema version {version}; "
            f"this bwhooks reads version {SCHEMA_VERSION} and older"
        )
    if version == 0 or "deliveries" not in tables:
        raise ValueError(
            f"{path} is not a file of recorded deliveries: an SQLite file of something else"
        )
    return version


def _connect_read_only(path: Path, *, immutable: bool = False) -> sqlite3.Connection:
    """``path`` opened read-only (``mode=ro``): nothing written, the journal mode kept. When
    no writer is at work (no ``-wal`` file), or with ``immutable`` (a check of what the
    file is: its main file tells), it is read as immutable, so that SQLite creates no
    ``-wal``/``-shm`` file beside it either."""
    if not path.is_file():
        raise ValueError(f"{path} is not a file of recorded deliveries: no such file")
    _refuse_linked_companions(path)
    uri = path.absolute().as_uri() + "?mode=ro"
    if immutable or not os.path.lexists(_companion(path, "-wal")):
        uri += "&immutable=1"
    try:
        return sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise ValueError(f"{path} cannot be read: {exc}") from None


def _connect_private(path: Path) -> sqlite3.Connection:
    """``path`` opened for writing, owner-only and never through a symbolic link: created
    ``0600``; an existing file checked read-only first (a file that is no recording is
    left as it is), then set to ``0600`` with its ``-wal``, ``-shm`` and ``-journal``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags, 0o600)
    except OSError as exc:
        raise ValueError(_refusal(path, exc)) from None
    try:
        found = os.fstat(descriptor)
        if not stat.S_ISREG(found.st_mode):
            raise ValueError(f"{path} is not a regular file")
        _refuse_linked_companions(path)
        if found.st_size:  # an existing file: a recording (or left untouched, -shm included)
            _check(path)
        if stat.S_IMODE(found.st_mode) != 0o600:
            _owner_only(descriptor)
        for suffix in _COMPANIONS:  # (SQLite gives the ones it creates the file's mode)
            _private_companion(_companion(path, suffix))
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        try:
            if not os.path.samestat(found, os.lstat(path)):
                raise ValueError(f"{path} was replaced while it was opened")
        except (OSError, ValueError):
            db.close()
            raise
        return db
    except OSError as exc:
        raise ValueError(_refusal(path, exc)) from None
    finally:
        os.close(descriptor)


def _check(path: Path) -> None:
    """:class:`ValueError` unless the existing ``path`` is a recording (or empty), read
    without creating anything beside it: its main file as immutable, and when that holds
    nothing yet but a ``-wal`` file stands beside it (a writer at work, or one that
    stopped before a checkpoint), a copy of both in a private folder."""
    with closing(_connect_read_only(path, immutable=True)) as db:
        if _version(db, path) or not os.path.lexists(_companion(path, "-wal")):
            return
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "check.sqlite3"
        shutil.copyfile(path, copy)
        shutil.copyfile(_companion(path, "-wal"), _companion(copy, "-wal"))
        with closing(_connect_read_only(copy)) as db:
            _version(db, path)


def _refuse_linked_companions(path: Path) -> None:
    """:class:`ValueError` when a symbolic link stands at one of the file's companions."""
    for suffix in _COMPANIONS:
        if _companion(path, suffix).is_symlink():
            raise ValueError(f"{_companion(path, suffix)} is a symbolic link: refused")


def _private_companion(path: Path) -> None:
    """An existing companion file set to ``0600``, never through a symbolic link."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ValueError(_refusal(path, exc)) from None
    try:
        if stat.S_IMODE(os.fstat(descriptor).st_mode) != 0o600:
            _owner_only(descriptor)
    finally:
        os.close(descriptor)


def _owner_only(descriptor: int) -> None:
    """The open file set to ``0600`` (where modes are set through a descriptor: POSIX)."""
    if os.chmod in os.supports_fd:
        os.chmod(descriptor, 0o600)


def _refusal(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return f"{path} is a symbolic link: a recording is never written through one"
    return f"cannot open {path}: {exc.strerror or exc}"


_COMPANIONS = ("-wal", "-shm", "-journal")


def _companion(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _request_key(delivery: Delivery) -> str:
    digest = hashlib.sha256(delivery.body).hexdigest()
    return f"{delivery.method} {delivery.path}?{delivery.query} {digest}"


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(n), str(v)) for n, v in json.loads(text))


def _delivery(row: Sequence[Any]) -> Delivery:
    (
        row_id,
        received_at,
        kind,
        method,
        path,
        query,
        headers,
        body,
        body_size,
        truncated,
        events,
        refused,
        status,
        response_headers,
        response_body,
        duration_ms,
        challenge_id,
        replay_of,
    ) = row
    return Delivery(
        id=row_id,
        received_at=datetime.fromisoformat(received_at),
        kind=kind,
        method=method,
        path=path,
        query=query,
        headers=_pairs(headers),
        body=bytes(body),
        body_size=body_size,
        truncated=bool(truncated),
        events=None if events is None else tuple(json.loads(events)),
        refused=refused,
        status=status,
        response_headers=_pairs(response_headers),
        response_body=bytes(response_body),
        duration_ms=duration_ms,
        challenge_id=challenge_id,
        replay_of=replay_of,
    )


def typed(
    method: str,
    path: str,
    query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    *,
    handlers: Callable[[Any], Sequence[str]] | None = None,
) -> tuple[tuple[Mapping[str, Any], ...] | None, str | None]:
    """What bwhooks makes of a request: its events (class, ``event_type`` and the fields
    that are set, JSON-ready; with ``handlers``, the names of the handlers registered for
    each), or why it refuses the body (``None`` and the reason)."""
    from bwhooks.decoding import decode
    from bwhooks.errors import InvalidCallback
    from bwhooks.http import CallbackRequest

    if method.upper() not in ("GET", "POST"):
        return None, f"method {method} carries no callback"
    try:
        found = decode(
            CallbackRequest(method.upper(), path, headers, body, query_string=query.encode())
        )
    except InvalidCallback as exc:
        return None, exc.reason
    records = [event_record(event) for event in found]
    if handlers is not None:
        for record, event in zip(records, found, strict=True):
            record["handlers"] = list(handlers(event))
    return tuple(records), None


def event_record(event: Any) -> dict[str, Any]:
    """An event as JSON-ready data: its class, ``event_type`` and every field that is set."""
    return {
        "class": type(event).__name__,
        "event_type": event.event_type,
        "fields": _fields(event),
    }


def _fields(instance: Any) -> dict[str, Any]:
    return {
        field.name: _json_ready(getattr(instance, field.name))
        for field in attrs.fields(type(instance))
        if field.name not in ("raw", "event_type") and getattr(instance, field.name) is not None
    }


def _json_ready(value: Any) -> Any:
    from bwhooks.events.timestamps import Duration, format_duration, format_timestamp

    if isinstance(value, Duration):
        return format_duration(value)
    if isinstance(value, datetime):
        return format_timestamp(value)
    if attrs.has(type(value)):
        return _fields(value)
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_json_ready(v) for v in value]
    return value
