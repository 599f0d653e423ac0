"""Event writes behind the ingest API: deduplicated multi-row inserts and the group-commit
writer, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sqlalchemy import func, select

from accord.api.app import PacedWake
from accord.store.events import EventRow, utc_text, write_events
from accord.store.group_commit import GroupCommitWriter, WriteRequest
from accord.store.schema import event_dedupe, events
from accord.workspace import Workspace

NOW = utc_text(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))


def rows(ids: range, source: str = "src") -> list[EventRow]:
    return [
        EventRow(f"m-{i}", source, NOW, NOW, "product", "Report Created", None, None, None,
                 f"u{i}", None, f'{{"rows": {i}}}')
        for i in ids
    ]  # fmt: skip


def stored(ws: Workspace) -> list[str]:
    with ws.engine.connect() as conn:
        return list(conn.scalars(select(events.c.message_id).order_by(events.c.id)))


def test_write_events_stores_each_message_once_in_order(workspace: Workspace) -> None:
    first = rows(range(300))  # a full 256-row chunk and power-of-two remainders
    with workspace.engine.begin() as conn:
        assert write_events(conn, first + first[:5]) == 300
    again = rows(range(290, 310)) + rows(range(3), source="other")
    with workspace.engine.begin() as conn:
        assert write_events(conn, again) == 13
    assert stored(workspace) == [f"m-{i}" for i in range(310)] + ["m-0", "m-1", "m-2"]
    with workspace.engine.connect() as conn:
        keys = conn.execute(select(func.count()).select_from(event_dedupe)).scalar_one()
    assert keys == 313


def test_group_commit_writer_acknowledges_committed_rows(workspace: Workspace) -> None:
    writer = GroupCommitWriter(workspace.engine)
    committed = threading.Event()
    writer.on_commit = committed.set  # type: ignore[method-assign]
    writer.start()
    try:
        requests = [WriteRequest(rows(range(i * 10, i * 10 + 10))) for i in range(20)]
        requests.append(WriteRequest(rows(range(5))))  # retries of acknowledged events
        for request in requests:
            writer.submit(request)
        results = [r.future.result(timeout=30) for r in requests if r.future is not None]
    finally:
        writer.stop()
    assert results == [10] * 20 + [5]
    assert committed.is_set()
    assert sorted(stored(workspace)) == sorted(f"m-{i}" for i in range(200))


def test_group_commit_writers_share_one_sqlite_database(sqlite_workspace: Workspace) -> None:
    """Two writers (as in two server processes) queue for the write lock; none fails."""
    writers = [GroupCommitWriter(sqlite_workspace.engine) for _ in range(2)]
    for writer in writers:
        writer.start()
    requests = [WriteRequest(rows(range(i * 50, i * 50 + 50))) for i in range(40)]
    try:
        for i, request in enumerate(requests):
            writers[i % 2].submit(request)
        results = [r.future.result(timeout=60) for r in requests if r.future is not None]
    finally:
        for writer in writers:
            writer.stop()
    assert results == [50] * 40
    assert len(stored(sqlite_workspace)) == 2000


def test_paced_wake_waits_out_its_gap() -> None:
    wake = PacedWake(0.05)
    wake.set()
    assert wake.wait(1.0)  # the first wake is at once
    wake.set()
    started = time.monotonic()
    assert wake.wait(1.0)
    assert time.monotonic() - started >= 0.04
    wake.clear()
    started = time.monotonic()
    assert not wake.wait(0.01)  # nothing set: returns after the gap and the timeout
    assert time.monotonic() - started >= 0.05
