"""Generated per-route code for the incremental engine.

Every event kind and name (a route) gets one plain Python function that runs all the
definitions accepting that route inline: filter, window update, threshold and cooldown. The
source is generated from the compiled definitions, so an event costs one dict lookup and one
call; compiled code is cached by its source text, the same for every engine over one spec set.
`route_source` shows what an engine runs.

A generated function takes the event row. The `fire` variant returns the signals it fired
(None for none, and adds them to the engine's pending list); the `replay` variant returns how
many crossings it saw and only starts their cooldowns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from types import CodeType
from typing import Any

import orjson

from accord.signals.filters import (
    as_list,
    as_number,
    as_text,
    parse_properties,
    prop_getter,
    python_test,
)
from accord.signals.layout import cool_slot, evict_sum, firer
from accord.signals.measures import Compiled
from accord.signals.signal import to_us

Route = Callable[[Any], Any]


def route_source(cands: Sequence[Compiled], *, fire: bool) -> tuple[str, dict[str, Any]]:
    """The source of one route's function and the values it reads besides the engine's."""
    env: dict[str, Any] = {}
    props = any(c.needs_props for c in cands)
    dims = any(c.needs_dims for c in cands)
    # Rows normally carry every column: subscripts (no exception cost in a `try` until a
    # column is missing), then `get` for rows without some.
    read = ["account = row['account_id']", "contact = row['contact_id']"]
    if props:
        read.append("raw = row['properties']")
    lines = [
        "def route(row):",
        "    try:",
        *("        " + x for x in read),
        "    except KeyError:",
        *("        " + x.replace("row[", "row.get(").replace("']", "')") for x in read),
        "    if not account:",
        "        return None" if fire else "        return 0",
        "    if not contact:",
        "        contact = None",
    ]
    early = any(map(_appends, cands))
    if early:
        lines.append("    mid = row['message_id']")
    if props:
        # text parses (`{}` too: one call costs less than testing for it first); anything
        # else (None, empty text, parsed mappings) goes through `parse_properties`
        lines += [
            "    try:",
            "        props = loads(raw)",
            "    except ValueError:",
            "        props = parse_properties(raw)",
        ]
    else:
        lines.append("    props = NO_PROPS")
    if dims:
        lines += [
            "    if 'contact_seniority' in row or 'contact_department' in row:",
            "        dims = (row.get('contact_seniority'), row.get('contact_department'))",
            "    elif contact is None:",
            "        dims = NO_DIMS",
            "    else:",
            "        try:",
            "            dims = DIMS[contact]",
            "        except KeyError:",
            "            dims = contact_dims(row, contact)",
        ]
    else:
        lines.append("    dims = NO_DIMS")
    lines += [
        "    t = row['occurred_at']",
        "    if type(t) is not int:",
        "        t = to_us(t)",
        "    try:",
        "        a = ACCOUNTS[account]",
        "    except KeyError:",
        "        a = ACCOUNTS[account] = EMPTY.copy()",
        "    out = None" if fire else "    crossed = 0",
    ]
    mask_at = len(lines)
    shared = _message_id(_shared(cands), early)
    lines += shared
    always = 0  # the definitions every event of the route touches
    for c in cands:
        block, filtered = _definition(c, env, fire, bool(shared))
        lines += _message_id(block, early)
        always |= 0 if filtered else 1 << c.pos
    lines.insert(mask_at, f"    mask = {always}")
    # the account's dirty bits change only on its first event after a flush (or for a
    # definition whose filter it is the first to pass)
    lines += [
        "    if (m := a[0]) | mask != m:",
        "        if not m:",
        "            DIRTY.add(account)",
        "        a[0] = m | mask",
    ]
    if fire:
        lines += ["    if out is not None:", "        PENDING.extend(out)", "    return out"]
    else:
        lines.append("    return crossed")
    return "\n".join(lines) + "\n", env


def _message_id(block: list[str], early: bool) -> list[str]:
    """`block` as is when the route read the message id early (`mid`), else reading it from
    the row where it adds an entry."""
    if early:
        return block
    return [line.replace("(t, mid, ", "(t, row['message_id'], ") for line in block]


def _appends(c: Compiled) -> bool:
    """Whether every event passing the definition's filter adds a window entry (and the
    definition has no filter: most events of its routes need the message id)."""
    f = c.spec.when.event  # type: ignore[union-attr]
    unfiltered = not python_test(f, {}, "")
    return unfiltered and c.mode in ("count", "sum", "baseline", "change", "distinct")


def _unit(c: Compiled) -> bool:
    """Whether the definition's window entries are `(t, mid, contact, 1.0)`."""
    return c.mode == "count" or (c.mode in ("baseline", "change") and c.value_path is None)


