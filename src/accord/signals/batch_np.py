"""Vectorised batch evaluation (NumPy) over events sorted by (account, t, ord).

Each event gets one integer key, account slot x S + time, with S wider than the history
plus every look-back and cooldown, so a window (t - w, t] of an account is a binary search
in one sorted array and never reaches a neighbouring account. Windows, distinct counts,
first sightings and state changes are searches, cumulative sums and a stable sort by
group; the cooldown follows each candidate to the next one at least `cooldown` later.
The semantics are the incremental engine's (see measures.py); only fired rows and their
evidence positions leave this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from accord.signals.batch_cols import SpecColumns
from accord.signals.measures import Compiled

I64 = npt.NDArray[np.int64]
Arrays = dict[str, npt.NDArray[np.generic]]
_MIX = np.uint64(0x9E3779B97F4A7C15)
_KEY_LIMIT = 2**62


@dataclass
class Fired:
    """One definition's crossings that survived the cooldown, as positions in the sorted
    relation, with their measure values and evidence positions (ragged: `ev_pos` split
    at `ev_cut`)."""

    c: Compiled
    rows: I64
    measures: dict[str, npt.NDArray[np.generic]] = field(default_factory=dict)
    ev_pos: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    ev_cut: I64 = field(default_factory=lambda: np.zeros(1, np.int64))


def _chunks(acc: I64, span: int) -> Iterator[tuple[int, int]]:
    """Row ranges whose account keys fit in 62 bits."""
    per = max(1, _KEY_LIMIT // span)
    n = len(acc)
    start = 0
    while start < n:
        stop = int(np.searchsorted(acc, acc[start] + per, "left"))
        yield start, stop
        start = stop


def evaluate(
    arrays: Arrays, compiled: list[Compiled], cols: list[SpecColumns], since_us: int | None
) -> list[Fired]:
    """Every definition over the sorted columns; positions are global."""
    a = arrays["a"]
    t = arrays["t"].astype(np.int64, copy=False)
    n = len(t)
    if n == 0:
        return [Fired(c, np.zeros(0, np.int64)) for c in compiled]
    acc = np.zeros(n, np.int64)
    np.cumsum(a[1:] != a[:-1], out=acc[1:])
    look = max([c.window_us + c.older_us for c in compiled] + [1])
    cool = max([c.cooldown_us for c in compiled] + [0])
    tmin = int(t.min())
    span = int(t.max()) - tmin + 2 * look + cool + 2
    parts: list[list[Fired]] = []
    for lo, hi in _chunks(acc, span):
        key = (acc[lo:hi] - acc[lo]) * span + (t[lo:hi] - tmin + look)
        sub = {k: v[lo:hi] for k, v in arrays.items()}
        sub["acc"] = acc[lo:hi]
        found = [_one(c, sc, key, sub) for c, sc in zip(compiled, cols, strict=True)]
        parts.append([_shift(f, lo) for f in found])
    out = [concat([p[i] for p in parts]) for i in range(len(compiled))]
    if since_us is not None:
        out = [_since(f, t, since_us) for f in out]
    return out


def _shift(f: Fired, lo: int) -> Fired:
    """Chunk positions as global ones (`prev` is a position too, -1 for none)."""
    measures = dict(f.measures)
    if "prev" in measures:
        prev = np.asarray(measures["prev"], np.int64)
        measures["prev"] = np.where(prev >= 0, prev + lo, -1)
    return Fired(f.c, f.rows + lo, measures, f.ev_pos + lo, f.ev_cut)


def concat(fs: list[Fired]) -> Fired:
    """One definition's crossings from consecutive row ranges (empty ones carry no measures)."""
    fs = [f for f in fs if len(f.rows)] or fs[:1]
    if len(fs) == 1:
        return fs[0]
    cuts, base = [np.zeros(1, np.int64)], 0
    for f in fs:
        cuts.append(f.ev_cut[1:] + base)
        base += int(f.ev_cut[-1])
    names = fs[0].measures.keys()
    return Fired(
        fs[0].c,
        np.concatenate([f.rows for f in fs]),
        {k: np.concatenate([f.measures[k] for f in fs]) for k in names},
        np.concatenate([f.ev_pos for f in fs]),
        np.concatenate(cuts),
    )


def _since(f: Fired, t: npt.NDArray[np.int64], since_us: int) -> Fired:
    keep = np.flatnonzero(t[f.rows] >= since_us)
    if len(keep) == len(f.rows):
        return f
    lens = np.diff(f.ev_cut)[keep]
    starts = f.ev_cut[:-1][keep]
    cut = np.zeros(len(keep) + 1, np.int64)
    np.cumsum(lens, out=cut[1:])
    pos = f.ev_pos[_ranges(starts, starts + lens)] if len(keep) else f.ev_pos[:0]
    return Fired(f.c, f.rows[keep], {k: v[keep] for k, v in f.measures.items()}, pos, cut)


