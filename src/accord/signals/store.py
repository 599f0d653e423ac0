"""Fired signals and durable window state in the store (`signals`, `signal_state`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy import JSON, Connection, Engine, Insert, Table, Text, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite

from accord.errors import NotFound
from accord.signals.signal import Signal
from accord.store.events import upsert_sql, utc_text
from accord.store.schema import signal_state, signals


def _insert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT that knows ON CONFLICT (SQLite and PostgreSQL both do)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@dataclass(frozen=True)
class _Prepared:
    """A statement compiled once per dialect: its SQL text, the parameter names in the
    order the driver takes them (None: by name) and each parameter's bind processor."""

    sql: str
    order: tuple[str, ...] | None
    process: dict[str, Callable[[Any], Any]]

    def params(self, rows: Iterable[dict[str, Any]]) -> list[Any]:
        """Driver parameters of `rows` (each row holds every parameter by name)."""
        process = self.process
        rows = [{**r, **{k: f(r[k]) for k, f in process.items()}} for r in rows] if process \
            else list(rows)  # fmt: skip
        if self.order is None:
            return rows
        order = self.order
        return [tuple(r[k] for k in order) for r in rows]


_PREPARED: dict[tuple[str, str, str], _Prepared] = {}


def _prepared(conn: Connection, name: str, build: Callable[[Connection], Any]) -> _Prepared:
    """The statement `build` makes for this connection's dialect, compiled once (building
    and compiling a statement per call costs several times what the driver's executemany
    of a few rows does)."""
    dialect = conn.dialect
    key = (name, dialect.name, dialect.driver)
    found = _PREPARED.get(key)
    if found is None:
        compiled = build(conn).compile(dialect=dialect)
        process = {}
        for bind_name, bind in compiled.binds.items():
            fn = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if fn is not None:
                process[bind_name] = fn
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        found = _PREPARED[key] = _Prepared(compiled.string, order, process)
    return found


_SIGNAL_COLUMNS = ("id", "account_id", "type", "fired_at", "observed_at", "strength",
                   "evidence", "dedupe_key", "cooldown_until", "source_lag_s", "half_life_s",
                   "definition", "created_at")  # fmt: skip


def _insert_signals(conn: Connection) -> Insert:
    values = {c: bindparam(c, type_=signals.c[c].type) for c in _SIGNAL_COLUMNS}
    return _insert(conn, signals).values(values).on_conflict_do_nothing()  # type: ignore[no-any-return]


def _row(s: Signal, now: datetime) -> dict[str, Any]:
    return {
        "id": s.id,
        "account_id": s.account_id,
        "type": s.type,
        "fired_at": s.fired_at,
        "observed_at": s.observed_at,
        "strength": s.strength,
        "evidence": s.evidence,
        "dedupe_key": s.dedupe_key,
        "cooldown_until": s.cooldown_until,
        "source_lag_s": s.source_lag_s,
        "half_life_s": s.half_life_s,
        "definition": s.source,
        "created_at": now,
    }


def save_signals(conn: Connection, fired: Sequence[Signal]) -> int:
    """Insert fired signals; one already stored (same account and dedupe key) is skipped,
    and of several with one key in `fired` the last is offered. Returns the rows inserted."""
    if not fired:
        return 0
    now = datetime.now(UTC)
    new = {(s.account_id, s.dedupe_key): s for s in fired}
    prepared = _prepared(conn, "save_signals", _insert_signals)
    result = conn.exec_driver_sql(prepared.sql, prepared.params(_row(s, now) for s in new.values()))
    return result.rowcount if result.rowcount >= 0 else len(new)


_TABLE_COLUMNS = ("id", "account_id", "type", "strength", "dedupe_key", "source_lag_s",
                  "half_life_s", "definition")  # fmt: skip
_TIMES = {"fired_us": "fired_at", "observed_us": "observed_at", "cooldown_us": "cooldown_until"}
_BATCH = 50_000


def save_table(conn: Connection, table: pa.Table) -> int:
    """Insert fired signals given as columns (`batch_table.table`); rows already stored
    (same account and dedupe key) are skipped by the unique key. Returns the rows offered."""
    if table.num_rows == 0:
        return 0
    now = datetime.now(UTC)
    evidence: Any = bindparam("evidence", type_=Text)
    if conn.dialect.name == "postgresql":
        evidence = cast(evidence, JSON)
    stmt = (
        _insert(conn, signals)
        .values(
            {
                **{c: bindparam(c) for c in (*_TABLE_COLUMNS, *_TIMES.values())},
                "evidence": evidence,
                "created_at": now,
            }
        )
        .on_conflict_do_nothing()
    )
    for start in range(0, table.num_rows, _BATCH):
        part = table.slice(start, _BATCH)
        cols = {c: part.column(c).to_pylist() for c in (*_TABLE_COLUMNS, "evidence")}
        for us, name in _TIMES.items():
            cols[name] = part.column(us).cast(pa.timestamp("us", tz="UTC")).to_pylist()
        names = list(cols)
        conn.execute(
            stmt, [dict(zip(names, r, strict=True)) for r in zip(*cols.values(), strict=True)]
        )
    return int(table.num_rows)


