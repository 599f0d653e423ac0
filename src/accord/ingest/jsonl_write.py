"""Store the stitched calls of a bulk load: events, dedupe keys, identities and groups.

Everything goes in one transaction, committed once at the end: a failed load stores nothing
and leaves the schema as it was. Dedupe is set-based in DuckDB: the first line of each
messageId wins, and keys already in `event_dedupe` for the source are dropped before writing.
When a table is empty, its secondary indexes (on PostgreSQL also its primary key, unless a
foreign key points at it) are dropped and rebuilt after the load, inside the same transaction
(on PostgreSQL that locks the table for the load's duration: only a first load into an empty
table does it). A key another writer stores between the read of the
existing keys and the commit makes the load fail as a whole; running it again is safe.
PostgreSQL is written through COPY fed with CSV that DuckDB writes (`PostgresWriter`); SQLite
through ADBC, in its own process (`jsonl_sqlite`). Both start storing the dedupe keys while
identities are stitched, and take the events as DuckDB produces them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import Engine, Table
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from accord.background import Background
from accord.errors import AccordError
from accord.store.events import EventRow
from accord.store.schema import event_dedupe, events

Tick = Callable[[int], None]


class BulkWriteError(AccordError):
    """The database refused the load (nothing of it was stored)."""

    code = "bulk_write_failed"


COLUMNS = ", ".join(EventRow._fields)
INDEX_MEMORY = "256MB"  # PostgreSQL's sort memory for the keys rebuilt after a load


def events_sql(tz: str) -> str:
    """The rows to store, in file order; timestamps as UTC text followed by `tz`."""
    return f"""
    SELECT c.message_id, $source AS source,
        strftime(make_timestamp(c.occurred_us), '%Y-%m-%d %H:%M:%S.%f') || '{tz}' AS occurred_at,
        $received || '{tz}' AS received_at, c.event_kind AS kind, c.name, c.team,
        s.account_id, s.contact_id, c.user_id, c.anonymous_id, c.properties
    FROM calls c JOIN keep k ON c.line = k.line LEFT JOIN stitched s ON c.line = s.line
    ORDER BY c.line
    """


def dedupe_sql(tz: str) -> str:
    """The dedupe keys to store, in key order (an index grows fastest at its end)."""
    return (
        f"SELECT $source AS source, message_id, $received || '{tz}' AS received_at FROM keep "
        "ORDER BY message_id"
    )


IDENT_COLUMNS = "id_type, id_value, user_id, contact_id, account_id"
GROUP_COLUMNS = "group_id, account_id, name, website, traits"


def new_keys(con: duckdb.DuckDBPyConnection) -> int:
    """Table `keep(line, message_id)`: the first line of each messageId not stored before
    (table `existing(message_id)`); return how many."""
    con.execute(
        "CREATE TABLE keep AS SELECT min(c.line) AS line, c.message_id FROM calls c "
        "ANTI JOIN existing e ON c.message_id = e.message_id::VARCHAR GROUP BY c.message_id"
    )
    con.execute("DROP TABLE existing")
    return int(con.execute("SELECT count(*) FROM keep").fetchall()[0][0])


def index_ddl(engine: Engine, table: Table) -> tuple[list[str], list[str]]:
    """(drop, create) statements for the secondary indexes of `table`."""
    dialect = engine.dialect
    drops = [str(DropIndex(ix).compile(dialect=dialect)) for ix in table.indexes]
    creates = [str(CreateIndex(ix).compile(dialect=dialect)) for ix in table.indexes]
    return drops, creates


def _referenced(table: Table) -> bool:
    """Whether a foreign key of the schema points at `table`."""
    return any(fk.column.table is table for t in table.metadata.tables.values()
               for fk in t.foreign_keys)  # fmt: skip


def key_ddl(engine: Engine, table: Table) -> tuple[list[str], list[str]]:
    """(drop, create) statements for the secondary indexes of `table` and, when no foreign
    key points at it, its primary key: building a key after a load beats growing it."""
    drops, creates = index_ddl(engine, table)
    if table.primary_key.columns and not _referenced(table):
        dialect = engine.dialect
        drops.append(str(DropConstraint(table.primary_key).compile(dialect=dialect)))
        creates.insert(0, str(AddConstraint(table.primary_key).compile(dialect=dialect)))
    return drops, creates


def upserts(tz_cast: str, json_cast: str) -> tuple[str, str]:
    sets = "user_id = excluded.user_id, contact_id = excluded.contact_id, " \
           "account_id = excluded.account_id, updated_at = excluded.updated_at"  # fmt: skip
    ident = (
        f"INSERT INTO identities ({IDENT_COLUMNS}, updated_at) "
        f"SELECT {IDENT_COLUMNS}, {tz_cast} FROM tmp_idents WHERE true "
        f"ON CONFLICT (id_type, id_value) DO UPDATE SET {sets}"
    )
    group_sets = "account_id = excluded.account_id, name = excluded.name, " \
                 "website = excluded.website, traits = excluded.traits, " \
                 "updated_at = excluded.updated_at"  # fmt: skip
    group = (
        f"INSERT INTO groups ({GROUP_COLUMNS}, updated_at) "
        f"SELECT group_id, account_id, name, website, {json_cast}, {tz_cast} FROM tmp_groups "
        f"WHERE true ON CONFLICT (group_id) DO UPDATE SET {group_sets}"
    )
    return ident, group


def empty(cur: Any, table: str) -> bool:
    """Whether `table` has no row (on a DBAPI cursor)."""
    cur.execute(f"SELECT 1 FROM {table} LIMIT 1")
    return cur.fetchone() is None


def _copy_in(cur: Any, statement: str, path: Path, tick: Tick | None = None) -> None:
    with path.open("rb") as fh, cur.copy(statement) as copy:
        while block := fh.read(8 << 20):
            copy.write(block)
            if tick is not None:
                tick(block.count(b"\n"))


def _csv(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any], out: Path) -> Path:
    con.execute(f"COPY ({sql}) TO '{out}' (FORMAT csv, HEADER false)", params)
    return out


class PostgresWriter:
    """One bulk load's transaction on PostgreSQL, written through COPY while the loader works
    on: `start` (once the calls are read) stores the dedupe keys from a thread while the
    identities are stitched; `finish` streams the events through a named pipe that DuckDB
    writes CSV into, then commits. `close` rolls back whatever was not committed."""

    def __init__(self, engine: Engine, workdir: Path) -> None:
        self._engine, self._workdir = engine, workdir
        self._raw = engine.raw_connection()
        pg: Any = self._raw.driver_connection
        self._pg, self._cur = pg, pg.cursor()
        self._rebuild: dict[str, list[str]] = {}
        self._job: Background[None] | None = None
        self._committed = False

    def __enter__(self) -> PostgresWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _in_thread(self, work: Callable[[], None]) -> None:
        self._job = Background(work)

    def _join(self) -> None:
        job, self._job = self._job, None
        if job is not None:
            job.thread.join()
            if job.error is not None:
                raise _refused(job.error)

    def start(self, con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> int:
        """Read the stored keys, compute table `keep` and store its dedupe keys from a thread;
        the rows the load will store."""
        from psycopg import sql

        cur = self._cur
        try:
            keys = self._workdir / "existing.csv"
            query = sql.SQL(
                "COPY (SELECT message_id FROM event_dedupe WHERE source = {}) TO STDOUT "
                "(FORMAT csv)"
            ).format(sql.Literal(params["source"]))
            with keys.open("wb") as fh, cur.copy(query) as copy:
                for data in copy:
                    fh.write(data)
            for table in (events, event_dedupe):
                if empty(cur, table.name):
                    drops, self._rebuild[table.name] = key_ddl(self._engine, table)
                    for statement in drops:
                        cur.execute(statement)
            if self._rebuild:
                cur.execute(f"SET LOCAL maintenance_work_mem = '{INDEX_MEMORY}'")
        except Exception as e:
            raise _refused(e) from e
        con.execute(
            "CREATE TABLE existing AS SELECT * FROM read_csv($p, header=false, "
            "columns={'message_id': 'VARCHAR'}, quote='\"', escape='\"')",
            {"p": str(keys)},
        )
        stored = new_keys(con)
        dedupe = _csv(con, dedupe_sql("+00"), params, self._workdir / "dedupe.csv")

        def store_keys() -> None:
            _copy_in(cur, "COPY event_dedupe (source, message_id, received_at) FROM STDIN "
                          "(FORMAT csv)", dedupe)  # fmt: skip
            for statement in self._rebuild.get(event_dedupe.name, []):
                cur.execute(statement)

        self._in_thread(store_keys)
        return stored

    def finish(self, con: duckdb.DuckDBPyConnection, params: dict[str, Any], tick: Tick) -> None:
        """Store the stitched events, identities and groups, and commit."""
        self._join()
        pipe = self._workdir / "events.pipe"
        os.mkfifo(pipe)
        statement = f"COPY events ({COLUMNS}) FROM STDIN (FORMAT csv)"
        self._in_thread(lambda: _copy_in(self._cur, statement, pipe, tick))
        try:
            _csv(con, events_sql("+00"), params, pipe)
        except duckdb.Error:
            _release(pipe, self._job)
            self._join()  # the database's refusal, when that is what stopped the pipe
            raise
        _release(pipe, self._job)
        self._join()
        try:
            for statement in self._rebuild.get(events.name, []):
                self._cur.execute(statement)
            _identities_postgres(con, self._cur, params, self._workdir)
            self._pg.commit()
        except Exception as e:
            raise _refused(e) from e
        self._committed = True

    def close(self) -> None:
        """Roll back unless committed (after the thread at work, if any, has stopped)."""
        if self._job is not None:
            self._job.thread.join()
        try:
            if not self._committed:
                self._raw.rollback()
        finally:
            self._raw.close()


def _refused(error: BaseException) -> BaseException:
    from psycopg import Error as PgError

    if isinstance(error, PgError):
        return BulkWriteError(f"events could not be stored: {error}")
    return error


def _release(pipe: Path, job: Background[None] | None) -> None:
    """Make sure the reader of `pipe` (`job`) sees its end, whether or not DuckDB opened it."""
    reader = job.thread if job is not None else None
    while reader is not None and reader.is_alive():
        try:
            fd = os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # no reader has it open (yet, or any more)
            reader.join(0.01)
            continue
        os.close(fd)
        reader.join(0.05)


def _identities_postgres(
    con: duckdb.DuckDBPyConnection, cur: Any, params: dict[str, Any], workdir: Path
) -> None:
    cur.execute(
        "CREATE TEMP TABLE tmp_idents (id_type text, id_value text, user_id text, "
        "contact_id text, account_id text) ON COMMIT DROP"
    )
    cur.execute(
        "CREATE TEMP TABLE tmp_groups (group_id text, account_id text, name text, "
        "website text, traits text) ON COMMIT DROP"
    )
    for table, columns, name in (("ident_rows", IDENT_COLUMNS, "tmp_idents"),
                                 ("group_rows", GROUP_COLUMNS, "tmp_groups")):  # fmt: skip
        path = _csv(con, f"SELECT {columns} FROM {table}", {}, workdir / f"{name}.csv")
        _copy_in(cur, f"COPY {name} FROM STDIN (FORMAT csv)", path)
    now = params["received"] + "+00"
    ident, group = upserts("%s::timestamptz", "traits::json")
    cur.execute(ident, (now,))
    cur.execute(group, (now,))
