"""ICP fit: firmographic rules from YAML, each worth its (scaled) weight when it holds.

One DuckDB query tests every rule for every account; Python only assembles the parts.
"""

from __future__ import annotations

from typing import Any

import duckdb

from accord.scoring.parts import Scored, part, scales, scored
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


def _says(rule: FitRule, value: Any, ok: bool) -> str:
    shown = "unknown" if value is None else value
    return f"{_label(rule)} ({shown})" if ok else f"not {_label(rule)} ({shown})"


def compute(con: duckdb.DuckDBPyConnection, spec: FitSpec) -> dict[str, Scored]:
    """Fit for every account in `acc`."""
    cols = []
    for i, rule in enumerate(spec.rules):
        cols += [f"{rule_sql(rule)} AS ok{i}", f"{field_sql(rule.field)} AS v{i}"]
    rows = con.execute(f"SELECT id, {', '.join(cols)} FROM acc").fetchall()
    maxima = scales([r.weight for r in spec.rules])
    out: dict[str, Scored] = {}
    for row in rows:
        parts = []
        for i, rule in enumerate(spec.rules):
            ok, value = bool(row[1 + 2 * i]), row[2 + 2 * i]
            pts = maxima[i] if ok else 0.0
            parts.append(part(rule.id, pts, maxima[i], _says(rule, value, ok), value=value))
        out[row[0]] = scored(parts)
    return out


__all__ = ["compute", "field_sql", "rule_sql"]
