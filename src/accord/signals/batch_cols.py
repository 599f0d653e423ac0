"""The narrow coded relation the vectorised batch engine reads: one DuckDB pass over `ev`
(or `ev_dims`) that parses each event's properties once and evaluates every definition's
filter (packed as bits of integer mask columns) and key expressions (64-bit hashes, 0 for
none), sorted inside DuckDB by (account, t, ord), one account partition at a time.

No text travels through the sort: the few texts evidence shows are read afterwards for the
fired rows only, by event `ord` (see `text_query`).
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

_TRUE = "TRUE"
_ONE = "1.0::DOUBLE"
_BITS = 32  # flags per UINTEGER mask column


@dataclass
class SpecColumns:
    """Names of one definition's columns in a sorted partition (None: constant)."""

    match: str
    key: str | None = None  # hashed grouping key (contact, property value, first-seen key)
    value: str | None = None  # DOUBLE measured value (None: 1.0), or hashed state value
    allowed: str | None = None  # state_change: the new value is one wanted (None: any)
    texts: dict[str, str] = field(default_factory=dict)  # evidence role -> text column
    touch: str | None = None  # first_seen: the filter alone (the event reaches the state)


def _hash(expr: str) -> str:
    return f"CASE WHEN ({expr}) IS NULL THEN 0::UBIGINT ELSE hash({expr}) END"


def _in(expr: str, values: frozenset[str] | None) -> str:
    if values is None:
        return _TRUE
    if not values:
        return "FALSE"
    return f"COALESCE({expr} IN ({', '.join(lit(v) for v in sorted(values))}), FALSE)"


class _Select:
    """Select-list builder that gives one name to each distinct expression; boolean flags
    become bits of mask columns, keys and values plain columns, texts a separate list."""

    def __init__(self) -> None:
        self.flags: dict[str, str] = {}
        self.items: dict[str, str] = {}
        self.texts: dict[str, str] = {}

    def flag(self, expr: str) -> str:
        name = self.flags.get(expr)
        if name is None:
            name = self.flags[expr] = f"b{len(self.flags)}"
        return name

    def add(self, expr: str, prefix: str) -> str:
        name = self.items.get(expr)
        if name is None:
            name = self.items[expr] = f"{prefix}{len(self.items)}"
        return name

    def text(self, expr: str) -> str:
        name = self.texts.get(expr)
        if name is None:
            name = self.texts[expr] = f"x{len(self.texts)}"
        return name

    def masks(self) -> list[str]:
        """One UINTEGER per 32 flags: bit i of mask column i // 32 is flag `b{i}`."""
        flags = list(self.flags)
        out = []
        for start in range(0, len(flags), _BITS):
            part = flags[start : start + _BITS]
            bits = " | ".join(
                f"(COALESCE({e}, FALSE)::UINTEGER << {i})" for i, e in enumerate(part)
            )
            out.append(f"({bits}) AS mask{start // _BITS}")
        return out


def flag_bit(name: str) -> tuple[str, int]:
    """The mask column and bit of flag `b{i}`."""
    i = int(name[1:])
    return f"mask{i // _BITS}", i % _BITS


def _spec_columns(c: Compiled, sel: _Select) -> SpecColumns:
    w = c.spec.when
    match = f"COALESCE({compile_sql(w.event)}, FALSE)"  # type: ignore[union-attr]
    key_sql = batch_sql.key_sql
    if c.mode in ("distinct", "new_contact"):
        text = "contact_id" if c.distinct_path is None else key_sql("properties." + c.distinct_path)
        return SpecColumns(
            sel.flag(match), key=sel.add(_hash(text), "k"), texts={"key": sel.text(text)}
        )
    if c.mode in ("sum", "baseline", "change"):
        value = _ONE
        if c.value_path is not None:
            value = f"COALESCE({sql_prop_number(c.value_path)}, 0.0)"
        return SpecColumns(sel.flag(match), value=None if value == _ONE else sel.add(value, "v"))
    if c.mode == "first_seen":
        text = key_sql(w.key)  # type: ignore[union-attr]
        touch = sel.flag(match)
        match = f"({match} AND ({text}) IS NOT NULL AND {_in(text, c.allowed)})"
        return SpecColumns(
            sel.flag(match),
            key=sel.add(_hash(text), "k"),
            texts={"key": sel.text(text)},
            touch=touch,
        )
    if c.mode == "state_change":
        text = key_sql("properties." + (c.value_path or ""))
        match = f"({match} AND contact_id IS NOT NULL AND ({text}) IS NOT NULL)"
        allowed = _in(text, c.allowed)
        return SpecColumns(
            sel.flag(match),
            key=sel.add(_hash("contact_id"), "k"),
            value=sel.add(_hash(text), "k"),
            allowed=None if allowed == _TRUE else sel.flag(allowed),
            texts={"value": sel.text(text), "contact": sel.text("contact_id")},
        )
    return SpecColumns(sel.flag(match))


@dataclass
class Coded:
    """The coded relation of a set of definitions over one source relation."""

    relation: str  # `ev`, or `ev_dims` (events with their contact's seniority, department)
    source: str  # events (`{rel}`) with `j`, the parsed property list; `{where}`: a filter
    columns: list[str]  # select list after a, t, ord (mask and key/value columns)
    specs: list[SpecColumns]
    texts: dict[str, str]  # text expression -> column name, read by ord for fired rows

    def _source(self, where: str) -> str:
        return self.source.replace("{where}", where).replace("{rel}", self.relation)

    def partition_sql(self, part: int, parts: int) -> str:
        """One account partition, sorted by (account hash, t, ord)."""
        where = "" if parts == 1 else f"AND hash(account_id) % {parts} = {part}"
        cols = ", ".join(self.columns)
        return (
            f"SELECT hash(account_id) AS a, t, ord{', ' + cols if cols else ''} "
            f"FROM {self._source(where)} ORDER BY a, t, ord"
        )

    def text_query(self, ords: str) -> str:
        """Message id, account, times and the evidence texts of the events whose `ord` is
        in relation `ords` (column `ord`)."""
        picks = "".join(f", {e} AS {n}" for e, n in self.texts.items())
        chosen = f"(SELECT * FROM ev WHERE ord IN (SELECT ord FROM {ords}))"
        if self.relation == "ev_dims":
            chosen = (
                "(SELECT e.*, d.seniority AS c_seniority, d.department AS c_department "
                f"FROM {chosen} e LEFT JOIN contact_dims d ON d.id = e.contact_id)"
            )
        source = self.source.replace("{where}", "").replace("{rel}", chosen)
        return f"SELECT ord, msg, account_id, contact_id, t, rt{picks} FROM {source} ORDER BY ord"


def coded_relation(relation: str, compiled: list[Compiled]) -> Coded:
    """The coded relation of `compiled` over `relation` (`ev` or `ev_dims`)."""
    paths = batch_sql.property_paths(compiled)
    sel = _Select()
    names = {p: f"j[{i + 1}]" for i, p in enumerate(paths)}
    with property_columns(names):
        specs = [_spec_columns(c, sel) for c in compiled]
    source = "(SELECT * FROM {rel} WHERE account_id IS NOT NULL {where})"
    if paths:
        lst = "[" + ", ".join(lit(json_path(p)) for p in paths) + "]"
        source = (
            f"(SELECT *, json_extract_string(properties, {lst}) AS j FROM {{rel}} "
            "WHERE account_id IS NOT NULL {where})"
        )
    columns = sel.masks() + [f"{e} AS {n}" for e, n in sel.items.items()]
    return Coded(relation, source, columns, specs, sel.texts)
