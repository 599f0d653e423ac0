"""Rebuild the incremental engine's durable window state set-based from the event history:
the `signal_state` rows `SignalEngine.replay` over the same events would leave, derived from
the batch engine's sorted columns instead of stepping through every event in Python.

After the last matching event at time T of a definition at an account, its state holds the
matching events in (T - window, T] (distinct counts: those with a key; new contacts: first
sightings), a baseline or previous window (T - window - older, T - window], every key seen
(first_seen, new contacts), each contact's last value (state_change, in order of the
contact's first appearance) and the cooldown end of the last crossing that fired.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
from sqlalchemy import Engine

from accord.signals import batch, batch_cols, batch_np
from accord.signals.batch_cols import SpecColumns
from accord.signals.layout import stored_form
from accord.signals.measures import Compiled, compile_spec
from accord.signals.specs import LoadedSignal
from accord.signals.store import save_states
from accord.signals.windows import state_json

I64 = npt.NDArray[np.int64]
_EMPTY = np.zeros(0, np.int64)
_STATE_COLUMNS = ("signal_id", "account_id", "fingerprint", "state")
_SAVE_BATCH = 50_000
_SCHEMA = pa.schema([(k, pa.string()) for k in _STATE_COLUMNS])


@dataclass
class _Pieces:
    """One definition's states in one partition, as event ords grouped by state index."""

    c: Compiled
    account: I64  # per state: ord of an event of the account
    cool: I64  # per state: cooldown end (us), -1 for none
    lists: dict[str, tuple[I64, I64]] = field(default_factory=dict)  # name -> (state, ord)
    values: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)


def rebuild_states(
    con: duckdb.DuckDBPyConnection,
    specs: Sequence[LoadedSignal],
    *,
    rows_per_part: int | None = None,
) -> pa.Table:
    """`signal_state` rows (signal_id, account_id, fingerprint, state columns) for every
    event-driven definition over the `ev` relation already defined on `con`."""
    compiled = [compile_spec(i, s) for i, s in enumerate(specs) if not s.spec.is_state]
    if not compiled:
        return _SCHEMA.empty_table()
    coded = batch.coded_for(compiled)
    pieces: list[_Pieces] = []
    for arrays in batch.partitions(con, coded, rows_per_part):
        fired = batch_np.evaluate(arrays, compiled, coded.specs, None)
        acc = _accounts(arrays["a"])  # type: ignore[arg-type]
        ords: I64 = arrays["ord"]  # type: ignore[assignment]
        for c, sc, f in zip(compiled, coded.specs, fired, strict=True):
            pieces.append(_as_ords(_partition_pieces(c, sc, arrays, acc, f.rows), ords))
        del arrays
    texts = _texts(con, coded, pieces)
    return _rows(pieces, coded.specs, compiled, texts)


def _accounts(a: npt.NDArray[np.uint64]) -> I64:
    acc = np.zeros(len(a), np.int64)
    if len(a):
        np.cumsum(a[1:] != a[:-1], out=acc[1:])
    return acc


def _group_ends(g: I64) -> npt.NDArray[np.bool_]:
    """For a sorted group array, whether each row is the last of its group."""
    ends = np.ones(len(g), bool)
    ends[:-1] = g[1:] != g[:-1]
    return ends


