"""Event writes: deduplicated bulk inserts and the group-commit writer behind the ingest API.

Dedupe goes through `event_dedupe` keyed by (source, message_id): a key inserted there in
the same transaction as its event means the event is new; a key already present means a
retry, and the event is dropped. Keys older than the dedupe window are pruned.

Each write is a few statements whatever the number of rows (multi-row inserts on SQLite; on
PostgreSQL one statement, or two COPYs for a large write). `accord.store.group_commit`
batches the ingest API's requests into such writes.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any, NamedTuple

import orjson
from psycopg.errors import UniqueViolation
from sqlalchemy import Connection, Engine, delete

from accord.store.schema import event_dedupe

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
    if len({row[1] for row in rows}) == 1 and len({row[0] for row in rows}) == len(rows):
        return list(rows)  # the usual case: one source, no message twice
    seen: dict[tuple[str, str], EventRow] = {}
    for row in rows:
        seen.setdefault((row[1], row[0]), row)
    return list(seen.values())


_SQLITE_SEEN = (
    "SELECT message_id FROM event_dedupe WHERE source = ? "
    "AND message_id IN (SELECT value FROM json_each(?))"
)
# The keys of one source: a plain INSERT fails whole at a key already stored; the other
# form skips stored keys (`WHERE 1` lets SQLite parse the upsert after a SELECT).
_SQLITE_KEYS = (
    "INSERT INTO event_dedupe (source, message_id, received_at) "
    "SELECT ?, value, ? FROM json_each(?)"
)
_SQLITE_DEDUPE = f"{_SQLITE_KEYS} WHERE 1 ON CONFLICT DO NOTHING"
_ROW_MARKS = "(" + ",".join("?" * len(EventRow._fields)) + ")"
SQLITE_CHUNK = 256  # rows per multi-row INSERT; smaller remainders go in power-of-two chunks
# Remainders up to this many rows go in one statement of their exact size: each statement
# hands the GIL back and forth once, and a busy event loop delays every hand-back.
EXACT_UP_TO = 64


def _by_source(rows: list[EventRow]) -> dict[str, list[str]]:
    by_source: dict[str, list[str]] = {}
    for row in rows:
        by_source.setdefault(row[1], []).append(row[0])
    return by_source


def _seen_sqlite(raw: Any, rows: list[EventRow], now: str) -> set[tuple[str, str]]:
    """Keys of `rows` already stored; records the others as seen (one statement each way)."""
    seen: set[tuple[str, str]] = set()
    for source, ids in _by_source(rows).items():
        ids_json = orjson.dumps(ids).decode()
        seen.update((source, mid) for (mid,) in raw.execute(_SQLITE_SEEN, (source, ids_json)))
        raw.execute(_SQLITE_DEDUPE, (source, now, ids_json))
    return seen


def _all_new_sqlite(raw: Any, rows: list[EventRow], now: str) -> bool:
    """Record the keys of `rows` (one source) as seen when none of them is stored yet: one
    statement, where telling new from seen keys takes two; False (nothing recorded) when
    some key is stored already. A plain INSERT does it: at the first key already there
    SQLite backs out that statement alone and the transaction goes on (no savepoint around
    it, whose two statements each hand the interpreter lock back and forth under the write
    lock)."""
    ids_json = orjson.dumps([row[0] for row in rows]).decode()
    try:
        raw.execute(_SQLITE_KEYS, (rows[0][1], now, ids_json))
    except sqlite3.IntegrityError:
        return False
    return True


def _sqlite_insert_sql(n: int) -> str:
    return f"INSERT INTO events ({_COLS}) VALUES " + ",".join([_ROW_MARKS] * n)


def _chunks(n: int) -> list[int]:
    """Sizes summing to `n`: full chunks, then the rest in one statement when it is at most
    EXACT_UP_TO rows (the usual group commit of single-event requests), else in powers of
    two (few distinct statements for the driver's statement cache either way)."""
    sizes = [SQLITE_CHUNK] * (n // SQLITE_CHUNK)
    rest, bit = n % SQLITE_CHUNK, SQLITE_CHUNK
    if rest <= EXACT_UP_TO:
        return [*sizes, rest] if rest else sizes
    while rest:
        bit >>= 1
        if rest >= bit:
            sizes.append(bit)
            rest -= bit
    return sizes


def _insert_sqlite(raw: Any, rows: list[EventRow]) -> None:
    """Multi-row INSERTs: one statement (one trip out of the GIL) per chunk, not per row."""
    start = 0
    for size in _chunks(len(rows)):
        values = list(chain.from_iterable(rows[start : start + size]))
        start += size
        raw.execute(_sqlite_insert_sql(size), values)


def _write_sqlite(raw: Any, rows: list[EventRow], now: str) -> int:
    # Inside a transaction (the group-commit writer's), a retry is rare: try the keys as new.
    # Outside one, a savepoint would start and commit its own, so take the two statements.
    single = raw.in_transaction and len({row[1] for row in rows}) == 1
    if not (single and _all_new_sqlite(raw, rows, now)):
        seen = _seen_sqlite(raw, rows, now)
        if seen:
            rows = [r for r in rows if (r[1], r[0]) not in seen]
    if rows:
        _insert_sqlite(raw, rows)
    return len(rows)


_PG_DEDUPE = (
    "INSERT INTO event_dedupe (source, message_id, received_at) "
    "SELECT s, m, %s::timestamp AT TIME ZONE 'UTC' FROM (SELECT %s::json AS j) AS p, "
    "ROWS FROM (json_array_elements_text(p.j->0), json_array_elements_text(p.j->1)) "
    "AS t(s, m) ON CONFLICT DO NOTHING RETURNING source, message_id"
)


def _pg_value(index: int, name: str) -> str:
    if name.endswith("_at"):
        return f"c{index}::timestamp AT TIME ZONE 'UTC'"
    return f"c{index}::json" if name == "properties" else f"c{index}"


_N_COLS = len(EventRow._fields)
# A small write travels as one JSON array text per column (one C call each to build; a list
# of strings per column costs the driver ~30 us per row to adapt as arrays). One text per
# column, not one for all: PostgreSQL parses a `json` value again at every `->`, i.e. the
# whole batch twelve times (measured: one text per column, 10-15% less PostgreSQL CPU/row).
_PG_ROWS = (
    "SELECT u.* FROM ROWS FROM ("
    + ", ".join("json_array_elements_text(%s::json)" for _ in range(_N_COLS))
    + ") WITH ORDINALITY AS u("
    + ", ".join(f"c{i}" for i in range(_N_COLS))
    + ", n)"
)
# Dedupe and insert in one statement: the keys the dedupe insert took are the new events.
_PG_WRITE_ONE = (
    f"WITH t AS ({_PG_ROWS}), fresh AS (INSERT INTO event_dedupe (source, message_id, "
    "received_at) SELECT c1, c0, %s::timestamp AT TIME ZONE 'UTC' FROM t "
    "ON CONFLICT DO NOTHING RETURNING source, message_id) "
    f"INSERT INTO events ({_COLS}) SELECT "
    + ", ".join(_pg_value(i, name) for i, name in enumerate(EventRow._fields))
    + " FROM t JOIN fresh ON fresh.source = t.c1 AND fresh.message_id = t.c0 ORDER BY t.n"
)
# Fewer rows go through the one statement above (with its COMMIT in the same round trip,
# see `accord.store.group_commit`): a savepoint and two COPYs cost more round trips than a
# small commit saves on the database's side.
COPY_AT_LEAST = 256


_PG_KEYS_COPY = "COPY event_dedupe (source, message_id, received_at) FROM STDIN"
_PG_COPY = f"COPY events ({_COLS}) FROM STDIN"


# COPY's text format: tab between fields, newline after each row, \N for NULL, and these
# characters escaped with a backslash.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_column(values: Sequence[str | None]) -> list[str]:
    """One column's values as COPY text fields. A few C-speed scans of the whole column
    find the usual case (nothing to escape) without looking at each value in Python."""
    try:
        text, has_null = "".join(values), False  # type: ignore[arg-type]
    except TypeError:  # some value is None
        text, has_null = "".join(filter(None, values)), True
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        values = [v if v is None else v.translate(_COPY_ESCAPES) for v in values]
    if has_null:
        return ["\\N" if v is None else v for v in values]
    return list(values)  # type: ignore[arg-type]


def _utc_marked(values: Sequence[str]) -> list[str]:
    """UTC timestamp texts marked as UTC for COPY (rows share few distinct stamps)."""
    marked = {t: t + "+00" for t in set(values)}
    return list(map(marked.__getitem__, values))


def _copy_events(rows: list[EventRow]) -> bytes:
    """The COPY text of event rows, built a column at a time (a Python call per row, as
    the driver's row writer makes, costs about twice as much)."""
    columns = [_copy_column(col) for col in zip(*rows, strict=True)]
    columns[2] = _utc_marked(columns[2])  # occurred_at
    columns[3] = _utc_marked(columns[3])  # received_at
    return ("\n".join(map("\t".join, zip(*columns, strict=True))) + "\n").encode()


def _copy_keys(rows: list[EventRow], now: str) -> bytes:
    """The COPY text of the dedupe keys (source, message_id, received_at) of `rows`."""
    sources, ids = _copy_column([r[1] for r in rows]), _copy_column([r[0] for r in rows])
    stamp = now + "+00"
    if len(set(sources)) == 1:  # the usual case: one source
        head, tail = sources[0] + "\t", "\t" + stamp + "\n"
        return (head + (tail + head).join(ids) + tail).encode()
    lines = map("\t".join, zip(sources, ids, [stamp] * len(ids), strict=True))
    return ("\n".join(lines) + "\n").encode()


def _keys_all_new_pg(cur: Any, rows: list[EventRow], now: str) -> bool:
    """Record the keys of `rows` as seen when none of them is stored yet, by COPY (a plain
    bulk insert: no per-row conflict check); False, with nothing recorded, when some key is
    stored already (the unique key refuses the COPY)."""
    cur.execute("SAVEPOINT event_keys")
    try:
        with cur.copy(_PG_KEYS_COPY) as copy:
            copy.write(_copy_keys(rows, now))
    except UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT event_keys")
        cur.execute("RELEASE SAVEPOINT event_keys")
        return False
    cur.execute("RELEASE SAVEPOINT event_keys")
    return True


def _fresh_pg(cur: Any, rows: list[EventRow], now: str) -> list[EventRow]:
    """The rows whose keys are not stored yet; records their keys as seen."""
    keys = orjson.dumps([[r[1] for r in rows], [r[0] for r in rows]]).decode()
    cur.execute(_PG_DEDUPE, (now, keys))
    fresh = {(source, mid) for source, mid in cur.fetchall()}
    return rows if len(fresh) == len(rows) else [r for r in rows if (r[1], r[0]) in fresh]


def _write_pg(raw: Any, rows: list[EventRow], now: str) -> int:
    # A small write is one statement. A large one: retries are rare, so take every key as
    # new in one COPY, and sort new from seen keys (an insert that checks each row for a
    # conflict: ~2x the database's CPU) only when the COPY is refused; the events go in by
    # COPY either way, in their order.
    with raw.cursor() as cur:
        if len(rows) < COPY_AT_LEAST:
            columns = [orjson.dumps(col).decode() for col in zip(*rows, strict=True)]
            cur.execute(_PG_WRITE_ONE, (*columns, now))
            return int(cur.rowcount)
        if not _keys_all_new_pg(cur, rows, now):
            rows = _fresh_pg(cur, rows, now)
            if not rows:
                return 0
        with cur.copy(_PG_COPY) as copy:
            copy.write(_copy_events(rows))
        return len(rows)


def write_events_raw(
    raw: Any, dialect: str, rows: Sequence[EventRow], now: str | None = None
) -> int:
    """`write_events` on a DBAPI connection (sqlite3 or psycopg) inside its transaction."""
    if not rows:
        return 0
    now = now or utc_text(datetime.now(UTC))
    unique = _unique(rows)
    if dialect == "sqlite":
        return _write_sqlite(raw, unique, now)
    if raw.autocommit:  # the keys and their events commit together or not at all
        with raw.transaction():
            return _write_pg(raw, unique, now)
    return _write_pg(raw, unique, now)


def write_events(conn: Connection, rows: Sequence[EventRow], now: str | None = None) -> int:
    """Insert the rows whose (source, message_id) is new; return how many were stored.

    `now` (UTC text) stamps the dedupe keys; all rows of one call should share few sources.
    """
    raw = conn.connection.driver_connection
    return write_events_raw(raw, conn.dialect.name, rows, now)


_IDENTITY_COLS = ("id_type", "id_value", "user_id", "contact_id", "account_id", "updated_at")
_GROUP_COLS = ("group_id", "account_id", "name", "website", "traits", "updated_at")


def upsert_sql(table: str, cols: Sequence[str], keys: int, mark: str, json: str = "") -> str:
    """INSERT of one row of `cols` whose first `keys` columns are its primary key, updating
    the others when the key is stored (the latest answer wins); `json` names a JSON column
    (cast on PostgreSQL)."""
    marks = ", ".join(mark + ("::json" if c == json and mark == "%s" else "") for c in cols)
    sets = ", ".join(f"{c} = excluded.{c}" for c in cols[keys:])
    return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(cols[:keys])}) DO UPDATE SET {sets}")  # fmt: skip


