"""Batch evaluation: the same definitions over the whole event history, set-based in DuckDB.

Events move from the store into DuckDB as Arrow (ADBC drivers for SQLite and PostgreSQL);
benchmarks feed Parquet instead. Only fired signals come back to Python.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from sqlalchemy import Engine

from accord.errors import InputError
from accord.signals import batch_cols, batch_np, batch_out, batch_table, state_checks
from accord.signals.batch_out import FiredSet
from accord.signals.measures import Compiled, compile_spec
from accord.signals.signal import Signal, to_us
from accord.signals.specs import BaselineCondition, LoadedSignal
from accord.signals.store import save_signals, save_table
from accord.yamlspec import parse_duration

# `ev` is what definitions read; `ev_dims` adds the contact's seniority and department for
# the few definitions that filter on them (the join costs a pass over every event).
EV_VIEW = """
CREATE OR REPLACE TEMP VIEW ev AS
SELECT r.ord, r.msg, r.t, r.rt, r.kind, NULLIF(r.name, '') AS name, NULLIF(r.team, '') AS team,
       NULLIF(r.account_id, '') AS account_id, NULLIF(r.contact_id, '') AS contact_id,
       r.properties
FROM {raw} r;
CREATE OR REPLACE TEMP VIEW contact_dims AS SELECT id, seniority, department FROM {dims};
CREATE OR REPLACE TEMP VIEW ev_dims AS
SELECT ev.*, d.seniority AS c_seniority, d.department AS c_department
FROM ev LEFT JOIN contact_dims d ON d.id = ev.contact_id;
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
ROWS_PER_PART = 1_000_000  # events per account partition handed to NumPy (~80 bytes each)
_MAX_PIECES = 4096  # tiny `rows_per_part` values (tests) still make few queries
_CODED = "coded_rows"  # the unsorted coded relation, while it is handed over in pieces


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


def evaluate_fired(
    con: duckdb.DuckDBPyConnection,
    specs: Sequence[LoadedSignal],
    *,
    since_us: int | None = None,
    rows_per_part: int | None = None,
) -> FiredSet:
    """Every event-driven definition over the `ev` relation already defined on `con`, as
    fired event `ord`s with measures and evidence `ord`s, plus the texts of those events
    (no Python object per signal)."""
    compiled = [compile_spec(i, s) for i, s in enumerate(specs) if not s.spec.is_state]
    if not compiled:
        return FiredSet([], [], pa.table({"ord": pa.array([], pa.int64())}))
    coded = coded_for(compiled)
    found: list[list[batch_np.Fired]] = []
    for arrays in partitions(con, coded, rows_per_part):
        fired = batch_np.evaluate(arrays, compiled, coded.specs, since_us)
        found.append([_as_ords(f, arrays["ord"]) for f in fired])
        del arrays
    fired = [batch_np.concat([p[i] for p in found]) for i in range(len(compiled))]
    return FiredSet(fired, coded.specs, _texts(con, coded, fired))


def coded_for(compiled: list[Compiled]) -> batch_cols.Coded:
    """The coded relation of the definitions (over `ev_dims` when one reads contact dims)."""
    relation = "ev_dims" if any(c.needs_dims for c in compiled) else "ev"
    return batch_cols.coded_relation(relation, compiled)


