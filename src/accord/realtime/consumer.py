"""The durable real-time consumer: committed events, in id order, into the signal engine.

Each step reads the events committed since the cursor and feeds them to the
`SignalEngine`. Two cursors are stored:

- `name`: how far the signals are stored. A step that fires stores its signals and this
  cursor in one short transaction at once.
- `name.state` (`state_name`): how far the stored window state goes. The changed window
  state is saved beside the steps, by a thread of its own, at most every `save_seconds` and
  no more than `STATE_SAVE_SHARE` of the time: a state (a window of entries) can be large,
  and rewriting it on every fired step would hold every signal behind it.

On `open()` the consumer loads the stored state and replays the events between the two
cursors through the engine without building signals (those are stored), so a restart loses
nothing and repeats no signal; steps then go on from `name`. See `accord.realtime.cursor`
for ids committed out of order. It polls every few milliseconds, and wakes at once when the
writer in the same process says it committed or, through its commit watch, when another
process commits (`accord.realtime.watch`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, func, not_, or_, select, text
from sqlalchemy.exc import SQLAlchemyError

from accord.background import Background
from accord.realtime.cursor import Cursor, Gap, find_cursor, load_cursor, save_cursor, state_name
from accord.realtime.leader import Leadership
from accord.realtime.watch import CommitWatch
from accord.signals import LoadedSignal, Signal, SignalEngine, state_checks
from accord.signals.snapshot import StateSnapshot
from accord.signals.store import save_signals, states_write
from accord.store.group_commit import WriterLock
from accord.store.schema import events

log = logging.getLogger(__name__)

COLUMNS = (
    events.c.id, events.c.message_id, events.c.occurred_at, events.c.received_at,
    events.c.kind, events.c.name, events.c.team, events.c.account_id, events.c.contact_id,
    events.c.properties,
)  # fmt: skip
NAMES = tuple(c.name for c in COLUMNS)
GAPS_PER_READ = 64
# Window-state saves run at most this share of the time. On SQLite a save holds the write
# lock every ingest commit and signal store queues for (tens of ms for a few MB of state):
# under the real-time latency bench, saves at 10% of the time held up about 10% of the
# acknowledgements and stored signals by up to a save's length. The cost of a lower share
# is a longer replay after a restart (events since the last save, a few seconds' worth).
STATE_SAVE_SHARE = 0.01
STATE_SLICE_SECONDS = 0.001  # serialising a window-state save, per consumer step
LOCK_RETRY_SECONDS = 0.0005
# The hot read, through the driver (its statement cache, or prepared statements): every id
# past the cursor, with the columns of the events a definition can use (NULL for the
# others); properties as text on PostgreSQL, parsed only for definitions that read them.
_NEW = (
    "SELECT i.id, {cols} FROM (SELECT id FROM events WHERE id > {p} ORDER BY id LIMIT {p}) "
    "AS i LEFT JOIN events AS e ON e.id = i.id{usable} ORDER BY i.id"
)
_COLS = ", ".join(f"e.{n}" for n in NAMES[1:])
_PG_COLS = _COLS.replace("e.properties", "e.properties::text AS properties")
# The unseen ranges' read: one read of the primary key per range, lateral to the ranges (one
# `id BETWEEN lo AND hi OR ...` condition, or a join on the ranges, let PostgreSQL walk the
# key in id order from its start, filtering every event ever stored), with the snapshot's
# xmin on every row, and on one row when none is found.
_GAPS = (
    f"SELECT x.xmin, e.id, {_PG_COLS} FROM (SELECT "
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin) AS x "
    "LEFT JOIN LATERAL (SELECT e.* FROM unnest(%(lo)s::bigint[], %(hi)s::bigint[]) AS g (lo, hi) "
    "CROSS JOIN LATERAL (SELECT * FROM events WHERE id BETWEEN g.lo AND g.hi ORDER BY id "
    "LIMIT %(n)s) AS e ORDER BY e.id LIMIT %(n)s) AS e ON true ORDER BY e.id"
)
# A gap's horizon: a transaction id of the reader's own (its one-statement transaction
# commits at once, without waiting for the log flush: it wrote nothing worth keeping).
_HORIZON = text(
    "SELECT set_config('synchronous_commit', 'off', true), pg_current_xact_id()::text::bigint"
)


class Usable:
    """Which stored events the signal definitions can use, as a SQL condition: an event with
    no account fires nothing, nor one of a kind no definition routes (the engine would drop
    both at once). Names and properties are left to the engine."""

    def __init__(self, kinds: Iterable[str] | None, *, accounts_only: bool = True) -> None:
        self.kinds = sorted(set(kinds)) if kinds is not None else None
        self.accounts_only = accounts_only

    @classmethod
    def of(cls, engine: SignalEngine) -> Usable:
        """What `engine`'s event-driven definitions can use (any kind when one takes all)."""
        kinds: set[str] = set()
        for c in engine.compiled:
            if c.kinds is None:
                return cls(None)
            kinds.update(c.kinds)
        return cls(kinds)

    def sql(self, mark: str) -> tuple[str, tuple[str, ...]]:
        """The condition (after the id range) and its parameters."""
        if self.kinds is None:
            return (" AND e.account_id IS NOT NULL" if self.accounts_only else ""), ()
        if not self.kinds:
            return " AND 1 = 0", ()
        marks = ", ".join([mark] * len(self.kinds))
        return f" AND e.account_id IS NOT NULL AND e.kind IN ({marks})", tuple(self.kinds)


