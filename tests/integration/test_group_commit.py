"""What the group-commit writer puts in one commit, on a SQLite file shared by processes."""

from __future__ import annotations

import fcntl
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from accord.store.events import EventRow
from accord.store.group_commit import GroupCommitWriter, StoreWriteError, WriteRequest, WriterLock
from accord.store.schema import events
from accord.workspace import Workspace

NOW = "2025-03-01 12:00:00.000000"


def request(n: int) -> WriteRequest:
    rows = [
        EventRow(uuid.uuid4().hex, "src", NOW, NOW, "track", "Report Created", None, None,
                 None, "u1", None, "{}")
        for _ in range(n)
    ]  # fmt: skip
    return WriteRequest(rows)


def taken(writer: GroupCommitWriter, timeout: float = 10.0) -> None:
    """Wait until the writer has taken everything submitted so far off its queue."""
    deadline = time.monotonic() + timeout
    while not writer._queue.empty():
        assert time.monotonic() < deadline, "the writer never took the request"
        time.sleep(0.001)


def test_requests_queued_while_another_process_commits_join_the_next_commit(
    sqlite_workspace: Workspace,
) -> None:
    """The writer waits for the write lock before it takes its requests: what arrives while
    another process holds the lock (through that one's commit and sync) is committed in the
    same transaction as what came first, not one commit later."""
    engine = sqlite_workspace.engine
    writer = GroupCommitWriter(engine, checkpoint_seconds=3600)
    other = WriterLock(str(engine.url.database))  # another server process's writer
    writer.start()
    try:
        with other:
            first = request(3)
            writer.submit(first)
            taken(writer)  # the writer holds `first` and waits for the lock
            time.sleep(0.05)
            later = [request(2) for _ in range(4)]
            for req in later:
                writer.submit(req)
            time.sleep(0.05)
            assert first.future is not None
            assert not first.future.done()
        results = [r.future.result(timeout=30) for r in (first, *later) if r.future is not None]
    finally:
        writer.stop()
        other.close()
    assert results == [3, 2, 2, 2, 2]
    assert writer.commits == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 11


def test_the_write_lock_is_free_between_commits(sqlite_workspace: Workspace) -> None:
    """Another process gets the lock as soon as a commit has ended, also after a failed one."""
    engine = sqlite_workspace.engine
    writer = GroupCommitWriter(engine, checkpoint_seconds=3600)
    other = WriterLock(str(engine.url.database))
    writer.start()
    try:
        ok = request(5)
        writer.submit(ok)
        assert ok.future is not None
        assert ok.future.result(timeout=30) == 5
        bad = request(1)
        bad.rows[0] = bad.rows[0]._replace(source=None)  # NOT NULL: the commit fails
        writer.submit(bad)
        assert bad.future is not None
        assert bad.future.exception(timeout=30) is not None
        started = time.monotonic()
        with other:
            assert time.monotonic() - started < 5.0
    finally:
        writer.stop()
        other.close()


def test_a_waiting_writer_gets_the_lock_before_the_holder_gets_it_back(tmp_path: Path) -> None:
    """Turns go round: a holder that lets the lock go and asks for it again at once queues
    behind the writer already waiting (the kernel alone would let the holder take it back)."""
    database = str(tmp_path / "accord.db")
    holder, waiter = WriterLock(database), WriterLock(database)
    order: list[str] = []
    asked = threading.Event()

    def wait_for_it() -> None:
        asked.set()
        with waiter:
            order.append("waiter")
            time.sleep(0.05)

    holder.__enter__()
    thread = threading.Thread(target=wait_for_it)
    thread.start()
    try:
        asked.wait(10)
        deadline = time.monotonic() + 10
        while _lock_is_free(f"{holder.path}.next"):  # until the waiter queues, holding `.next`
            assert time.monotonic() < deadline, "the waiter never queued"
            time.sleep(0.005)
        holder.__exit__(None, None, None)
        with holder:
            order.append("holder")
    finally:
        thread.join(10)
        holder.close()
        waiter.close()
    assert order == ["waiter", "holder"]


class CountingWriter(GroupCommitWriter):
    """Counts `on_commit` calls, and whether the write lock was free at each."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: list[bool] = []

    def on_commit(self) -> None:
        # whether another process could take the lock now
        self.calls.append(_lock_is_free(WriterLock(str(self.engine.url.database)).path))


def _lock_is_free(path: str) -> bool:
    with open(path, "ab") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return True


def test_a_bad_request_fails_alone_and_answers_come_after_the_lock_is_let_go(
    sqlite_workspace: Workspace,
) -> None:
    """Requests committed together: a bad one fails alone (the others are written one by
    one), and the answers and the commit hook come once the write lock is free again."""
    engine = sqlite_workspace.engine
    writer = CountingWriter(engine, checkpoint_seconds=3600)
    other = WriterLock(str(engine.url.database))
    writer.start()
    try:
        with other:
            good, bad, later = request(2), request(1), request(3)
            bad.rows[0] = bad.rows[0]._replace(source=None)  # NOT NULL: the commit fails
            writer.submit(good)
            taken(writer)  # the writer holds `good` and waits for the lock
            writer.submit(bad)
            writer.submit(later)  # both join `good`'s commit once the lock is free
        assert good.future is not None
        assert bad.future is not None
        assert later.future is not None
        assert good.future.result(timeout=30) == 2
        assert later.future.result(timeout=30) == 3
        assert isinstance(bad.future.exception(timeout=30), StoreWriteError)
    finally:
        writer.stop()
        other.close()
    assert writer.calls == [True]  # once, with the lock free
    assert writer.commits == 2
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 5