def unique(values: I64) -> I64:
    """The sorted distinct values (a sort and a comparison: `np.unique` hashes, which is
    many times slower on millions of integers)."""
    out = np.sort(values)
    if len(out) < 2:
        return out
    keep = np.ones(len(out), bool)
    keep[1:] = out[1:] != out[:-1]
    return out[keep]


def _ranges(starts: I64, stops: I64) -> I64:
    """Concatenated aranges [starts[i], stops[i])."""
    lens = stops - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offs = np.repeat(starts - np.concatenate(([0], np.cumsum(lens)[:-1])), lens)
    return np.arange(total, dtype=np.int64) + offs


def _cooldown(keys: I64, cd: int) -> I64:
    """Candidates (sorted keys) that fire: each fired one mutes the next `cd` of its account.

    A candidate at least `cd` after the one before it always fires (no fired one can mute
    it); from those, the chain of next unmuted candidates is followed by pointer doubling
    (each step doubles the hops every reached candidate jumps), so no step is per row."""
    n = len(keys)
    if not cd or n == 0:
        return np.arange(n, dtype=np.int64)
    jump = np.empty(n + 1, np.int64)
    jump[:n] = np.searchsorted(keys, keys + cd, "left")
    jump[n] = n
    fired = np.empty(n + 1, bool)
    fired[0] = True
    fired[1:n] = keys[1:] - keys[:-1] >= cd
    fired[n] = False
    reached = int(np.count_nonzero(fired))
    while True:
        fired[jump[np.flatnonzero(fired)]] = True
        fired[n] = False
        now = int(np.count_nonzero(fired))
        if now == reached:
            return np.flatnonzero(fired)
        reached = now
        jump = jump[jump]


def _evidence(c: Compiled, pool: I64, pool_keys: I64, at_keys: I64, upto: I64) -> tuple[I64, I64]:
    """Per fired crossing, the latest `keep` pool positions within its window: pool rows
    with key in (key - window, key] and index below `upto`."""
    keep = c.keep
    n = len(at_keys)
    if keep <= 0 or n == 0:
        return np.zeros(0, np.int64), np.zeros(n + 1, np.int64)
    first = np.searchsorted(pool_keys, at_keys - c.window_us, "right")
    first = np.maximum(first, upto - keep)
    cut = np.zeros(n + 1, np.int64)
    np.cumsum(upto - first, out=cut[1:])
    return pool[_ranges(first, upto)], cut


def _group_sort(keys: npt.NDArray[np.uint64], acc: I64) -> tuple[I64, npt.NDArray[np.bool_]]:
    """Stable order by (account, key) group, and for each sorted row whether it starts a group."""
    g = keys ^ (acc.astype(np.uint64) * _MIX)
    order = np.argsort(g, kind="stable")
    gs = g[order]
    starts = np.ones(len(gs), bool)
    starts[1:] = gs[1:] != gs[:-1]
    return order, starts


