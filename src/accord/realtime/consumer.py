"""The durable real-time consumer: committed events, in id order, into the signal engine.

Each step reads the events committed since the cursor, feeds them to
`SignalEngine.on_events`, and stores the window state, the fired signals and the new cursor
in one transaction: after a crash or restart a new consumer resumes exactly where the last
commit left off, with no event counted twice or skipped (see `accord.realtime.cursor` for
ids committed out of order). It polls every few milliseconds, and wakes at once when the
writer in the same process says it committed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, or_, select, text
from sqlalchemy.exc import SQLAlchemyError

from accord.realtime.cursor import Cursor, load_cursor, save_cursor
from accord.realtime.leader import Leadership
from accord.signals import LoadedSignal, Signal, SignalEngine
from accord.store.schema import events

log = logging.getLogger(__name__)

COLUMNS = (
    events.c.id, events.c.message_id, events.c.occurred_at, events.c.received_at,
    events.c.kind, events.c.name, events.c.team, events.c.account_id, events.c.contact_id,
    events.c.properties,
)  # fmt: skip
GAPS_PER_READ = 64
_SNAPSHOT = text(
    "SELECT pg_snapshot_xmin(s)::text::bigint, pg_snapshot_xmax(s)::text::bigint "
    "FROM pg_current_snapshot() AS s"
)


class _Bound:
    """Engine-shaped access to one open connection, so the signal engine's flush joins the
    consumer's transaction (state, signals and cursor commit together)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        yield self.conn

    connect = begin


@dataclass
class Read:
    """What one poll saw: rows to process, new cursor, and whether more are waiting."""

    rows: list[Mapping[str, Any]]
    cursor: Cursor
    more: bool


def _snapshot(conn: Connection) -> tuple[int, int]:
    row = conn.execute(_SNAPSHOT).one()
    return int(row[0]), int(row[1])


def read_batch(conn: Connection, cursor: Cursor, limit: int) -> Read:
    """Committed events not yet processed (unseen gap ids first, then new ids), in id order."""
    pg = conn.dialect.name == "postgresql"
    nxt = cursor.copy()
    rows: list[Mapping[str, Any]] = []
    more = False
    if nxt.gaps:
        xmin = _snapshot(conn)[0]
        asked = nxt.gaps[:GAPS_PER_READ]
        q = select(*COLUMNS).where(or_(*(events.c.id.between(lo, hi) for lo, hi, _ in asked)))
        rows = [dict(r) for r in conn.execute(q.order_by(events.c.id).limit(limit)).mappings()]
        nxt.fill(r["id"] for r in rows)
        full = len(rows) >= limit
        more = full
        top = rows[-1]["id"] if rows else 0
        nxt.drop(g for g in nxt.ripe(xmin) if g in asked and (not full or g[1] < top))
    room = limit - len(rows)
    if room > 0:
        q = select(*COLUMNS).where(events.c.id > nxt.high_id).order_by(events.c.id).limit(room)
        new: list[Mapping[str, Any]] = [dict(r) for r in conn.execute(q).mappings()]
        ids = [r["id"] for r in new]
        holes = bool(ids) and ids[-1] - nxt.high_id != len(ids)
        horizon = _snapshot(conn)[1] if pg and holes else None
        nxt.add_new(ids, horizon)
        rows += new
        more = more or len(new) >= room
    rows.sort(key=lambda r: r["id"])
    return Read(rows, nxt, more)


class Consumer:
    """Tails the events table into a `SignalEngine`; run `step()` yourself or `start()` a
    thread. One consumer per `name` is active at a time (see `accord.realtime.leader`)."""

    def __init__(
        self,
        engine: Engine,
        specs: Sequence[LoadedSignal],
        *,
        name: str = "signals",
        batch: int = 2000,
        poll_seconds: float = 0.005,
        tick_seconds: float = 60.0,
        wake: threading.Event | None = None,
    ) -> None:
        self.engine = engine
        self.specs = list(specs)
        self.name = name
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.tick_seconds = tick_seconds
        self.wake = wake or threading.Event()
        self.leader = Leadership(engine, name)
        self.processed = 0
        self.fired = 0
        self.cursor = Cursor(name)
        self.signals: SignalEngine | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_tick = 0.0

    # --- one step at a time ---------------------------------------------------------------

    def open(self) -> None:
        """Load the cursor and the signal engine's saved window state."""
        with self.engine.connect() as conn:
            self.cursor = load_cursor(conn, self.name)
        self.signals = SignalEngine(self.engine, self.specs)

    def step(self) -> tuple[int, bool]:
        """Process what is committed past the cursor (up to `batch` events) in one
        transaction; return (events processed, whether more are waiting)."""
        if self.signals is None:
            self.open()
        assert self.signals is not None
        with self.engine.connect() as conn:
            read = read_batch(conn, self.cursor, self.batch)
        if not read.rows and read.cursor == self.cursor:
            return 0, False
        fired = self._commit(self.signals, read)
        self.cursor = read.cursor
        self.processed += len(read.rows)
        self.fired += len(fired)
        return len(read.rows), read.more

    def _commit(self, signals: SignalEngine, read: Read) -> list[Signal]:
        real = signals.engine
        try:
            with self.engine.begin() as conn:
                signals.engine = _Bound(conn)  # type: ignore[assignment]
                try:
                    fired = signals.on_events(read.rows)
                finally:
                    signals.engine = real
                save_cursor(conn, read.cursor)
        except SQLAlchemyError:
            self.signals = None  # its memory is ahead of the store: reload on the next step
            raise
        return fired

    def drain(self) -> int:
        """Step until nothing committed is left; return how many events were processed."""
        total, more = self.step()
        while more:
            n, more = self.step()
            total += n
        return total

    def seek_end(self) -> Cursor:
        """Skip to the newest committed event (after a batch run has covered the history)."""
        with self.engine.begin() as conn:
            high = conn.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one()
            self.cursor = Cursor(self.name, int(high))
            save_cursor(conn, self.cursor)
        return self.cursor

    def tick(self, now: datetime | None = None) -> list[Signal]:
        """Evaluate the time-driven definitions (deal stall, renewal) as of `now`."""
        if self.signals is None:
            self.open()
        assert self.signals is not None
        return self.signals.tick(now or datetime.now(UTC))

    # --- as a thread ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"consumer-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.leader.release()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_forever(self) -> None:
        """Wait for leadership, then poll until `stop()`."""
        if not self.leader.held:
            while not self.leader.acquire():
                if self._stop.wait(1.0):
                    return
            self.open()  # what the previous leader stored
        log.info("consumer %s active from event id %s", self.name, self.cursor.last_id)
        while not self._stop.is_set():
            more = self._safe_step()
            self._maybe_tick()
            if not more and self.wake.wait(self.poll_seconds):
                self.wake.clear()

    _run = run_forever

    def _safe_step(self) -> bool:
        try:
            return self.step()[1]
        except SQLAlchemyError as e:
            log.error("consumer %s: %s; retrying", self.name, e)
            self.signals = None
            self._stop.wait(0.5)
            return False

    def _maybe_tick(self) -> None:
        now = datetime.now(UTC)
        if now.timestamp() < self._next_tick:
            return
        self._next_tick = now.timestamp() + self.tick_seconds
        try:
            self.tick(now)
        except SQLAlchemyError as e:
            log.error("consumer %s: time-driven check failed: %s", self.name, e)
            self.signals = None
