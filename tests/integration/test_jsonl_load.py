"""Bulk JSONL loads on both databases: dedupe, re-loads, failures that leave nothing behind."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pyarrow as pa  # type: ignore[import-untyped]
import pytest
from sqlalchemy import inspect, text

from accord.errors import AccordError
from accord.graph.stitch import IdentityStitcher
from accord.ingest import jsonl_read
from accord.ingest.jsonl_bulk import bulk_load, duckdb_memory
from accord.ingest.jsonl_read import LONG_LINE
from accord.ingest.jsonl_sqlite import SqliteWriter
from accord.ingest.jsonl_write import GROUP_COLUMNS, IDENT_COLUMNS, upserts
from accord.workspace import Workspace
from tests.integration.test_segment_jsonl import count, demo_calls, run_cli, write_jsonl

FAIL_SQLITE = "CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'no'); END"
FAIL_PG = (
    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no'; END $$ "
    "LANGUAGE plpgsql; CREATE TRIGGER refuse BEFORE INSERT ON events "
    "FOR EACH ROW EXECUTE FUNCTION refuse()"
)


def test_bulk_load_reload_stores_nothing_new(workspace: Workspace, tmp_path: Path) -> None:
    calls = demo_calls(40)
    calls.append({**calls[5], "event": "Second copy"})  # same messageId: the first line wins
    path = write_jsonl(tmp_path / "events.jsonl", calls)
    first = bulk_load(workspace.engine, path, stitcher=IdentityStitcher.load(workspace.engine))
    assert (first.lines, first.stored, first.duplicates) == (43, 42, 1)
    assert count(workspace, "SELECT count(*) FROM events WHERE name = 'Second copy'") == 0
    again = bulk_load(workspace.engine, path, stitcher=IdentityStitcher.load(workspace.engine))
    assert (again.stored, again.duplicates) == (0, 43)
    assert count(workspace, "SELECT count(*) FROM events") == 42
    assert count(workspace, "SELECT count(*) FROM event_dedupe") == 42
    other = bulk_load(workspace.engine, path, source="other")
    assert other.stored == 42


def test_bulk_load_of_an_empty_file_stores_nothing(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    done = bulk_load(workspace.engine, path)
    assert (done.lines, done.stored, done.duplicates) == (0, 0, 0)
    assert count(workspace, "SELECT count(*) FROM events") == 0


def test_bulk_load_keeps_file_order_in_event_ids(workspace: Workspace, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "events.jsonl", demo_calls(200))
    bulk_load(workspace.engine, path)
    with workspace.engine.connect() as conn:
        ids = [m for (m,) in conn.execute(text("SELECT message_id FROM events ORDER BY id"))]
    assert ids == [str(c["messageId"]) for c in demo_calls(200)]


def test_bulk_load_rejects_refused_write_and_leaves_schema(
    workspace: Workspace, tmp_path: Path
) -> None:
    sqlite = workspace.engine.dialect.name == "sqlite"
    with workspace.engine.begin() as conn:
        conn.exec_driver_sql(FAIL_SQLITE if sqlite else FAIL_PG)
    indexes = {ix["name"] for ix in inspect(workspace.engine).get_indexes("events")}
    path = write_jsonl(tmp_path / "events.jsonl", demo_calls(30))
    with pytest.raises(AccordError, match="events could not be stored") as caught:
        bulk_load(workspace.engine, path)
    assert caught.value.exit_code == 1
    assert count(workspace, "SELECT count(*) FROM events") == 0
    assert count(workspace, "SELECT count(*) FROM event_dedupe") == 0
    after = {ix["name"] for ix in inspect(workspace.engine).get_indexes("events")}
    assert after == indexes
    assert inspect(workspace.engine).get_pk_constraint("event_dedupe")["constrained_columns"]
    assert "ix_events_account_id_occurred_at" in after


def _keys(workspace: Workspace) -> dict[str, tuple[object, ...]]:
    """Primary key and index names and columns of the tables a bulk load writes."""
    found = inspect(workspace.engine)
    keys: dict[str, tuple[object, ...]] = {}
    for table in ("events", "event_dedupe"):
        pk = found.get_pk_constraint(table)
        indexes = sorted((ix["name"], tuple(ix["column_names"])) for ix in found.get_indexes(table))
        keys[table] = (tuple(pk["constrained_columns"]), *indexes)
    return keys


def test_bulk_load_into_empty_tables_rebuilds_every_key(
    workspace: Workspace, tmp_path: Path
) -> None:
    before = _keys(workspace)
    calls = demo_calls(50)
    path = write_jsonl(tmp_path / "events.jsonl", calls)
    assert bulk_load(workspace.engine, path).stored == len(calls)
    assert _keys(workspace) == before
    assert before["event_dedupe"][0] == ("source", "message_id")
    assert bulk_load(workspace.engine, path, source="other").stored == len(calls)
    assert count(workspace, "SELECT count(DISTINCT id) FROM events") == 2 * len(calls)


def test_events_load_cli_skips_bad_rows_and_reloads(db_url: str, tmp_path: Path) -> None:
    bad = (b'{"type": "track", "userId": "u"}', b"{oops")
    path = write_jsonl(tmp_path / "mixed.jsonl", demo_calls(8), bad)
    refused = run_cli(tmp_path / "ws", "events", "load", str(path), db_url=db_url)
    assert refused.returncode == 2
    assert "mixed.jsonl line 11: event: a track call needs a non-empty event name" in (
        refused.stderr
    )
    loaded = run_cli(tmp_path / "ws", "events", "load", str(path), "--skip-bad-rows",
                     db_url=db_url)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert "10 stored, 0 duplicates, 2 skipped" in loaded.stderr
    again = run_cli(tmp_path / "ws", "events", "load", str(path), "--skip-bad-rows",
                    "--no-progress", db_url=db_url)  # fmt: skip
    assert "0 stored, 10 duplicates, 2 skipped" in again.stderr
    stats = run_cli(tmp_path / "ws", "stats", "--json", db_url=db_url)
    assert orjson.loads(stats.stdout)["events"] == 10


def _children() -> set[int]:
    """Process ids whose parent is this process (from /proc)."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.add(int(entry.name))
    return found


