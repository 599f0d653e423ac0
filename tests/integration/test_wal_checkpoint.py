"""WAL checkpoints off the commit path (`accord.store.wal_checkpoint`) behind the
group-commit writer, on a SQLite file."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import func, select

from accord.store.events import EventRow
from accord.store.group_commit import GroupCommitWriter, WriteRequest
from accord.store.schema import events
from accord.workspace import Workspace

NOW = "2025-03-01 12:00:00.000000"
FRAME = 24 + 4096  # a log frame: its header and one page


def rows(n: int) -> list[EventRow]:
    """Rows with random message ids: each dirties its own page of the dedupe index."""
    return [
        EventRow(uuid.uuid4().hex, "src", NOW, NOW, "track", "Report Created", None, None,
                 None, "u1", None, "{}")
        for _ in range(n)
    ]  # fmt: skip


def autocheckpoint(ws: Workspace) -> int:
    with ws.engine.connect() as conn:
        return int(conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def commit(writer: GroupCommitWriter, n: int) -> None:
    request = WriteRequest(rows(n))
    writer.submit(request)
    assert request.future is not None
    assert request.future.result(timeout=30) == n


def stored(ws: Workspace) -> int:
    with ws.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def test_checkpoint_rounds_start_the_log_over_once_it_is_long(sqlite_workspace: Workspace) -> None:
    """Without them, commits would grow the log to SQLite's 1,000-page autocheckpoint (or
    without end with the autocheckpoint off)."""
    engine = sqlite_workspace.engine
    wal = Path(f"{engine.url.database}-wal")
    writer = GroupCommitWriter(engine, checkpoint_seconds=3600, checkpoint_frames=64)
    writer.start()
    checkpointer = writer.checkpointer
    assert checkpointer is not None
    largest = 0
    try:
        for _ in range(100):
            commit(writer, 20)
            largest = max(largest, wal.stat().st_size)
            checkpointer.checkpoint()
    finally:
        writer.stop()
    assert checkpointer.restarts > 0
    assert largest < 300 * FRAME
    assert stored(sqlite_workspace) == 2000


def test_checkpoint_thread_keeps_the_log_short_under_steady_commits(
    sqlite_workspace: Workspace,
) -> None:
    engine = sqlite_workspace.engine
    wal = Path(f"{engine.url.database}-wal")
    writer = GroupCommitWriter(engine, checkpoint_seconds=0.002, checkpoint_frames=64)
    writer.start()
    largest = 0
    try:
        for _ in range(300):
            commit(writer, 20)
            largest = max(largest, wal.stat().st_size)
    finally:
        writer.stop()
    assert writer.checkpointer is not None
    assert writer.checkpointer.restarts > 0
    assert largest < 1000 * FRAME  # SQLite's own checkpoints let it reach 1,000 frames
    assert stored(sqlite_workspace) == 6000


def test_connections_leave_checkpoints_to_the_thread_while_the_writer_runs(
    sqlite_workspace: Workspace,
) -> None:
    writer = GroupCommitWriter(sqlite_workspace.engine)
    writer.start()
    try:
        assert writer.checkpointer is not None
        assert writer.checkpointer.is_alive()
        assert autocheckpoint(sqlite_workspace) == 0
    finally:
        writer.stop()
    assert autocheckpoint(sqlite_workspace) == 1000  # SQLite's default once it stops