def _partition_pieces(
    c: Compiled, sc: SpecColumns, arr: batch_np.Arrays, acc: I64, fired: I64
) -> _Pieces:
    """Positions (in the partition) of what each state of definition `c` holds."""
    t = arr["t"].astype(np.int64, copy=False)
    idx = np.flatnonzero(arr[sc.match])
    touched = np.flatnonzero(arr[sc.touch]) if sc.touch else idx
    touched_acc = acc[touched]  # sorted: partitions are in account order
    first = np.flatnonzero(np.diff(touched_acc, prepend=-1) != 0)
    st_acc = touched_acc[first]
    p = _Pieces(c, touched[first], np.full(len(st_acc), -1, np.int64))
    if c.cooldown_us and len(fired):
        last = fired[_group_ends(acc[fired])]
        p.cool[np.searchsorted(st_acc, acc[last])] = t[last] + c.cooldown_us

    def put(name: str, pos: I64) -> None:
        p.lists[name] = (np.searchsorted(st_acc, acc[pos]), pos)

    if c.mode == "first_seen":
        put("seen", _firsts(arr[sc.key][idx], acc[idx], idx))  # type: ignore[index]
        return p
    if c.mode == "state_change":
        put("last", _lasts(arr[sc.key][idx], acc[idx], idx))  # type: ignore[index]
        return p
    ia = acc[idx]
    group = np.cumsum(np.r_[True, ia[1:] != ia[:-1]]) - 1 if len(idx) else _EMPTY
    t_last = t[idx[_group_ends(ia)]][group] if len(idx) else _EMPTY
    ti = t[idx]
    recent = ti > t_last - c.window_us
    if c.mode in ("distinct", "new_contact"):
        keys = arr[sc.key][idx]  # type: ignore[index]
        recent &= keys != 0
        if c.mode == "new_contact":
            arrive = np.zeros(len(idx), bool)
            with_key = np.flatnonzero(keys != 0)
            arrive[np.searchsorted(idx, _firsts(keys[with_key], ia[with_key], idx[with_key]))] = (
                True
            )
            recent &= arrive
            put("seen", idx[arrive])
    put("recent", idx[recent])
    if c.mode in ("baseline", "change", "sum"):
        v = arr[sc.value][idx].astype(np.float64) if sc.value else np.ones(len(idx))
        p.values["recent"] = v[recent]
        if c.mode != "sum":
            older = ~recent & (ti > t_last - c.window_us - c.older_us)
            put("older", idx[older])
            p.values["older"] = v[older]
    return p


def _firsts(keys: Any, acc: I64, pos: I64) -> I64:
    """Positions of the first row of each (account, key) group, in position order."""
    order, starts = batch_np._group_sort(keys, acc)
    return np.sort(pos[order[starts]])


def _lasts(keys: Any, acc: I64, pos: I64) -> I64:
    """Positions of the last row of each (account, key) group, ordered by the group's first
    row (the order a dict keyed by the group would have)."""
    order, starts = batch_np._group_sort(keys, acc)
    ends = np.ones(len(order), bool)
    ends[:-1] = starts[1:]
    firsts, lasts = pos[order[starts]], pos[order[ends]]
    return lasts[np.argsort(firsts, kind="stable")]


def _as_ords(p: _Pieces, ords: I64) -> _Pieces:
    lists = {k: (s, ords[pos]) for k, (s, pos) in p.lists.items()}
    return _Pieces(p.c, ords[p.account], p.cool, lists, p.values)


def _texts(
    con: duckdb.DuckDBPyConnection, coded: batch_cols.Coded, pieces: list[_Pieces]
) -> pa.Table:
    ords = [p.account for p in pieces] + [o for p in pieces for _, o in p.lists.values()]
    wanted = batch_np.unique(np.concatenate(ords)) if ords else _EMPTY
    con.register("state_ords", pa.table({"ord": pa.array(wanted, pa.int64())}))
    try:
        return con.sql(coded.text_query("state_ords")).to_arrow_table()
    finally:
        con.unregister("state_ords")


class _Lookup:
    """Text columns of the fetched events, by ord."""

    def __init__(self, texts: pa.Table) -> None:
        self.texts = texts
        self.ord = texts.column("ord").to_numpy()

    def get(self, ords: I64, name: str) -> list[Any]:
        pos = pa.array(np.searchsorted(self.ord, ords), pa.int64())
        return self.texts.column(name).take(pos).to_pylist()  # type: ignore[no-any-return]


