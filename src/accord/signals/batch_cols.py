"""The columns the vectorised batch engine reads: one DuckDB pass over `ev` (or `ev_dims`)
that parses each event's properties once, evaluates every definition's filter and key
expressions; the caller sorts the narrow key columns by (account, t, ord).

Keys (accounts, contacts, property values) travel as 64-bit hashes (0 for none); the text
of the few values evidence shows travels alongside and is read only for fired rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accord.signals import batch_sql
from accord.signals.filters import (
    compile_sql,
    json_path,
    lit,
    property_columns,
    sql_prop_number,
)
from accord.signals.measures import Compiled


@dataclass
class SpecColumns:
    """Names of one definition's columns in the sorted relation."""

    match: str
    key: str | None = None  # hashed grouping key (contact, property value, first-seen key)
    value: str | None = None  # DOUBLE measured value, or hashed state value
    allowed: str | None = None  # state_change: the new value is one the definition wants
    texts: dict[str, str] = field(default_factory=dict)  # evidence role -> text column


def _hash(expr: str) -> str:
    return f"CASE WHEN ({expr}) IS NULL THEN 0::UBIGINT ELSE hash({expr}) END"


def _in(expr: str, values: frozenset[str] | None) -> str:
    if values is None:
        return "TRUE"
    if not values:
        return "FALSE"
    return f"COALESCE({expr} IN ({', '.join(lit(v) for v in sorted(values))}), FALSE)"


class _Select:
    """Select-list builder that gives one name to each distinct expression."""

    def __init__(self) -> None:
        self.items: dict[str, str] = {}

    def add(self, expr: str, prefix: str) -> str:
        name = self.items.get(expr)
        if name is None:
            name = self.items[expr] = f"{prefix}{len(self.items)}"
        return name

    def sql(self) -> str:
        return ", ".join(f"{e} AS {n}" for e, n in self.items.items())


def _spec_columns(c: Compiled, sel: _Select) -> SpecColumns:
    w = c.spec.when
    match = f"COALESCE({compile_sql(w.event)}, FALSE)"  # type: ignore[union-attr]
    key_sql = batch_sql.key_sql
    if c.mode in ("distinct", "new_contact"):
        text = "contact_id" if c.distinct_path is None else key_sql("properties." + c.distinct_path)
        return SpecColumns(sel.add(match, "m"), key=sel.add(_hash(text), "k"))
    if c.mode in ("sum", "baseline", "change"):
        value = "1.0::DOUBLE"
        if c.value_path is not None:
            value = f"COALESCE({sql_prop_number(c.value_path)}, 0.0)"
        return SpecColumns(sel.add(match, "m"), value=sel.add(value, "v"))
    if c.mode == "first_seen":
        text = key_sql(w.key)  # type: ignore[union-attr]
        match = f"({match} AND ({text}) IS NOT NULL AND {_in(text, c.allowed)})"
        return SpecColumns(
            sel.add(match, "m"),
            key=sel.add(_hash(text), "k"),
            texts={"key": sel.add(text, "x")},
        )
    if c.mode == "state_change":
        text = key_sql("properties." + (c.value_path or ""))
        match = f"({match} AND contact_id IS NOT NULL AND ({text}) IS NOT NULL)"
        return SpecColumns(
            sel.add(match, "m"),
            key=sel.add(_hash("contact_id"), "k"),
            value=sel.add(_hash(text), "k"),
            allowed=sel.add(_in(text, c.allowed), "m"),
            texts={"value": sel.add(text, "x"), "contact": sel.add("contact_id", "x")},
        )
    return SpecColumns(sel.add(match, "m"))


def coded_relation(relation: str, compiled: list[Compiled]) -> tuple[str, list[SpecColumns]]:
    """The query of the coded relation (sort it by a, t, ord) and each definition's columns."""
    paths = batch_sql.property_paths(compiled)
    sel = _Select()
    names = {p: f"j[{i + 1}]" for i, p in enumerate(paths)}
    with property_columns(names):
        specs = [_spec_columns(c, sel) for c in compiled]
    source = f"(SELECT * FROM {relation} WHERE account_id IS NOT NULL)"
    if paths:
        lst = "[" + ", ".join(lit(json_path(p)) for p in paths) + "]"
        source = (
            f"(SELECT *, json_extract_string(properties, {lst}) AS j FROM {relation} "
            "WHERE account_id IS NOT NULL)"
        )
    picks = sel.sql()
    query = (
        f"SELECT hash(account_id) AS a, t, ord, msg, rt, account_id"
        f"{', ' + picks if picks else ''} FROM {source}"
    )
    return query, specs