def _shared(cands: Sequence[Compiled]) -> list[str]:
    """The entry tuple most definitions of the route append, built once per event."""
    if sum(map(_unit, cands)) < 2:
        return []
    return ["    e1 = (t, mid, contact, 1.0)"]


def _definition(
    c: Compiled, env: dict[str, Any], fire: bool, shared: bool
) -> tuple[list[str], bool]:
    """One definition's block (filter, then state update and threshold, then firing), and
    whether it has a filter."""
    p = f"d{c.pos}_"
    env[p + "c"] = c
    test = _filter(c, env, p)
    body = [
        *([] if test is None else [f"mask |= {1 << c.pos}"]),
        *_MODES[c.mode](c, env, p),
    ]
    if shared and _unit(c):
        body = [line.replace("(t, mid, contact, 1.0)", "e1") for line in body]
    cross = body.index("CROSS")  # at the indent of the `ev = ...` line before it
    indent = " " * (len(body[cross - 1]) - len(body[cross - 1].lstrip()))
    start = cross if fire else cross - 1  # replay builds no evidence
    body[start : cross + 1] = [indent + line for line in _cross(c, fire, p, env)]
    head = [f"    # {c.spec.id}: {c.mode}"]
    if test is None:
        return head + ["    " + line for line in body], False
    return [*head, f"    if {test}:", *("        " + line for line in body)], True


def _cross(c: Compiled, fire: bool, p: str, env: dict[str, Any]) -> list[str]:
    """A crossing outside the cooldown: fire (`ev` is the evidence) or count it."""
    if fire:
        env[p + "fire"] = firer(c)
        return [
            "if out is None:",
            "    out = []",
            f"out.append({p}fire(a, account, t, row, ev))",
        ]
    lines = ["crossed += 1"]
    if c.cooldown_us:
        lines.append(f"a[{cool_slot(c)}] = t + {c.cooldown_us}")
    return lines


def _filter(c: Compiled, env: dict[str, Any], p: str) -> str | None:
    """The definition's event test beyond kind and name, as an expression (None: always)."""
    f = c.spec.when.event  # type: ignore[union-attr]
    parts = python_test(f, env, p)
    if c.mode == "state_change":
        # most events lack the property: one membership test for them
        path = c.value_path or ""
        if "." in path:
            found = f"(sv := {_prop(path, env, p + 'v')}) is not None"
        else:
            found = f"{path!r} in props and (sv := props[{path!r}]) is not None"
        parts.append(f"{found} and contact is not None")
    return " and ".join(f"({x})" for x in parts) or None


def _prop(path: str, env: dict[str, Any], name: str) -> str:
    """An expression for the property at `path` (a dict lookup when it is top-level)."""
    if "." not in path:
        return f"props.get({path!r})"
    env[name] = prop_getter(path)
    return f"{name}(props)"


def _text(expr: str) -> str:
    """`as_text(expr)` with the common str and None cases inline."""
    return f"(tv if (tv := {expr}) is None or type(tv) is str else as_text(tv))"


def _number(expr: str) -> list[str]:
    """`v` = the value's number, 0.0 when it is not one (as the step functions count it)."""
    return [
        f"v = {expr}",
        "if type(v) is not float:",
        "    v = as_number(v)",
        "    if v is None:",
        "        v = 0.0",
    ]


def _cooled(c: Compiled) -> str:
    return f"((cool := a[{cool_slot(c)}]) is None or t >= cool)"


def _num(x: float) -> str:
    """A threshold as a literal (ints as ints: they compare with lengths faster)."""
    return str(int(x)) if float(x).is_integer() and abs(x) < 2**53 else repr(float(x))


def _window(c: Compiled, *more: str) -> list[str]:
    """`rec` = the window's entries (created with the slots in `more` on first use; slot
    name = expression), its expired head dropped; `more` slots read into their names."""
    b = c.slot
    names = [m.split(" = ")[0] for m in more]
    new = [f"    rec = a[{b}] = []", *(f"    {m.split(' = ')[0]} = a[{b + 1 + i}] = "
           f"{m.split(' = ')[1]}" for i, m in enumerate(more))]  # fmt: skip
    read = [f"    {n} = a[{b + 1 + i}]" for i, n in enumerate(names)]
    lim = f"(lim := t - {c.window_us})"
    # Usually just the head expires: it goes alone (no slice), any more in one slice.
    if c.mode == "distinct":
        head = f"    if rec and (e := rec[0])[0] <= {lim}:"
        uncount = [
            "if (ek := e[2]) is not None:",
            "    if (left := counts[ek] - 1):",
            "        counts[ek] = left",
            "    else:",
            "        del counts[ek]",
        ]
        drop = [
            "        del rec[0]",
            *("        " + line for line in uncount),
            "        if rec and (e := rec[0])[0] <= lim:",
            "            k, n = 0, len(rec)",
            "            while k < n and (e := rec[k])[0] <= lim:",
            "                k += 1",
            *("                " + line for line in uncount),
            "            del rec[:k]",
        ]
    else:
        head = f"    if rec and rec[0][0] <= {lim}:"
        drop = ["        del rec[0]", *_more("rec", "        ")]
    return [f"rec = a[{b}]", "if rec is None:", *new, "else:", *read, head, *drop]


