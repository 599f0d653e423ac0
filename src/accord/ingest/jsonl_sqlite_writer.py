"""The SQLite writer of a bulk load, run as a script in a process of its own.

It imports only PyArrow and the ADBC SQLite driver (not the `accord` package), so it starts
in a fraction of a second; the loader starts it first and hands it the job when the Arrow
files are ready. The job is one JSON line on stdin: `workdir` (holding `events.arrow`,
`event_dedupe.arrow`, `idents.arrow`, `groups.arrow`), `database`, `now`, `ddl` (per table,
the index statements to drop before and create after the rows when it is empty) and the two
upsert statements. It writes everything in one transaction and reports on stdout
`rows N` as events go in, then `done`, or `error TEXT`. End of stdin before a job: exit.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def batches(path: Path, count: bool = False) -> pa.RecordBatchReader:
    """The record batches of an Arrow file, reporting the rows read when `count`."""
    source = pa.ipc.open_file(pa.memory_map(str(path)))

    def read() -> Iterator[pa.RecordBatch]:
        for i in range(source.num_record_batches):
            batch = source.get_batch(i)
            if count:
                say(f"rows {batch.num_rows}")
            yield batch

    return pa.RecordBatchReader.from_batches(source.schema, read())


def empty(cur: Any, table: str) -> bool:
    cur.execute(f"SELECT 1 FROM {table} LIMIT 1")
    return cur.fetchone() is None


def write(job: dict[str, Any]) -> None:
    """Store the job's files in one transaction."""
    import adbc_driver_sqlite.dbapi as adbc

    workdir = Path(job["workdir"])
    with adbc.connect(job["database"]) as conn, conn.cursor() as cur:
        cur.execute("PRAGMA busy_timeout = 30000")
        rebuild: list[str] = []
        for table, (drops, creates) in job["ddl"].items():
            if empty(cur, table):
                for statement in drops:
                    cur.execute(statement)
                rebuild += creates
        cur.adbc_ingest("events", batches(workdir / "events.arrow", True), mode="append")
        cur.adbc_ingest("event_dedupe", batches(workdir / "event_dedupe.arrow"), mode="append")
        for statement in rebuild:
            cur.execute(statement)
        for name, temp in (("idents", "tmp_idents"), ("groups", "tmp_groups")):
            reader = batches(workdir / f"{name}.arrow")
            cur.adbc_ingest(temp, reader, mode="create", temporary=True)
        for statement in job["upserts"]:
            cur.execute(statement, (job["now"],))
        cur.execute("DROP TABLE tmp_idents")
        cur.execute("DROP TABLE tmp_groups")
        conn.commit()


def main() -> int:
    from adbc_driver_manager import Error as AdbcError

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    try:
        write(json.loads(line))
    except (AdbcError, pa.ArrowException, OSError) as e:
        say(f"error {type(e).__name__}: {e}".replace("\n", " "))
        return 1
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
