"""Event filters and property access, compiled twice with one meaning: to a Python
predicate for the incremental engine and to a DuckDB SQL expression for the batch engine.

Property values compare as text (`equals`, `one_of`; JSON true/false as `true`/`false`)
and as numbers (`at_least`, `at_most`, ratios; text that is not a number never matches).
Globs know `*` and `?` and match the whole value, case-sensitively.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import orjson

from accord.signals.specs import EventFilter, PropertyTest, Scalar

Row = Mapping[str, Any]
Dims = tuple[str | None, str | None]  # contact seniority, department
Predicate = Callable[[Row, Mapping[str, Any], Dims], bool]

_REGEX_META = set("\\.^$|()[]{}+")


def glob_regex(glob: str) -> str:
    """A `*`/`?` glob as an anchored regular expression valid in Python and RE2."""
    out = []
    for ch in glob:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch in _REGEX_META:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "^" + "".join(out) + "$"


def is_glob(value: str) -> bool:
    return "*" in value or "?" in value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


# --- Python side ---------------------------------------------------------------------------


def prop(props: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted property path, or None."""
    if "." not in path:
        return props.get(path)
    cur: Any = props
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


def prop_getter(path: str) -> Callable[[Mapping[str, Any]], Any]:
    """`prop(props, path)` for one path, with the common top-level case a dict lookup."""
    if "." not in path:
        return lambda props: props.get(path)
    return lambda props: prop(props, path)


def as_text(value: Any) -> str | None:
    """A property value as the text both engines compare."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def as_number(value: Any) -> float | None:
    """A property value as a number, or None when it is not one."""
    kind = type(value)
    if kind is int or kind is float:
        return float(value)
    if value is None or kind is bool:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def parse_properties(raw: Any) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str | bytes):
        return orjson.loads(raw) if raw else {}
    return raw  # type: ignore[no-any-return]


def _text_set(values: list[Scalar]) -> frozenset[str]:
    return frozenset(t for t in (as_text(v) for v in values) if t is not None)


_MEMO_LIMIT = 50_000


def _matcher(patterns: list[str]) -> Callable[[Any], bool]:
    """Whole-value glob match; results for repeated values (page paths) are remembered."""
    exact = frozenset(p for p in patterns if not is_glob(p))
    globs = [re.compile(glob_regex(p), re.S) for p in patterns if is_glob(p)]
    if not globs:
        return lambda v: v in exact
    memo: dict[str, bool] = {}

    def match(v: Any) -> bool:
        if v is None:
            return False
        hit = memo.get(v)
        if hit is None:
            hit = v in exact or any(g.match(v) for g in globs)
            if len(memo) < _MEMO_LIMIT:
                memo[v] = hit
        return hit

    return match


class GlobMemo(dict[Any, bool]):
    """Whole-value glob match as a lookup, `memo[value]`: a value seen before (page paths
    repeat) costs one dict lookup, a new one is matched and remembered (up to a limit)."""

    def __init__(self, patterns: list[str]) -> None:
        super().__init__()
        self.exact = frozenset(p for p in patterns if not is_glob(p))
        self.globs = [re.compile(glob_regex(p), re.S) for p in patterns if is_glob(p)]

    def __missing__(self, v: Any) -> bool:
        hit = v is not None and (v in self.exact or any(g.match(v) for g in self.globs))
        if len(self) < _MEMO_LIMIT:
            self[v] = hit
        return hit


def name_matcher(f: EventFilter) -> Callable[[Any], bool]:
    """The filter's `name` test alone (always true without one), for routing by name."""
    if f.name is None:
        return lambda v: True
    return _matcher(as_list(f.name))


def needs_properties(f: EventFilter) -> bool:
    """True when the filter reads event properties."""
    return bool(f.path_glob is not None or f.properties or f.ratio is not None)


def _value_checks(test: PropertyTest) -> list[Callable[[Any], bool]]:
    checks: list[Callable[[Any], bool]] = []
    if test.exists is not None:
        want = test.exists
        checks.append(lambda v: (v is not None) == want)
    if test.equals is not None or test.one_of is not None:
        allowed = _text_set(as_list(test.equals) + as_list(test.one_of))
        checks.append(lambda v: (v if type(v) is str else as_text(v)) in allowed)
    if test.at_least is not None:
        lo = test.at_least
        checks.append(lambda v: (n := as_number(v)) is not None and n >= lo)
    if test.at_most is not None:
        hi = test.at_most
        checks.append(lambda v: (n := as_number(v)) is not None and n <= hi)
    return checks


def _prop_check(path: str, test: PropertyTest) -> Predicate:
    """The property test at `path` as a predicate over (row, properties, dims)."""
    checks = _value_checks(test)
    if len(checks) == 1 and "." not in path:
        only = checks[0]
        return lambda r, p, d: only(p.get(path))
    get = prop_getter(path)
    if len(checks) == 1:
        only = checks[0]
        return lambda r, p, d: only(get(p))
    return lambda r, p, d: all(c(get(p)) for c in checks)


