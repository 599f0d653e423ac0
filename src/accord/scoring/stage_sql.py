"""Buying stage in DuckDB: the rules of `accord.scoring.stage` compiled to SQL.

Each condition becomes an expression that is the reason it holds (the same phrase
`stage.holds` gives) or NULL; opportunity and signal conditions read one aggregate column
each, score conditions the other scores' tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from accord.scoring.assemble import json_obj, num, text
from accord.scoring.specs import (
    STAGES,
    AllCondition,
    AnyCondition,
    Condition,
    LifecycleCondition,
    OpportunityCondition,
    ScoreCondition,
    SignalCondition,
    StageSpec,
)


class _Compiler:
    """Collects the aggregate columns the conditions need while compiling them."""

    def __init__(self, now: datetime, scores: Mapping[str, str]) -> None:
        self.now_us = int(now.timestamp() * 1e6)
        self.today = now.date()
        self.scores = scores
        self.opps: list[str] = []  # aggregate expressions over `opps`
        self.sigs: list[str] = []  # aggregate expressions over `sigs`

    def why(self, c: Condition) -> str:
        if isinstance(c, LifecycleCondition):
            names = ", ".join(text(s) for s in c.one_of)
            return f"CASE WHEN lifecycle IN ({names}) THEN 'lifecycle stage ' || lifecycle END"
        if isinstance(c, OpportunityCondition):
            return self._opportunity(c)
        if isinstance(c, SignalCondition):
            return self._signal(c)
        if isinstance(c, ScoreCondition):
            if c.score not in self.scores:
                return "CAST(NULL AS VARCHAR)"
            v = f"sc_{c.score}"
            return (f"CASE WHEN {v} >= {num(float(c.at_least))} THEN "
                    f"format('{c.score} {{:g}} >= {c.at_least:g}', {v}) END")  # fmt: skip
        if isinstance(c, AnyCondition):
            whys = [self.why(sub) for sub in c.of]
            return f"COALESCE({', '.join(whys)})" if whys else "CAST(NULL AS VARCHAR)"
        if isinstance(c, AllCondition):
            return " || ' and ' || ".join(f"({self.why(sub)})" for sub in c.of) or "''"
        raise TypeError(f"unknown condition {c!r}")

    def _opportunity(self, c: OpportunityCondition) -> str:
        tests = []
        if c.won_within is not None:
            since = (self.today - c.won_within).isoformat()
            tests.append(f"COALESCE(is_won AND close_date >= DATE '{since}', FALSE)")
        else:
            tests.append("NOT COALESCE(is_closed, FALSE)")
        if c.types is not None:
            tests.append(f"COALESCE(type IN ({', '.join(text(t) for t in c.types)}), FALSE)")
        if c.stages is not None:
            globs = " OR ".join(
                f"lower(COALESCE(stage, '')) GLOB {text(p.casefold())}" for p in c.stages
            )
            tests.append(f"({globs})")
        if c.min_probability is not None:
            tests.append(f"COALESCE(probability, 0.0) >= {num(float(c.min_probability))}")
        why = ("format('{} {} opportunity in stage {}', CASE WHEN is_won THEN 'won' "
               "ELSE 'open' END, COALESCE(type, 'None'), COALESCE(stage, 'None'))")  # fmt: skip
        self.opps.append(f"min({why}) FILTER (WHERE {' AND '.join(tests)})")
        return f"o{len(self.opps) - 1}"

    def _signal(self, c: SignalCondition) -> str:
        since = self.now_us - int(c.within.total_seconds() * 1e6)
        types = ", ".join(text(t) for t in c.types)
        self.sigs.append(
            f"string_agg(DISTINCT type, ', ' ORDER BY type) FILTER "
            f"(WHERE type IN ({types}) AND t > {since} AND t <= {self.now_us})"
        )
        n = len(self.sigs) - 1
        return f"'signal ' || g{n} || ' within {c.within.days} days'"


def score_sql(spec: StageSpec, now: datetime, scores: Mapping[str, str]) -> str:
    """(account_id, value, label, parts) for every account in `acc`; `scores` maps score
    name -> its table (account_id, value)."""
    comp = _Compiler(now, scores)
    whys = [comp.why(rule.when) for rule in spec.rules]
    stage = " ".join(f"WHEN w{i} IS NOT NULL THEN {i}" for i in range(len(whys)))
    cols = [f"({w}) AS w{i}" for i, w in enumerate(whys)]
    joins = [f"LEFT JOIN {t} t_{n} ON t_{n}.account_id = acc.id" for n, t in scores.items()]
    svals = [f"t_{n}.value AS sc_{n}" for n in scores]
    if comp.opps:
        aggs = ", ".join(f"{a} AS o{i}" for i, a in enumerate(comp.opps))
        joins.append(f"LEFT JOIN (SELECT account_id, {aggs} FROM opps GROUP BY account_id) "
                     "op ON op.account_id = acc.id")  # fmt: skip
    if comp.sigs:
        aggs = ", ".join(f"{a} AS g{i}" for i, a in enumerate(comp.sigs))
        joins.append(f"LEFT JOIN (SELECT account_id, {aggs} FROM sigs GROUP BY account_id) "
                     "sg ON sg.account_id = acc.id")  # fmt: skip
    base = f"""
    SELECT acc.id AS account_id, COALESCE(acc.lifecycle_stage, 'prospect') AS lifecycle
           {"".join(", " + v for v in svals)}{"".join(f", o{i}" for i in range(len(comp.opps)))}
           {"".join(f", g{i}" for i in range(len(comp.sigs)))}
    FROM acc {" ".join(joins)}
    """
    stages = "[" + ", ".join(text(s) for s in STAGES) + "]"
    labels = "[" + ", ".join(text(r.stage) for r in spec.rules) + "]"
    says = "CASE " + " ".join(
        f"WHEN rule = {i} THEN {text(r.says) if r.says else f'w{i}'}"
        for i, r in enumerate(spec.rules)
    ) + " ELSE 'no stage rule holds' END"  # fmt: skip
    if not spec.rules:
        says = "'no stage rule holds'"
    label = (f"COALESCE(list_extract({labels}, rule + 1), {text(spec.default)})"
             if spec.rules else text(spec.default))  # fmt: skip
    return f"""
    WITH a AS (SELECT *, {", ".join(cols) or "NULL AS w0"} FROM ({base}) b),
    r AS (SELECT *, {f"CASE {stage} END" if whys else "NULL"} AS rule FROM a),
    l AS (SELECT account_id, rule, {label} AS label, {says} AS says FROM r),
    v AS (SELECT *, CAST(list_position({stages}, label) - 1 AS DOUBLE) AS value FROM l)
    SELECT account_id, value, label,
      '[' || left({json_obj(name="label", points="value", max="5", says="says")}, -1)
      || ',"measures":' || {json_obj(rule="rule")} || '}}]' AS parts
    FROM v
    """


__all__ = ["score_sql"]
