"""The narrow coded relation the vectorised batch engine reads: one DuckDB pass over `ev`,
sorted inside DuckDB by (account, t, ord) and streamed out in pieces of whole accounts.

A definition's filter splits into three conjuncts that are evaluated where they are cheap:
- kind, name and team: once per distinct (kind, name, team) combination of the history
  (a handful), the row carries only the combination's 64-bit hash `g`;
- contact seniority and department: once per contact, looked up by the contact's hash in
  NumPy for each fetched piece (no join of every event with the contacts in DuckDB);
- the rest (properties, contact present, key values): per row, packed as bits of integer
  mask columns, with properties parsed once and only for rows whose combination some
  definition that reads properties accepts.
Key expressions are 64-bit hashes (0 for none). No text travels through the sort: the few
texts evidence shows are read afterwards for the fired rows only, by `ord` (`text_query`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from accord.signals import batch_sql
from accord.signals.filters import (
    compile_sql,
    json_path,
    lit,
    property_columns,
    sql_prop_number,
)
from accord.signals.measures import Compiled
from accord.signals.specs import EventFilter

_BITS = 32  # flags per UINTEGER mask column
_CODE_LIMIT = 255  # at most this many combinations travel as a one-byte code
_GUARD_LIMIT = 512  # more accepted combinations than this: parse every row's properties
COMBO = "combo"  # kind / name / team
DIMS = "dims"  # contact seniority / department
ROW = "row"  # everything else
HC = "hc"  # the contact's hash column, when no key column carries it

Atom = tuple[str, str]  # (domain, SQL boolean expression)


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
    # the contact's hash `hc` is computed once per event (it also joins the contact dims)
    hashed = "hc" if expr == "contact_id" else f"hash({expr})"
    return f"CASE WHEN ({expr}) IS NULL THEN 0::UBIGINT ELSE {hashed} END"


def _domain(expr: str) -> str:
    return DIMS if expr in ("c_seniority", "c_department") else ROW


def _in(expr: str, values: frozenset[str] | None) -> list[Atom]:
    if values is None:
        return []
    if not values:
        return [(ROW, "FALSE")]
    return [(_domain(expr), f"({expr} IN ({', '.join(lit(v) for v in sorted(values))}))")]


_NO_CHEAP = {"kind": None, "name": None, "team": None}
_NO_DIMS = {"contact_seniority": None, "contact_department": None}


def filter_atoms(f: EventFilter) -> list[Atom]:
    """The filter as conjuncts by domain (their AND is `compile_sql(f)`)."""
    out: list[Atom] = []
    cheap = EventFilter(kind=f.kind, name=f.name, team=f.team)
    if cheap != EventFilter():
        out.append((COMBO, compile_sql(cheap)))
    rest = compile_sql(f.model_copy(update={**_NO_CHEAP, **_NO_DIMS}))
    if rest != "TRUE":
        out.append((ROW, rest))
    dims = EventFilter(
        contact_seniority=f.contact_seniority, contact_department=f.contact_department
    )
    if dims != EventFilter():
        out.append((DIMS, compile_sql(dims)))
    return out


class _Select:
    """Select-list builder that gives one name to each distinct flag (a conjunction of
    atoms) and expression; atoms become bits of mask columns of their domain."""

    def __init__(self) -> None:
        self.flags: dict[tuple[Atom, ...], str] = {}
        self.atoms: dict[str, dict[str, int]] = {COMBO: {}, DIMS: {}, ROW: {}}
        self.items: dict[str, str] = {}
        self.dim_items: dict[str, str] = {}
        self.texts: dict[str, str] = {}

    def flag(self, atoms: list[Atom]) -> str:
        key = tuple(dict.fromkeys(atoms))
        name = self.flags.get(key)
        if name is None:
            name = self.flags[key] = f"b{len(self.flags)}"
            for domain, sql in key:
                self.atoms[domain].setdefault(sql, len(self.atoms[domain]))
        return name

    def add(self, expr: str, prefix: str, domain: str = ROW) -> str:
        items = self.dim_items if domain == DIMS else self.items
        name = items.get(expr)
        if name is None:
            name = items[expr] = f"{prefix}{len(self.items) + len(self.dim_items)}"
        return name

    def text(self, expr: str) -> str:
        name = self.texts.get(expr)
        if name is None:
            name = self.texts[expr] = f"x{len(self.texts)}"
        return name


def _masks(atoms: dict[str, int], prefix: str) -> list[str]:
    """One UINTEGER per 32 atoms: bit i % 32 of column `{prefix}{i // 32}` is atom i."""
    exprs = list(atoms)
    out = []
    for start in range(0, len(exprs), _BITS):
        part = exprs[start : start + _BITS]
        bits = " | ".join(f"(COALESCE({e}, FALSE)::UINTEGER << {i})" for i, e in enumerate(part))
        out.append(f"({bits}) AS {prefix}{start // _BITS}")
    return out


def _spec_columns(c: Compiled, sel: _Select) -> SpecColumns:
    w = c.spec.when
    match = filter_atoms(w.event)  # type: ignore[union-attr]
    key_sql = batch_sql.key_sql
    if c.mode in ("distinct", "new_contact"):
        text = "contact_id" if c.distinct_path is None else key_sql("properties." + c.distinct_path)
        return SpecColumns(
            sel.flag(match),
            key=sel.add(_hash(text), "k", _domain(text)),
            texts={"key": sel.text(text)},
        )
    if c.mode in ("sum", "baseline", "change"):
        value = None
        if c.value_path is not None:
            value = sel.add(f"COALESCE({sql_prop_number(c.value_path)}, 0.0)", "v")
        return SpecColumns(sel.flag(match), value=value)
    if c.mode == "first_seen":
        text = key_sql(w.key)  # type: ignore[union-attr]
        touch = sel.flag(match)
        found = [*match, (_domain(text), f"(({text}) IS NOT NULL)"), *_in(text, c.allowed)]
        return SpecColumns(
            sel.flag(found),
            key=sel.add(_hash(text), "k", _domain(text)),
            texts={"key": sel.text(text)},
            touch=touch,
        )
    if c.mode == "state_change":
        text = key_sql("properties." + (c.value_path or ""))
        # the contact's presence spelled as first_seen spells it: one mask bit for both
        found = [*match, (ROW, "((contact_id) IS NOT NULL)"), (ROW, f"(({text}) IS NOT NULL)")]
        allowed = _in(text, c.allowed)
        return SpecColumns(
            sel.flag(found),
            key=sel.add(_hash("contact_id"), "k"),
            value=sel.add(_hash(text), "k"),
            allowed=sel.flag(allowed) if allowed else None,
            texts={"value": sel.text(text), "contact": sel.text("contact_id")},
        )
    return SpecColumns(sel.flag(match))


@dataclass
class Coded:
    """The coded relation of a set of definitions over one source relation."""

    relation: str  # `ev`, or `ev_dims` (events with their contact's seniority, department)
    paths: list[str]  # property paths read, `j[i + 1]` is path i
    sel: _Select
    specs: list[SpecColumns]
    parse_guard: list[str] | None  # combination SQL whose rows need properties (None: all)
    combos: npt.NDArray[np.uint64] = field(default_factory=lambda: np.zeros(0, np.uint64))
    combo_ok: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict)  # flag -> per combo
    atom_ok: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict)  # atom -> per combo
    dims: dict[str, npt.NDArray[np.generic]] = field(default_factory=dict)  # per contact hash

    @property
    def texts(self) -> dict[str, str]:
        """Text expression -> column name, read by ord for fired rows."""
        return self.sel.texts

    def _parse(self) -> str:
        return parse_sql(self.paths)

    def prepare(self, con: duckdb.DuckDBPyConnection) -> int:
        """Evaluate the kind / name / team conjuncts once per combination of the history;
        returns the number of events."""
        atoms = list(self.sel.atoms[COMBO])
        cols = "".join(f", COALESCE({a}, FALSE) AS c{i}" for i, a in enumerate(atoms))
        rows = con.execute(
            f"SELECT g, n{cols} FROM (SELECT hash(kind, name, team) AS g, kind, name, team, "
            "count(*) AS n FROM ev WHERE account_id IS NOT NULL GROUP BY ALL) ORDER BY g"
        ).fetchnumpy()
        self.combos = np.asarray(rows["g"], np.uint64)
        ok = {a: np.asarray(rows[f"c{i}"], bool) for i, a in enumerate(atoms)}
        self.atom_ok = ok
        for atoms_of, name in self.sel.flags.items():
            passes = np.ones(len(self.combos), bool)
            for domain, sql in atoms_of:
                if domain == COMBO:
                    passes &= ok[sql]
            self.combo_ok[name] = passes
        self._load_dims(con)
        return int(np.asarray(rows["n"]).sum())

    def _guard(self) -> str | None:
        """SQL true for rows whose combination a definition that reads properties accepts."""
        if self.parse_guard is None:
            return None
        wanted = np.zeros(len(self.combos), bool)
        for sql in self.parse_guard:
            wanted |= self.atom_ok[sql]
        hit = self.combos[wanted]
        if len(hit) > _GUARD_LIMIT or wanted.all():  # every row's properties are read
            return None
        if not len(hit):
            return "FALSE"
        return f"hk IN ({', '.join(f'{int(h)}::UBIGINT' for h in hit)})"

    def sorted_sql(self) -> str:
        """The coded relation sorted by (account hash, t, ord)."""
        return f"{self.unsorted_sql()} ORDER BY a, t, ord"

    def unsorted_sql(self) -> str:
        """The coded relation (column `a` is the account hash), in no order."""
        cols = [f"{self._combo_sql()} AS g", *_masks(self.sel.atoms[ROW], "mask")]
        cols += [f"{e} AS {n}" for e, n in self.sel.items.items()]
        if self._has_dims() and self._contact_col() == HC:
            cols.append(f"{_hash('contact_id')} AS {HC}")
        j = ""
        if self.paths:
            guard = self._guard()
            j = f", {self._parse()} AS j"
            if guard is not None:
                j = f", CASE WHEN {guard} THEN {self._parse()} END AS j"
        # `hk`: the combination's hash, once per row (code and parse guard both read it);
        # `hc`: the contact's, NULL without a contact (no probe into the contact dims)
        source = (
            f"(SELECT *, CASE WHEN contact_id IS NOT NULL THEN hash(contact_id) END AS hc{j} FROM "
            "(SELECT *, hash(kind, name, team) AS hk FROM ev WHERE account_id IS NOT NULL))"
        )
        select = f"SELECT hash(e.account_id) AS a, e.t, e.ord, {', '.join(cols)}"
        return f"{select} FROM {source} e"

    def _has_dims(self) -> bool:
        return bool(self.sel.atoms[DIMS] or self.sel.dim_items)

    def _contact_col(self) -> str:
        """The coded column holding the contact's hash (0: none): a key column that
        already does, else `hc`."""
        return self.sel.items.get(_hash("contact_id"), HC)

    def _load_dims(self, con: duckdb.DuckDBPyConnection) -> None:
        """The dims columns per contact, by contact hash (sorted), for `_with_dims`."""
        if not self._has_dims():
            return
        dcols = _masks(self.sel.atoms[DIMS], "dmask")
        dcols += [f"{e} AS {n}" for e, n in self.sel.dim_items.items()]
        got = con.execute(
            f"SELECT hash(id) AS h, {', '.join(dcols)} FROM (SELECT seniority AS c_seniority, "
            "department AS c_department, id FROM contact_dims) ORDER BY h"
        ).fetchnumpy()
        self.dims = {k: np.asarray(v) for k, v in got.items()}

    def _with_dims(self, arrays: dict[str, npt.NDArray[np.generic]]) -> None:
        """Add each row's contact dims columns (0 without a known contact), looked up once
        per distinct contact of the piece. Joining the contacts in DuckDB cost 1.7-2.7 s
        CPU over 10M events; this costs about 0.06 s per million."""
        contact = arrays[self._contact_col()].astype(np.uint64, copy=False)
        if self._contact_col() == HC:
            del arrays[HC]
        enc = pc.dictionary_encode(pa.array(contact))
        distinct = np.asarray(enc.dictionary.to_numpy(), np.uint64)
        codes = np.asarray(enc.indices.to_numpy(), np.intp)
        h = self.dims["h"]
        at = np.minimum(np.searchsorted(h, distinct), max(len(h) - 1, 0))
        known = np.flatnonzero((h[at] == distinct) & (distinct != 0)) if len(h) else at[:0]
        for name, values in self.dims.items():
            if name != "h":
                picked = np.zeros(len(distinct), values.dtype)
                picked[known] = values[at[known]]
                arrays[name] = picked[codes]

    def _combo_sql(self) -> str:
        """Column `g`: the row's combination as its position in `combos` (one byte instead
        of the 64-bit hash: the sort carries less), `len(combos)` for one not there; the
        hash itself when there are too many combinations for a byte."""
        if not 0 < len(self.combos) < _CODE_LIMIT:
            return "hk"
        whens = " ".join(f"WHEN {int(h)}::UBIGINT THEN {i}" for i, h in enumerate(self.combos))
        return f"(CASE hk {whens} ELSE {len(self.combos)} END)::UTINYINT"

    def _combo_codes(self, g: npt.NDArray[np.generic]) -> npt.NDArray[np.intp]:
        """Positions in `combos` of a fetched `g` column (`len(combos)`: none)."""
        if 0 < len(self.combos) < _CODE_LIMIT:
            return g.astype(np.intp)
        g = g.astype(np.uint64, copy=False)
        at = np.minimum(np.searchsorted(self.combos, g), max(len(self.combos) - 1, 0))
        return np.where(self.combos[at] == g, at, len(self.combos)) if len(self.combos) else at

    def dim_texts(self) -> dict[str, str]:
        """Text expressions over the contact's dims (seniority, department) -> column name."""
        return {e: n for e, n in self.texts.items() if _domain(e) == DIMS}

    def dim_values(self, con: duckdb.DuckDBPyConnection, expr: str) -> tuple[Any, Any]:
        """The distinct values of a dims text expression: (64-bit hashes as the coded
        relation's key columns carry them, texts)."""
        got = con.sql(
            f"SELECT DISTINCT hash({expr}) AS h, {expr} AS v FROM (SELECT seniority AS "
            "c_seniority, department AS c_department FROM contact_dims) "
            f"WHERE ({expr}) IS NOT NULL"
        ).to_arrow_table()
        return got.column("h"), got.column("v")

    def text_query(self, ords: str, *, ordered: bool = True, dims: bool = True) -> str:
        """Message id, account, times and the evidence texts of the events whose `ord` is
        in relation `ords` (column `ord`), sorted by `ord` unless not `ordered`; without
        `dims`, texts over the contact's dims are left out (see `dim_values`)."""
        texts = {e: n for e, n in self.texts.items() if dims or _domain(e) != DIMS}
        picks = "".join(f", {e} AS {n}" for e, n in texts.items())
        chosen = f"(SELECT * FROM ev WHERE ord IN (SELECT ord FROM {ords}))"
        if any(d in e for e in texts for d in ("c_seniority", "c_department")):
            chosen = (
                "(SELECT e.*, d.seniority AS c_seniority, d.department AS c_department "
                f"FROM {chosen} e LEFT JOIN contact_dims d ON d.id = e.contact_id)"
            )
        read = self._text_paths()
        j = f", {parse_sql(read)} AS j" if read else ""
        source = f"(SELECT *{j} FROM {chosen} WHERE account_id IS NOT NULL)"
        order = " ORDER BY ord" if ordered else ""
        return f"SELECT ord, msg, account_id, contact_id, t, rt{picks} FROM {source}{order}"

    def _text_paths(self) -> list[str]:
        """The property paths evidence texts read (all of them when the paths do not fit
        one STRUCT: list positions would move)."""
        if not self.paths or not _as_struct(self.paths):
            return self.paths
        names = path_columns(self.paths)
        return [p for p in self.paths if any(names[p] in e for e in self.texts)]

    def flags(self, arrays: dict[str, npt.NDArray[np.generic]]) -> None:
        """Replace the mask columns and `g` of a fetched partition by one boolean array
        per flag."""
        if self._has_dims():
            self._with_dims(arrays)
        code = self._combo_codes(arrays.pop("g"))
        masks = {k: arrays.pop(k).astype(np.uint32, copy=False)
                 for k in list(arrays) if k.startswith(("mask", "dmask"))}  # fmt: skip
        index = {ROW: self.sel.atoms[ROW], DIMS: self.sel.atoms[DIMS]}
        prefix = {ROW: "mask", DIMS: "dmask"}
        for atoms_of, name in self.sel.flags.items():
            ok = np.append(self.combo_ok[name], False)  # the last: no known combination
            flag = ok[code] if not ok[:-1].all() else np.ones(len(code), bool)
            for domain, sql in atoms_of:
                if domain == COMBO:
                    continue
                i = index[domain][sql]
                column = masks[f"{prefix[domain]}{i // _BITS}"]
                flag &= (column >> np.uint32(i % _BITS)) & np.uint32(1) != 0
            arrays[name] = flag


