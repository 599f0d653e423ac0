"""Customer health: usage trend, support load, engagement, ARR change and renewal proximity.

Only accounts whose lifecycle stage is in `applies_to` get a health score. The measures
come from three set-based queries (usage per window, open cases, won/lost opportunities);
`stored_health` lets other layers read the stored value.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import duckdb
from sqlalchemy import Connection, Select, select

from accord.scoring.parts import Scored, clamp, part, pct, scales, scored
from accord.scoring.specs import HealthSpec
from accord.signals.filters import compile_sql, lit, needs_dims
from accord.store.schema import scores_current

_WEEK_US = 7 * 86_400_000_000


def _us(td: timedelta) -> int:
    return int(td.total_seconds() * 1e6)


def usage_sql(spec: HealthSpec, now_us: int) -> str:
    """Per account: the usage measure in this window and in the one before it."""
    win = _us(spec.usage.window)
    weeks = max(spec.usage.window / timedelta(days=7), 1e-9)
    rel = "ev_dims" if needs_dims(spec.usage.event) else "ev"
    if spec.usage.measure == "active_users":
        who = f"COALESCE(contact_id, '') || ':' || CAST(({now_us} - t) // {_WEEK_US} AS VARCHAR)"
        cur = f"COUNT(DISTINCT {who}) FILTER (WHERE t > {now_us - win} AND contact_id IS NOT NULL)"
        prev = (
            f"COUNT(DISTINCT {who}) FILTER (WHERE t <= {now_us - win} AND contact_id IS NOT NULL)"
        )
        cur, prev = f"{cur} / {weeks!r}", f"{prev} / {weeks!r}"
    else:
        cur = f"COUNT(*) FILTER (WHERE t > {now_us - win})"
        prev = f"COUNT(*) FILTER (WHERE t <= {now_us - win})"
    return f"""
    SELECT account_id, {cur} AS cur, {prev} AS prev FROM {rel}
    WHERE account_id IS NOT NULL AND t > {now_us - 2 * win} AND t <= {now_us}
      AND {compile_sql(spec.usage.event)}
    GROUP BY account_id
    """


def cases_sql(spec: HealthSpec) -> str:
    closed = ", ".join(lit(s.casefold()) for s in spec.support.closed_statuses) or "''"
    p1 = ", ".join(lit(s.casefold()) for s in spec.support.p1_priorities) or "''"
    return f"""
    SELECT account_id, COUNT(*) AS open_cases,
           COUNT(*) FILTER (WHERE lower(COALESCE(priority, '')) IN ({p1})) AS p1
    FROM cases_r
    WHERE closed_us IS NULL AND lower(COALESCE(status, '')) NOT IN ({closed})
    GROUP BY account_id
    """


def opps_sql(spec: HealthSpec, today: date) -> str:
    since = today - spec.arr.lookback
    renew = today - spec.renewal.window
    return f"""
    SELECT account_id,
      COALESCE(SUM(amount) FILTER (WHERE type = 'expansion' AND is_won
                                   AND close_date > DATE {lit(since.isoformat())}), 0) AS grown,
      COALESCE(SUM(amount) FILTER (WHERE type = 'renewal' AND is_closed AND NOT is_won
                                   AND close_date > DATE {lit(since.isoformat())}), 0) AS lost,
      bool_or(type = 'renewal' AND is_won AND close_date > DATE {lit(renew.isoformat())})
        AS renewed
    FROM opps GROUP BY account_id
    """


def _usage_part(spec: HealthSpec, cur: float, prev: float, m: float) -> dict[str, Any]:
    what = "weekly active users" if spec.usage.measure == "active_users" else "usage events"
    if prev > 0:
        change = (cur - prev) / prev
        f = clamp(1 + change / spec.usage.zero_at)
        says = f"{what} {pct(change)} ({prev:g} -> {cur:g})"
    else:
        change = None
        f = 1.0 if cur > 0 else 0.0
        says = f"{what} {cur:g} (none before)" if cur > 0 else f"no {what}"
    return part("usage", f * m, m, says, current=round(cur, 3), previous=round(prev, 3),
                change=None if change is None else round(change, 4))  # fmt: skip


def _support_part(spec: HealthSpec, open_cases: int, p1: int, m: float) -> dict[str, Any]:
    s = spec.support
    f = clamp(1 - open_cases * s.open_case_cost - p1 * s.p1_cost)
    says = f"{p1} P1 ticket{'s' * (p1 != 1)}, {open_cases} open case{'s' * (open_cases != 1)}"
    return part("support", f * m, m, says, open_cases=open_cases, p1=p1)


def _arr_part(
    spec: HealthSpec, arr: float | None, grown: float, lost: float, m: float
) -> dict[str, Any]:
    if not arr:
        return part("arr", 0.5 * m, m, "no ARR on record", change=None)
    before = max(arr - grown + lost, 1.0)
    change = (grown - lost) / before
    f = clamp(0.5 + 0.5 * change / spec.arr.full_at)
    days = spec.arr.lookback.days
    says = f"ARR {pct(change)} over {days} days" if change else f"ARR flat over {days} days"
    return part("arr", f * m, m, says, arr=arr, expansion_won=grown, renewal_lost=lost,
                change=round(change, 4))  # fmt: skip


def _renewal_part(
    spec: HealthSpec, renewal: date | None, renewed: bool, today: date, m: float
) -> dict[str, Any]:
    window = spec.renewal.window.days
    days = (renewal - today).days if renewal else None
    if days is None or days < 0 or days > window:
        says = "no renewal date" if days is None else f"renewal in {days} days"
        return part("renewal", m, m, says, days_to_renewal=days)
    if renewed:
        return part("renewal", m, m, f"renewal in {days} days, already won", days_to_renewal=days)
    f = days / window if window else 1.0
    return part("renewal", f * m, m, f"renewal in {days} days, not yet won", days_to_renewal=days)


def compute(
    con: duckdb.DuckDBPyConnection,
    spec: HealthSpec,
    now: datetime,
    engagement: dict[str, Scored],
) -> dict[str, Scored]:
    """Health for every account in `acc` whose lifecycle stage is in `applies_to`."""
    now_us = int(now.timestamp() * 1e6)
    stages = ", ".join(lit(s) for s in spec.applies_to)
    accs = con.execute(
        f"SELECT id, arr, renewal_date FROM acc WHERE lifecycle_stage IN ({stages})"
    ).fetchall()
    usage = {r[0]: r[1:] for r in con.execute(usage_sql(spec, now_us)).fetchall()}
    cases = {r[0]: r[1:] for r in con.execute(cases_sql(spec)).fetchall()}
    opps = {r[0]: r[1:] for r in con.execute(opps_sql(spec, now.date())).fetchall()}
    m = scales([spec.usage.weight, spec.support.weight, spec.engagement.weight,
                spec.arr.weight, spec.renewal.weight])  # fmt: skip
    out: dict[str, Scored] = {}
    for acc, arr, renewal in accs:
        cur, prev = usage.get(acc, (0.0, 0.0))
        open_cases, p1 = cases.get(acc, (0, 0))
        grown, lost, renewed = opps.get(acc, (0.0, 0.0, False))
        eng = engagement[acc].value if acc in engagement else 0.0
        parts = [
            _usage_part(spec, float(cur), float(prev), m[0]),
            _support_part(spec, int(open_cases), int(p1), m[1]),
            part("engagement", eng / 100 * m[2], m[2], f"engagement {eng:g}", engagement=eng),
            _arr_part(spec, arr, float(grown), float(lost), m[3]),
            _renewal_part(spec, renewal, bool(renewed), now.date(), m[4]),
        ]
        out[acc] = scored(parts)
    return out


def stored_health() -> Select[Any]:
    """(account_id, health) of every account with a stored health score, as a subquery-able
    select; the signal layer's renewal check can join it instead of an account attribute."""
    sc = scores_current
    return select(sc.c.account_id, sc.c.value.label("health")).where(sc.c.score == "health")


def health_by_account(conn: Connection, account_ids: list[str] | None = None) -> dict[str, float]:
    """Stored health per account (all accounts with one, or just `account_ids`)."""
    q = stored_health()
    if account_ids is not None:
        q = q.where(scores_current.c.account_id.in_(account_ids))
    return {a: float(v) for a, v in conn.execute(q)}


__all__ = ["cases_sql", "compute", "health_by_account", "opps_sql", "stored_health", "usage_sql"]