ANY_EVENT = Usable(None, accounts_only=False)


class _Lazy:
    """Engine-shaped access to one write transaction that starts on first use, so the signal
    engine's flush serialises its dirty window state before the write lock is taken, and
    state, signals and cursor commit together."""

    def __init__(self, begin: Callable[[], Connection]) -> None:
        self._begin = begin
        self._conn: Connection | None = None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        if self._conn is None:
            self._conn = self._begin()
        yield self._conn

    connect = begin


@dataclass
class Read:
    """What one poll saw: the usable rows to process, how many events it covered, the new
    cursor, and whether more are waiting."""

    rows: list[Mapping[str, Any]]
    cursor: Cursor
    more: bool
    seen: int = 0


def _horizon(conn: Connection) -> int:
    """A transaction id above every one given out so far (see `accord.realtime.cursor`)."""
    return int(conn.execute(_HORIZON).one()[1])


def _driver_rows(conn: Connection, sql: str, params: Any) -> list[Any]:
    """The rows of one statement run on the driver's connection under `conn` (its tuples)."""
    raw: Any = conn.connection.driver_connection
    cur = raw.cursor()
    try:
        cur.execute(sql, params)
        return list(cur.fetchall())
    finally:
        cur.close()


def _read_gaps(conn: Connection, gaps: Sequence[Gap], limit: int) -> tuple[int, list[Any]]:
    """The oldest transaction id in flight (every older one has ended) and, in the same
    snapshot, the stored events with ids in `gaps` (PostgreSQL: only it leaves gaps)."""
    ranges = {"lo": [g[0] for g in gaps], "hi": [g[1] for g in gaps], "n": limit}
    found = _driver_rows(conn, _GAPS, ranges)
    return int(found[0][0]), _as_dicts([r[1:] for r in found if r[1] is not None])


def read_batch(conn: Connection, cursor: Cursor, limit: int, usable: Usable = ANY_EVENT) -> Read:
    """Committed events not yet processed (unseen gap ids first, then new ids), in id order;
    the rows are those `usable` lets through, the cursor covers every event read."""
    pg = conn.dialect.name == "postgresql"
    nxt = cursor.copy()
    rows: list[Mapping[str, Any]] = []
    more = False
    seen = 0
    if nxt.gaps:
        asked = nxt.gaps[:GAPS_PER_READ]
        xmin, rows = _read_gaps(conn, asked, limit)
        nxt.fill(r["id"] for r in rows)
        seen = len(rows)
        full = len(rows) >= limit
        more = full
        top = rows[-1]["id"] if rows else 0
        nxt.drop(g for g in nxt.ripe(xmin) if g in asked and (not full or g[1] < top))
    room = limit - len(rows)
    if room > 0:
        ids, new = _fetch_new(conn, nxt.high_id, room, usable)
        horizon = _horizon(conn) if pg and nxt.has_holes(ids) else None
        nxt.add_new(ids, horizon)
        seen += len(ids)
        more = more or len(ids) >= room
        if rows:
            rows += new
            rows.sort(key=lambda r: r["id"])
        else:
            rows = new
    return Read(rows, nxt, more, seen)


