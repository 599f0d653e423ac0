"""Wake the consumer when any process commits to the database.

The writer in the consumer's own process wakes it directly; a commit by another process (a
second server worker, an import) is seen by a `CommitWatch` thread:

- on SQLite it reads `PRAGMA data_version` every `interval` seconds on its own connection
  (the number changes whenever another connection commits; one read costs microseconds and
  no I/O), and sets the wake event when it moved;
- on PostgreSQL it LISTENs on `CHANNEL`, which every event writer NOTIFYs after its commit
  (`CommitNotifier`), and sets the wake event on each notification.

The consumer still polls at its own pace: a lost wake-up only delays a step, it never loses
an event.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

CHANNEL = "accord_events"
SQLITE_INTERVAL = 0.002
LISTEN_TIMEOUT = 0.5  # how often the PostgreSQL listener checks that it should stop


def _errors(engine: Engine) -> tuple[type[BaseException], ...]:
    dbapi = getattr(engine.dialect, "loaded_dbapi", None)
    base: tuple[type[BaseException], ...] = (SQLAlchemyError, sqlite3.Error, OSError)
    return (*base, dbapi.Error) if dbapi is not None else base


def _detached_driver(engine: Engine) -> Any:
    """A driver connection of `engine` in autocommit, out of its pool (closed by the caller)."""
    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    pooled.detach()
    if driver is None:
        raise ConnectionError("the database engine gave a closed connection")
    driver.autocommit = True
    return driver


class CommitWatch:
    """A thread that sets `wake` soon after another connection commits (see module doc)."""

    def __init__(
        self, engine: Engine, wake: threading.Event, *, interval: float = SQLITE_INTERVAL
    ) -> None:
        self.engine = engine
        self.wake = wake
        self.interval = interval
        self.wakes = 0
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread: threading.Thread | None = None
        self._errors = _errors(engine)
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._database = database if database and database != ":memory:" else None

    @property
    def supported(self) -> bool:
        """Whether other processes' commits can be watched (not an in-memory SQLite)."""
        return self.engine.dialect.name == "postgresql" or self._database is not None

    def start(self, timeout: float = 5.0) -> None:
        """Start the thread and wait (up to `timeout` seconds) until it watches: a commit
        made after `start()` returns wakes the consumer, whatever the thread's pace."""
        if not self.supported or self.is_alive():
            return
        self._stop.clear()
        self._listening.clear()
        run = self._run_pg if self.engine.dialect.name == "postgresql" else self._run_sqlite
        self._thread = threading.Thread(target=self._guarded, args=(run,), daemon=True,
                                        name="commit-watch")  # fmt: skip
        self._thread.start()
        if not self._listening.wait(timeout):
            log.warning("commit watch: not watching after %.0f s; the consumer polls", timeout)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _guarded(self, run: Any) -> None:
        """Run the watch; on a database error log it, wait a second and start again."""
        while not self._stop.is_set():
            try:
                run()
            except self._errors as e:  # a watch failure only slows the consumer down
                log.warning("commit watch: %s; the consumer falls back to polling for now", e)
                self._stop.wait(1.0)

    def _run_sqlite(self) -> None:
        assert self._database is not None
        conn = sqlite3.connect(self._database, check_same_thread=False, isolation_level=None)
        try:
            read = conn.cursor().execute
            seen = read("PRAGMA data_version").fetchone()[0]
            self._listening.set()
            while not self._stop.wait(self.interval):
                now = read("PRAGMA data_version").fetchone()[0]
                if now != seen:
                    seen = now
                    self.wakes += 1
                    self.wake.set()
        finally:
            conn.close()

    def _run_pg(self) -> None:
        conn = _detached_driver(self.engine)
        try:
            conn.execute(f"LISTEN {CHANNEL}")
            self._listening.set()
            while not self._stop.is_set():
                for _ in conn.notifies(timeout=LISTEN_TIMEOUT):
                    self.wakes += 1
                    self.wake.set()
                    if self._stop.is_set():
                        break
        finally:
            conn.close()


class CommitNotifier:
    """NOTIFY `CHANNEL` after commits (PostgreSQL; a no-op on SQLite, whose watchers read
    `data_version`). `notify()` only flags the commit: a thread of its own sends the NOTIFY
    on its own connection, one for every commit flagged meanwhile, so the writer never waits
    for that round trip; after each it waits `gap` seconds (the consumer takes no more than
    one step per gap anyway), so under load one NOTIFY covers every commit of its gap. A
    failure is logged, never raised: the events are committed and the consumer's poll still
    finds them."""

    def __init__(self, engine: Engine, *, gap: float = 0.0) -> None:
        self.engine = engine
        self.gap = gap
        self.enabled = engine.dialect.name == "postgresql"
        self.sent = 0
        self._conn: Any = None
        self._errors = _errors(engine)
        self._flag = threading.Event()
        self._stop = False
        self._pending = False
        self._thread: threading.Thread | None = None

    def notify(self) -> None:
        if not self.enabled:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="commit-notify", daemon=True)
            self._thread.start()
        self._pending = True
        self._flag.set()

    def _run(self) -> None:
        while True:
            self._flag.wait()
            self._flag.clear()
            if self._pending:
                self._pending = False
                self._send()
                if self.gap > 0 and not self._stop:
                    time.sleep(self.gap)  # commits meanwhile share the next NOTIFY
            if self._stop:
                return

    def _send(self) -> None:
        try:
            if self._conn is None or self._conn.closed:
                self._conn = _detached_driver(self.engine)
            self._conn.execute(f"NOTIFY {CHANNEL}")
            self.sent += 1
        except self._errors as e:  # see the class doc
            log.warning("commit notify failed: %s", e)
            self._close_conn()

    def close(self) -> None:
        """Send what is flagged, stop the thread and close its connection."""
        if self._thread is not None:
            self._stop = True
            self._flag.set()
            self._thread.join(5.0)
            self._thread = None
        self._close_conn()

    def _close_conn(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except self._errors:  # closing a broken connection
                log.debug("commit notifier: closing its connection failed")
            self._conn = None
