"""Recorded deliveries: every callback a local listener received, kept in an SQLite file.

``bwhooks listen --record FILE`` keeps, for each request: when it arrived, its method, path,
query string and headers (the ``Authorization`` value masked), the body byte for byte, the
typed events it became (class and fields) or why it was refused, the answer (status, headers,
body) and how long it took. A ``401`` challenge and the retry that follows are paired (the
retry's ``challenge_id``). The file is created readable by its owner only (it holds message
text and phone numbers), survives restarts, and keeps at most ``max_deliveries`` rows (the
oldest go first).

The schema is versioned with SQLite's ``user_version`` (:data:`SCHEMA_VERSION`); a file of a
newer version is refused rather than misread. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import attrs

from bwhooks.http import mask_credentials

__all__ = [
    "DEFAULT_MAX_DELIVERIES",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Delivery",
    "Recorder",
    "event_record",
    "mask_headers",
    "typed",
]

#: The version of the file's schema (SQLite ``PRAGMA user_version``).
SCHEMA_VERSION = 1
#: How many deliveries a file keeps by default; past it the oldest are deleted.
DEFAULT_MAX_DELIVERIES = 10_000
#: How long a ``401`` challenge waits for its retry to be paired with it (seconds).
CHALLENGE_WINDOW = 60.0

SCHEMA = """
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,          -- in arrival order
    received_at TEXT NOT NULL,       -- ISO 8601, UTC, microseconds
    kind TEXT NOT NULL,              -- live | forwarded | replayed
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT NOT NULL,             -- the raw query string (GET callbacks carry fields)
    headers TEXT NOT NULL,           -- JSON [[name, value], ...], credentials masked
    body BLOB NOT NULL,              -- byte for byte
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


@attrs.frozen(kw_only=True)
class Delivery:
    """One recorded request and its answer (a row of the file)."""

    id: int = 0
    received_at: datetime
    kind: str = "live"
    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
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
    """Appends deliveries to an SQLite file (thread-safe: one connection, one lock)."""

    def __init__(
        self, path: str | os.PathLike[str], *, max_deliveries: int = DEFAULT_MAX_DELIVERIES
    ) -> None:
        if max_deliveries < 1:
            raise ValueError("max_deliveries must be at least 1")
        self.path = Path(path)
        self.max_deliveries = max_deliveries
        _create_private(self.path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            self._open()
        except (sqlite3.DatabaseError, ValueError) as exc:
            self._db.close()
            if isinstance(exc, ValueError):
                raise
            raise ValueError(f"{self.path} is not a file of recorded deliveries: {exc}") from None
        self._challenges: dict[str, tuple[int, float]] = {}  # request key -> (401 id, when)

    def _open(self) -> None:
        """Create the schema in a new file; refuse another schema version or another file."""
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            if self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise ValueError(f"{self.path} is an SQLite file of something else")
            with self._transaction():  # the tables and their version, or nothing
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        elif version != SCHEMA_VERSION:
            raise ValueError(
                f"{self.path} holds recorded deliveries of schema version {version}; "
                f"this bwhooks reads version {SCHEMA_VERSION}"
            )

    def record(self, delivery: Delivery) -> int:
        """Append ``delivery`` (its ``id`` is ignored); returns the id it was given."""
        key = _request_key(delivery)
        now = time.monotonic()
        with self._lock:
            challenge_id = delivery.challenge_id
            if challenge_id is None and delivery.header("Authorization") is not None:
                found = self._challenges.pop(key, None)
                if found is not None and now - found[1] <= CHALLENGE_WINDOW:
                    challenge_id = found[0]
            with self._transaction():
                cursor = self._db.execute(
                    "INSERT INTO deliveries (received_at, kind, method, path, query, headers, "
                    "body, events, refused, status, response_headers, response_body, "
                    "duration_ms, challenge_id, replay_of) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        delivery.received_at.astimezone(timezone.utc).isoformat(),
                        delivery.kind,
                        delivery.method,
                        delivery.path,
                        delivery.query,
                        json.dumps(mask_headers(delivery.headers)),
                        delivery.body,
                        None if delivery.events is None else json.dumps(delivery.events),
                        delivery.refused,
                        delivery.status,
                        json.dumps(mask_headers(delivery.response_headers)),
                        delivery.response_body,
                        delivery.duration_ms,
                        challenge_id,
                        delivery.replay_of,
                    ),
                )
                row_id = int(cursor.lastrowid or 0)
                self._db.execute(
                    "DELETE FROM deliveries WHERE id <= ?", (row_id - self.max_deliveries,)
                )
            if delivery.status == 401 and delivery.header("Authorization") is None:
                self._challenges[key] = (row_id, now)
                for stale in [
                    k for k, (_, t) in self._challenges.items() if now - t > CHALLENGE_WINDOW
                ]:
                    del self._challenges[stale]
        return row_id

    def deliveries(self, *, after: int = 0, limit: int | None = None) -> list[Delivery]:
        """The recorded deliveries with an id over ``after``, oldest first."""
        query = "SELECT * FROM deliveries WHERE id > ? ORDER BY id"
        parameters: tuple[Any, ...] = (after,)
        if limit is not None:
            query += " LIMIT ?"
            parameters += (limit,)
        with self._lock:
            rows = self._db.execute(query, parameters).fetchall()
        return [_delivery(row) for row in rows]

    def get(self, delivery_id: int) -> Delivery | None:
        """The delivery with this id, if the file still holds it."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM deliveries WHERE id = ?", (delivery_id,)
            ).fetchone()
        return None if row is None else _delivery(row)

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


def _create_private(path: Path) -> None:
    """Create the file readable and writable by its owner only (before SQLite opens it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(descriptor)
    for suffix in ("-wal", "-shm"):  # SQLite's companions take the main file's mode
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.chmod(companion, 0o600)


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
    from bwhooks.timestamps import Duration, format_duration, format_timestamp

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