def test_bulk_load_rejects_bad_line_and_stops_its_writer(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    before = _children()
    calls: list[object] = [*demo_calls(5)]
    path = write_jsonl(tmp_path / "events.jsonl", calls, (b"{oops",))
    with pytest.raises(AccordError, match=r"events\.jsonl line 8: not valid JSON") as caught:
        bulk_load(sqlite_workspace.engine, path)
    assert caught.value.exit_code == 2
    assert _children() == before
    assert count(sqlite_workspace, "SELECT count(*) FROM events") == 0


class _FailingLookup:
    """An account index that breaks on its first look-up (the load is under way by then)."""

    def by_email(self, email: str) -> tuple[str | None, str | None]:
        raise RuntimeError("lookup broke")

    def by_company(self, name: str | None, website: str | None) -> str | None:
        raise RuntimeError("lookup broke")


class _BrokenStitcher:
    def __init__(self, real: IdentityStitcher) -> None:
        self.real = real

    @property
    def index(self) -> _FailingLookup:
        return _FailingLookup()

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def test_bulk_load_failing_while_keys_are_stored_stores_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    before = _children()
    keys = _keys(workspace)
    path = write_jsonl(tmp_path / "events.jsonl", demo_calls(300))
    broken = _BrokenStitcher(IdentityStitcher.load(workspace.engine))
    with pytest.raises(RuntimeError, match="lookup broke"):
        bulk_load(workspace.engine, path, stitcher=broken)  # type: ignore[arg-type]
    assert _children() == before
    assert count(workspace, "SELECT count(*) FROM event_dedupe") == 0
    assert count(workspace, "SELECT count(*) FROM events") == 0
    assert _keys(workspace) == keys
    assert bulk_load(workspace.engine, path).stored == 302


def test_sqlite_writer_stores_nothing_without_the_commit_line(
    sqlite_workspace: Workspace, tmp_path: Path
) -> None:
    engine = sqlite_workspace.engine
    text_of = {"source": "s", "message_id": "m1", "received_at": "2025-01-01 00:00:00.000000"}
    row = {"message_id": "m1", "source": "s", "occurred_at": text_of["received_at"],
           "received_at": text_of["received_at"], "kind": "custom", "name": "x", "team": None,
           "account_id": None, "contact_id": None, "user_id": "u", "anonymous_id": None,
           "properties": "{}"}  # fmt: skip
    nothing = {c: pa.array([], pa.string()) for c in IDENT_COLUMNS.split(", ")}
    groups = {c: pa.array([], pa.string()) for c in GROUP_COLUMNS.split(", ")}
    job = {"database": engine.url.database, "now": text_of["received_at"], "ddl": {},
           "upserts": upserts("?", "traits")}  # fmt: skip
    with SqliteWriter(tmp_path) as writer:
        writer.begin(job)
        for table in (pa.Table.from_pylist([text_of]), pa.table(nothing), pa.table(groups),
                      pa.Table.from_pylist([row])):  # fmt: skip
            writer.send(table.to_reader())
    assert count(sqlite_workspace, "SELECT count(*) FROM event_dedupe") == 0
    assert count(sqlite_workspace, "SELECT count(*) FROM events") == 0


def test_bulk_load_reads_very_long_lines_through_the_stream_parser(
    workspace: Workspace, tmp_path: Path
) -> None:
    calls: list[object] = [*demo_calls(3)]
    long_call = {"type": "track", "userId": "u9", "event": "Big", "messageId": "big-1",
                 "properties": {"blob": "x" * (LONG_LINE * 2 + 10)}}  # fmt: skip
    calls.insert(2, long_call)
    path = write_jsonl(tmp_path / "events.jsonl", calls, (b'{"type": "track"}',))
    with pytest.raises(AccordError, match=r"events\.jsonl line 7: "):
        bulk_load(workspace.engine, path)
    report = bulk_load(workspace.engine, path, skip_bad_rows=True)
    assert (report.lines, report.stored, report.skipped) == (7, 6, 1)
    with workspace.engine.connect() as conn:
        ids = [m for (m,) in conn.execute(text("SELECT message_id FROM events ORDER BY id"))]
        blob = conn.execute(text("SELECT properties FROM events WHERE message_id = 'big-1'"))
        stored = blob.scalar_one()
    assert ids == [str(c["messageId"]) for c in calls]  # type: ignore[index]
    props = stored if isinstance(stored, dict) else orjson.loads(stored)
    assert len(props["blob"]) == LONG_LINE * 2 + 10


def test_line_parts_cover_the_file_and_end_at_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"a\n" + b"x" * 50 + b"\n\nbb\nccc")  # a long line, a blank, no final \n
    parts = list(jsonl_read._line_parts(path, 4))
    data = path.read_bytes()
    assert [data[o : o + n] for o, n in parts] == [b"a\n" + b"x" * 50 + b"\n", b"\nbb\n", b"ccc"]
    copied = jsonl_read._copy_part(path, *parts[1], tmp_path / "part.jsonl")
    assert copied.read_bytes() == b"\nbb\n"


