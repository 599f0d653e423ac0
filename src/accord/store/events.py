"""Event writes: deduplicated bulk inserts and the group-commit writer behind the ingest API.

Dedupe goes through `event_dedupe` keyed by (source, message_id): a key inserted there in
the same transaction as its event means the event is new; a key already present means a
retry, and the event is dropped. Keys older than the dedupe window are pruned.

The group-commit writer is one thread that takes every queued request, writes them all in one
transaction, commits, and only then resolves each request's future: an acknowledged event is
durable, and the commit cost is shared by everything that arrived meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Connection, Engine, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from accord.store.schema import event_dedupe, groups, identities

DEDUPE_WINDOW = timedelta(days=35)
log = logging.getLogger(__name__)


class EventRow(NamedTuple):
    """One row of the events table, in column order."""

    message_id: str
    source: str
    occurred_at: str  # UTC, as `utc_text` writes it
    received_at: str
    kind: str
    name: str | None
    team: str | None
    account_id: str | None
    contact_id: str | None
    user_id: str | None
    anonymous_id: str | None
    properties: str  # JSON text


_COLS = ", ".join(EventRow._fields)


def utc_text(value: datetime) -> str:
    """A datetime as UTC text `YYYY-MM-DD HH:MM:SS.ffffff` (SQLAlchemy's SQLite format)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def _unique(rows: Sequence[EventRow]) -> list[EventRow]:
    """First occurrence of each (source, message_id) within `rows`."""
    seen: dict[tuple[str, str], EventRow] = {}
    for row in rows:
        seen.setdefault((row[1], row[0]), row)
    return list(seen.values())


def _new_keys_sqlite(raw: Any, rows: list[EventRow], now: str) -> set[tuple[str, str]]:
    """Message ids of `rows` not yet seen for their source; records them as seen."""
    fresh: set[tuple[str, str]] = set()
    for source, ids in _by_source(rows).items():
        inserted = raw.execute(_SQLITE_DEDUPE, (source, now, orjson.dumps(ids).decode()))
        fresh.update((source, mid) for (mid,) in inserted.fetchall())
    return fresh


_SQLITE_DEDUPE = (
    "INSERT INTO event_dedupe (source, message_id, received_at) "
    "SELECT ?, value, ? FROM json_each(?) WHERE 1 ON CONFLICT DO NOTHING RETURNING message_id"
)
_SQLITE_INSERT = f"INSERT INTO events ({_COLS}) VALUES ({','.join('?' * len(EventRow._fields))})"


def _by_source(rows: list[EventRow]) -> dict[str, list[str]]:
    by_source: dict[str, list[str]] = {}
    for row in rows:
        by_source.setdefault(row[1], []).append(row[0])
    return by_source


def _insert_sqlite(raw: Any, rows: list[EventRow]) -> None:
    raw.executemany(_SQLITE_INSERT, rows)


_PG_DEDUPE = (
    "INSERT INTO event_dedupe (source, message_id, received_at) "
    "SELECT s, m, %s::timestamp AT TIME ZONE 'UTC' FROM unnest(%s::text[], %s::text[]) "
    "AS t(s, m) ON CONFLICT DO NOTHING RETURNING source, message_id"
)


def _new_keys_pg(raw: Any, rows: list[EventRow], now: str) -> set[tuple[str, str]]:
    """Message ids of `rows` not yet seen for their source; records them as seen."""
    with raw.cursor() as cur:
        cur.execute(_PG_DEDUPE, (now, [r[1] for r in rows], [r[0] for r in rows]))
        return {(source, mid) for source, mid in cur.fetchall()}


def _pg_value(index: int, name: str) -> str:
    if name.endswith("_at"):
        return f"c{index}::timestamp AT TIME ZONE 'UTC'"
    return f"c{index}::json" if name == "properties" else f"c{index}"


_PG_INSERT = (
    f"INSERT INTO events ({_COLS}) SELECT "
    + ", ".join(_pg_value(i, name) for i, name in enumerate(EventRow._fields))
    + " FROM unnest("
    + ", ".join(["%s::text[]"] * len(EventRow._fields))
    + ") AS t("
    + ", ".join(f"c{i}" for i in range(len(EventRow._fields)))
    + ")"
)
_PG_COPY = f"COPY events ({_COLS}) FROM STDIN"
COPY_AT_LEAST = 2_000  # rows; fewer go through one INSERT ... SELECT FROM unnest


def _insert_pg(raw: Any, rows: list[EventRow]) -> None:
    with raw.cursor() as cur:
        if len(rows) < COPY_AT_LEAST:
            cur.execute(_PG_INSERT, tuple(list(col) for col in zip(*rows, strict=True)))
            return
        with cur.copy(_PG_COPY) as copy:
            write = copy.write_row
            for r in rows:  # timestamps are UTC text: mark them so
                write((*r[:2], r[2] + "+00", r[3] + "+00", *r[4:]))


def write_events_raw(
    raw: Any, dialect: str, rows: Sequence[EventRow], now: str | None = None
) -> int:
    """`write_events` on a DBAPI connection (sqlite3 or psycopg) inside its transaction."""
    if not rows:
        return 0
    now = now or utc_text(datetime.now(UTC))
    unique = _unique(rows)
    sqlite = dialect == "sqlite"
    fresh = (_new_keys_sqlite if sqlite else _new_keys_pg)(raw, unique, now)
    if len(fresh) < len(unique):
        unique = [r for r in unique if (r[1], r[0]) in fresh]
    if unique:
        (_insert_sqlite if sqlite else _insert_pg)(raw, unique)
    return len(unique)


def write_events(conn: Connection, rows: Sequence[EventRow], now: str | None = None) -> int:
    """Insert the rows whose (source, message_id) is new; return how many were stored.

    `now` (UTC text) stamps the dedupe keys; all rows of one call should share few sources.
    """
    raw = conn.connection.driver_connection
    return write_events_raw(raw, conn.dialect.name, rows, now)


def _upsert(conn: Connection, table: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
    if not rows:
        return
    insert = sqlite_insert if conn.dialect.name == "sqlite" else pg_insert
    stmt = insert(table)
    changed = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=changed), rows)


