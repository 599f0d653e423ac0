"""Intent: research activity now, from intent events and intent signals.

Parts: decayed volume in the window, surge (the last `surge_window` against the account's
own baseline), breadth (distinct topics), recency of the last research event, and the
intent signals fired within `signals.within`. The top topics and their decayed scores
ride along as measures.
"""

from __future__ import annotations

from typing import Any

import duckdb

from accord.scoring.assemble import PartSQL, assemble_sql, fetch_sql, json_obj, num, plural
from accord.scoring.parts import Scored, scales
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


def _days(td: Any) -> str:
    return f"{td.total_seconds() / 86400:g} days"


def _clamp(x: str) -> str:
    return f"least(greatest({x}, 0.0), 1.0)"


def _parts(spec: IntentSpec) -> list[PartSQL]:
    m = scales([spec.volume.weight, spec.surge.weight, spec.breadth.weight, spec.recency.weight,
                spec.signals.weight])  # fmt: skip
    hl_days = num(spec.half_life.total_seconds() / 86400)
    top = "array_to_string(list_transform(top, lambda x: x.topic), ', ')"
    sw = _days(spec.surge_window)
    says = [
        "format('{:.1f} decayed research events', volume)",
        f"format('research {{:.1f}}x baseline ({{}} in {sw})', ratio, recent)",
        f"format('{{}} topic{{}}', topics, {plural('topics')})"
        f" || CASE WHEN len(top) > 0 THEN ' (top: ' || {top} || ')' ELSE '' END",
        "CASE WHEN age IS NULL THEN 'no recent research' "
        "ELSE format('last research {:.0f} days ago', age) END",
        "CASE WHEN len(types) > 0 THEN 'intent signals: ' || array_to_string(types, ', ') "
        "ELSE 'no intent signals' END",
    ]
    fractions = [
        f"volume / (volume + {num(float(spec.volume.saturation))})",
        _clamp(f"(ratio - 1) / ({num(float(spec.surge.full_at))} - 1)"),
        _clamp(f"topics / {num(float(spec.breadth.full_at))}"),
        f"CASE WHEN age IS NULL THEN 0.0 ELSE pow(0.5, age / {hl_days}) END",
        _clamp(f"strength / {num(float(spec.signals.full_at))}"),
    ]
    measures = [
        json_obj(decayed_events="round(volume, 3)"),
        json_obj(
            recent="recent", baseline_weekly="round(base / weeks, 3)", ratio="round(ratio, 3)"
        ),
        json_obj(topics="topics", top_topics="top"),
        json_obj(days_since_last="round(age, 2)"),
        json_obj(strength="round(strength, 3)", types="types"),
    ]
    names = ("volume", "surge", "breadth", "recency", "signals")
    return [
        PartSQL(n, f"({f}) * {num(mx)}", round(mx, 1), sy, ms)
        for n, f, mx, sy, ms in zip(names, fractions, m, says, measures, strict=True)
    ]


def score_sql(spec: IntentSpec, now_us: int) -> str:
    """(account_id, value, label, parts) for every account in `acc` (no research: 0)."""
    weeks = num(spec.baseline / spec.surge_window)
    source = f"""
    SELECT *, recent / greatest(base / weeks, {num(float(spec.surge.min_baseline))}) AS ratio
    FROM (
      SELECT acc.id AS account_id, {weeks} AS weeks,
        COALESCE(r.volume, 0.0) AS volume, COALESCE(r.recent, 0) AS recent,
        COALESCE(r.base, 0) AS base, COALESCE(r.topics, 0) AS topics,
        ({now_us} - r.last_t) / {_DAY_US} AS age,
        COALESCE(r.top, []) AS top, COALESCE(g.strength, 0.0) AS strength,
        COALESCE(g.types, []::VARCHAR[]) AS types
      FROM acc
      LEFT JOIN ({aggregate_sql(spec, now_us)}) r ON r.account_id = acc.id
      LEFT JOIN ({signals_sql(spec, now_us)}) g ON g.account_id = acc.id)
    """
    return assemble_sql(source, _parts(spec))


def compute(
    con: duckdb.DuckDBPyConnection, spec: IntentSpec, now_us: int, ids: list[str]
) -> dict[str, Scored]:
    """Intent for every account in `acc`; `ids` is kept for callers."""
    return fetch_sql(con, score_sql(spec, now_us))


__all__ = ["aggregate_sql", "compute", "score_sql", "signals_sql"]
