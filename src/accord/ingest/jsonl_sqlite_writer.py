"""The SQLite writer of a bulk load, run as a script in a process of its own.

It imports only PyArrow and the ADBC SQLite driver (not the `accord` package), so it starts
in a fraction of a second; the loader starts it first and hands it the job as soon as it
knows the keys to store. Everything comes on stdin: the job as one JSON line (`database`,
`now`, `ddl`: per table, the index statements to drop before and create after the rows when
it is empty, and the two upsert statements), then four Arrow IPC streams in this order:
dedupe keys, identities, groups, events (in file order); then the line `commit`. The rows
go in as they arrive, in one transaction, committed only once the `commit` line has come: a
loader that stops half-way leaves nothing behind. It reports on stdout `rows N` as events
go in, then `done`, or `error TEXT`. End of stdin before a job: exit.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import IO, Any

import pyarrow as pa  # type: ignore[import-untyped]

COMMIT = b"commit\n"


class Incomplete(Exception):
    """The loader stopped before the end of its job."""


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def stream(source: IO[bytes], count: bool = False) -> pa.RecordBatchReader:
    """The next Arrow IPC stream of `source`, reporting the rows read when `count`."""
    reader = pa.ipc.open_stream(source)
    if not count:
        return reader

    def read() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            say(f"rows {batch.num_rows}")
            yield batch

    return pa.RecordBatchReader.from_batches(reader.schema, read())


def empty(cur: Any, table: str) -> bool:
    cur.execute(f"SELECT 1 FROM {table} LIMIT 1")
    return cur.fetchone() is None


def write(job: dict[str, Any], source: IO[bytes]) -> None:
    """Store the streams that follow the job on `source` in one transaction."""
    import adbc_driver_sqlite.dbapi as adbc

    with adbc.connect(job["database"]) as conn, conn.cursor() as cur:
        cur.execute("PRAGMA busy_timeout = 30000")
        rebuild: dict[str, list[str]] = {}
        for table, (drops, creates) in job["ddl"].items():
            if empty(cur, table):
                for statement in drops:
                    cur.execute(statement)
                rebuild[table] = creates
        cur.adbc_ingest("event_dedupe", stream(source), mode="append")
        for statement in rebuild.get("event_dedupe", []):
            cur.execute(statement)
        for temp in ("tmp_idents", "tmp_groups"):
            cur.adbc_ingest(temp, stream(source), mode="create", temporary=True)
        for statement in job["upserts"]:
            cur.execute(statement, (job["now"],))
        cur.execute("DROP TABLE tmp_idents")
        cur.execute("DROP TABLE tmp_groups")
        cur.adbc_ingest("events", stream(source, count=True), mode="append")
        for statement in rebuild.get("events", []):
            cur.execute(statement)
        if source.readline() != COMMIT:
            raise Incomplete("the loader stopped before the end of its job")
        conn.commit()


def main() -> int:
    from adbc_driver_manager import Error as AdbcError

    source = sys.stdin.buffer
    line = source.readline()
    if not line.strip():
        return 0
    try:
        write(json.loads(line), source)
    except (AdbcError, pa.ArrowException, OSError, Incomplete) as e:
        say(f"error {type(e).__name__}: {e}".replace("\n", " "))
        return 1
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
