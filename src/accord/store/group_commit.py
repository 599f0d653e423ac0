"""The group-commit writer behind the ingest API.

One thread takes every queued request, writes them all in one transaction, commits, and only
then acknowledges each request: an acknowledged event is durable, and the commit cost is
shared by everything that arrived meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from accord.store.events import COPY_AT_LEAST, EventRow, write_events_raw, write_learnt_raw
from accord.store.wal_checkpoint import INTERVAL_SECONDS, RESTART_FRAMES, WalCheckpointer

log = logging.getLogger(__name__)


class StoreWriteError(RuntimeError):
    """Events could not be committed (the database refused or is unreachable)."""


Done = Callable[[int, BaseException | None], None]


@dataclass(slots=True)
class WriteRequest:
    """One request's rows, acknowledged once they are committed.

    With `loop` the writer settles `waiter` (an asyncio future of that loop) or calls
    `done(row count, error or None)` in that loop, waking each loop once per commit whatever
    the number of requests in it; without a loop, `submit` gives the request a `future`
    that resolves to the row count.
    """

    rows: list[EventRow]
    identities: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    attach: list[tuple[str, str, str | None]] = field(default_factory=list)
    loop: asyncio.AbstractEventLoop | None = None
    waiter: asyncio.Future[int] | None = None
    future: Future[int] | None = None
    done: Done | None = None


_STOP = WriteRequest(rows=[])
Outcome = tuple[WriteRequest, BaseException | None]
Written = tuple[list[WriteRequest], BaseException | None]  # requests written together, error


def _settle(outcomes: list[Outcome]) -> None:
    """Acknowledge requests in their loop's thread: one call per loop and commit."""
    for req, error in outcomes:
        if req.done is not None:
            req.done(len(req.rows), error)
            continue
        waiter = req.waiter
        if waiter is None or waiter.done():
            continue
        if error is None:
            waiter.set_result(len(req.rows))
        else:
            waiter.set_exception(error)


class WriterLock:
    """An exclusive file lock beside a SQLite database, held around each write transaction.

    Several server processes then queue for the write lock in the kernel (the next one runs
    as soon as the lock is free) instead of SQLite's busy handler, which sleeps 1-100 ms.
    Turns go round: a process waits for the lock while holding a second one (`.next`), so a
    holder that lets go and comes straight back queues behind the process already waiting.
    (The kernel wakes a waiter when the lock is let go but does not hand it over: a busy
    ingest writer took it back before the waiter ran, time after time, and the signal
    consumer waited tens of milliseconds for each of its short writes.)
    """

    def __init__(self, database: str) -> None:
        self.path = f"{database}.writer.lock"
        self._fh: IO[bytes] | None = None
        self._next: IO[bytes] | None = None

    def __enter__(self) -> None:
        if self._fh is None or self._next is None:  # kept open for the writer's life
            self._fh = open(self.path, "ab")
            self._next = open(f"{self.path}.next", "ab")
        fcntl.flock(self._next.fileno(), fcntl.LOCK_EX)
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX)
        finally:
            fcntl.flock(self._next.fileno(), fcntl.LOCK_UN)

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)

    def close(self) -> None:
        for fh in (self._fh, self._next):
            if fh is not None:
                fh.close()
        self._fh = self._next = None


