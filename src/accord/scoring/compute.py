"""Compute every score for every account, set-based: DuckDB aggregates over the events and
builds each account's parts and their JSON text; Python touches no per-account row.

`compute_scores` works on any DuckDB connection holding the relations of
`accord.scoring.inputs` (the store or Parquet); `compute_and_store` is the whole run.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from sqlalchemy import Engine

from accord.scoring import engagement, fit, health, intent, stage_sql
from accord.scoring.assemble import fetch_scored
from accord.scoring.definitions import Active, resolve
from accord.scoring.inputs import connect, load_from_store
from accord.scoring.library import load_library
from accord.scoring.parts import Scored
from accord.scoring.specs import (
    EngagementSpec,
    FitSpec,
    HealthSpec,
    IntentSpec,
    ScoreSpec,
    StageSpec,
)
from accord.scoring.store import save_tables

Results = dict[str, dict[str, Scored]]


def _table(con: duckdb.DuckDBPyConnection, name: str, sql: str) -> str:
    table = f"score_{name}"
    con.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}")
    return table


# The relations a score reads besides the other scores' tables (see accord.scoring.inputs).
_READS: dict[type, tuple[str, ...]] = {
    FitSpec: ("acc",),
    EngagementSpec: ("acc", "ev", "ev_dims"),
    IntentSpec: ("acc", "ev", "ev_dims", "sigs"),
}


def _visible(con: duckdb.DuckDBPyConnection, relations: tuple[str, ...]) -> bool:
    """True when every relation can be read from `con`."""
    for name in relations:
        try:
            con.execute(f"SELECT * FROM {name} LIMIT 0")
        except duckdb.CatalogException:
            return False
    return True


def _score_sql(con: duckdb.DuckDBPyConnection, spec: ScoreSpec, now_us: int) -> str | None:
    """The SQL of a score that reads no other score (None for the others)."""
    if isinstance(spec, FitSpec):
        return fit.score_sql(con, spec)
    if isinstance(spec, EngagementSpec):
        return engagement.score_sql(spec, now_us)
    if isinstance(spec, IntentSpec):
        return intent.score_sql(spec, now_us)
    return None


def compute_tables(
    con: duckdb.DuckDBPyConnection, specs: Mapping[str, ScoreSpec], now: datetime
) -> dict[str, str]:
    """Every score in `specs` for every account in `acc` (health: customers only), each as a
    table of the connection's (in-memory) database: (account_id, value, label, parts as
    JSON text); score -> table.

    Much of a score is per-account work on one core, so two run at a time: engagement and
    then health (it reads engagement) on `con`, and beside them, in a thread, fit and intent
    on a second cursor of the database when that cursor can read their inputs (plain tables
    and views; temporary ones and registered Arrow are the connection's own), else on `con`
    too; stage (it reads every other score) last."""
    now_us = int(now.timestamp() * 1e6)
    first = {n: sql for n, s in specs.items() if (sql := _score_sql(con, s, now_us))}
    cursor = con.cursor()
    try:
        aside = [n for n in first if not isinstance(specs[n], EngagementSpec)
                 and _visible(cursor, _READS[type(specs[n])])]  # fmt: skip
        with ThreadPoolExecutor(1) as pool:
            beside = pool.submit(lambda: {n: _table(cursor, n, first[n]) for n in aside})
            try:
                out = {n: _table(con, n, sql) for n, sql in first.items() if n not in aside}
                h = specs.get("health")
                if isinstance(h, HealthSpec):
                    eng = out.get("engagement")
                    out["health"] = _table(con, "health", health.score_sql(h, now, eng))
            finally:
                out.update(beside.result())
    finally:
        cursor.close()
    out = {n: out[n] for n in [*first, "health"] if n in out}  # in the specs' order
    st = specs.get("stage")
    if isinstance(st, StageSpec):
        out["stage"] = _table(con, "stage", stage_sql.score_sql(st, now, dict(out)))
    return out


def compute_scores(
    con: duckdb.DuckDBPyConnection, specs: Mapping[str, ScoreSpec], now: datetime
) -> Results:
    """Every score in `specs` for every account in `acc` (health: customers only)."""
    return {k: fetch_scored(con, t) for k, t in compute_tables(con, specs, now).items()}


@dataclass(frozen=True)
class RunSummary:
    """What one compute run did."""

    accounts: int
    scores: dict[str, int]  # score -> accounts scored
    versions: dict[str, int]
    history_rows: int
    computed_at: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "accounts": self.accounts,
            "scores": self.scores,
            "versions": self.versions,
            "history_rows": self.history_rows,
            "computed_at": self.computed_at.isoformat(),
        }


def active_definitions(engine: Engine, definitions_dir: Path | None) -> dict[str, Active]:
    """Load the library and resolve (registering as needed) the active definitions."""
    library = load_library(definitions_dir)
    with engine.begin() as conn:
        return resolve(conn, library)


def compute_from_store(
    engine: Engine, specs: Mapping[str, ScoreSpec], now: datetime | None = None
) -> Results:
    """Every score on the store's current data, nothing stored."""
    now = now or datetime.now(UTC)
    con = connect()
    try:
        load_from_store(con, engine)
        return compute_scores(con, specs, now)
    finally:
        con.close()


def compute_and_store(
    engine: Engine, definitions_dir: Path | None, now: datetime | None = None
) -> RunSummary:
    """Compute every score with its active definition and store values, parts and history."""
    now = now or datetime.now(UTC)
    active = active_definitions(engine, definitions_dir)
    versions = {k: a.version for k, a in active.items()}
    con = connect()
    try:
        load_from_store(con, engine)
        tables = compute_tables(con, {k: a.spec for k, a in active.items()}, now)
        counts = {k: _count(con, t) for k, t in tables.items()}
        with engine.begin() as conn:
            changed = save_tables(conn, con, tables, versions, now)
    finally:
        con.close()
    return RunSummary(
        accounts=max(counts.values(), default=0),
        scores=counts,
        versions={k: versions[k] for k in tables},
        history_rows=changed,
        computed_at=now,
    )


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


__all__ = [
    "Results",
    "RunSummary",
    "active_definitions",
    "compute_and_store",
    "compute_from_store",
    "compute_scores",
    "compute_tables",
]