# One statement for any number of rows: the rows travel as one JSON text (an executemany
# costs PostgreSQL a statement per row, about 30-100 us each).
_PG_SAVE_STATES = (
    "INSERT INTO signal_state (signal_id, account_id, fingerprint, state, updated_at) "
    "SELECT x->>0, x->>1, x->>2, x->>3, %s FROM json_array_elements(%s::json) AS x "
    "ON CONFLICT (signal_id, account_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, "
    "state = EXCLUDED.state, updated_at = EXCLUDED.updated_at"
)


_SQLITE_SAVE_STATES = upsert_sql(
    "signal_state", ("signal_id", "account_id", "fingerprint", "state", "updated_at"), 2, "?"
)


@dataclass(frozen=True)
class StatesWrite:
    """A window-state upsert with its parameters built: make it before taking a write lock
    (building a few thousand rows' parameters takes as long as SQLite's upsert of them)."""

    sql: str
    params: Any

    def run(self, conn: Connection) -> None:
        conn.exec_driver_sql(self.sql, self.params)


def states_write(
    dialect: str, rows: Sequence[dict[str, Any]], now: datetime | None = None
) -> StatesWrite | None:
    """The upsert of (signal_id, account_id, fingerprint, state) rows, the last row of a key
    winning; None for no rows."""
    if not rows:
        return None
    now = now or datetime.now(UTC)
    if dialect == "postgresql":
        latest = {
            (r["signal_id"], r["account_id"]): (r["signal_id"], r["account_id"],
                                                r["fingerprint"], r["state"])
            for r in rows
        }  # fmt: skip
        return StatesWrite(_PG_SAVE_STATES, (now, orjson.dumps(list(latest.values())).decode()))
    stamp = utc_text(now)
    return StatesWrite(_SQLITE_SAVE_STATES, [
        (r["signal_id"], r["account_id"], r["fingerprint"], r["state"], stamp) for r in rows
    ])  # fmt: skip


def save_states(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert (signal_id, account_id, fingerprint, state) rows; the last row of a key wins."""
    write = states_write(conn.dialect.name, rows)
    if write is not None:
        write.run(conn)


def load_states(engine: Engine, fingerprints: dict[str, str]) -> Iterable[tuple[str, str, str]]:
    """(signal_id, account_id, state) for definitions whose fingerprint still matches."""
    if not fingerprints:
        return []
    q = select(
        signal_state.c.signal_id,
        signal_state.c.account_id,
        signal_state.c.fingerprint,
        signal_state.c.state,
    ).where(signal_state.c.signal_id.in_(list(fingerprints)))
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    return [(r[0], r[1], r[3]) for r in rows if fingerprints.get(r[0]) == r[2]]


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _from_row(r: Any) -> Signal:
    return Signal(
        id=r.id,
        account_id=r.account_id,
        type=r.type,
        fired_at=_as_utc(r.fired_at),  # type: ignore[arg-type]
        observed_at=_as_utc(r.observed_at),  # type: ignore[arg-type]
        strength=r.strength,
        evidence=r.evidence,
        dedupe_key=r.dedupe_key,
        cooldown_until=_as_utc(r.cooldown_until),
        source_lag_s=r.source_lag_s,
        half_life_s=r.half_life_s,
        source=r.definition,
    )


def list_signals(
    engine: Engine,
    *,
    account_id: str | None = None,
    type: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[Signal]:
    """Stored signals, newest first."""
    q = select(signals).order_by(signals.c.fired_at.desc(), signals.c.id)
    if account_id is not None:
        q = q.where(signals.c.account_id == account_id)
    if type is not None:
        q = q.where(signals.c.type == type)
    if since is not None:
        q = q.where(signals.c.fired_at >= since)
    if limit is not None:
        q = q.limit(limit)
    with engine.connect() as conn:
        return [_from_row(r) for r in conn.execute(q)]


def get_signal(engine: Engine, signal_id: str) -> Signal:
    with engine.connect() as conn:
        row = conn.execute(select(signals).where(signals.c.id == signal_id)).first()
    if row is None:
        raise NotFound(
            f"signal {signal_id!r}: not found; list stored signals with `accord signals list`"
        )
    return _from_row(row)


def counts_by_type(engine: Engine) -> dict[str, int]:
    q = select(signals.c.type, func.count()).group_by(signals.c.type)
    with engine.connect() as conn:
        return {t: int(n) for t, n in conn.execute(q)}