def _fetch_new(
    conn: Connection, after: int, limit: int, usable: Usable
) -> tuple[list[int], list[Mapping[str, Any]]]:
    """Ids past `after` (up to `limit`, in order), and the usable rows among them as plain
    dicts of the driver's values (the signal engine takes timestamps as text or datetime and
    properties as text or dict). One statement: the others come back as bare ids."""
    pg = conn.dialect.name == "postgresql"
    mark = "%s" if pg else "?"
    where, params = usable.sql(mark)
    sql = _NEW.format(cols=_PG_COLS if pg else _COLS, p=mark, usable=where)
    found = _driver_rows(conn, sql, (after, limit, *params))
    return [r[0] for r in found], _as_dicts([r for r in found if r[1] is not None])


def _as_dicts(found: list[Any]) -> list[Mapping[str, Any]]:
    """Rows of `NAMES` as dicts (spelt out: a third of the cost of `dict(zip(...))`)."""
    return [
        {"id": r[0], "message_id": r[1], "occurred_at": r[2], "received_at": r[3],
         "kind": r[4], "name": r[5], "team": r[6], "account_id": r[7], "contact_id": r[8],
         "properties": r[9]}
        for r in found
    ]  # fmt: skip


def processed(cursor: Cursor) -> ColumnElement[bool]:
    """The condition on `events.id` of the events `cursor` has processed."""
    cond = events.c.id <= cursor.high_id
    if cursor.gaps:
        cond = and_(cond, not_(or_(*(events.c.id.between(lo, hi) for lo, hi, _ in cursor.gaps))))
    return cond


def _autocommit(conn: Connection) -> Connection:
    return conn.execution_options(isolation_level="AUTOCOMMIT")


def take_sqlite_write_lock(conn: Connection, timeout: float = 30.0) -> None:
    """BEGIN IMMEDIATE, retried every half millisecond: SQLite's own busy handler backs off
    to sleeps of up to 100 ms while other writers (imports, say) take the lock turn about."""
    raw: Any = conn.connection.driver_connection
    before = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    raw.execute("PRAGMA busy_timeout = 0")
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except raw.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
            time.sleep(LOCK_RETRY_SECONDS)
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(before)}")


