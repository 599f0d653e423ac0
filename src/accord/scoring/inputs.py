"""The relations every score reads, defined on one DuckDB connection.

    ev       events (t: epoch microseconds, kind, name, team, account_id, contact_id,
             properties as JSON text); `ev_dims` adds the contact's seniority/department
    acc      live accounts (not merged): firmographics, lifecycle, ARR, renewal date
    cases_r  support cases (opened_us, closed_us), opps: opportunities, sigs: fired signals

From the store they arrive as Arrow (events through the signal layer's loader); the
benchmark defines the same names over Parquet files.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy import Engine, Select, select

from accord.signals.batch import load_store
from accord.store.schema import accounts, cases, opportunities, signals

US = pa.timestamp("us", tz="UTC")

_ACCOUNTS = select(
    accounts.c.id,
    accounts.c.industry,
    accounts.c.employees,
    accounts.c.annual_revenue,
    accounts.c.country,
    accounts.c.region,
    accounts.c.tier,
    accounts.c.is_target,
    accounts.c.lifecycle_stage,
    accounts.c.arr,
    accounts.c.renewal_date,
    accounts.c.attributes,
).where(accounts.c.merged_into.is_(None))
_ACC_TYPES = [
    pa.string(),
    pa.string(),
    pa.int64(),
    pa.float64(),
    pa.string(),
    pa.string(),
    pa.int64(),
    pa.bool_(),
    pa.string(),
    pa.float64(),
    pa.date32(),
    pa.string(),
]

_CASES = select(
    cases.c.account_id, cases.c.status, cases.c.priority, cases.c.opened_at, cases.c.closed_at
).where(cases.c.account_id.is_not(None))
_CASE_TYPES = [pa.string(), pa.string(), pa.string(), US, US]

_OPPS = select(
    opportunities.c.account_id,
    opportunities.c.type,
    opportunities.c.stage,
    opportunities.c.amount,
    opportunities.c.probability,
    opportunities.c.is_closed,
    opportunities.c.is_won,
    opportunities.c.close_date,
).where(opportunities.c.account_id.is_not(None))
_OPP_TYPES = [pa.string(), pa.string(), pa.string(), pa.float64(), pa.float64(), pa.bool_(),
              pa.bool_(), pa.date32()]  # fmt: skip

_SIGS = select(signals.c.account_id, signals.c.type, signals.c.observed_at, signals.c.strength)
_SIG_TYPES = [pa.string(), pa.string(), US, pa.float64()]

_VIEWS = """
CREATE OR REPLACE TEMP VIEW acc AS SELECT * FROM acc_arrow;
CREATE OR REPLACE TEMP VIEW cases_r AS
  SELECT account_id, status, priority, epoch_us(opened_at) AS opened_us,
         epoch_us(closed_at) AS closed_us FROM cases_arrow;
CREATE OR REPLACE TEMP VIEW opps AS SELECT * FROM opps_arrow;
CREATE OR REPLACE TEMP VIEW sigs AS
  SELECT account_id, type, epoch_us(observed_at) AS t, strength FROM sigs_arrow;
"""


def _jsonish(value: Any) -> Any:
    return value if value is None or isinstance(value, str) else orjson.dumps(value).decode()


def _arrow(engine: Engine, query: Select[Any], types: Sequence[pa.DataType]) -> pa.Table:
    """Rows of `query` as an Arrow table (one column per selected column)."""
    with engine.connect() as conn:
        result = conn.execute(query)
        names = list(result.keys())
        rows = result.all()
    cols = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    arrays = []
    for name, col, tp in zip(names, cols, types, strict=True):
        values = [_jsonish(v) for v in col] if name == "attributes" else list(col)
        if tp == US:
            values = [_aware(v) for v in values]
        arrays.append(pa.array(values, type=tp))
    return pa.table(arrays, names=names)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def connect() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def load_from_store(con: duckdb.DuckDBPyConnection, engine: Engine) -> None:
    """Define `ev`, `ev_dims`, `acc`, `cases_r`, `opps` and `sigs` from the store."""
    load_store(con, engine)
    con.register("acc_arrow", _arrow(engine, _ACCOUNTS, _ACC_TYPES))
    con.register("cases_arrow", _arrow(engine, _CASES, _CASE_TYPES))
    con.register("opps_arrow", _arrow(engine, _OPPS, _OPP_TYPES))
    con.register("sigs_arrow", _arrow(engine, _SIGS, _SIG_TYPES))
    con.execute(_VIEWS)


def account_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in con.execute("SELECT id FROM acc ORDER BY id").fetchall()]


__all__ = ["account_ids", "connect", "load_from_store"]