def test_bulk_load_read_in_small_parts_keeps_line_numbers(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts of a few lines each: line numbers run on across parts (so refusals name the
    right line), odd lines of later parts still reach the stream parser, order is kept."""
    monkeypatch.setattr(jsonl_read, "PART_BYTES", 300)
    calls = demo_calls(40)
    lines = [orjson.dumps(c) for c in calls]
    lines.insert(10, b"")  # a blank line
    lines[20] = lines[20] + b"\r"  # a CRLF line end
    lines.insert(31, b'{"type": "track", "userId": "u\xff", "event": "E"}')  # bad UTF-8
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    with pytest.raises(AccordError, match=r"events\.jsonl line 32: not valid JSON"):
        bulk_load(workspace.engine, path)
    assert count(workspace, "SELECT count(*) FROM events") == 0
    report = bulk_load(workspace.engine, path, skip_bad_rows=True)
    assert (report.lines, report.stored, report.skipped) == (len(lines), len(calls), 1)
    with workspace.engine.connect() as conn:
        ids = [m for (m,) in conn.execute(text("SELECT message_id FROM events ORDER BY id"))]
    assert ids == [str(c["messageId"]) for c in calls]


@pytest.mark.parametrize(("held", "limit"), [(0, "1536MB"), (1000, "544MB"), (1800, "384MB")])
def test_duckdb_gets_what_is_left_of_the_peak(held: int, limit: str) -> None:
    assert duckdb_memory(held) == limit