def _as_struct(paths: list[str]) -> bool:
    """True when the paths fit one STRUCT (no path inside another, no two differing in case
    only: struct field names ignore case)."""
    prefixes = {".".join(p.split(".")[:i]) for p in paths for i in range(1, p.count(".") + 2)}
    if len({p.lower() for p in prefixes}) < len(prefixes):
        return False
    return not any(q.startswith(p + ".") for p in paths for q in paths)


def parse_sql(paths: list[str]) -> str:
    """DuckDB expression `j` holding the text of each path (`json_extract_string`'s text:
    JSON values other than strings as JSON text), parsed once: a STRUCT when the paths fit
    one (field access is free), else a list."""
    if not _as_struct(paths):
        lst = "[" + ", ".join(lit(json_path(p)) for p in paths) + "]"
        return f"json_extract_string(properties, {lst})"
    shape: dict[str, Any] = {}
    for p in paths:
        *parents, leaf = p.split(".")
        node = shape
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = "VARCHAR"
    return f"json_transform(properties, {lit(orjson.dumps(shape).decode())})"


def path_columns(paths: list[str]) -> dict[str, str]:
    """Property path -> its expression over `j` (see `parse_sql`)."""
    if not _as_struct(paths):
        return {p: f"j[{i + 1}]" for i, p in enumerate(paths)}
    return {p: "j" + "".join(f'."{part}"' for part in p.split(".")) for p in paths}


def coded_relation(relation: str, compiled: list[Compiled]) -> Coded:
    """The coded relation of `compiled` over `relation` (`ev` or `ev_dims`)."""
    paths = batch_sql.property_paths(compiled)
    sel = _Select()
    names = path_columns(paths)
    guard: list[str] | None = []
    with property_columns(names):
        specs = []
        for c in compiled:
            specs.append(_spec_columns(c, sel))
            if c.needs_props and guard is not None:
                cheap = [a for a in filter_atoms(c.spec.when.event) if a[0] == COMBO]  # type: ignore[union-attr]
                guard = [*guard, cheap[0][1]] if cheap else None
    return Coded(relation, paths, sel, specs, guard)