def _firsts(keys: npt.NDArray[np.uint64], acc: I64) -> npt.NDArray[np.bool_]:
    """For each row, whether it is the first of its (account, key) group (the groups of
    `_group_sort`), found by hashing instead of sorting."""
    g = keys ^ (acc.astype(np.uint64) * _MIX)
    out = np.zeros(len(g), bool)
    if not len(g):
        return out
    # dictionary codes number the groups in order of first appearance
    codes = np.asarray(pc.dictionary_encode(pa.array(g)).indices.to_numpy(), np.int64)
    out[0] = True
    out[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    return out


def _one(c: Compiled, sc: SpecColumns, key: I64, arr: Arrays) -> Fired:
    idx = np.flatnonzero(arr[sc.match])
    km = key[idx]
    if c.mode in ("count", "sum", "baseline", "change"):
        return _windowed(c, sc, idx, km, arr)
    if c.mode in ("distinct", "new_contact"):
        return _distinct(c, sc, idx, km, arr)
    if c.mode == "first_seen":
        return _first(c, sc, idx, km, arr)
    return _state(c, sc, idx, km, arr)


def _fire(c: Compiled, idx: I64, km: I64, cand: I64) -> I64:
    """Positions (into idx) of the candidates that survive the cooldown."""
    return cand[_cooldown(km[cand], c.cooldown_us)]


def _windowed(c: Compiled, sc: SpecColumns, idx: I64, km: I64, arr: Arrays) -> Fired:
    n = len(idx)
    pos = np.arange(n, dtype=np.int64)
    lo = np.searchsorted(km, km - c.window_us, "right")
    x = c.extra
    measures: dict[str, npt.NDArray[np.generic]]
    if c.mode == "count":
        val = (pos - lo + 1).astype(np.float64)
        cand = np.flatnonzero(val >= c.at_least)
        f = _fire(c, idx, km, cand)
        measures = {"value": val[f]}
    else:
        v = arr[sc.value][idx].astype(np.float64) if sc.value else np.ones(n)
        cs = np.zeros(n + 1)
        np.cumsum(v, out=cs[1:])
        rec = cs[pos + 1] - cs[lo]
        if c.mode == "sum":
            cand = np.flatnonzero(rec >= c.at_least)
            f = _fire(c, idx, km, cand)
            measures = {"value": rec[f]}
        else:
            lo2 = np.searchsorted(km, km - c.window_us - c.older_us, "right")
            old = cs[lo] - cs[lo2]
            with np.errstate(divide="ignore", invalid="ignore"):
                if c.mode == "baseline":
                    ok = rec >= x["min_count"]
                    ratio = rec / np.maximum(old * x["factor"], x["min_baseline"])
                    ok &= ratio >= x["at_least"]
                else:
                    ok = old >= x["min_previous"]
                    change = (rec - old) / old
                    if x["at_least"] is not None:
                        ok &= change >= x["at_least"]
                    else:
                        ok &= change <= x["at_most"]
            f = _fire(c, idx, km, np.flatnonzero(ok))
            measures = {"recent": rec[f], "old": old[f]}
    ev_pos, ev_cut = _evidence(c, idx, km, km[f], f + 1)
    return Fired(c, idx[f], measures, ev_pos, ev_cut)


def _distinct(c: Compiled, sc: SpecColumns, idx: I64, km: I64, arr: Arrays) -> Fired:
    keys = arr[sc.key][idx]  # type: ignore[index]
    sub = np.flatnonzero(keys != 0)
    w = c.window_us
    if c.mode == "distinct":
        order, starts = _group_sort(keys[sub], arr["acc"][idx[sub]])  # type: ignore[arg-type]
        ks = km[sub][order]
        gap = np.ones(len(ks), bool)
        gap[1:] = ks[1:] - ks[:-1] >= w
        arrive_s = starts | gap
        ends = np.ones(len(ks), bool)
        ends[:-1] = starts[1:] | gap[1:]
        arrive, leave = np.zeros(len(sub), bool), np.zeros(len(sub), bool)
        arrive[order], leave[order] = arrive_s, ends
        pool = sub  # the window holds every event with a key
    else:
        arrive = _firsts(keys[sub], arr["acc"][idx[sub]])  # type: ignore[arg-type]
        leave = arrive
        pool = sub[arrive]
    counts = np.zeros(len(idx), np.int64)
    counts[sub[arrive]] = 1
    np.cumsum(counts, out=counts)
    leaves = km[sub[leave]] + w
    val = (counts - np.searchsorted(leaves, km, "right")).astype(np.float64)
    f = _fire(c, idx, km, np.flatnonzero(val >= c.at_least))
    upto = np.searchsorted(pool, f, "right")
    ev_pos, ev_cut = _evidence(c, idx[pool], km[pool], km[f], upto)
    return Fired(c, idx[f], {"value": val[f]}, ev_pos, ev_cut)


def _single(c: Compiled, rows: I64) -> tuple[I64, I64]:
    """Evidence of one event each: the crossing event itself (when any are kept)."""
    if c.keep <= 0:
        return np.zeros(0, np.int64), np.zeros(len(rows) + 1, np.int64)
    return rows, np.arange(len(rows) + 1, dtype=np.int64)


def _first(c: Compiled, sc: SpecColumns, idx: I64, km: I64, arr: Arrays) -> Fired:
    keys = arr[sc.key][idx]  # type: ignore[index]
    cand = np.flatnonzero(_firsts(keys, arr["acc"][idx]))  # type: ignore[arg-type]
    f = _fire(c, idx, km, cand)
    rows = idx[f]
    return Fired(c, rows, {"key": keys[f]}, *_single(c, rows))


def _state(c: Compiled, sc: SpecColumns, idx: I64, km: I64, arr: Arrays) -> Fired:
    contacts = arr[sc.key][idx]  # type: ignore[index]
    values = arr[sc.value][idx]  # type: ignore[index]
    order, starts = _group_sort(contacts, arr["acc"][idx])  # type: ignore[arg-type]
    vs = values[order]
    changed = np.zeros(len(vs), bool)
    changed[1:] = vs[1:] != vs[:-1]
    prev = np.full(len(vs), -1, np.int64)
    prev[1:] = order[:-1]
    fire_first = bool(c.extra["fire_on_first"])
    hit = np.where(starts, fire_first, changed)
    prev = np.where(starts, -1, prev)
    if sc.allowed is not None:
        hit &= arr[sc.allowed][idx][order].astype(bool)
    by_pos = np.full(len(idx), -1, np.int64)
    by_pos[order] = prev
    cand = np.sort(order[hit])
    f = _fire(c, idx, km, cand)
    rows = idx[f]
    before = by_pos[f]
    prev_rows = np.where(before >= 0, idx[np.maximum(before, 0)], -1)
    return Fired(c, rows, {"prev": prev_rows}, *_single(c, rows))
