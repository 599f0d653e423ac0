"""Compute every score for every account, set-based: DuckDB aggregates over the events,
Python only over one aggregate row per account.

`compute_scores` works on any DuckDB connection holding the relations of
`accord.scoring.inputs` (the store or Parquet); `compute_and_store` is the whole run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from sqlalchemy import Engine

from accord.scoring import engagement, fit, health, intent, stage
from accord.scoring.definitions import Active, resolve
from accord.scoring.inputs import account_ids, connect, load_from_store
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
from accord.scoring.store import save

Results = dict[str, dict[str, Scored]]


def compute_scores(
    con: duckdb.DuckDBPyConnection, specs: Mapping[str, ScoreSpec], now: datetime
) -> Results:
    """Every score in `specs` for every account in `acc` (health: customers only)."""
    now_us = int(now.timestamp() * 1e6)
    ids = account_ids(con)
    out: Results = {}
    for name, spec in specs.items():
        if isinstance(spec, FitSpec):
            out[name] = fit.compute(con, spec)
        elif isinstance(spec, EngagementSpec):
            out[name] = engagement.compute(con, spec, now_us, ids)
        elif isinstance(spec, IntentSpec):
            out[name] = intent.compute(con, spec, now_us, ids)
    h = specs.get("health")
    if isinstance(h, HealthSpec):
        out["health"] = health.compute(con, h, now, out.get("engagement", {}))
    st = specs.get("stage")
    if isinstance(st, StageSpec):
        out["stage"] = stage.compute(con, st, now, dict(out))
    return out


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
    results = compute_from_store(engine, {k: a.spec for k, a in active.items()}, now)
    versions = {k: a.version for k, a in active.items()}
    with engine.begin() as conn:
        changed = save(conn, results, versions, now)
    return RunSummary(
        accounts=max((len(v) for v in results.values()), default=0),
        scores={k: len(v) for k, v in results.items()},
        versions=versions,
        history_rows=changed,
        computed_at=now,
    )


__all__ = [
    "Results",
    "RunSummary",
    "active_definitions",
    "compute_and_store",
    "compute_from_store",
    "compute_scores",
]
