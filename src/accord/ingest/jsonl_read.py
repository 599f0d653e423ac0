"""Read a Segment-format JSONL file into DuckDB as validated, classified calls.

DuckDB reads the lines (multi-threaded, with their line numbers) and validates the calls it
can prove valid in SQL (`jsonl_sql`); every other line goes through `parse_call`, so what is
accepted and what each refusal says are exactly the stream loader's. The result is the
DuckDB view `calls`: one row per valid line, in the columns the events table needs plus
the identity fields stitching reads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa  # type: ignore[import-untyped]

from accord.errors import InputError
from accord.ingest.event_catalogue import EventCatalogue, shipped_catalogue
from accord.ingest.jsonl_sql import MACROS, staged_sql
from accord.ingest.segment_jsonl import Call, parse_call

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BAD_BYTES = (b"\r", b"\x01")  # lines DuckDB's line reader cannot take as they are
PART_BYTES = 128 << 20  # the file is read and validated in parts of about this size, so
# that its raw text is never all in memory at once
EMPTY_LINES = "(SELECT NULL::BIGINT AS line, NULL::VARCHAR AS text WHERE false)"
LONG_LINE = 8 << 20  # longer lines are read by `parse_call`: DuckDB's line reader sizes its
# buffers from the longest line it accepts (unbounded, it asks for the whole file at once)
_CSV = (
    "read_csv({src}, columns={{'text': 'VARCHAR'}}, delim=chr(1), quote='', escape='', "
    f"header=false, auto_detect=false, new_line='\\n', max_line_size={2 * LONG_LINE})"
)
SLOW_COLUMNS = (
    "line", "message_id", "kind", "event_kind", "name", "team", "occurred_us", "user_id",
    "anonymous_id", "group_id", "previous_id", "email", "company", "website", "properties",
)  # fmt: skip


@dataclass
class ReadResult:
    """What reading found: the last non-blank line, and the bad lines that were skipped."""

    lines: int = 0
    skipped: int = 0
    originals: dict[int, bytes] = field(default_factory=dict)


def micros(value: datetime) -> int:
    """Microseconds since the Unix epoch."""
    return (value - EPOCH) // timedelta(microseconds=1)


def line_error(path: Path, number: int, problem: str) -> InputError:
    return InputError(
        f"{path.name} line {number}: {problem}; fix the line or pass --skip-bad-rows",
        errors=[f"{path.name}:{number}"],
    )


def open_duck(workdir: Path, threads: int, memory: str = "1GB") -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB database that spills to `workdir` when memory runs short."""
    con = duckdb.connect(":memory:")
    con.execute(f"SET threads = {max(1, threads)}")
    con.execute(f"SET memory_limit = '{memory}'")
    con.execute(f"SET temp_directory = '{workdir / 'spill'}'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    con.execute(MACROS)
    return con


def _line_parts(path: Path, size: int) -> Iterator[tuple[int, int]]:
    """(offset, length) of consecutive parts of `path`, each about `size` bytes and ending
    at a line's end (the last one at the file's end)."""
    total = path.stat().st_size
    with path.open("rb") as fh:
        start = 0
        while start < total:
            fh.seek(min(start + max(size, 1), total) - 1)
            fh.readline()
            end = min(fh.tell(), total)
            yield start, end - start
            start = end


def _copy_part(path: Path, offset: int, length: int, out: Path) -> Path:
    """Bytes `offset` to `offset + length` of `path`, copied to `out` (in the kernel when it
    can)."""
    with path.open("rb") as src, out.open("wb") as dst:
        done = 0
        try:
            while done < length:
                step = os.copy_file_range(src.fileno(), dst.fileno(), length - done,
                                          offset + done)  # fmt: skip
                if step == 0:
                    break
                done += step
        except OSError:  # no copy_file_range between these files: copy through memory
            src.seek(offset + done)
            dst.seek(done)
            while done < length and (block := src.read(min(8 << 20, length - done))):
                dst.write(block)
                done += len(block)
    return out


def _lines_table(
    con: duckdb.DuckDBPyConnection, path: Path, workdir: Path, first: int
) -> dict[int, bytes]:
    """Table `lines(line, text)` of `path`, numbered from `first`; lines DuckDB cannot read
    as they are come back as originals."""
    lines = (
        "CREATE OR REPLACE TABLE lines AS SELECT row_number() OVER () + $skip AS line, text "
        "FROM " + _CSV.format(src="$path")
    )
    try:
        con.execute(lines, {"path": str(path), "skip": first - 1})
        return {}
    except duckdb.Error:
        con.execute("DROP TABLE IF EXISTS lines")
    clean, originals = _sanitised(path, workdir / "clean.jsonl", first)
    con.execute(lines, {"path": str(clean), "skip": first - 1})
    clean.unlink()
    return originals


def _sanitised(path: Path, out: Path, first: int = 1) -> tuple[Path, dict[int, bytes]]:
    """A copy of `path` whose odd lines (bad UTF-8, CR, control bytes, very long) are
    blanked out; their originals by line number, counted from `first`."""
    originals: dict[int, bytes] = {}
    with path.open("rb") as src, out.open("wb") as dst:
        for number, line in enumerate(src, start=first):
            body = line.rstrip(b"\n")
            if body.endswith(b"\r"):
                body = body[:-1]
            try:
                body.decode()
                odd = len(body) > LONG_LINE or any(b in body for b in BAD_BYTES)
            except UnicodeDecodeError:
                odd = True
            if odd:
                originals[number] = body
                body = b"\x02"
            dst.write(body + b"\n")
    return out, originals


def _classify_table(con: duckdb.DuckDBPyConnection, catalogue: EventCatalogue) -> None:
    """Table `classes`: the catalogue's (kind, team) for every distinct (type, name, path)."""
    combos = con.execute(
        "SELECT DISTINCT kind, name, path FROM staged WHERE ok AND kind IS NOT NULL"
    ).fetchall()
    found = [catalogue.classify(kind, name, path) for kind, name, path in combos]
    names = ("kind", "name", "path", "ckind", "cteam")
    columns = [*zip(*combos, strict=True), *zip(*found, strict=True)] if combos else [()] * 5
    schema = pa.schema([(n, pa.string()) for n in names])
    table = pa.table([pa.array(list(c), pa.string()) for c in columns], schema=schema)
    con.register("classes_arrow", table)
    con.execute("CREATE TABLE classes AS SELECT * FROM classes_arrow")
    con.unregister("classes_arrow")


def _slow_lines(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[int, str | None]]:
    cur = con.execute("SELECT line, text FROM staged WHERE NOT ok ORDER BY line")
    while rows := cur.fetchmany(10_000):
        yield from rows


def _slow_row(line: int, call: Call) -> tuple[Any, ...]:
    return (
        line, call.message_id, call.kind, call.event_kind, call.name, call.team,
        micros(call.occurred_at), call.user_id, call.anonymous_id, call.group_id,
        call.previous_id, call.email, call.company, call.website, call.properties,
    )  # fmt: skip


def _parse_slow(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    received_at: datetime,
    catalogue: EventCatalogue,
    skip_bad_rows: bool,
    result: ReadResult,
) -> list[tuple[Any, ...]]:
    """Lines SQL could not vouch for, through `parse_call`; the first bad one raises."""
    rows: list[tuple[Any, ...]] = []
    for line, text in _slow_lines(con):
        raw = result.originals.get(line, (text or "").encode())
        if not raw.strip():
            continue
        result.lines = max(result.lines, line)
        try:
            call = parse_call(orjson.loads(raw), received_at=received_at, catalogue=catalogue)
        except orjson.JSONDecodeError as e:
            problem = f"not valid JSON ({e})"
        except InputError as e:
            problem = e.message
        else:
            rows.append(_slow_row(line, call))
            continue
        if not skip_bad_rows:
            raise line_error(path, line, problem)
        result.skipped += 1
    return rows


def _slow_table(con: duckdb.DuckDBPyConnection, rows: list[tuple[Any, ...]]) -> None:
    types = {"line": pa.int64(), "occurred_us": pa.int64()}
    schema = pa.schema([(n, types.get(n, pa.string())) for n in SLOW_COLUMNS])
    columns: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else []
    columns = columns or [() for _ in SLOW_COLUMNS]
    table = pa.table([pa.array(c, type=t) for c, t in zip(columns, schema.types, strict=True)],
                     schema=schema)  # fmt: skip
    con.register("slow_arrow", table)
    con.execute("CREATE TABLE slow_calls AS SELECT * FROM slow_arrow")
    con.unregister("slow_arrow")


CALLS_VIEW = """
CREATE VIEW calls AS
SELECT s.line, s.message_id, s.kind, coalesce(s.xkind, c.ckind) AS event_kind, s.name,
    left(coalesce(s.team, c.cteam), 20) AS team, s.occurred_us, s.user_id, s.anonymous_id,
    s.group_id, s.previous_id, s.email, s.company, s.website, s.properties
FROM staged s JOIN classes c ON s.kind = c.kind AND s.name IS NOT DISTINCT FROM c.name
    AND s.path IS NOT DISTINCT FROM c.path
WHERE s.ok
UNION ALL BY NAME SELECT * FROM slow_calls
"""

Step = Callable[[str], None]


def read_calls(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    workdir: Path,
    *,
    received_at: datetime,
    catalogue: EventCatalogue | None = None,
    skip_bad_rows: bool = False,
    step: Step | None = None,
) -> ReadResult:
    """Fill the DuckDB view `calls` from `path`; raise on its first bad line unless skipping."""
    catalogue = catalogue or shipped_catalogue()
    say = step or (lambda _: None)
    say("reading and validating lines")
    result, first = ReadResult(), 1
    received = {"received": micros(received_at)}
    con.execute(f"CREATE TABLE staged AS {staged_sql(EMPTY_LINES)}", received)
    part = workdir / "part.jsonl"
    for offset, length in _line_parts(path, PART_BYTES):
        _copy_part(path, offset, length, part)
        result.originals.update(_lines_table(con, part, workdir, first))
        part.unlink()
        first += int(con.execute("SELECT count(*) FROM lines").fetchall()[0][0])
        con.execute(f"INSERT INTO staged {staged_sql('lines')}", received)
    con.execute("DROP TABLE IF EXISTS lines")
    last = con.execute("SELECT coalesce(max(line), 0) FROM staged WHERE ok").fetchall()
    result.lines = int(last[0][0])
    say("checking the other lines")
    slow = _parse_slow(con, path, received_at, catalogue, skip_bad_rows, result)
    _slow_table(con, slow)
    _classify_table(con, catalogue)
    con.execute(CALLS_VIEW)
    return result
