"""WAL checkpoints of a SQLite database off the commit path.

By default SQLite checkpoints inside the commit that takes the write-ahead log past 1,000
pages: that commit copies every page back into the database file and syncs it before it
returns. Behind the ingest API that is a stall of tens of milliseconds several times a
second (random message ids dirty about one index page per event), taken while the committer
holds the write lock that every writer queues for.

While a `WalCheckpointer` runs, the connections of its engine do not checkpoint on commit
(`wal_autocheckpoint` is 0 while they are checked out of the pool), and its thread does it
instead: a passive checkpoint every `interval` seconds, concurrent with the writers; and once
the log holds `restart_frames` frames, more of them until one has little left to copy, then
one under the writers' lock, which copies the few frames committed meanwhile (the lock is
held for about one sync of the database file), so that the next commit starts the log over
from its beginning (SQLite restarts the log only when every frame is back in the database
file; under a steady stream of commits a lock-free checkpoint never quite catches up, and
the log would grow without end). The checkpoints sync the database file before SQLite lets
the log be overwritten: an acknowledged event stays durable.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 0.1
RESTART_FRAMES = 16384  # 64 MiB of 4 KiB pages
# Before the checkpoint under the lock, lock-free ones until one copies at most this many
# frames (the one under the lock then copies about as many), or this many rounds.
CATCH_UP_FRAMES = 256
CATCH_UP_ROUNDS = 4
SQLITE_AUTOCHECKPOINT = 1000  # SQLite's default, restored when a connection goes back


class WalCheckpointer:
    """A thread that checkpoints the write-ahead log of `engine`'s SQLite file (see module doc).

    `lock` is the one the database's writers hold around each write transaction.
    """

    def __init__(
        self,
        engine: Engine,
        lock: AbstractContextManager[Any],
        *,
        interval: float = INTERVAL_SECONDS,
        restart_frames: int = RESTART_FRAMES,
    ) -> None:
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        if not database or database == ":memory:":
            raise ValueError("WalCheckpointer needs an engine on a SQLite database file")
        self.engine = engine
        self.database = database
        self.lock = lock
        self.interval = interval
        self.restart_frames = restart_frames
        self.checkpoints = 0
        self.restarts = 0  # checkpoints under the lock, after which the log starts over
        self.longest_hold = 0.0  # the longest time the lock was held for one, in seconds
        self._conn: sqlite3.Connection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        event.listen(self.engine, "checkout", self._checked_out)
        event.listen(self.engine, "checkin", self._checked_in)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread; connections checked out from now on checkpoint on commit again."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        event.remove(self.engine, "checkout", self._checked_out)
        event.remove(self.engine, "checkin", self._checked_in)
        self._close()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _checked_out(self, dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        dbapi_conn.execute("PRAGMA wal_autocheckpoint = 0")

    def _checked_in(self, dbapi_conn: Any, _record: Any) -> None:
        if dbapi_conn is not None:
            dbapi_conn.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_AUTOCHECKPOINT}")

    def checkpoint(self) -> tuple[int, int]:
        """One round (see the module doc); (frames in the log, frames back in the database
        file) after it, or (-1, -1) when another connection was checkpointing."""
        frames, done = self._passive()
        if frames < self.restart_frames:
            return frames, done
        for _ in range(CATCH_UP_ROUNDS):  # copy what came meanwhile, still without the lock
            previous = done
            frames, done = self._passive()
            if frames < self.restart_frames:  # another process's checkpoint restarted it
                return frames, done
            if done - previous <= CATCH_UP_FRAMES:
                break
        with self.lock:  # the few frames committed since, while no writer can add more
            started = time.perf_counter()
            frames, done = self._passive()
            held = time.perf_counter() - started
        self.restarts += 1
        self.longest_hold = max(self.longest_hold, held)
        return frames, done

    def _passive(self) -> tuple[int, int]:
        if self._conn is None:
            self._conn = sqlite3.connect(self.database, isolation_level=None,
                                         check_same_thread=False)  # fmt: skip
        busy, frames, done = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.checkpoints += 1
        return (-1, -1) if busy else (int(frames), int(done))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.checkpoint()
            except sqlite3.Error as e:  # the next round tries again; commits are unaffected
                log.error("WAL checkpoint of %s failed: %s", self.database, e)
                self._close()
        self._close()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