def _ratio_check(numerator: str, denominator: str, lo: float) -> Predicate:
    if "." in numerator or "." in denominator:
        num, den = prop_getter(numerator), prop_getter(denominator)
        return lambda r, p, d: _ratio(num(p), den(p), lo)
    return lambda r, p, d: (
        numerator in p and denominator in p and _ratio(p[numerator], p[denominator], lo)
    )


def compile_python(f: EventFilter, *, routed_by_name: bool = False) -> Predicate | None:
    """A predicate over (row, properties, contact dims), or None when every event passes.

    `kind` is checked by the caller, and `name` too when `routed_by_name`.
    """
    checks: list[Predicate] = []
    if f.name is not None and not routed_by_name:
        name_ok = _matcher(as_list(f.name))
        checks.append(lambda r, p, d: name_ok(r.get("name")))
    if f.team is not None:
        teams = frozenset(as_list(f.team))
        checks.append(lambda r, p, d: r.get("team") in teams)
    if f.path_glob is not None:
        path_ok = _matcher(as_list(f.path_glob))
        checks.append(  # top-level `path`
            lambda r, p, d: path_ok(v if type(v := p.get("path")) is str else as_text(v))
        )
    for path, test in f.properties.items():
        checks.append(_prop_check(path, test))
    if f.ratio is not None:
        checks.append(_ratio_check(f.ratio.numerator, f.ratio.denominator, f.ratio.at_least))
    if f.contact_seniority is not None:
        sen = frozenset(f.contact_seniority)
        checks.append(lambda r, p, d: d[0] in sen)
    if f.contact_department is not None:
        dep = frozenset(f.contact_department)
        checks.append(lambda r, p, d: d[1] in dep)
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda r, p, d: first(r, p, d) and second(r, p, d)
    return lambda r, p, d: all(c(r, p, d) for c in checks)


def python_test(f: EventFilter, env: dict[str, Any], prefix: str) -> list[str]:
    """`compile_python(f, routed_by_name=True)` as Python expressions over `row`, `props`
    and `dims` (for generated code); the values they read are added to `env` under names
    starting with `prefix`. An empty list: every event passes."""
    out: list[str] = []

    def bind(name: str, value: Any) -> str:
        env[prefix + name] = value
        return prefix + name

    if f.team is not None:
        out.append(f"row.get('team') in {bind('teams', frozenset(as_list(f.team)))}")
    if f.path_glob is not None:
        path_ok = bind("path", GlobMemo(as_list(f.path_glob)))
        out.append(f"{path_ok}[pv if type(pv := props.get('path')) is str else as_text(pv)]")
    for j, (path, test) in enumerate(f.properties.items()):
        out.append(_prop_source(path, test, f"{j}", bind))
    if f.ratio is not None:
        r = f.ratio
        if "." in r.numerator or "." in r.denominator:
            check = bind("ratio", _ratio_check(r.numerator, r.denominator, r.at_least))
            out.append(f"{check}(row, props, None)")
        else:
            ratio, lo = bind("ratio", _ratio), bind("ratio_lo", r.at_least)
            num, den, nums = r.numerator, r.denominator, bind("nums", _NUMBERS)
            exact = f"type(rn) in {nums} and type(rd := props.get({den!r})) in {nums} and rd > 0"
            out.append(
                f"(rn := props.get({num!r})) is not None and ((float(rn) / float(rd) >= {lo}) "
                f"if {exact} else {ratio}(rn, props.get({den!r}), {lo}))"
            )
    if f.contact_seniority is not None:
        out.append(f"dims[0] in {bind('seniority', frozenset(f.contact_seniority))}")
    if f.contact_department is not None:
        out.append(f"dims[1] in {bind('department', frozenset(f.contact_department))}")
    return out


def _prop_source(
    path: str, test: PropertyTest, suffix: str, bind: Callable[[str, Any], str]
) -> str:
    """One property test as an expression: inline for a top-level value in a set of texts,
    else a call of the compiled check."""
    only_set = test.exists is None and test.at_least is None and test.at_most is None
    if only_set and "." not in path and (test.equals is not None or test.one_of is not None):
        allowed = _text_set(as_list(test.equals) + as_list(test.one_of))
        name = bind("allowed" + suffix, allowed)
        return f"(pv if type(pv := props.get({path!r})) is str else as_text(pv)) in {name}"
    return f"{bind('check' + suffix, _prop_check(path, test))}(row, props, None)"


_NUMBERS = frozenset({int, float})  # types `as_number` turns into floats as they are


def _ratio(num: Any, den: Any, lo: float) -> bool:
    if num is None or den is None:
        return False
    n, d = as_number(num), as_number(den)
    return n is not None and d is not None and d > 0 and n / d >= lo


def needs_dims(f: EventFilter) -> bool:
    return f.contact_seniority is not None or f.contact_department is not None