def _rows(
    pieces: list[_Pieces], cols: list[SpecColumns], compiled: list[Compiled], texts: pa.Table
) -> pa.Table:
    look = _Lookup(texts)
    by_c = {id(c): sc for c, sc in zip(compiled, cols, strict=True)}
    paused = gc.isenabled()
    gc.disable()  # millions of small acyclic tuples and lists
    try:
        tables = [_state_rows(p, by_c[id(p.c)], look) for p in pieces]
        return pa.concat_tables(tables) if tables else _SCHEMA.empty_table()
    finally:
        if paused:
            gc.enable()


def _cuts(states: I64, n: int) -> list[int]:
    return np.searchsorted(states, np.arange(n + 1)).tolist()  # type: ignore[no-any-return]


def _entries(p: _Pieces, sc: SpecColumns, look: _Lookup, name: str) -> tuple[list[Any], list[int]]:
    """Window entries (t, message id, contact, value) of list `name`, and per-state cuts."""
    states, ords = p.lists.get(name, (_EMPTY, _EMPTY))
    c = p.c
    msgs = look.get(ords, "msg")
    ts = look.get(ords, "t")
    if c.mode in ("distinct", "new_contact"):
        who = look.get(ords, sc.texts["key"])
        vals = [0.0] * len(ords)
    else:
        who = look.get(ords, "contact_id")
        vals = p.values[name].tolist() if name in p.values else [1.0] * len(ords)
    entries = list(zip(ts, msgs, who, vals, strict=True))
    return entries, _cuts(states, len(p.account))


def _state_rows(p: _Pieces, sc: SpecColumns, look: _Lookup) -> pa.Table:
    """One definition's state rows of one partition as `signal_state` columns."""
    c = p.c
    n = len(p.account)
    empty = [0] * (n + 1)
    window = c.mode not in ("first_seen", "state_change")
    recent, rcut = _entries(p, sc, look, "recent") if window else ([], empty)
    older, ocut = _entries(p, sc, look, "older") if "older" in p.lists else ([], empty)
    seen: list[Any] = []
    scut = empty
    if "seen" in p.lists:
        s_states, s_ords = p.lists["seen"]
        seen = look.get(s_ords, sc.texts["key"])
        scut = _cuts(s_states, n)
    last: list[Any] = []
    lcut = empty
    if "last" in p.lists:
        l_states, l_ords = p.lists["last"]
        last = list(zip(look.get(l_ords, sc.texts["contact"]), look.get(l_ords, sc.texts["value"]),
                        strict=True))  # fmt: skip
        lcut = _cuts(l_states, n)
    has_seen = c.mode in ("first_seen", "new_contact")
    has_last = c.mode == "state_change"
    cools = [x if x >= 0 else None for x in p.cool.tolist()]
    form = stored_form(c)
    states = []
    for i in range(n):
        r = recent[rcut[i] : rcut[i + 1]]
        o = older[ocut[i] : ocut[i + 1]]
        states.append(
            state_json(
                r, float(sum(e[3] for e in r)), o, float(sum(e[3] for e in o)),
                seen[scut[i] : scut[i + 1]] if has_seen else None,
                dict(last[lcut[i] : lcut[i + 1]]) if has_last else None,
                cools[i], **form,
            )
        )  # fmt: skip
    return pa.table(
        {
            "signal_id": [c.spec.id] * n,
            "account_id": look.get(p.account, "account_id"),
            "fingerprint": [c.fingerprint] * n,
            "state": states,
        },
        schema=_SCHEMA,
    )


def rebuild_store(engine: Engine, specs: Sequence[LoadedSignal], *, save: bool = True) -> int:
    """Rebuild `signal_state` from every stored event; returns the state rows written."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        batch.load_store(con, engine)
        table = rebuild_states(con, specs)
    finally:
        con.close()
    if save:
        with engine.begin() as conn:
            for batch_ in table.to_batches(_SAVE_BATCH):
                save_states(conn, batch_.to_pylist())
    return int(table.num_rows)


__all__ = ["rebuild_states", "rebuild_store"]