class GroupCommitWriter:
    """A thread that commits queued requests together and acknowledges each after its commit.

    It keeps one connection for its lifetime and writes through the DBAPI driver directly,
    in a few statements per commit whatever the number of rows (each statement hands the
    GIL back and forth once). `on_commit` runs in the writer thread after each commit.

    On a SQLite file, a `WalCheckpointer` runs beside it: no commit checkpoints the log.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        max_rows: int = 20_000,
        linger: float = 0.0,
        checkpoint_seconds: float = INTERVAL_SECONDS,
        checkpoint_frames: int = RESTART_FRAMES,
    ) -> None:
        self.engine = engine
        self.max_rows = max_rows
        self.linger = linger
        self.commits = 0
        self._sqlite = engine.dialect.name == "sqlite"
        database = engine.url.database if self._sqlite else None
        file_db = bool(database) and database != ":memory:"
        self._lock = WriterLock(database) if file_db and database else contextlib.nullcontext()
        self.checkpointer: WalCheckpointer | None = None
        self._checkpoint_lock: WriterLock | None = None
        if file_db and database:
            self._checkpoint_lock = WriterLock(database)
            self.checkpointer = WalCheckpointer(engine, self._checkpoint_lock,
                                                interval=checkpoint_seconds,
                                                restart_frames=checkpoint_frames)  # fmt: skip
        self._errors: tuple[type[BaseException], ...] = (SQLAlchemyError,)
        dbapi = getattr(engine.dialect, "loaded_dbapi", None)
        if dbapi is not None:
            self._errors += (dbapi.Error,)
        self._conn: Connection | None = None
        self._queue: queue.SimpleQueue[WriteRequest] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)

    def start(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.start()
        self._thread.start()

    def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        if self.checkpointer is not None:
            self.checkpointer.stop()
        if self._checkpoint_lock is not None:
            self._checkpoint_lock.close()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, request: WriteRequest) -> None:
        if request.loop is None and request.future is None:
            request.future = Future()
        self._queue.put(request)

    def on_commit(self) -> None:
        """Called in the writer thread after each successful commit."""

    def _take(self, taken: list[WriteRequest], until: float | None) -> bool:
        """Add queued requests to `taken`, up to `max_rows` rows, waiting for more until the
        monotonic time `until` (None: only those queued now); whether the stop request came."""
        rows = sum(len(req.rows) for req in taken)
        while rows < self.max_rows:
            try:
                if until is None:
                    item = self._queue.get_nowait()
                else:
                    wait = until - time.monotonic()
                    if wait <= 0:
                        break
                    item = self._queue.get(timeout=wait)
            except queue.Empty:
                break
            if item is _STOP:
                return True
            taken.append(item)
            rows += len(item.rows)
        return False

    def _run(self) -> None:
        """Commit what is queued, again and again. The requests of a commit are taken once
        this writer holds the database's write lock (on SQLite it waits for it while another
        process commits, through that commit's sync): a request that arrives meanwhile joins
        this commit instead of waiting for the next one."""
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            taken = [first]
            stopping = self.linger > 0 and self._take(taken, time.monotonic() + self.linger)
            with self._lock:
                stopping = stopping or self._take(taken, None)
                done = self._commit(taken)
            # Answered once the lock is let go: the event loops it wakes take the interpreter
            # lock at once, and every other writer would wait while this one waited for it.
            self._answer(done)
        if self._conn is not None:
            self._conn.close()
        if isinstance(self._lock, WriterLock):
            self._lock.close()

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.invalidated or self._conn.closed:
            self._conn = self.engine.connect()
            if self._sqlite:  # an acknowledged event must survive a power cut, not only a crash
                self._conn.exec_driver_sql("PRAGMA synchronous=FULL")
                # Multi-row statements in a transaction keep a statement journal; past 64 KiB
                # (a few dozen random index pages) SQLite spills it to a temporary file,
                # created, written and deleted in every commit. Keep it in memory.
                self._conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
        return self._conn

    def _write(self, taken: list[WriteRequest]) -> None:
        conn = self._connection()
        raw = conn.connection.driver_connection
        if raw is None:
            raise RuntimeError("event writer: the database connection is closed")
        rows = taken[0].rows if len(taken) == 1 else [r for req in taken for r in req.rows]
        learnt = any(req.identities or req.groups or req.attach for req in taken)
        try:
            if self._sqlite:  # under the writer lock `_take` took
                raw.execute("BEGIN IMMEDIATE")
                self._write_rows(raw, "sqlite", rows, taken, learnt)
            elif len(rows) < COPY_AT_LEAST:  # the statements and COMMIT in one round trip
                with raw.pipeline():
                    self._write_rows(raw, "postgresql", rows, taken, learnt)
            else:  # COPYs: no pipeline mode
                self._write_rows(raw, "postgresql", rows, taken, learnt)
        except self._errors:
            self._rollback(conn, raw)
            raise
        self.commits += 1

    def _write_rows(
        self, raw: Any, dialect: str, rows: list[EventRow], taken: list[WriteRequest],
        learnt: bool,
    ) -> None:  # fmt: skip
        write_events_raw(raw, dialect, rows)
        if learnt:
            write_learnt_raw(raw, dialect, [i for req in taken for i in req.identities],
                             [g for req in taken for g in req.groups],
                             [link for req in taken for link in req.attach])  # fmt: skip
        raw.commit()

    def _rollback(self, conn: Connection, raw: Any) -> None:
        try:
            raw.rollback()
            if conn.in_transaction():
                conn.rollback()
        except self._errors:
            conn.invalidate()
            self._conn = None

    def _commit(self, taken: list[WriteRequest]) -> list[Written]:
        """Write `taken` in one transaction, or one request at a time when that fails (one
        bad request must not fail the others); each request's outcome, for `_answer`."""
        try:
            self._write(taken)
        except self._errors as e:
            if len(taken) > 1:
                return [done for req in taken for done in self._commit([req])]
            log.error("event write failed: %s", e)
            return [(taken, StoreWriteError(f"events could not be stored: {e}"))]
        return [(taken, None)]

    def _answer(self, done: list[Written]) -> None:
        """Settle every request's answer, then `on_commit` when something was committed."""
        for taken, error in done:
            self._resolve(taken, error)
        if any(error is None for _, error in done):
            self.on_commit()

    def _resolve(self, taken: list[WriteRequest], error: BaseException | None) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
        for req in taken:
            if req.future is not None:
                if error is None:
                    req.future.set_result(len(req.rows))
                else:
                    req.future.set_exception(error)
            if req.loop is not None:
                by_loop.setdefault(req.loop, []).append((req, error))
        for loop, outcomes in by_loop.items():
            try:
                loop.call_soon_threadsafe(_settle, outcomes)
            except RuntimeError:  # the loop closed: nobody waits any more
                continue
