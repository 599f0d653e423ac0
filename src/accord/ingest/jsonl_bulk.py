"""Bulk loading of Segment-format JSONL event files, set-based through DuckDB.

The file is read and validated by DuckDB (`jsonl_read`), stitched to accounts and contacts
with window functions (`jsonl_stitch`), deduplicated by (source, messageId) and stored in one
transaction (`jsonl_write`). Every event gets the answer the stream loader would give it:
same validation and messages, same kind and team, same account and contact.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine

from accord.errors import InputError
from accord.ingest.event_catalogue import EventCatalogue
from accord.ingest.jsonl_read import open_duck, read_calls
from accord.ingest.jsonl_sqlite import SqliteWriter, existing_keys, finish_sqlite, start_sqlite
from accord.ingest.jsonl_stitch import BulkStitcher, no_stitching, stitch_calls
from accord.ingest.jsonl_write import PostgresWriter, new_keys
from accord.store.events import utc_text

# The most memory a load may bring its process to, DuckDB's included. Measured at 10M events:
# the process peaks ~140 MB above it (1900 gave 2,043 MB), so it sits below a 2 GB budget.
PEAK_MB = 1800
DUCKDB_MB = (384, 1536)  # the least and the most DuckDB is given
OUTSIDE_MB = 256  # what the load holds outside DuckDB's limit (Arrow batches, lookups)


def resident_mb() -> int:
    """The memory this process holds now (0 where the system does not tell)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE") >> 20


def duckdb_memory(held_mb: int) -> str:
    """DuckDB's memory limit for a load in a process that already holds `held_mb`: what is
    left of `PEAK_MB` (DuckDB spills the rest to disk), within `DUCKDB_MB`."""
    low, high = DUCKDB_MB
    return f"{min(high, max(low, PEAK_MB - OUTSIDE_MB - held_mb))}MB"


@dataclass
class LoadReport:
    lines: int = 0  # the last non-blank line
    stored: int = 0
    duplicates: int = 0  # valid lines whose messageId was seen before
    skipped: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.lines / self.seconds if self.seconds else 0.0


class Progress(Protocol):
    """Where a load reports its phases and the events it has written."""

    def phase(self, name: str, total: int | None = None) -> None: ...

    def advance(self, rows: int) -> None:
        """Called from the thread that stores the events, which may not be the caller's."""
        ...


class _Silent:
    def phase(self, name: str, total: int | None = None) -> None:
        return None

    def advance(self, rows: int) -> None:
        return None


PARALLEL_AT_BYTES = 16 << 20  # smaller files are read by one DuckDB thread


def default_threads() -> int:
    return os.cpu_count() or 1


def bulk_load(
    engine: Engine,
    path: Path,
    *,
    source: str = "jsonl",
    stitcher: BulkStitcher | None = None,
    skip_bad_rows: bool = False,
    catalogue: EventCatalogue | None = None,
    threads: int | None = None,
    progress: Progress | None = None,
) -> LoadReport:
    """Load a Segment-format JSONL file in one transaction; messageId dedupes re-loads.

    Without `stitcher`, events are stored with no account or contact. The first bad line
    raises `InputError` (nothing stored) unless `skip_bad_rows`, which counts it.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file; give the path of a .jsonl event file")
    show = progress or _Silent()
    started, received_at = time.perf_counter(), datetime.now(UTC)
    report = LoadReport()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="accord-jsonl-")))
        sqlite = engine.dialect.name == "sqlite"
        big = path.stat().st_size >= PARALLEL_AT_BYTES
        threads = threads or (default_threads() if big else 1)
        con = open_duck(workdir, threads, duckdb_memory(resident_mb()))
        stack.callback(con.close)
        # started now, so that it is ready when the keys are; stopped before DuckDB closes
        writer = stack.enter_context(SqliteWriter(workdir)) if sqlite else None
        read = read_calls(con, path, workdir, received_at=received_at, catalogue=catalogue,
                          skip_bad_rows=skip_bad_rows, step=show.phase)  # fmt: skip
        report.lines, report.skipped = read.lines, read.skipped
        valid = int(con.execute("SELECT count(*) FROM calls").fetchall()[0][0])
        params = {"source": source, "received": utc_text(received_at)}
        pg = None if sqlite else stack.enter_context(PostgresWriter(engine, workdir))
        if writer is not None:  # the dedupe keys go in while identities are stitched
            existing_keys(con, engine, source)
            report.stored = new_keys(con)
            start_sqlite(con, engine, params, writer)
        elif pg is not None:
            report.stored = pg.start(con, params)
        show.phase("stitching identities")
        if stitcher is None:
            no_stitching(con)
        else:
            stitch_calls(con, stitcher)
        show.phase("storing events", report.stored)
        if writer is not None:
            finish_sqlite(con, params, show.advance, writer)
        elif pg is not None:
            pg.finish(con, params, show.advance)
    report.duplicates = valid - report.stored
    report.seconds = time.perf_counter() - started
    return report
