"""The SQLite side of a bulk load: ADBC ingest of Arrow batches, in a process of its own.

ADBC's SQLite driver carries its own copy of the SQLite library. Two copies of SQLite in one
process defeat each other's POSIX file locks (sqlite.org, "How To Corrupt"), so the write runs
in a spawned process that opens the workspace database alone. The loader hands it Parquet
files (events in file order, dedupe keys, identities, groups); it writes them in one
transaction and reports the rows it has written as it goes.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from sqlalchemy import Engine, select

from accord.ingest.jsonl_write import (
    GROUP_COLUMNS,
    IDENT_COLUMNS,
    BulkWriteError,
    Tick,
    dedupe_sql,
    empty,
    events_sql,
    index_ddl,
    keep_new,
    upserts,
)  # fmt: skip
from accord.store.schema import event_dedupe, events

Ddl = dict[str, tuple[list[str], list[str]]]  # table -> (drop, create) index statements
FILES = ("events", "event_dedupe", "idents", "groups")


def _existing(con: duckdb.DuckDBPyConnection, engine: Engine, source: str) -> None:
    """Table `existing(message_id)`: the keys stored for `source` (read through the engine)."""
    query = select(event_dedupe.c.message_id).where(event_dedupe.c.source == source)
    with engine.connect() as conn:
        ids = conn.execute(query).scalars().all()
    con.register("existing_arrow", pa.table({"message_id": pa.array(ids, pa.string())}))
    con.execute("CREATE TABLE existing AS SELECT * FROM existing_arrow")
    con.unregister("existing_arrow")


def _handoff(con: duckdb.DuckDBPyConnection, params: dict[str, Any], workdir: Path) -> None:
    queries = (events_sql(""), dedupe_sql(""), f"SELECT {IDENT_COLUMNS} FROM ident_rows",
               f"SELECT {GROUP_COLUMNS} FROM group_rows")  # fmt: skip
    for name, sql in zip(FILES, queries, strict=True):
        args = params if "$source" in sql else {}
        con.execute(f"COPY ({sql}) TO '{workdir / name}.parquet' (FORMAT parquet)", args)


def _batches(path: Path, tick: Tick | None = None) -> pa.RecordBatchReader:
    source = pq.ParquetFile(path)

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in source.iter_batches(batch_size=100_000):
            if tick is not None:
                tick(batch.num_rows)
            yield batch

    return pa.RecordBatchReader.from_batches(source.schema_arrow, batches())


def _write(workdir: Path, database: str, now: str, ddl: Ddl, tick: Tick) -> None:
    import adbc_driver_sqlite.dbapi as adbc

    with adbc.connect(database) as conn, conn.cursor() as cur:
        cur.execute("PRAGMA busy_timeout = 30000")
        rebuild: list[str] = []
        for table, (drops, creates) in ddl.items():
            if empty(cur, table):
                for statement in drops:
                    cur.execute(statement)
                rebuild += creates
        cur.adbc_ingest("events", _batches(workdir / "events.parquet", tick), mode="append")
        cur.adbc_ingest("event_dedupe", _batches(workdir / "event_dedupe.parquet"),
                        mode="append")  # fmt: skip
        for statement in rebuild:
            cur.execute(statement)
        cur.adbc_ingest("tmp_idents", _batches(workdir / "idents.parquet"), mode="create",
                        temporary=True)  # fmt: skip
        cur.adbc_ingest("tmp_groups", _batches(workdir / "groups.parquet"), mode="create",
                        temporary=True)  # fmt: skip
        ident, group = upserts("?", "traits")
        cur.execute(ident, (now,))
        cur.execute(group, (now,))
        cur.execute("DROP TABLE tmp_idents")
        cur.execute("DROP TABLE tmp_groups")
        conn.commit()


def _child(workdir: str, database: str, now: str, ddl: Ddl, out: Any) -> None:
    """The writer process: report ("rows", n) as it goes, then ("done", 0) or ("error", text)."""
    from adbc_driver_manager import Error as AdbcError

    try:
        _write(Path(workdir), database, now, ddl, lambda n: out.put(("rows", n)))
    except (AdbcError, pa.ArrowException, OSError) as e:
        out.put(("error", f"{type(e).__name__}: {e}"))
        return
    out.put(("done", 0))


def write_sqlite(con: duckdb.DuckDBPyConnection, engine: Engine, params: dict[str, Any],
                 workdir: Path, tick: Tick) -> int:  # fmt: skip
    """Store the load into the SQLite file of `engine`; return the rows stored."""
    _existing(con, engine, params["source"])
    stored = keep_new(con)
    _handoff(con, params, workdir)
    ddl = {t.name: index_ddl(engine, t) for t in (events, event_dedupe)}
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    args = (str(workdir), engine.url.database or "", params["received"], ddl, out)
    proc = ctx.Process(target=_child, args=args, name="jsonl-sqlite-writer", daemon=True)
    proc.start()
    try:
        _follow(proc, out, tick)
    finally:
        proc.join()
    return stored


def _follow(proc: Any, out: Any, tick: Tick) -> None:
    while True:
        try:
            kind, value = out.get(timeout=1.0)
        except queue.Empty:
            if not proc.is_alive():
                raise BulkWriteError(
                    f"events could not be stored: the writer process stopped "
                    f"(exit code {proc.exitcode})"
                ) from None
            continue
        if kind == "rows":
            tick(value)
        elif kind == "done":
            return
        else:
            raise BulkWriteError(f"events could not be stored: {value}")
