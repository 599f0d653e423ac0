"""The SQLite side of a bulk load: ADBC ingest of Arrow batches, in a process of its own.

ADBC's SQLite driver carries its own copy of the SQLite library. Two copies of SQLite in one
process defeat each other's POSIX file locks (sqlite.org, "How To Corrupt"), so the write runs
in a process of its own (`jsonl_sqlite_writer`, a script that imports only PyArrow and the
driver) that opens the workspace database alone. It is started when the load begins, so it
is ready when the loader hands it Arrow files (events in file order, dedupe keys, identities,
groups); it writes them in one transaction and reports the rows it has written as it goes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy import Engine, select

from accord.ingest.jsonl_write import (
    GROUP_COLUMNS,
    IDENT_COLUMNS,
    BulkWriteError,
    Tick,
    dedupe_sql,
    events_sql,
    index_ddl,
    keep_new,
    upserts,
)  # fmt: skip
from accord.store.schema import event_dedupe, events

FILES = ("events", "event_dedupe", "idents", "groups")
WRITER = Path(__file__).with_name("jsonl_sqlite_writer.py")
BATCH_ROWS = 100_000


class SqliteWriter:
    """The writer process: started at once, given one job by `run`, stopped by `close`."""

    def __init__(self, workdir: Path) -> None:
        self._log_path = workdir / "writer.log"
        self._log = self._log_path.open("wb")
        self._proc = subprocess.Popen(
            [sys.executable, "-I", str(WRITER)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
        )  # fmt: skip

    def __enter__(self) -> SqliteWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.close()

    def run(self, job: dict[str, Any], tick: Tick) -> None:
        """Hand `job` over and follow it to its end; raise `BulkWriteError` if it fails."""
        stdin: IO[bytes] = self._proc.stdin  # type: ignore[assignment]
        stdin.write(json.dumps(job).encode() + b"\n")
        stdin.close()
        stdout: IO[bytes] = self._proc.stdout  # type: ignore[assignment]
        for raw in stdout:
            kind, _, value = raw.decode().rstrip("\n").partition(" ")
            if kind == "rows":
                tick(int(value))
            elif kind == "done":
                return
            elif kind == "error":
                raise BulkWriteError(f"events could not be stored: {value}")
        code = self._proc.wait()
        self._log.flush()
        said = self._log_path.read_text(errors="replace").strip().splitlines()
        last = f": {said[-1]}" if said else ""
        raise BulkWriteError(
            f"events could not be stored: the writer process stopped (exit code {code}){last}"
        )

    def close(self) -> None:
        """Wait for the process (told to stop if it has no job yet)."""
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._proc.wait()
        self._log.close()


def _existing(con: duckdb.DuckDBPyConnection, engine: Engine, source: str) -> None:
    """Table `existing(message_id)`: the keys stored for `source` (read through the engine)."""
    query = select(event_dedupe.c.message_id).where(event_dedupe.c.source == source)
    with engine.connect() as conn:
        ids = conn.execute(query).scalars().all()
    con.register("existing_arrow", pa.table({"message_id": pa.array(ids, pa.string())}))
    con.execute("CREATE TABLE existing AS SELECT * FROM existing_arrow")
    con.unregister("existing_arrow")


def _handoff(con: duckdb.DuckDBPyConnection, params: dict[str, Any], workdir: Path) -> None:
    """Arrow files of the rows to write, for the writer process."""
    queries = (events_sql(""), dedupe_sql(""), f"SELECT {IDENT_COLUMNS} FROM ident_rows",
               f"SELECT {GROUP_COLUMNS} FROM group_rows")  # fmt: skip
    for name, sql in zip(FILES, queries, strict=True):
        args = params if "$source" in sql else {}
        reader = con.sql(sql, params=args or None).to_arrow_reader(BATCH_ROWS)
        with pa.OSFile(str(workdir / f"{name}.arrow"), "wb") as sink, \
                pa.ipc.new_file(sink, reader.schema) as out:  # fmt: skip
            for batch in reader:
                out.write_batch(batch)


def write_sqlite(con: duckdb.DuckDBPyConnection, engine: Engine, params: dict[str, Any],
                 workdir: Path, tick: Tick, writer: SqliteWriter) -> int:  # fmt: skip
    """Store the load into the SQLite file of `engine` through `writer`; rows stored."""
    _existing(con, engine, params["source"])
    stored = keep_new(con)
    _handoff(con, params, workdir)
    ddl = {t.name: index_ddl(engine, t) for t in (events, event_dedupe)}
    job = {"workdir": str(workdir), "database": engine.url.database or "",
           "now": params["received"], "ddl": ddl, "upserts": upserts("?", "traits")}  # fmt: skip
    writer.run(job, tick)
    return stored
