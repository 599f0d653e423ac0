"""The SQLite side of a bulk load: ADBC ingest of Arrow streams, in a process of its own.

ADBC's SQLite driver carries its own copy of the SQLite library. Two copies of SQLite in one
process defeat each other's POSIX file locks (sqlite.org, "How To Corrupt"), so the write runs
in a process of its own (`jsonl_sqlite_writer`, a script that imports only PyArrow and the
driver) that opens the workspace database alone. It is started when the load begins and
given its job as soon as the keys to store are known; the rows then stream to it through a
pipe, in one transaction, while the loader works on: the dedupe keys go in while identities
are stitched (sent from a thread, through a DuckDB cursor of their own), the events while
DuckDB produces them.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy import Engine, select

from accord.background import Background
from accord.ingest.jsonl_write import (
    GROUP_COLUMNS,
    IDENT_COLUMNS,
    BulkWriteError,
    Tick,
    dedupe_sql,
    events_sql,
    index_ddl,
    upserts,
)  # fmt: skip
from accord.store.schema import event_dedupe, events

WRITER = Path(__file__).with_name("jsonl_sqlite_writer.py")
BATCH_ROWS = 100_000
COMMIT = b"commit\n"


class SqliteWriter:
    """The writer process: started at once, given one job by `begin`, its rows by `send`
    (in the job's order) and its end by `finish`; `close` stops it, keeping nothing unless
    the job was finished."""

    def __init__(self, workdir: Path) -> None:
        self._log_path = workdir / "writer.log"
        self._log = self._log_path.open("wb")
        self._proc = subprocess.Popen(
            [sys.executable, "-I", str(WRITER)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
        )  # fmt: skip
        self._said: queue.Queue[bytes] = queue.Queue()
        self._listener = threading.Thread(target=self._listen, daemon=True)
        self._listener.start()
        self._sender: Background[None] | None = None
        self._finished = False

    def __enter__(self) -> SqliteWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        self.close()

    def _listen(self) -> None:
        stdout: IO[bytes] = self._proc.stdout  # type: ignore[assignment]
        for raw in stdout:
            self._said.put(raw)
        self._said.put(b"")  # the end of its output

    @property
    def _stdin(self) -> IO[bytes]:
        return self._proc.stdin  # type: ignore[return-value]

    def begin(self, job: dict[str, Any]) -> None:
        """Hand the job over: the writer opens its transaction."""
        self._write(json.dumps(job).encode() + b"\n")

    def _write(self, data: bytes) -> None:
        try:
            self._stdin.write(data)
            self._stdin.flush()
        except OSError:
            self._failed()

    def _stream(self, reader: pa.RecordBatchReader, tick: Tick | None) -> None:
        try:
            with pa.ipc.new_stream(self._stdin, reader.schema) as out:
                for batch in reader:
                    out.write_batch(batch)
                    if tick is not None:
                        self._pump(tick)
            self._stdin.flush()
        except OSError:
            self._failed()

    def send(self, reader: pa.RecordBatchReader, tick: Tick | None = None) -> None:
        """Stream the next table's rows, after those sent in the background."""
        self._wait_sender()
        self._stream(reader, tick)

    def send_later(self, rows: Callable[[], pa.RecordBatchReader]) -> None:
        """Stream the next table's rows from a thread; `rows` runs in that thread."""
        self._wait_sender()
        self._sender = Background(lambda: self._stream(rows(), None))

    def _wait_sender(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.result()

    def _pump(self, tick: Tick, block: bool = False) -> bool:
        """Report the rows the writer has stored; True once it is done."""
        while True:
            try:
                raw = self._said.get(block=block)
            except queue.Empty:
                return False
            kind, _, value = raw.decode().rstrip("\n").partition(" ")
            if kind == "rows":
                tick(int(value))
            elif kind == "done":
                return True
            elif kind == "error":
                raise BulkWriteError(f"events could not be stored: {value}")
            elif not raw:
                self._failed()

    def finish(self, tick: Tick) -> None:
        """Let the writer commit and wait for it; raise `BulkWriteError` if it fails."""
        self._wait_sender()
        self._write(COMMIT)
        try:
            self._stdin.close()
        except OSError:
            self._failed()
        while not self._pump(tick, block=True):
            pass
        self._finished = True

    def _failed(self) -> None:
        """The writer stopped: raise what it said."""
        code = self._proc.wait()
        self._listener.join()
        while not self._said.empty():
            kind, _, value = self._said.get().decode().rstrip("\n").partition(" ")
            if kind == "error":
                raise BulkWriteError(f"events could not be stored: {value}")
        self._log.flush()
        said = self._log_path.read_text(errors="replace").strip().splitlines()
        last = f": {said[-1]}" if said else ""
        raise BulkWriteError(
            f"events could not be stored: the writer process stopped (exit code {code}){last}"
        )

    def close(self) -> None:
        """Wait for the process; one whose job is unfinished is stopped first (it stores
        nothing)."""
        if not self._finished and self._proc.poll() is None and self._sender is not None:
            self._proc.kill()  # the sending thread then stops on a broken pipe
        if self._sender is not None:
            self._sender.thread.join()
            self._sender = None
        if not self._stdin.closed:
            with contextlib.suppress(OSError):  # a writer already gone
                self._stdin.close()
        self._proc.wait()
        self._listener.join()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._log.close()


def existing_keys(con: duckdb.DuckDBPyConnection, engine: Engine, source: str) -> None:
    """Table `existing(message_id)`: the keys stored for `source` (read through the engine)."""
    query = select(event_dedupe.c.message_id).where(event_dedupe.c.source == source)
    with engine.connect() as conn:
        ids = conn.execute(query).scalars().all()
    con.register("existing_arrow", pa.table({"message_id": pa.array(ids, pa.string())}))
    con.execute("CREATE TABLE existing AS SELECT * FROM existing_arrow")
    con.unregister("existing_arrow")


def start_sqlite(con: duckdb.DuckDBPyConnection, engine: Engine, params: dict[str, Any],
                 writer: SqliteWriter) -> None:  # fmt: skip
    """Open the writer's transaction and send it the dedupe keys (table `keep`) from a thread,
    through a cursor of its own, while the loader goes on."""
    ddl = {t.name: index_ddl(engine, t) for t in (events, event_dedupe)}
    job = {"database": engine.url.database or "", "now": params["received"], "ddl": ddl,
           "upserts": upserts("?", "traits")}  # fmt: skip
    writer.begin(job)
    cursor = con.cursor()

    def rows() -> pa.RecordBatchReader:
        return cursor.sql(dedupe_sql(""), params=params).to_arrow_reader(BATCH_ROWS)

    writer.send_later(rows)


def finish_sqlite(con: duckdb.DuckDBPyConnection, params: dict[str, Any], tick: Tick,
                  writer: SqliteWriter) -> None:  # fmt: skip
    """Stream the identities and groups learnt and the stitched events to the writer, and
    let it commit."""
    for table, columns in (("ident_rows", IDENT_COLUMNS), ("group_rows", GROUP_COLUMNS)):
        writer.send(con.sql(f"SELECT {columns} FROM {table}").to_arrow_reader(BATCH_ROWS))
    writer.send(con.sql(events_sql(""), params=params).to_arrow_reader(BATCH_ROWS), tick)
    writer.finish(tick)