def _more(name: str, indent: str, moved: str = "") -> list[str]:
    """After the head of `name` expired and went: drop its further expired entries in one
    slice (appended to `moved` first when given)."""
    lines = [
        f"if {name} and {name}[0][0] <= lim:",
        f"    k, n = 1, len({name})",
        f"    while k < n and {name}[k][0] <= lim:",
        "        k += 1",
        *([f"    {moved} += {name}[:k]"] if moved else []),
        f"    del {name}[:k]",
    ]
    return [indent + line for line in lines]


def _count(c: Compiled, env: dict[str, Any], p: str) -> list[str]:
    return [
        *_window(c),
        "rec.append((t, mid, contact, 1.0))",
        f"if len(rec) >= {_num(c.at_least)} and {_cooled(c)}:",
        "    ev = True",
        "CROSS",
    ]


def _key(c: Compiled, env: dict[str, Any], p: str) -> str:
    if c.distinct_path is None:
        return "key = contact"
    return f"key = {_text(_prop(c.distinct_path, env, p + 'k'))}"


def _distinct(c: Compiled, env: dict[str, Any], p: str) -> list[str]:
    return [
        *_window(c, "counts = {}"),
        _key(c, env, p),
        "if key is not None:",
        "    rec.append((t, mid, key, 0.0))",
        "    counts[key] = counts.get(key, 0) + 1",
        f"if len(counts) >= {_num(c.at_least)} and {_cooled(c)}:",
        "    ev = True",
        "CROSS",
    ]


def _new_contact(c: Compiled, env: dict[str, Any], p: str) -> list[str]:
    return [
        *_window(c, "seen = set()"),
        _key(c, env, p),
        "if key is not None and key not in seen:",
        "    seen.add(key)",
        "    rec.append((t, mid, key, 0.0))",
        f"if len(rec) >= {_num(c.at_least)} and {_cooled(c)}:",
        "    ev = True",
        "CROSS",
    ]


def _sum(c: Compiled, env: dict[str, Any], p: str) -> list[str]:
    b = c.slot
    return [
        f"rec = a[{b}]",
        "if rec is None:",
        f"    rec = a[{b}] = []",
        f"elif rec and rec[0][0] <= t - {c.window_us}:",
        f"    a[{b + 1}] = evict_sum(rec, a[{b + 1}], t - {c.window_us})",
        *_number(_prop(c.value_path or "", env, p + "v")),
        "rec.append((t, mid, contact, v))",
        f"a[{b + 1}] = total = a[{b + 1}] + v",
        f"if total >= {c.at_least!r} and {_cooled(c)}:",
        "    ev = True",
        "CROSS",
    ]


def _relative(c: Compiled, env: dict[str, Any], p: str) -> list[str]:
    x = c.extra
    for k in ("factor", "min_count", "min_baseline", "at_least", "at_most", "min_previous"):
        env[p + k] = x.get(k)
    b = c.slot
    if c.value_path is None:
        lines = _counted(c)
    else:
        lines = [
            f"rec = a[{b}]",
            "if rec is None:",
            f"    rec = a[{b}] = []",
            f"    a[{b + 2}] = []",
            "else:",
            *_shift(c),
            *_number(_prop(c.value_path, env, p + "v")),
            "rec.append((t, mid, contact, v))",
            f"a[{b + 1}] = recent = a[{b + 1}] + v",
            f"older = a[{b + 3}]",
        ]
    if c.mode == "baseline":
        test = (
            f"recent >= {p}min_count and recent / max(older * {p}factor, "
            f"{p}min_baseline) >= {p}at_least"
        )
        return [*lines, f"if {test} and {_cooled(c)}:", "    ev = True", "CROSS"]
    bound = f"change >= {p}at_least" if x["at_least"] is not None else f"change <= {p}at_most"
    return [
        *lines,
        f"if older >= {p}min_previous:",
        "    change = (recent - older) / older",
        f"    if {bound} and {_cooled(c)}:",
        "        ev = True",
        "CROSS",
    ]


