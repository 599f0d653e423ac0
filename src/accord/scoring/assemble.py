"""Scores built inside DuckDB: one row per account with its value, label and parts as JSON.

A score module describes each part as SQL over a per-account source relation (raw points,
what the part says, its measures as JSON); `assemble_sql` rounds the points to tenths the
way `accord.scoring.parts.scored` does (largest remainder, so they add up to the value) and
writes the parts' JSON text, vectorised. `fetch_scored` turns such rows into `Scored`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import orjson

from accord.scoring.parts import Scored

EPS = "1e-09"


@dataclass(frozen=True)
class PartSQL:
    """One part: `raw` points (DOUBLE, >= 0), `says` (VARCHAR), `measures` (JSON text)."""

    name: str
    raw: str
    maximum: float | int
    says: str
    measures: str


def num(value: float | int) -> str:
    """A numeric literal of the same type in DuckDB (floats as DOUBLE, not DECIMAL)."""
    if isinstance(value, bool):
        raise TypeError("a number, not a bool")
    return f"CAST({float(value)!r} AS DOUBLE)" if isinstance(value, float) else str(value)


def text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def plural(n: str, suffix: str = "s") -> str:
    """`suffix` unless the count `n` is 1 (for building English in SQL)."""
    return f"(CASE WHEN {n} <> 1 THEN {text(suffix)} ELSE '' END)"


def json_obj(**fields: str) -> str:
    """A JSON object text from SQL expressions (NULL values kept as null)."""
    inner = ", ".join(f'"{k}" := {v}' for k, v in fields.items())
    return f"CAST(to_json(struct_pack({inner})) AS VARCHAR)"


def _sum(items: Sequence[str]) -> str:
    return " + ".join(items) if items else "0.0"


def _rounded(n: int) -> list[str]:
    """Tenths per part: plain rounding when it adds up, else the largest remainders."""
    k = [f"_k{i}" for i in range(n)]
    out = []
    for i in range(n):
        ahead = [
            f"(_d{j} > _d{i})::INT" if j > i else f"(_d{j} >= _d{i})::INT"
            for j in range(n)
            if j != i
        ]
        rank = " + ".join(["1", *ahead])
        out.append(
            f"CASE WHEN {_sum(k)} = _want THEN _k{i} "
            f"ELSE _f{i} + ({rank} <= _want - ({_sum([f'_f{j}' for j in range(n)])}))::INT END"
        )
    return out


def assemble_sql(source: str, parts: Sequence[PartSQL], label: str = "NULL") -> str:
    """(account_id, value, label, parts) from `source`, which has `account_id` and whatever
    columns the parts' expressions read."""
    n = len(parts)
    raws = ", ".join(f"{p.raw} AS _r{i}, {p.says} AS _s{i}, {p.measures} AS _m{i}"
                     for i, p in enumerate(parts))  # fmt: skip
    tenths = ", ".join(
        f"round_even(_r{i} * 10, 0) AS _k{i}, trunc(_r{i} * 10 + {EPS}) AS _f{i}" for i in range(n)
    )
    diffs = ", ".join(f"_r{i} * 10 - _f{i} AS _d{i}" for i in range(n))
    picked = ", ".join(f"{e} AS _t{i}" for i, e in enumerate(_rounded(n)))
    items = []
    for i, p in enumerate(parts):
        head = json_obj(name=text(p.name), points=f"_t{i} / 10.0", max=num(p.maximum),
                        says=f"_s{i}")  # fmt: skip
        items.append(f"left({head}, -1) || ',\"measures\":' || _m{i} || '}}'")
    body = " || ',' || ".join(items) if items else "''"
    return f"""
    WITH _a AS (SELECT account_id, {label} AS label, {raws} FROM ({source}) _src),
    _b AS (SELECT *, round_even(({_sum([f"_r{i}" for i in range(n)])}) * 10, 0) AS _want,
           {tenths} FROM _a),
    _c AS (SELECT *, {diffs} FROM _b),
    _d AS (SELECT *, {picked} FROM _c)
    SELECT account_id, ({_sum([f"_t{i}" for i in range(n)])}) / 10.0 AS value, label,
           '[' || {body} || ']' AS parts
    FROM _d
    """


def fetch_scored(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, Scored]:
    """Every row of a score table as `Scored`, by account."""
    rows = con.execute(f"SELECT account_id, value, label, parts FROM {table}").fetchall()
    return {a: Scored(value=v, parts=_parts(p), label=lbl) for a, v, lbl, p in rows}


def _parts(doc: str) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = orjson.loads(doc)
    return parts


__all__ = [
    "PartSQL",
    "assemble_sql",
    "fetch_scored",
    "fetch_sql",
    "json_obj",
    "num",
    "plural",
    "text",
]


def fetch_sql(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Scored]:
    """The rows of a score query as `Scored`, by account."""
    return fetch_scored(con, f"({sql})")