def write_identities(
    conn: Connection, idents: list[dict[str, Any]], group_rows: list[dict[str, Any]]
) -> None:
    """Upsert identity and group rows (the latest answer wins)."""
    _upsert(conn, identities, idents, ["id_type", "id_value"])
    _upsert(conn, groups, group_rows, ["group_id"])


def prune_dedupe(engine: Engine, keep: timedelta = DEDUPE_WINDOW) -> int:
    """Forget dedupe keys older than `keep` (at least 30 days); return how many."""
    cutoff = datetime.now(UTC) - max(keep, timedelta(days=30))
    with engine.begin() as conn:
        return conn.execute(
            delete(event_dedupe).where(event_dedupe.c.received_at < cutoff)
        ).rowcount


# -- group commit ----------------------------------------------------------------------------


class StoreWriteError(RuntimeError):
    """Events could not be committed (the database refused or is unreachable)."""


@dataclass
class WriteRequest:
    """One request's rows; `future` resolves (to the row count) once they are committed.

    With `loop` and `waiter` (an asyncio future of that loop), the writer also settles the
    waiter, waking each loop once per commit whatever the number of requests in it.
    """

    rows: list[EventRow]
    identities: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    future: Future[int] = field(default_factory=Future)
    loop: asyncio.AbstractEventLoop | None = None
    waiter: asyncio.Future[int] | None = None


_STOP = WriteRequest(rows=[])
Outcome = tuple["asyncio.Future[int]", int, BaseException | None]


def _settle(outcomes: list[Outcome]) -> None:
    for waiter, result, error in outcomes:
        if waiter.done():
            continue
        if error is None:
            waiter.set_result(result)
        else:
            waiter.set_exception(error)


class GroupCommitWriter:
    """A thread that commits queued requests together and acknowledges each after its commit.

    It keeps one connection for its lifetime and writes through the DBAPI driver directly.
    """

    def __init__(self, engine: Engine, *, max_rows: int = 20_000, linger: float = 0.0) -> None:
        self.engine = engine
        self.max_rows = max_rows
        self.linger = linger
        self.commits = 0
        self._sqlite = engine.dialect.name == "sqlite"
        self._errors: tuple[type[BaseException], ...] = (SQLAlchemyError,)
        dbapi = getattr(engine.dialect, "loaded_dbapi", None)
        if dbapi is not None:
            self._errors += (dbapi.Error,)
        self._conn: Connection | None = None
        self._queue: queue.SimpleQueue[WriteRequest] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, request: WriteRequest) -> Future[int]:
        self._queue.put(request)
        return request.future

    def _take(self) -> tuple[list[WriteRequest], bool]:
        first = self._queue.get()
        if first is _STOP:
            return [], True
        taken, rows = [first], len(first.rows)
        deadline = time.monotonic() + self.linger
        while rows < self.max_rows:
            try:
                wait = deadline - time.monotonic()
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return taken, True
            taken.append(item)
            rows += len(item.rows)
        return taken, False

    def _run(self) -> None:
        stopping = False
        while not stopping:
            taken, stopping = self._take()
            if taken:
                self._commit(taken)
        if self._conn is not None:
            self._conn.close()

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.invalidated or self._conn.closed:
            self._conn = self.engine.connect()
        return self._conn

    def _write(self, taken: list[WriteRequest]) -> int:
        conn = self._connection()
        raw = conn.connection.driver_connection
        if raw is None:
            raise RuntimeError("event writer: the database connection is closed")
        rows = taken[0].rows if len(taken) == 1 else [r for req in taken for r in req.rows]
        try:
            if self._sqlite:
                raw.execute("BEGIN IMMEDIATE")
            stored = write_events_raw(raw, "sqlite" if self._sqlite else "postgresql", rows)
            if any(req.identities or req.groups for req in taken):
                for req in taken:
                    write_identities(conn, req.identities, req.groups)
                conn.commit()
            else:
                raw.commit()
        except self._errors:
            self._rollback(conn, raw)
            raise
        self.commits += 1
        return stored

    def _rollback(self, conn: Connection, raw: Any) -> None:
        try:
            raw.rollback()
            if conn.in_transaction():
                conn.rollback()
        except self._errors:
            conn.invalidate()
            self._conn = None

    def _commit(self, taken: list[WriteRequest]) -> None:
        try:
            self._write(taken)
        except self._errors as e:
            if len(taken) > 1:  # one bad request must not fail the others: retry one by one
                for req in taken:
                    self._commit([req])
                return
            log.error("event write failed: %s", e)
            error = StoreWriteError(f"events could not be stored: {e}")
            self._resolve(taken, error)
            return
        self._resolve(taken, None)

    def _resolve(self, taken: list[WriteRequest], error: BaseException | None) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
        for req in taken:
            if error is None:
                req.future.set_result(len(req.rows))
            else:
                req.future.set_exception(error)
            if req.loop is not None and req.waiter is not None:
                by_loop.setdefault(req.loop, []).append((req.waiter, len(req.rows), error))
        for loop, outcomes in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, outcomes)
            except RuntimeError:  # the loop closed: nobody waits any more
                continue
