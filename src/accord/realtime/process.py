"""The consumer in a child process of the server worker that starts it.

A thread of a server worker shares that worker's interpreter lock with the event loop and
the event writer: each of the consumer's database round trips then waits for the lock, and
its longer stretches of Python hold up the requests and their garbage collections. As its
own process the consumer runs beside them; it learns of every commit through
`accord.realtime.watch` (its writer is in another process now). On SQLite its saves leave
the checkpoints of the write-ahead log to the parent's writers.

Every worker starts one; one of them leads (`accord.realtime.leader`), the others wait to
take over. The child stops when its parent asks, or by itself within `PARENT_CHECK_SECONDS`
when the parent is gone; it saves what it processed either way.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event

from accord.realtime.consumer import Consumer
from accord.realtime.gcwatch import GcWatch, PacedFullCollections, freeze_alive

PARENT_CHECK_SECONDS = 0.1
# The consumer thread gives up the interpreter lock around every database call; with the
# default 5 ms switch interval each hand-back could wait that long behind the thread writing
# a window-state save or the one running the time-driven checks.
GIL_SWITCH_SECONDS = 0.0005
_FIELDS = ("ready", "alive", "leader", "processed", "fired", "last_id", "gc_max_ms",
           "gc_max_cpu_ms", "gc_total_ms", "gc_collections", "gc_worst_generation",
           "replayed", "state_saves")  # fmt: skip
_AT = {name: i for i, name in enumerate(_FIELDS)}


class ConsumerProcessError(RuntimeError):
    """The consumer process did not start (its error is in the server's log)."""


class ConsumerProcess:
    """Start, watch and stop the consumer child: `start()` returns once it has taken the lead
    and loaded its window state, or stands by; `health()` reads its counters."""

    def __init__(
        self,
        workspace: Path,
        database_url: str,
        *,
        poll_seconds: float = 0.05,
        gap_seconds: float = 0.002,
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._stats = ctx.Array("d", len(_FIELDS), lock=False)
        self._stop = ctx.Event()
        options = {"poll_seconds": poll_seconds, "gap_seconds": gap_seconds}
        args = (str(workspace), database_url, self._stats, self._stop, os.getpid(), options)
        self._proc = ctx.Process(target=_main, args=args, name="accord-consumer", daemon=True)

    def start(self, timeout: float = 60.0) -> None:
        self._proc.start()
        deadline = time.monotonic() + timeout
        while not self._stats[_AT["ready"]]:
            if not self._proc.is_alive():
                raise ConsumerProcessError(
                    f"the signal consumer process exited with code {self._proc.exitcode} "
                    "before it was ready; see the server log for its error"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise ConsumerProcessError(
                    f"the signal consumer process was not ready within {timeout:.0f} s"
                )
            time.sleep(0.01)

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the child to save and exit; end it if it has not within `timeout`."""
        self._stop.set()
        if self._proc.pid is None:
            return
        self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)

    def is_alive(self) -> bool:
        return self._proc.is_alive() and bool(self._stats[_AT["alive"]])

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def health(self) -> dict[str, Any]:
        """Liveness, leadership and counters, and the child's garbage-collector pauses."""
        s = self._stats
        return {
            "alive": self.is_alive(), "process": self._proc.pid, "leader": bool(s[_AT["leader"]]),
            "processed": int(s[_AT["processed"]]), "fired": int(s[_AT["fired"]]),
            "last_id": int(s[_AT["last_id"]]), "replayed": int(s[_AT["replayed"]]),
            "state_saves": int(s[_AT["state_saves"]]),
            "gc": {"max_pause_ms": round(s[_AT["gc_max_ms"]], 3),
                   "max_cpu_ms": round(s[_AT["gc_max_cpu_ms"]], 3),
                   "total_ms": round(s[_AT["gc_total_ms"]], 3),
                   "collections": int(s[_AT["gc_collections"]]),
                   "worst_generation": int(s[_AT["gc_worst_generation"]])},
        }  # fmt: skip


def _no_checkpoint_on_commit(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """The parent's writers keep the SQLite write-ahead log short (they checkpoint it, on
    commit or off the commit path); a save of the consumer must not copy the log back into
    the database file while it holds the write lock they queue for."""
    dbapi_conn.execute("PRAGMA wal_autocheckpoint = 0")


def _publish(stats: Any, consumer: Consumer, watch: GcWatch) -> None:
    for name, value in (
        ("alive", consumer.is_alive()), ("leader", consumer.leader.held),
        ("processed", consumer.processed), ("fired", consumer.fired),
        ("last_id", consumer.cursor.last_id), ("gc_max_ms", watch.max_ms),
        ("gc_max_cpu_ms", watch.max_cpu_ms), ("gc_total_ms", watch.total_ms),
        ("gc_collections", watch.collections), ("gc_worst_generation", watch.worst_generation or 0),
        ("replayed", consumer.replayed), ("state_saves", consumer.state_saves),
    ):  # fmt: skip
        stats[_AT[name]] = float(value)


def _main(
    workspace: str,
    database_url: str,
    stats: Any,
    stop: Any,
    parent: int,
    options: dict[str, float],
) -> None:
    """The child: lead or stand by, run the consumer thread, publish its counters, and stop
    when asked, on SIGTERM, or when the parent is gone."""
    from accord.signals import load_library
    from accord.workspace import open_workspace

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops us
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    ws = open_workspace(workspace, database_url=database_url, migrate=False)
    if ws.engine.dialect.name == "sqlite":
        event.listen(ws.engine, "checkout", _no_checkpoint_on_commit)
    try:
        specs = load_library(ws.settings.definitions_dir)
        consumer = Consumer(ws.engine, specs, **options)  # type: ignore[arg-type]
        if consumer.leader.acquire():
            consumer.open()  # the window state, before it is frozen out of the collector's way
        freeze_alive()
        watch = GcWatch(freeze_survivors=True).install()
        full_collections = PacedFullCollections().start()
        consumer.start()
        _publish(stats, consumer, watch)
        stats[_AT["ready"]] = 1.0
        while not stop.wait(PARENT_CHECK_SECONDS) and os.getppid() == parent:
            _publish(stats, consumer, watch)
            if not consumer.is_alive():
                break
        consumer.stop()
        full_collections.stop()
        _publish(stats, consumer, watch)
    finally:
        ws.close()