def partitions(
    con: duckdb.DuckDBPyConnection, coded: batch_cols.Coded, rows_per_part: int | None = None
) -> Iterator[batch_np.Arrays]:
    """The coded relation in pieces of whole accounts (about `rows_per_part` events each,
    by ranges of the account hash), each sorted by (account, t, ord) and handed over in
    that order; the next piece is sorted and fetched in a background thread while the
    caller works on the current one, so memory holds about two pieces' NumPy columns."""
    n = coded.prepare(con)
    size = rows_per_part or ROWS_PER_PART
    count = min(max(1, -(-n // size)), _MAX_PIECES)
    if count == 1:
        yield _fetch(con, coded, coded.sorted_sql())
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_CODED} AS {coded.unsorted_sql()}")
    try:
        lows = piece_bounds(count)
        highs: list[int | None] = [*lows[1:], None]
        queries = [_piece_sql(lo, hi) for lo, hi in zip(lows, highs, strict=True)]
        count = len(queries)
        with ThreadPoolExecutor(1) as pool:
            ahead = pool.submit(_fetch, con, coded, queries[0])
            for k in range(count):
                arrays = ahead.result()
                if k + 1 < count:
                    ahead = pool.submit(_fetch, con, coded, queries[k + 1])
                yield arrays
                del arrays
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_CODED}")


def piece_bounds(count: int) -> list[int]:
    """Lower account-hash bounds of the pieces for `count` (>= 2) pieces' worth of events:
    the first and the last piece half size (count + 1 pieces). Nothing overlaps the first
    piece's sort nor the evaluation of the last one, so smaller ends leave a core idle for
    less time; the others keep their size (memory holds two of them)."""
    weights = [1] + [2] * (count - 1) + [1]  # in half pieces
    total, lows, at = 2 * count, [], 0
    for w in weights:
        lows.append(at * 2**64 // total)
        at += w
    return lows


def _piece_sql(lo: int, hi: int | None) -> str:
    """One account-hash range [lo, hi) of the coded rows, sorted."""
    where = f"a >= {lo}::UBIGINT" + ("" if hi is None else f" AND a < {hi}::UBIGINT")
    return f"SELECT * FROM {_CODED} WHERE {where} ORDER BY a, t, ord"


def _fetch(con: duckdb.DuckDBPyConnection, coded: batch_cols.Coded, sql: str) -> batch_np.Arrays:
    """The rows of `sql` (a sorted piece of the coded relation) as NumPy columns with flags."""
    got = con.sql(sql).to_arrow_table().combine_chunks()
    arrays = {
        n: np.asarray(c.to_numpy()) for n, c in zip(got.schema.names, got.columns, strict=True)
    }
    del got
    return _flags(coded, arrays)


def _flags(coded: batch_cols.Coded, arrays: batch_np.Arrays) -> batch_np.Arrays:
    """One account partition with one boolean array per flag instead of mask columns."""
    coded.flags(arrays)
    return arrays


def _as_ords(f: batch_np.Fired, ords: Any) -> batch_np.Fired:
    """Partition positions as event ords (`prev`: -1 stays -1)."""
    measures = dict(f.measures)
    if "prev" in measures:
        prev = np.asarray(measures["prev"], np.int64)
        measures["prev"] = np.where(prev >= 0, ords[np.maximum(prev, 0)], -1)
    return batch_np.Fired(f.c, ords[f.rows], measures, ords[f.ev_pos], f.ev_cut)


def _texts(
    con: duckdb.DuckDBPyConnection, coded: batch_cols.Coded, fired: list[batch_np.Fired]
) -> pa.Table:
    """Message id, account, times and evidence texts of every event a fired row names."""
    parts: list[Any] = [f.rows for f in fired] + [f.ev_pos for f in fired]
    parts += [f.measures["prev"] for f in fired if "prev" in f.measures]
    ords = batch_np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
    by_keys = _dims_by_key(coded, fired)
    con.register("fired_ords", pa.table({"ord": pa.array(ords[ords >= 0], pa.int64())}))
    try:
        sql = coded.text_query("fired_ords", ordered=False, dims=not by_keys)
        texts = con.sql(sql).to_arrow_table()
    finally:
        con.unregister("fired_ords")
    return _with_dims(con, coded, fired, texts) if by_keys else texts


def _dims_by_key(coded: batch_cols.Coded, fired: list[batch_np.Fired]) -> bool:
    """True when every text over contact dims is a first sighting's key, which its fired
    rows carry hashed (so those texts need no join of the fired events with the contacts)."""
    names = set(coded.dim_texts().values())
    if not names:
        return False
    for f, sc in zip(fired, coded.specs, strict=True):
        for role, name in sc.texts.items():
            if name in names and (role != "key" or f.c.mode != "first_seen"):
                return False
    return True


def _with_dims(
    con: duckdb.DuckDBPyConnection,
    coded: batch_cols.Coded,
    fired: list[batch_np.Fired],
    texts: pa.Table,
) -> pa.Table:
    """The texts with their columns over contact dims, filled for the rows that name them
    (first sightings, from the hashed key each fired row carries)."""
    index = batch_out.OrdIndex(texts)
    for expr, name in coded.dim_texts().items():
        hashes, values = coded.dim_values(con, expr)
        pick = np.full(texts.num_rows, -1, np.int64)
        for f, sc in zip(fired, coded.specs, strict=True):
            if sc.texts.get("key") == name and len(f.rows):
                key = pa.array(np.asarray(f.measures["key"], np.uint64), pa.uint64())
                found = pc.fill_null(pc.index_in(key, value_set=hashes), -1)
                pick[index.at(f.rows)] = found.to_numpy()
        if not len(values):
            pick[:] = -1
            values = pa.chunked_array([pa.array([""])])
        texts = texts.append_column(name, values.take(pa.array(pick, mask=pick < 0)))
    return texts


def materialise(found: FiredSet) -> list[Signal]:
    """The `Signal` objects of fired rows, in definition order."""
    return batch_out.signals(found)


def evaluate_relation(
    con: duckdb.DuckDBPyConnection, specs: Sequence[LoadedSignal], *, since_us: int | None = None
) -> list[Signal]:
    """Every event-driven definition over the `ev` relation already defined on `con`."""
    return materialise(evaluate_fired(con, specs, since_us=since_us))


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
        found = evaluate_fired(con, specs, since_us=to_us(start) if start else None)
    finally:
        con.close()
    state = [s for s in state_checks.evaluate(engine, specs, now)
             if start is None or s.observed_at >= start]  # fmt: skip
    if save:
        with engine.begin() as conn:
            save_table(conn, batch_table.table(found))
            save_signals(conn, state)
    return materialise(found) + state


__all__ = ["BaselineCondition", "evaluate_relation", "load_store", "run_batch", "since_moment"]
