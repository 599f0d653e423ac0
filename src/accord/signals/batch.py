"""Batch evaluation: the same definitions over the whole event history, set-based in DuckDB.

Events move from the store into DuckDB as Arrow (ADBC drivers for SQLite and PostgreSQL);
benchmarks feed Parquet instead. Only fired signals come back to Python.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy import Engine

from accord.errors import InputError
from accord.signals import batch_cols, batch_np, state_checks
from accord.signals.batch_cols import SpecColumns
from accord.signals.measures import Compiled, compile_spec
from accord.signals.signal import Signal, build_signal, to_us
from accord.signals.specs import BaselineCondition, LoadedSignal
from accord.signals.store import save_signals
from accord.yamlspec import parse_duration

# `ev` is what definitions read; `ev_dims` adds the contact's seniority and department for
# the few definitions that filter on them (the join costs a pass over every event).
EV_VIEW = """
CREATE OR REPLACE TEMP VIEW ev AS
SELECT r.ord, r.msg, r.t, r.rt, r.kind, NULLIF(r.name, '') AS name, NULLIF(r.team, '') AS team,
       NULLIF(r.account_id, '') AS account_id, NULLIF(r.contact_id, '') AS contact_id,
       r.properties
FROM {raw} r;
CREATE OR REPLACE TEMP VIEW ev_dims AS
SELECT ev.*, d.seniority AS c_seniority, d.department AS c_department
FROM ev LEFT JOIN {dims} d ON d.id = ev.contact_id;
"""

_SQLITE_EVENTS = """
SELECT id AS ord, message_id AS msg, CAST(occurred_at AS TEXT) AS occurred_at,
       CAST(received_at AS TEXT) AS received_at, kind, COALESCE(name, '') AS name,
       COALESCE(team, '') AS team, COALESCE(account_id, '') AS account_id,
       COALESCE(contact_id, '') AS contact_id,
       COALESCE(CAST(properties AS TEXT), '{}') AS properties
FROM events WHERE account_id IS NOT NULL
"""

_PG_EVENTS = """
SELECT id AS ord, message_id AS msg,
       (EXTRACT(EPOCH FROM occurred_at) * 1000000)::bigint AS t,
       (EXTRACT(EPOCH FROM received_at) * 1000000)::bigint AS rt, kind,
       COALESCE(name, '') AS name, COALESCE(team, '') AS team, account_id,
       COALESCE(contact_id, '') AS contact_id, COALESCE(properties::text, '{}') AS properties
FROM events WHERE account_id IS NOT NULL
"""

_DIMS = "SELECT id, seniority, department FROM contacts"
_CHUNK = 100_000


def _sqlite_arrow(path: str, sql: str) -> pa.Table:
    """Rows of `sql` as Arrow columns (text, `ord` as int64), read in chunks.

    The stdlib driver shares the SQLite library (and its file locks) with SQLAlchemy, so
    it sees every committed write, which a second SQLite copy in the process may not.
    """
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        schema = pa.schema([(n, pa.int64() if n == "ord" else pa.string()) for n in names])
        batches = []
        while chunk := cur.fetchmany(_CHUNK):
            cols = list(zip(*chunk, strict=True))
            batches.append(
                pa.record_batch(
                    [pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)],
                    schema=schema,
                )
            )
        return pa.Table.from_batches(batches, schema=schema)
    finally:
        con.close()


def _fetch_arrow(engine: Engine, sql: str) -> pa.Table:
    """Run `sql` on the store and return an Arrow table (ADBC for PostgreSQL)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return _sqlite_arrow(url.database or ":memory:", sql)
    if url.get_backend_name() != "postgresql":
        raise InputError(
            f"database {url.get_backend_name()}: batch signals need SQLite or PostgreSQL"
        )
    import adbc_driver_postgresql.dbapi as adbc  # type: ignore[import-untyped]

    uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with adbc.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table()


def load_store(con: duckdb.DuckDBPyConnection, engine: Engine) -> None:
    """Define the `ev` relation from the store's events and contacts."""
    backend = engine.url.get_backend_name()
    raw = _fetch_arrow(engine, _SQLITE_EVENTS if backend == "sqlite" else _PG_EVENTS)
    dims = _fetch_arrow(engine, _DIMS)
    con.register("ev_arrow", raw)
    con.register("dims_arrow", dims)
    if backend == "sqlite":
        con.execute(
            "CREATE OR REPLACE TEMP VIEW ev_raw AS SELECT * EXCLUDE (occurred_at, received_at), "
            "epoch_us(CAST(occurred_at AS TIMESTAMP)) AS t, "
            "epoch_us(CAST(received_at AS TIMESTAMP)) AS rt FROM ev_arrow"
        )
    else:
        con.execute("CREATE OR REPLACE TEMP VIEW ev_raw AS SELECT * FROM ev_arrow")
    con.execute(EV_VIEW.format(raw="ev_raw", dims="dims_arrow"))


def _window_evidence(c: Compiled, m: dict[str, Any], i: int) -> dict[str, Any]:
    x = c.extra
    if c.mode == "baseline":
        rec, old = float(m["recent"][i]), float(m["old"][i])
        ratio = rec / max(old * x["factor"], x["min_baseline"])
        ev = {"recent": rec, "baseline": old, "ratio": ratio, "threshold": x["at_least"]}
        return {**ev, **x["ev"]}
    if c.mode == "change":
        rec, old = float(m["recent"][i]), float(m["old"][i])
        bound = x["at_least"] if x["at_least"] is not None else x["at_most"]
        return {"recent": rec, "previous": old, "change": (rec - old) / old, "threshold": bound,
                **x["ev"]}  # fmt: skip
    return {"value": float(m["value"][i]), "threshold": x["at_least"], **x["ev"]}


