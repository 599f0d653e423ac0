"""Intent: research activity now, from intent events and intent signals.

Parts: decayed volume in the window, surge (the last `surge_window` against the account's
own baseline), breadth (distinct topics), recency of the last research event, and the
intent signals fired within `signals.within`. The top topics and their decayed scores
ride along as measures.
"""

from __future__ import annotations

from typing import Any

import duckdb

from accord.scoring.parts import Scored, clamp, part, scales, scored
from accord.scoring.specs import IntentSpec
from accord.signals.filters import compile_sql, lit, needs_dims, sql_prop_text

_DAY_US = 86_400_000_000


def _us(spec_td: Any) -> int:
    return int(spec_td.total_seconds() * 1e6)


def aggregate_sql(spec: IntentSpec, now_us: int) -> str:
    """One row per account with research: volume, recent, base, topics, last_t, top topics."""
    hl, win, sw, base = (
        _us(spec.half_life),
        _us(spec.window),
        _us(spec.surge_window),
        _us(spec.baseline),
    )
    start = now_us - max(win, sw + base)
    topic = f"COALESCE({', '.join(sql_prop_text(p) for p in spec.topic_properties)})"
    rel = "ev_dims" if needs_dims(spec.event) else "ev"
    return f"""
    WITH e AS (
      SELECT account_id, t, {topic} AS topic, pow(0.5, ({now_us} - t) / {float(hl)!r}) AS d
      FROM {rel}
      WHERE account_id IS NOT NULL AND t > {start} AND t <= {now_us} AND {compile_sql(spec.event)}
    ), agg AS (
      SELECT account_id,
        COALESCE(SUM(d) FILTER (WHERE t > {now_us - win}), 0) AS volume,
        COUNT(*) FILTER (WHERE t > {now_us - sw}) AS recent,
        COUNT(*) FILTER (WHERE t <= {now_us - sw} AND t > {now_us - sw - base}) AS base,
        COUNT(DISTINCT topic) FILTER (WHERE t > {now_us - win}) AS topics,
        MAX(t) FILTER (WHERE t > {now_us - win}) AS last_t
      FROM e GROUP BY account_id
    ), tp AS (
      SELECT account_id, topic, SUM(d) AS s FROM e
      WHERE t > {now_us - win} AND topic IS NOT NULL GROUP BY account_id, topic
      QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY s DESC, topic) <= 3
    ), top AS (
      SELECT account_id, list(struct_pack(topic := topic, score := round(s, 2))
                              ORDER BY s DESC, topic) AS top
      FROM tp GROUP BY account_id
    )
    SELECT agg.*, top.top FROM agg LEFT JOIN top USING (account_id)
    """


def signals_sql(spec: IntentSpec, now_us: int) -> str:
    """One row per account with intent signals in `signals.within`: strength sum, types."""
    types = ", ".join(lit(t) for t in spec.signals.types)
    since = now_us - _us(spec.signals.within)
    return f"""
    SELECT account_id, SUM(strength) AS strength, list(DISTINCT type ORDER BY type) AS types
    FROM sigs WHERE type IN ({types}) AND t > {since} AND t <= {now_us} GROUP BY account_id
    """


def from_measures(
    spec: IntentSpec,
    now_us: int,
    row: tuple[Any, ...] | None,
    sig: tuple[Any, ...] | None,
) -> Scored:
    """The score from one account's aggregate row and signal row (either may be None)."""
    volume, recent, base, topics, last_t, top = row or (0.0, 0, 0, 0, None, None)
    strength, types = sig or (0.0, [])
    volume, strength = float(volume or 0.0), float(strength or 0.0)
    weeks = spec.baseline / spec.surge_window
    baseline = max(base / weeks, spec.surge.min_baseline)
    ratio = recent / baseline
    age_days = (now_us - last_t) / _DAY_US if last_t is not None else None
    hl_days = spec.half_life.total_seconds() / 86400
    fractions = [
        volume / (volume + spec.volume.saturation),
        clamp((ratio - 1) / (spec.surge.full_at - 1)),
        clamp(topics / spec.breadth.full_at),
        0.5 ** (age_days / hl_days) if age_days is not None else 0.0,
        clamp(strength / spec.signals.full_at),
    ]
    maxima = scales(
        [spec.volume.weight, spec.surge.weight, spec.breadth.weight, spec.recency.weight,
         spec.signals.weight]
    )  # fmt: skip
    topic_list = [dict(t) for t in top] if top else []
    says = [
        f"{volume:.1f} decayed research events",
        f"research {ratio:.1f}x baseline ({recent} in {_days(spec.surge_window)})",
        f"{topics} topic{'s' * (topics != 1)}"
        + (f" (top: {', '.join(t['topic'] for t in topic_list)})" if topic_list else ""),
        f"last research {age_days:.0f} days ago" if age_days is not None else "no recent research",
        f"intent signals: {', '.join(types)}" if types else "no intent signals",
    ]
    measures: list[dict[str, Any]] = [
        {"decayed_events": round(volume, 3)},
        {"recent": recent, "baseline_weekly": round(base / weeks, 3), "ratio": round(ratio, 3)},
        {"topics": topics, "top_topics": topic_list},
        {"days_since_last": round(age_days, 2) if age_days is not None else None},
        {"strength": round(strength, 3), "types": list(types)},
    ]
    names = ("volume", "surge", "breadth", "recency", "signals")
    parts = [
        part(n, f * m, m, s, **ms)
        for n, f, m, s, ms in zip(names, fractions, maxima, says, measures, strict=True)
    ]
    return scored(parts)


def _days(td: Any) -> str:
    return f"{td.total_seconds() / 86400:g} days"


def compute(
    con: duckdb.DuckDBPyConnection, spec: IntentSpec, now_us: int, ids: list[str]
) -> dict[str, Scored]:
    rows = {r[0]: r[1:] for r in con.execute(aggregate_sql(spec, now_us)).fetchall()}
    sigs = {r[0]: r[1:] for r in con.execute(signals_sql(spec, now_us)).fetchall()}
    empty = from_measures(spec, now_us, None, None)
    return {
        acc: from_measures(spec, now_us, rows.get(acc), sigs.get(acc))
        if acc in rows or acc in sigs
        else empty
        for acc in ids
    }


__all__ = ["aggregate_sql", "compute", "from_measures", "signals_sql"]