class Consumer:
    """Tails the events table into a `SignalEngine`; run `step()` yourself or `start()` a
    thread. One consumer per `name` is active at a time (see `accord.realtime.leader`).

    `cursor` is how far the consumer has processed, `stored` how far its stored signals go
    and `state_stored` how far its stored window state goes.
    With `watch` the running thread also wakes when another process commits (see
    `accord.realtime.watch`), not only on `wake` or after `poll_seconds`; it starts a step
    at most every `gap_seconds`.
    """

    def __init__(
        self,
        engine: Engine,
        specs: Sequence[LoadedSignal],
        *,
        name: str = "signals",
        batch: int = 2000,
        poll_seconds: float = 0.005,
        tick_seconds: float = 60.0,
        save_seconds: float = 0.25,
        wake: threading.Event | None = None,
        watch: bool = True,
        gap_seconds: float = 0.0,
    ) -> None:
        self.engine = engine
        self.specs = list(specs)
        self.name = name
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.gap_seconds = gap_seconds
        self.tick_seconds = tick_seconds
        self.save_seconds = save_seconds
        self.wake = wake or threading.Event()
        self.watch = CommitWatch(engine, self.wake) if watch else None
        self.leader = Leadership(engine, name)
        self.processed = 0
        self.fired = 0
        self.cursor = Cursor(name)
        self.stored = self.cursor
        self.state_stored = self.cursor
        self.replayed = 0  # events replayed into the loaded state by the last `open()`
        self.state_saves = 0
        self.signals: SignalEngine | None = None
        self.usable = ANY_EVENT
        self._reader: Connection | None = None
        self._keep_reader = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_tick = 0.0
        self._checks: Background[list[Signal]] | None = None  # time-driven checks in flight
        self._state_save: Background[float] | None = None  # returns how long it took
        self._snapshot: StateSnapshot | None = None  # window states being serialised
        self._state_started = 0.0
        self._state_at = self.cursor  # the position of the state it saves
        self._state_due = 0.0  # when the next window-state save may start
        database = engine.url.database if engine.dialect.name == "sqlite" else None
        self._database = database if database and database != ":memory:" else None
        dbapi = getattr(engine.dialect, "loaded_dbapi", None)
        self.errors: tuple[type[BaseException], ...] = (SQLAlchemyError,)
        if dbapi is not None:
            self.errors += (dbapi.Error,)

    # --- one step at a time ---------------------------------------------------------------

    def open(self) -> None:
        """Load the cursors and the saved window state, and replay into it the events the
        stored signals cover but the stored state does not."""
        if self._state_save is not None:
            with contextlib.suppress(*self.errors):  # its state is reloaded now anyway
                self._state_save.result()
            self._state_save = None
        self._snapshot = None  # of the engine replaced here
        with self.engine.connect() as conn:
            stored = load_cursor(conn, self.name)
            state = find_cursor(conn, state_name(self.name))
        if state is None:  # stored before the state had a cursor of its own: they agree
            state = stored
            with self._writing() as begin:
                save_cursor(begin(), self._as_state(state))
        else:
            state = replace(state, name=self.name)
        if state.covers(stored):  # steps that fired nothing, saved with the state
            stored = state
        self.signals = SignalEngine(self.engine, self.specs)
        self.usable = Usable.of(self.signals)
        self.replayed = self._replay(state, stored)
        self.cursor = self.stored = stored
        self.state_stored = state
        self._state_due = 0.0

    def _as_state(self, cursor: Cursor) -> Cursor:
        """`cursor`'s position under the name of the window-state cursor."""
        return replace(cursor, name=state_name(self.name))

    def _replay(self, since: Cursor, until: Cursor) -> int:
        """Feed the events `until` has processed and `since` has not, in id order, through
        the engine without building signals; how many."""
        assert self.signals is not None
        if since.covers(until):
            return 0
        todo = and_(processed(until), not_(processed(since)))
        done, after = 0, since.last_id  # `since` has every id up to it: start the key there
        with self.engine.connect() as conn:
            while True:
                q = select(*COLUMNS).where(events.c.id > after, todo)
                rows = [dict(r) for r in conn.execute(q.order_by(events.c.id).limit(self.batch))
                        .mappings()]  # fmt: skip
                if not rows:
                    return done
                self.signals.replay(rows)
                done += len(rows)
                after = rows[-1]["id"]

    def step(self) -> tuple[int, bool]:
        """Process what is committed past the cursor (up to `batch` events; those no definition
        can use are passed over in SQL); store fired signals with the cursor at once, and
        start a save of the window state when one is due. Returns (events covered, whether
        more are waiting)."""
        if self.signals is None:
            self.open()
        assert self.signals is not None
        read = self._read()
        if not read.seen and read.cursor == self.cursor:
            self.save_if_due()
            return 0, False
        if self._snapshot is not None and read.rows:
            self._snapshot.before(read.rows)  # the states it holds, before these change them
        fired = self.signals.process_many(read.rows) if read.rows else []
        self.cursor = read.cursor
        self.processed += read.seen
        self.fired += len(fired)
        if fired:
            self._store_signals(fired)
        self.save_if_due()
        return read.seen, read.more

    def _read(self) -> Read:
        """The next read, in autocommit (no transaction to open, check or roll back); the
        running thread keeps its read connection from step to step."""
        if not self._keep_reader:
            with self.engine.connect() as conn:
                return read_batch(_autocommit(conn), self.cursor, self.batch, self.usable)
        reader = self._reader
        if reader is None or reader.invalidated or reader.closed:
            reader = self._reader = _autocommit(self.engine.connect())
        try:
            return read_batch(reader, self.cursor, self.batch, self.usable)
        except self.errors:
            self.close()
            raise

    def close(self) -> None:
        """Give back the read connection (the next step opens another)."""
        if self._reader is not None:
            try:
                self._reader.close()
            except self.errors:
                log.warning("consumer %s: closing its read connection failed", self.name)
            self._reader = None

    def _store_signals(self, fired: list[Signal]) -> None:
        """Store fired signals and the cursor in one short transaction (the window state
        follows in its own time: a restart replays it from the events)."""
        try:
            with self._writing() as begin:
                conn = begin()
                save_signals(conn, fired)
                save_cursor(conn, self.cursor)
        except self.errors:
            self.signals = None  # its memory is ahead of the store: reload on the next step
            raise
        self.stored = self.cursor

    def save_if_due(self) -> None:
        """Save the changed window state when the last save has ended, is `save_seconds` old,
        and has taken at most `STATE_SAVE_SHARE` of the time since it started. The states
        are taken at once and serialised here a slice of `STATE_SLICE_SECONDS` per step (an
        account the next events change is serialised before them: `StateSnapshot`), then
        written in a thread of its own. A failed save's error is raised here, and the state
        reloaded on the next step."""
        signals = self.signals
        if self._state_save is not None:
            if not self._state_save.done():
                return
            self.finish_state_save()
        snapshot = self._snapshot
        if snapshot is None:
            if signals is None or self.cursor == self.state_stored:
                return
            now = time.monotonic()
            if now < self._state_due:
                return
            self._state_started = now
            snapshot = self._snapshot = signals.take_dirty_states()
            self._state_at = self.cursor
        if not snapshot.advance(STATE_SLICE_SECONDS):
            return
        self._snapshot = None
        rows, at, started = snapshot.rows, self._state_at, self._state_started

        def write() -> float:
            states = states_write(self.engine.dialect.name, rows)  # before the write lock
            with self._writing() as begin:
                conn = begin()
                if states is not None:
                    states.run(conn)
                save_cursor(conn, self._as_state(at))
            return time.monotonic() - started

        self._state_save = Background(write)

    @property
    def saving_state(self) -> bool:
        """Whether a window-state save is being serialised, a slice per step."""
        return self._snapshot is not None

    def _drop_snapshot(self) -> None:
        """Give a snapshot being serialised back to the engine: its states are saved later."""
        if self._snapshot is not None:
            self._snapshot.give_back()
            self._snapshot = None

    def finish_state_save(self) -> None:
        """Wait for the window-state save in flight, if any, and take its outcome (its
        error is raised here, and the state reloaded on the next step)."""
        job = self._state_save
        if job is None:
            return
        self._state_save = None
        try:
            took = job.result()
        except self.errors:
            self.signals = None  # the rows it took are no longer marked changed: reload
            raise
        self.state_saves += 1
        self.state_stored = self._state_at
        self._state_due = time.monotonic() + max(self.save_seconds, took / STATE_SAVE_SHARE - took)

    def save(self) -> None:
        """Store pending signals, changed window state and both cursors in one transaction
        (after a state save in flight has ended); the write lock is taken only once the state
        is serialised."""
        self.finish_state_save()
        self._drop_snapshot()  # its states are written by this save's flush
        signals = self.signals
        if signals is None or self.cursor == self.stored == self.state_stored:
            return
        real = signals.engine
        try:
            with self._writing() as begin:
                tx = _Lazy(begin)
                signals.engine = tx  # type: ignore[assignment]
                try:
                    signals.flush()  # changed window state and fired signals
                finally:
                    signals.engine = real
                with tx.begin() as conn:
                    self._save_both_cursors(conn)
        except self.errors:
            self.signals = None  # its memory is ahead of the store: reload on the next step
            raise
        self.stored = self.state_stored = self.cursor

    def _save_both_cursors(self, conn: Connection) -> None:
        """The signal and the window-state cursors at the current position."""
        save_cursor(conn, self.cursor)
        save_cursor(conn, self._as_state(self.cursor))

    @contextmanager
    def _writing(self) -> Iterator[Callable[[], Connection]]:
        """A function that opens the write transaction (committed on a clean exit, rolled
        back on an error). On SQLite it first queues for the write lock with the ingest
        writers (their file lock), then takes SQLite's, before its first statement."""
        with contextlib.ExitStack() as stack:

            def begin() -> Connection:
                if self.engine.dialect.name != "sqlite":
                    return stack.enter_context(self.engine.begin())
                if self._database:
                    lock = WriterLock(self._database)
                    stack.callback(lock.close)
                    stack.enter_context(lock)
                conn = stack.enter_context(self.engine.connect())
                stack.enter_context(conn.begin())
                take_sqlite_write_lock(conn)
                return conn

            yield begin

    def drain(self) -> int:
        """Step until nothing committed is left, and save; return how many events."""
        total, more = self.step()
        while more:
            n, more = self.step()
            total += n
        self.save()
        return total

    def seek_end(self) -> Cursor:
        """Skip to the newest committed event (after a batch run has covered the history)."""
        with self.engine.begin() as conn:
            high = conn.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one()
            self.cursor = self.stored = self.state_stored = Cursor(self.name, int(high))
            self._save_both_cursors(conn)
        return self.cursor

    def tick(self, now: datetime | None = None) -> list[Signal]:
        """Evaluate the time-driven definitions (deal stall, renewal) as of `now` and store
        what fired (after the consumer's own save, so the stored cursor is current)."""
        if self.signals is None:
            self.open()
        self.save()
        fired = state_checks.evaluate(self.engine, self.specs, now or datetime.now(UTC))
        self._store_checked(fired)
        return fired

    def _store_checked(self, fired: list[Signal]) -> None:
        """Store the signals of a time-driven check (no window state, no cursor: they follow
        from the records as of a moment, not from the events consumed)."""
        if fired:
            with self._writing() as begin:
                save_signals(begin(), fired)

    # --- as a thread ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"consumer-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread (it saves what it processed) and let another consumer lead."""
        self._stop.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.leader.release()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_forever(self) -> None:
        """Wait for leadership, then poll until `stop()`; save before returning."""
        if not self.leader.held:
            while not self.leader.acquire():
                if self._stop.wait(1.0):
                    return
            self.open()  # what the previous leader stored
        log.info("consumer %s active from event id %s", self.name, self.cursor.last_id)
        self._keep_reader = True
        if self.watch is not None:
            self.watch.start()
        try:
            while not self._stop.is_set():
                started = time.monotonic()
                more = self._safe(self.step)
                self._maybe_tick()
                if not more:
                    self._idle(started)
            self._finish_checks()
            self._safe(self.save)
        finally:
            if self.watch is not None:
                self.watch.stop()
            self._keep_reader = False
            self.close()

    _run = run_forever

    def _idle(self, started: float) -> None:
        """Wait for a wake-up or `poll_seconds`, then wait out the rest of `gap_seconds` since
        the step `started`: under load one step then covers everything committed meanwhile (a
        step has a fixed cost), while an idle consumer still wakes at once."""
        woken = self.wake.wait(self.poll_seconds)
        rest = started + self.gap_seconds - time.monotonic()
        if rest > 0:
            self._stop.wait(rest)
        if woken:
            self.wake.clear()  # before the next read: a later commit wakes it again

    def _safe(self, action: Any) -> bool:
        """Run `step` or `save`; a database error is logged, the state reloaded, and retried."""
        try:
            result = action()
        except self.errors as e:
            log.error("consumer %s: %s; retrying", self.name, e)
            self.signals = None
            self._stop.wait(0.5)
            return False
        return bool(result[1]) if isinstance(result, tuple) else False

    def _maybe_tick(self) -> None:
        """Start the time-driven checks when due, in a thread of their own: their reads take
        as long as the open opportunities and renewals need, and events go on being consumed
        meanwhile. What a check fired is stored once it is done."""
        checks = self._checks
        if checks is not None:
            if not checks.done():
                return
            self._finish_checks()
        now = datetime.now(UTC)
        if now.timestamp() < self._next_tick:
            return
        self._next_tick = now.timestamp() + self.tick_seconds
        engine, specs = self.engine, self.specs
        self._checks = Background(lambda: state_checks.evaluate(engine, specs, now))

    def _finish_checks(self) -> None:
        """Wait for the time-driven check in flight, if any, and store what it fired (a
        database error is logged; the next check, `tick_seconds` later, fires it again)."""
        checks, self._checks = self._checks, None
        if checks is None:
            return
        try:
            self._store_checked(checks.result())
        except self.errors as e:
            log.error("consumer %s: time-driven check: %s", self.name, e)
