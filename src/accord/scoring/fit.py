"""ICP fit: firmographic rules from YAML, each worth its (scaled) weight when it holds.

One DuckDB query tests every rule for every account and writes the parts.
"""

from __future__ import annotations

import duckdb

from accord.scoring.assemble import PartSQL, assemble_sql, fetch_sql, json_obj, num, text
from accord.scoring.parts import Scored, scales
from accord.scoring.specs import FitRule, FitSpec
from accord.signals.filters import lit


def field_sql(field: str) -> str:
    """The `acc` column (or JSON attribute) a rule reads."""
    if field.startswith("attributes."):
        name = field.removeprefix("attributes.")
        path = f'$."{name}"'
        return f"json_extract_string(attributes, {lit(path)})"
    return field


def rule_sql(rule: FitRule) -> str:
    """A boolean expression, NULL-safe (a missing value fails the rule)."""
    col = field_sql(rule.field)
    if rule.one_of is not None:
        texts = sorted({str(v).casefold() for v in rule.one_of})
        inner = f"lower(CAST({col} AS VARCHAR)) IN ({', '.join(lit(t) for t in texts)})"
    else:
        num = f"TRY_CAST({col} AS DOUBLE)"
        tests = []
        if rule.at_least is not None:
            tests.append(f"{num} >= {lit(float(rule.at_least))}")
        if rule.at_most is not None:
            tests.append(f"{num} <= {lit(float(rule.at_most))}")
        inner = " AND ".join(tests)
    return f"COALESCE({inner}, FALSE)"


def _label(rule: FitRule) -> str:
    if rule.label:
        return rule.label
    if rule.one_of is not None:
        return f"{rule.field} in {', '.join(str(v) for v in rule.one_of)}"
    lo = "" if rule.at_least is None else f"{rule.at_least:g} <= "
    hi = "" if rule.at_most is None else f" <= {rule.at_most:g}"
    return f"{lo}{rule.field}{hi}"


def _shown_sql(con: duckdb.DuckDBPyConnection, col: str) -> str:
    """The value as Python would print it (`unknown` when missing)."""
    kind = con.execute(f"SELECT typeof({col}) FROM acc LIMIT 1").fetchone()
    if kind is not None and kind[0] == "BOOLEAN":
        shown = f"CASE WHEN {col} THEN 'True' ELSE 'False' END"
    else:
        shown = f"CAST({col} AS VARCHAR)"
    return f"COALESCE({shown}, 'unknown')"


def _part(con: duckdb.DuckDBPyConnection, i: int, rule: FitRule, maximum: float) -> PartSQL:
    label = text(_label(rule))
    shown = f"' (' || {_shown_sql(con, field_sql(rule.field))} || ')'"
    return PartSQL(
        name=rule.id,
        raw=f"CASE WHEN ok{i} THEN {num(maximum)} ELSE 0.0 END",
        maximum=round(maximum, 1),
        says=f"CASE WHEN ok{i} THEN {label} ELSE {text('not ' + _label(rule))} END || {shown}",
        measures=json_obj(value=f"v{i}"),
    )


def score_sql(con: duckdb.DuckDBPyConnection, spec: FitSpec) -> str:
    """(account_id, value, label, parts) for every account in `acc`."""
    cols = []
    for i, rule in enumerate(spec.rules):
        cols += [f"{rule_sql(rule)} AS ok{i}", f"{field_sql(rule.field)} AS v{i}"]
    source = f"SELECT *, id AS account_id, {', '.join(cols)} FROM acc"
    maxima = scales([r.weight for r in spec.rules])
    parts = [_part(con, i, r, m) for i, (r, m) in enumerate(zip(spec.rules, maxima, strict=True))]
    return assemble_sql(source, parts)


def compute(con: duckdb.DuckDBPyConnection, spec: FitSpec) -> dict[str, Scored]:
    """Fit for every account in `acc`."""
    return fetch_sql(con, score_sql(con, spec))


__all__ = ["compute", "field_sql", "rule_sql", "score_sql"]
