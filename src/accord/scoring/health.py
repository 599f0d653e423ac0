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

from accord.scoring.assemble import PartSQL, assemble_sql, fetch_sql, json_obj, num, plural, text
from accord.scoring.parts import Scored, scales
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


def _pct(x: str) -> str:
    return f"format('{{:+.0f}}%', ({x}) * 100)"


def _clamp(x: str) -> str:
    return f"least(greatest({x}, 0.0), 1.0)"


def _usage(spec: HealthSpec, m: float) -> PartSQL:
    what = "weekly active users" if spec.usage.measure == "active_users" else "usage events"
    change = "(cur - prev) / prev"
    says = (f"CASE WHEN prev > 0 THEN format('{what} {{}} ({{:g}} -> {{:g}})', {_pct(change)}, "
            f"prev, cur) WHEN cur > 0 THEN format('{what} {{:g}} (none before)', cur) "
            f"ELSE {text('no ' + what)} END")  # fmt: skip
    frac = (f"CASE WHEN prev > 0 THEN {_clamp(f'1 + {change} / {num(float(spec.usage.zero_at))}')}"
            " WHEN cur > 0 THEN 1.0 ELSE 0.0 END")  # fmt: skip
    measures = json_obj(current="round(cur, 3)", previous="round(prev, 3)",
                        change=f"CASE WHEN prev > 0 THEN round({change}, 4) END")  # fmt: skip
    return PartSQL("usage", f"({frac}) * {num(m)}", round(m, 1), says, measures)


def _support(spec: HealthSpec, m: float) -> PartSQL:
    s = spec.support
    cost = f"1 - open_cases * {num(float(s.open_case_cost))} - p1 * {num(float(s.p1_cost))}"
    says = (f"format('{{}} P1 ticket{{}}, {{}} open case{{}}', p1, {plural('p1')}, open_cases, "
            f"{plural('open_cases')})")  # fmt: skip
    return PartSQL("support", f"{_clamp(cost)} * {num(m)}", round(m, 1), says,
                   json_obj(open_cases="open_cases", p1="p1"))  # fmt: skip


def _engagement(m: float) -> PartSQL:
    return PartSQL("engagement", f"eng / 100 * {num(m)}", round(m, 1),
                   "format('engagement {:g}', eng)", json_obj(engagement="eng"))  # fmt: skip


def _arr(spec: HealthSpec, m: float) -> PartSQL:
    days = spec.arr.lookback.days
    change = "(grown - lost) / greatest(arr - grown + lost, 1.0)"
    says = (f"CASE WHEN COALESCE(arr, 0) = 0 THEN 'no ARR on record' WHEN {change} <> 0 "
            f"THEN format('ARR {{}} over {days} days', {_pct(change)}) "
            f"ELSE 'ARR flat over {days} days' END")  # fmt: skip
    frac = f"0.5 + 0.5 * {change} / {num(float(spec.arr.full_at))}"
    raw = f"CASE WHEN COALESCE(arr, 0) = 0 THEN 0.5 ELSE {_clamp(frac)} END * {num(m)}"
    full = json_obj(arr="arr", expansion_won="grown", renewal_lost="lost",
                    change=f"round({change}, 4)")  # fmt: skip
    measures = f"""CASE WHEN COALESCE(arr, 0) = 0 THEN '{{"change":null}}' ELSE {full} END"""
    return PartSQL("arr", raw, round(m, 1), says, measures)


def _renewal(spec: HealthSpec, m: float) -> PartSQL:
    window = spec.renewal.window.days
    outside = f"(days IS NULL OR days < 0 OR days > {window})"
    says = (f"CASE WHEN days IS NULL THEN 'no renewal date' "
            f"WHEN {outside} THEN format('renewal in {{}} days', days) "
            f"WHEN renewed THEN format('renewal in {{}} days, already won', days) "
            f"ELSE format('renewal in {{}} days, not yet won', days) END")  # fmt: skip
    frac = f"days / {num(float(window))}" if window else "1.0"
    raw = f"CASE WHEN {outside} OR renewed THEN 1.0 ELSE {frac} END * {num(m)}"
    return PartSQL("renewal", raw, round(m, 1), says, json_obj(days_to_renewal="days"))


def score_sql(spec: HealthSpec, now: datetime, engagement: str | None) -> str:
    """(account_id, value, label, parts) for accounts whose lifecycle is in `applies_to`;
    `engagement` names a score table (account_id, value) or None."""
    now_us = int(now.timestamp() * 1e6)
    stages = ", ".join(lit(s) for s in spec.applies_to)
    eng_join = f"LEFT JOIN {engagement} e ON e.account_id = acc.id" if engagement else ""
    eng = "COALESCE(e.value, 0.0)" if engagement else "0.0"
    source = f"""
    SELECT acc.id AS account_id, acc.arr AS arr,
      CAST(acc.renewal_date - DATE {lit(now.date().isoformat())} AS BIGINT) AS days,
      CAST(COALESCE(u.cur, 0.0) AS DOUBLE) AS cur, CAST(COALESCE(u.prev, 0.0) AS DOUBLE) AS prev,
      COALESCE(c.open_cases, 0) AS open_cases, COALESCE(c.p1, 0) AS p1,
      CAST(COALESCE(o.grown, 0.0) AS DOUBLE) AS grown,
      CAST(COALESCE(o.lost, 0.0) AS DOUBLE) AS lost,
      COALESCE(o.renewed, FALSE) AS renewed, {eng} AS eng
    FROM acc
    LEFT JOIN ({usage_sql(spec, now_us)}) u ON u.account_id = acc.id
    LEFT JOIN ({cases_sql(spec)}) c ON c.account_id = acc.id
    LEFT JOIN ({opps_sql(spec, now.date())}) o ON o.account_id = acc.id
    {eng_join}
    WHERE acc.lifecycle_stage IN ({stages})
    """
    m = scales([spec.usage.weight, spec.support.weight, spec.engagement.weight,
                spec.arr.weight, spec.renewal.weight])  # fmt: skip
    parts = [_usage(spec, m[0]), _support(spec, m[1]), _engagement(m[2]), _arr(spec, m[3]),
             _renewal(spec, m[4])]  # fmt: skip
    return assemble_sql(source, parts)


def compute(
    con: duckdb.DuckDBPyConnection,
    spec: HealthSpec,
    now: datetime,
    engagement: str | None = None,
) -> dict[str, Scored]:
    """Health for every account in `acc` whose lifecycle stage is in `applies_to`."""
    return fetch_sql(con, score_sql(spec, now, engagement))


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


__all__ = [
    "cases_sql",
    "compute",
    "health_by_account",
    "opps_sql",
    "score_sql",
    "stored_health",
    "usage_sql",
]
