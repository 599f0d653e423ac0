"""Engagement: time-decayed, weighted touches per team.

Every event in the lookback earns the points of the first touch rule it matches, halved
for each half-life of age. The decayed total S maps to 0-100 as 100 * S / (S + saturation)
(saturation points give 50); each team's part is its share of S.
"""

from __future__ import annotations

import duckdb

from accord.scoring.assemble import PartSQL, assemble_sql, fetch_sql, json_obj, num, plural, text
from accord.scoring.parts import Scored
from accord.scoring.specs import EngagementSpec
from accord.signals.filters import compile_sql, lit, needs_dims


def points_sql(spec: EngagementSpec) -> str:
    """CASE expression: the points of the first matching touch rule, else 0."""
    whens = [f"WHEN {compile_sql(t)} THEN {lit(float(t.points))}" for t in spec.touches]
    return f"CASE {' '.join(whens)} ELSE 0.0 END"


def aggregate_sql(spec: EngagementSpec, now_us: int) -> str:
    """One row per account: decayed points and touches per team."""
    hl = spec.half_life.total_seconds() * 1e6
    start = now_us - int(spec.lookback.total_seconds() * 1e6)
    rel = "ev_dims" if any(needs_dims(t) for t in spec.touches) else "ev"
    cols = []
    for i, team in enumerate(spec.teams):
        cols.append(f"SUM(p) FILTER (WHERE team = {lit(team)}) AS p{i}")
        cols.append(f"COALESCE(SUM(n) FILTER (WHERE team = {lit(team)}), 0) AS n{i}")
    teams = ", ".join(lit(t) for t in spec.teams) or "NULL"
    return f"""
    WITH t AS (
      SELECT account_id, team, {points_sql(spec)} AS pts, t FROM {rel}
      WHERE t > {start} AND t <= {now_us} AND account_id IS NOT NULL AND team IN ({teams})
    ), g AS (
      SELECT account_id, team, SUM(pts * pow(0.5, ({now_us} - t) / {hl!r})) AS p,
             COUNT(*) FILTER (WHERE pts > 0) AS n
      FROM t GROUP BY account_id, team
    )
    SELECT account_id, {", ".join(cols)} FROM g GROUP BY account_id
    """


def _part(spec: EngagementSpec, i: int, team: str) -> PartSQL:
    says = (f"format('{{}}: {{}} touch{{}} ({{:.1f}} decayed points)', {text(team)}, n{i}, "
            f"{plural(f'n{i}', 'es')}, p{i})")  # fmt: skip
    return PartSQL(
        name=team,
        raw=f"CASE WHEN s > 0 THEN v * p{i} / s ELSE 0.0 END",
        maximum=100.0,
        says=says,
        measures=json_obj(touches=f"n{i}", decayed_points=f"round(p{i}, 3)"),
    )


def score_sql(spec: EngagementSpec, now_us: int) -> str:
    """(account_id, value, label, parts) for every account in `acc` (no touches: 0)."""
    teams = range(len(spec.teams))
    cols = ", ".join(f"COALESCE(g.p{i}, 0.0) AS p{i}, COALESCE(g.n{i}, 0) AS n{i}" for i in teams)
    total = " + ".join(f"p{i}" for i in teams) or "0.0"
    source = f"""
    SELECT *, 100.0 * s / (s + {num(float(spec.saturation))}) AS v FROM (
      SELECT *, {total} AS s FROM (
        SELECT acc.id AS account_id, {cols}
        FROM acc LEFT JOIN ({aggregate_sql(spec, now_us)}) g ON g.account_id = acc.id))
    """
    return assemble_sql(source, [_part(spec, i, t) for i, t in enumerate(spec.teams)])


def compute(
    con: duckdb.DuckDBPyConnection, spec: EngagementSpec, now_us: int, ids: list[str]
) -> dict[str, Scored]:
    """Engagement for every account in `acc` (no touches: 0); `ids` is kept for callers."""
    return fetch_sql(con, score_sql(spec, now_us))


__all__ = ["aggregate_sql", "compute", "points_sql", "score_sql"]