def _materialise(table: pa.Table, fired: batch_np.Fired, cols: SpecColumns) -> list[Signal]:
    """Signals of one definition's fired rows, reading text columns for those rows only."""
    c = fired.c
    rows = pa.array(fired.rows, pa.int64())
    if len(rows) == 0:
        return []
    take = table.select(["account_id", "msg", "t", "rt"]).take(rows).to_pydict()
    events = table.column("msg").take(pa.array(fired.ev_pos, pa.int64())).to_pylist()
    cut = fired.ev_cut.tolist()
    measures = {k: v.tolist() for k, v in fired.measures.items()}
    texts = {role: table.column(name).take(rows).to_pylist() for role, name in cols.texts.items()}
    before: list[Any] = []
    if c.mode == "state_change":
        prev = fired.measures["prev"]
        found = pa.array(np.maximum(prev, 0), pa.int64())
        before = table.column(cols.texts["value"]).take(found).to_pylist()
        before = [b if p >= 0 else None for b, p in zip(before, prev.tolist(), strict=True)]
    out = []
    for i, (account, msg, t, rt) in enumerate(
        zip(take["account_id"], take["msg"], take["t"], take["rt"], strict=True)
    ):
        kept = events[cut[i] : cut[i + 1]]
        if c.mode == "first_seen":
            ev: dict[str, Any] = {"key": texts["key"][i], "events": kept}
        elif c.mode == "state_change":
            ev = {"contact_id": texts["contact"][i], "property": c.value_path,
                  "from": before[i], "to": texts["value"][i], "events": kept}  # fmt: skip
        else:
            ev = {**_window_evidence(c, measures, i), "events": kept}
        out.append(
            build_signal(
                c.loaded,
                account_id=account,
                key=msg,
                observed_us=int(t),
                received_us=int(rt) if rt is not None else None,
                evidence=ev,
            )
        )
    return out


def evaluate_fired(
    con: duckdb.DuckDBPyConnection, specs: Sequence[LoadedSignal], *, since_us: int | None = None
) -> tuple[pa.Table, list[batch_np.Fired], list[SpecColumns]]:
    """Every event-driven definition over the `ev` relation already defined on `con`, as
    fired positions in the sorted relation (no Python objects per signal yet)."""
    compiled = [compile_spec(i, s) for i, s in enumerate(specs) if not s.spec.is_state]
    if not compiled:
        return pa.table({}), [], []
    relation = "ev_dims" if any(c.needs_dims for c in compiled) else "ev"
    query, cols = batch_cols.coded_relation(relation, compiled)
    table = con.sql(query).to_arrow_table()
    order = _sort_order(con, table)
    arrays: batch_np.Arrays = {
        name: table.column(name).to_numpy()[order]
        for name in table.column_names
        if name in ("a", "t") or name[0] in "mkv"
    }
    fired = batch_np.evaluate(arrays, compiled, cols, since_us)
    for f in fired:  # positions in the sorted order -> rows of `table`
        f.rows, f.ev_pos = order[f.rows], order[f.ev_pos]
        if "prev" in f.measures:
            prev = np.asarray(f.measures["prev"], np.int64)
            f.measures["prev"] = np.where(prev >= 0, order[np.maximum(prev, 0)], -1)
    return table, fired, cols


def _sort_order(con: duckdb.DuckDBPyConnection, table: pa.Table) -> Any:
    """Row numbers of `table` in (account hash, t, ord) order (sorted in DuckDB)."""
    keys = table.select(["a", "t", "ord"]).append_column(
        "i", pa.array(np.arange(table.num_rows, dtype=np.int64))
    )
    con.register("ev_keys", keys)
    try:
        got = con.sql("SELECT i FROM ev_keys ORDER BY a, t, ord").to_arrow_table()
    finally:
        con.unregister("ev_keys")
    return got.column("i").to_numpy()


def materialise(
    table: pa.Table, fired: list[batch_np.Fired], cols: list[SpecColumns]
) -> list[Signal]:
    """The `Signal` objects of fired rows, in definition order, each by time."""
    out: list[Signal] = []
    for f, sc in zip(fired, cols, strict=True):
        out += _materialise(table, f, sc)
    return out


def evaluate_relation(
    con: duckdb.DuckDBPyConnection, specs: Sequence[LoadedSignal], *, since_us: int | None = None
) -> list[Signal]:
    """Every event-driven definition over the `ev` relation already defined on `con`."""
    return materialise(*evaluate_fired(con, specs, since_us=since_us))


def since_moment(since: timedelta | datetime | str | None, now: datetime) -> datetime | None:
    if since is None:
        return None
    if isinstance(since, datetime):
        return since
    return now - parse_duration(since)


def run_batch(
    engine: Engine,
    specs: Sequence[LoadedSignal],
    since: timedelta | datetime | str | None = None,
    *,
    now: datetime | None = None,
    save: bool = False,
    threads: int | None = None,
) -> list[Signal]:
    """All signals over the whole history that were observed at or after `since`."""
    now = now or datetime.now(UTC)
    start = since_moment(since, now)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    try:
        load_store(con, engine)
        fired = evaluate_relation(con, specs, since_us=to_us(start) if start else None)
    finally:
        con.close()
    state = state_checks.evaluate(engine, specs, now)
    fired += [s for s in state if start is None or s.observed_at >= start]
    if save:
        with engine.begin() as conn:
            save_signals(conn, fired)
    return fired


__all__ = ["BaselineCondition", "evaluate_relation", "load_store", "run_batch", "since_moment"]
