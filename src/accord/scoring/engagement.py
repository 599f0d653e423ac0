"""Engagement: time-decayed, weighted touches per team.

Every event in the lookback earns the points of the first touch rule it matches, halved
for each half-life of age. The decayed total S maps to 0-100 as 100 * S / (S + saturation)
(saturation points give 50); each team's part is its share of S.
"""

from __future__ import annotations

import duckdb

from accord.scoring.parts import Scored, part, scored
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
        cols.append(f"SUM(dp) FILTER (WHERE team = {lit(team)}) AS p{i}")
        cols.append(f"COUNT(*) FILTER (WHERE team = {lit(team)}) AS n{i}")
    return f"""
    WITH t AS (
      SELECT account_id, team, {points_sql(spec)} AS pts, t FROM {rel}
      WHERE t > {start} AND t <= {now_us} AND account_id IS NOT NULL
    )
    SELECT account_id, {", ".join(cols)}
    FROM (SELECT account_id, team, pts * pow(0.5, ({now_us} - t) / {hl!r}) AS dp FROM t
          WHERE pts > 0)
    GROUP BY account_id
    """


def from_totals(spec: EngagementSpec, totals: list[tuple[float, int]]) -> Scored:
    """The score from each team's (decayed points, touches), in `spec.teams` order."""
    s = sum(p for p, _ in totals)
    value = 100.0 * s / (s + spec.saturation)
    parts = []
    for team, (pts, n) in zip(spec.teams, totals, strict=True):
        share = value * pts / s if s > 0 else 0.0
        says = f"{team}: {n} touch{'es' * (n != 1)} ({pts:.1f} decayed points)"
        parts.append(part(team, share, 100.0, says, touches=n, decayed_points=round(pts, 3)))
    return scored(parts)


def compute(
    con: duckdb.DuckDBPyConnection, spec: EngagementSpec, now_us: int, ids: list[str]
) -> dict[str, Scored]:
    """Engagement for every account in `ids` (no touches: 0)."""
    found = {r[0]: r[1:] for r in con.execute(aggregate_sql(spec, now_us)).fetchall()}
    zero = from_totals(spec, [(0.0, 0)] * len(spec.teams))
    out: dict[str, Scored] = {}
    for acc in ids:
        row = found.get(acc)
        if row is None:
            out[acc] = zero
            continue
        totals = [(float(row[2 * i] or 0.0), int(row[2 * i + 1])) for i in range(len(spec.teams))]
        out[acc] = from_totals(spec, totals)
    return out


__all__ = ["aggregate_sql", "compute", "from_totals", "points_sql"]