def _counted(c: Compiled) -> list[str]:
    """A baseline or change of event counts: the totals are the windows' lengths (the
    entries' values are all 1.0), so moving and dropping entries keeps no sums."""
    b = c.slot
    return [
        f"rec = a[{b}]",
        "if rec is None:",
        f"    rec = a[{b}] = []",
        f"    old = a[{b + 2}] = []",
        "else:",
        f"    old = a[{b + 2}]",
        f"    lim = t - {c.window_us}",
        "    if rec and rec[0][0] <= lim:",
        "        old.append(rec.pop(0))",
        *_more("rec", "        ", "old"),
        f"    if old and old[0][0] <= (lim := lim - {c.older_us}):",
        "        del old[0]",
        *_more("old", "        "),
        "rec.append((t, mid, contact, 1.0))",
        "recent = len(rec)",
        "older = len(old)",
    ]


def _shift(c: Compiled) -> list[str]:
    """Move due entries from the recent to the older window, then drop the oldest (as
    `AccountState.shift` does)."""
    b = c.slot
    return [
        f"    lim = t - {c.window_us}",
        f"    old = a[{b + 2}]",
        f"    if (rec and rec[0][0] <= lim) or (old and old[0][0] <= lim - {c.older_us}):",
        f"        rsum, osum = a[{b + 1}], a[{b + 3}]",
        "        k, n = 0, len(rec)",
        "        while k < n and (e := rec[k])[0] <= lim:",
        "            k += 1",
        "            x = e[3]",
        "            rsum -= x",
        "            old.append(e)",
        "            osum += x",
        "        del rec[:k]",
        f"        lim -= {c.older_us}",
        "        k, n = 0, len(old)",
        "        while k < n and (e := old[k])[0] <= lim:",
        "            k += 1",
        "            osum -= e[3]",
        "        del old[:k]",
        f"        a[{b + 1}], a[{b + 3}] = rsum, osum",
    ]


def _first_seen(c: Compiled, env: dict[str, Any], p: str) -> list[str]:
    if c.key_from < 3:
        key = ["key = contact", "key = dims[0]", "key = dims[1]"][c.key_from]
    else:
        env[p + "key"] = c.key_of
        key = f"key = {p}key(row, props, dims)"
    allowed = ""
    if c.allowed is not None:
        env[p + "allowed"] = c.allowed
        allowed = f" and key in {p}allowed"
    events = "[row['message_id']]" if c.keep else "[]"
    b = c.slot
    step = [
        key,
        f"if key is not None{allowed} and key not in seen:",
        "    seen.add(key)",
        f"    if {_cooled(c)}:",
        f"        ev = {{'key': key, 'events': {events}}}",
    ]
    if c.allowed is not None:
        # seen keys are allowed ones: once every allowed key is seen, no event changes anything
        step = [f"if len(seen) < {len(c.allowed)}:", *("    " + line for line in step)]
    return [f"seen = a[{b}]", "if seen is None:", f"    seen = a[{b}] = set()", *step, "CROSS"]


def _state_change(c: Compiled, env: dict[str, Any], p: str) -> list[str]:
    tests = [] if c.extra["fire_on_first"] else ["last is not None"]
    if c.allowed is not None:
        env[p + "allowed"] = c.allowed
        tests.append(f"value in {p}allowed")
    test = " and ".join([*tests, _cooled(c)])
    events = "[row['message_id']]" if c.keep else "[]"
    b = c.slot
    return [
        "value = sv if type(sv) is str else as_text(sv)",
        f"last_of = a[{b}]",
        "if last_of is None:",
        f"    last_of = a[{b}] = {{}}",
        "last = last_of.get(contact)",
        "if last != value:",
        "    last_of[contact] = value",
        f"    if {test}:",
        f"        ev = {{'contact_id': contact, 'property': {c.value_path!r}, 'from': last,"
        f" 'to': value, 'events': {events}}}",
        "CROSS",
    ]


_MODES: dict[str, Callable[[Compiled, dict[str, Any], str], list[str]]] = {
    "count": _count,
    "distinct": _distinct,
    "new_contact": _new_contact,
    "sum": _sum,
    "baseline": _relative,
    "change": _relative,
    "first_seen": _first_seen,
    "state_change": _state_change,
}

_BASE: dict[str, Any] = {
    "loads": orjson.loads,
    "parse_properties": parse_properties,
    "to_us": to_us,
    "as_text": as_text,
    "as_number": as_number,
    "as_list": as_list,
    "NO_PROPS": {},
    "NO_DIMS": (None, None),
    "evict_sum": evict_sum,
}


@lru_cache(maxsize=1024)
def _code(source: str) -> CodeType:
    return compile(source, "<signal route>", "exec")


def build_route(cands: Sequence[Compiled], bound: dict[str, Any], *, fire: bool) -> Route:
    """The function for one route, reading the engine's state through `bound` (ACCOUNTS,
    DIRTY, PENDING, DIMS, EMPTY, contact_dims)."""
    source, env = route_source(cands, fire=fire)
    ns = {**_BASE, **bound, **env}
    exec(_code(source), ns)
    return ns["route"]  # type: ignore[no-any-return]