_LEARNT_SQL = {
    dialect: (
        upsert_sql("identities", _IDENTITY_COLS, 2, mark),
        upsert_sql("groups", _GROUP_COLS, 1, mark, json="traits"),
        f"UPDATE events SET account_id = {mark}, contact_id = COALESCE(contact_id, {mark}) "
        f"WHERE anonymous_id = {mark} AND account_id IS NULL",
    )
    for dialect, mark in (("sqlite", "?"), ("postgresql", "%s"))
}


def write_learnt_raw(
    raw: Any,
    dialect: str,
    idents: Sequence[Mapping[str, Any]],
    group_rows: Sequence[Mapping[str, Any]],
    links: Sequence[tuple[str, str, str | None]],
) -> None:
    """What stitching learnt, on a DBAPI connection (sqlite3 or psycopg) inside its
    transaction: identity and group rows upserted (the latest answer wins), and the stored
    unattached events of each (anonymous_id, account_id, contact_id) given that account (and
    that contact where they name none; attached events never move). Plain statements, no
    SQL toolkit in between: on SQLite they run under the write lock every writer queues for,
    and on PostgreSQL they join the events' statement and COMMIT in one round trip."""
    ident_sql, group_sql, attach_sql = _LEARNT_SQL[dialect]
    stamp = utc_text if dialect == "sqlite" else _same
    cur = raw.cursor()
    try:
        if idents:
            cur.executemany(ident_sql, [
                (r["id_type"], r["id_value"], r["user_id"], r["contact_id"], r["account_id"],
                 stamp(r["updated_at"]))
                for r in idents
            ])  # fmt: skip
        if group_rows:
            cur.executemany(group_sql, [
                (r["group_id"], r["account_id"], r["name"], r["website"],
                 orjson.dumps(r["traits"]).decode(), stamp(r["updated_at"]))
                for r in group_rows
            ])  # fmt: skip
        if links:
            cur.executemany(attach_sql, [(acc, contact, anon) for anon, acc, contact in links])
    finally:
        cur.close()


def write_learnt(
    conn: Connection,
    idents: Sequence[Mapping[str, Any]],
    group_rows: Sequence[Mapping[str, Any]] = (),
    links: Sequence[tuple[str, str, str | None]] = (),
) -> None:
    """`write_learnt_raw` on a SQLAlchemy connection, inside its transaction."""
    write_learnt_raw(conn.connection.driver_connection, conn.dialect.name, idents, group_rows,
                     links)  # fmt: skip


def _same(value: datetime) -> datetime:
    return value


def prune_dedupe(engine: Engine, keep: timedelta = DEDUPE_WINDOW) -> int:
    """Forget dedupe keys older than `keep` (at least 30 days); return how many."""
    cutoff = datetime.now(UTC) - max(keep, timedelta(days=30))
    with engine.begin() as conn:
        return conn.execute(
            delete(event_dedupe).where(event_dedupe.c.received_at < cutoff)
        ).rowcount