# --- DuckDB side ---------------------------------------------------------------------------


def lit(value: Any) -> str:
    """A SQL literal for a str, number or bool (strings quoted, quotes doubled)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return "'" + str(value).replace("'", "''") + "'"


# Property paths already extracted into columns of the relation (see `property_columns`).
_COLUMNS: ContextVar[Mapping[str, str] | None] = ContextVar("property_columns", default=None)


def json_path(path: str) -> str:
    """The JSON path of a dotted property path, as DuckDB's JSON functions take it."""
    return "$" + "".join(f'."{part}"' for part in path.split("."))


@contextmanager
def property_columns(columns: Mapping[str, str]) -> Iterator[None]:
    """Within the block, SQL for these property paths reads the given columns (already
    extracted once from `properties`) instead of parsing the JSON again."""
    token = _COLUMNS.set(columns)
    try:
        yield
    finally:
        _COLUMNS.reset(token)


def sql_prop_text(path: str) -> str:
    """DuckDB text of the property at a dotted path."""
    column = (_COLUMNS.get() or {}).get(path)
    if column is not None:
        return column
    return f"json_extract_string(properties, {lit(json_path(path))})"


def sql_prop_number(path: str) -> str:
    return f"TRY_CAST({sql_prop_text(path)} AS DOUBLE)"


def _sql_match(column: str, patterns: list[str]) -> str:
    parts = []
    exact = [p for p in patterns if not is_glob(p)]
    if exact:
        parts.append(f"{column} IN ({', '.join(lit(p) for p in exact)})")
    for p in filter(is_glob, patterns):
        like = glob_like(p)
        escape = " ESCAPE '\\'" if "\\" in like else ""  # DuckDB plans plain LIKE faster
        parts.append(f"{column} LIKE {lit(like)}{escape}")
    return "(" + " OR ".join(parts) + ")"


def glob_like(glob: str) -> str:
    """A `*`/`?` glob as a SQL LIKE pattern (escape character backslash)."""
    out = []
    for ch in glob:
        if ch in "%_\\":
            out.append("\\" + ch)
        else:
            out.append({"*": "%", "?": "_"}.get(ch, ch))
    return "".join(out)


def _sql_prop(path: str, test: PropertyTest) -> list[str]:
    out = []
    if test.exists is not None:
        out.append(f"({sql_prop_text(path)} IS {'NOT ' if test.exists else ''}NULL)")
    if test.equals is not None or test.one_of is not None:
        allowed = sorted(_text_set(as_list(test.equals) + as_list(test.one_of)))
        out.append(
            f"COALESCE({sql_prop_text(path)} IN ({', '.join(lit(a) for a in allowed)}), FALSE)"
        )
    if test.at_least is not None:
        out.append(f"COALESCE({sql_prop_number(path)} >= {lit(float(test.at_least))}, FALSE)")
    if test.at_most is not None:
        out.append(f"COALESCE({sql_prop_number(path)} <= {lit(float(test.at_most))}, FALSE)")
    return out


def compile_sql(f: EventFilter) -> str:
    """A DuckDB boolean expression over the batch `ev` relation's columns (never NULL).

    The kind, name and team tests come first as plain conjuncts (a scan can push them down)
    and guard the rest in a CASE, so property parsing, casts and pattern matches run only for
    the events that pass them.
    """
    cheap: list[str] = []
    if f.kind is not None:  # kind is never NULL
        cheap.append(f"kind IN ({', '.join(lit(k) for k in as_list(f.kind))})")
    if f.name is not None:
        cheap.append(f"(name IS NOT NULL AND {_sql_match('name', as_list(f.name))})")
    if f.team is not None:
        cheap.append(
            f"(team IS NOT NULL AND team IN ({', '.join(lit(t) for t in as_list(f.team))}))"
        )
    parts: list[str] = []
    if f.path_glob is not None:
        parts.append(_sql_match(sql_prop_text("path"), as_list(f.path_glob)))
    for path, test in f.properties.items():
        parts += _sql_prop(path, test)
    if f.ratio is not None:
        num, den = sql_prop_number(f.ratio.numerator), sql_prop_number(f.ratio.denominator)
        lo = lit(float(f.ratio.at_least))
        parts.append(f"{den} > 0 AND {num} / {den} >= {lo}")
    if f.contact_seniority is not None:
        parts.append(f"c_seniority IN ({', '.join(lit(s) for s in f.contact_seniority)})")
    if f.contact_department is not None:
        parts.append(f"c_department IN ({', '.join(lit(s) for s in f.contact_department)})")
    rest = " AND ".join(f"COALESCE({p}, FALSE)" for p in parts) or "TRUE"
    if not cheap:
        return rest
    guard = " AND ".join(cheap)
    if rest == "TRUE":
        return guard
    return f"{guard} AND CASE WHEN {guard} THEN {rest} ELSE FALSE END"
