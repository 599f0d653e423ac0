"""What batch evaluation hands back: fired rows per definition (event `ord`s, measures,
evidence `ord`s) with the texts of those events, turned into `Signal` objects (bulk storage
builds columns instead, see batch_table)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]

from accord.signals.batch_cols import SpecColumns
from accord.signals.batch_np import Fired
from accord.signals.measures import Compiled
from accord.signals.signal import Signal, clean_number, make_signal, signal_kind


@dataclass
class FiredSet:
    """Fired rows of every event-driven definition, and the texts of the events they name
    (`texts`: ord, msg, account_id, t, rt and evidence text columns, in any row order)."""

    fired: list[Fired]
    cols: list[SpecColumns]
    texts: pa.Table

    def __len__(self) -> int:
        return sum(len(f.rows) for f in self.fired)

    def per_definition(self) -> dict[str, int]:
        return {f.c.spec.id: len(f.rows) for f in self.fired}


@dataclass
class _Rows:
    """One definition's fired rows with their texts, as Python lists (evidence numbers
    already cleaned as `make_signal` cleans them)."""

    accounts: list[str]
    msgs: list[str]
    t: list[int]
    rt: list[int | None]
    evidence: list[dict[str, Any]]


_DENSE = 16  # a direct ord -> position table while ords span at most this many per row


class OrdIndex:
    """Row positions in a texts table (any row order) of events by `ord`."""

    def __init__(self, texts: pa.Table) -> None:
        ords = np.asarray(texts.column("ord").to_numpy(), np.int64)
        self.low = int(ords.min()) if len(ords) else 0
        span = int(ords.max()) - self.low + 1 if len(ords) else 0
        self.dense: npt.NDArray[np.int32] | None = None
        if span <= _DENSE * max(len(ords), 1) and len(ords) < 2**31:  # one gather per lookup
            self.dense = np.zeros(span, np.int32)
            self.dense[ords - self.low] = np.arange(len(ords), dtype=np.int32)
            return
        self.order = np.argsort(ords, kind="stable")
        self.sorted = ords[self.order]

    def at(self, ords: Any) -> npt.NDArray[np.int64]:
        """Positions of these ords (of some row, for an ord that is not there)."""
        wanted = np.asarray(ords, np.int64)
        if self.dense is not None:
            inside = np.clip(wanted - self.low, 0, max(len(self.dense) - 1, 0))
            return self.dense[inside].astype(np.int64)
        at = np.minimum(np.searchsorted(self.sorted, wanted), max(len(self.order) - 1, 0))
        return self.order[at]


def _take(texts: pa.Table, tord: OrdIndex, ords: Any, name: str) -> list[Any]:
    pos = tord.at(ords)
    return texts.column(name).take(pa.array(pos, pa.int64())).to_pylist()  # type: ignore[no-any-return]


def window_evidence(c: Compiled, m: dict[str, list[float]], i: int) -> dict[str, Any]:
    """Evidence numbers of a baseline or change crossing (cleaned as `make_signal` does)."""
    x = c.extra
    rec, old = m["recent"][i], m["old"][i]
    if c.mode == "baseline":
        ratio = rec / max(old * x["factor"], x["min_baseline"])
        ev = {"recent": rec, "baseline": old, "ratio": ratio, "threshold": x["at_least"]}
    else:
        bound = x["at_least"] if x["at_least"] is not None else x["at_most"]
        ev = {"recent": rec, "previous": old, "change": (rec - old) / old, "threshold": bound}
    return {**{k: clean_number(v) for k, v in ev.items()}, **x["ev"]}


def _rows(found: FiredSet, f: Fired, cols: SpecColumns, tord: OrdIndex) -> _Rows:
    """The texts and evidence of one definition's fired rows."""
    c, texts = f.c, found.texts
    take = {n: _take(texts, tord, f.rows, n) for n in ("account_id", "msg", "t", "rt")}
    events = _take(texts, tord, f.ev_pos, "msg")
    cut = f.ev_cut.tolist()
    role = {r: _take(texts, tord, f.rows, n) for r, n in cols.texts.items()}
    evidence: list[dict[str, Any]] = []
    if c.mode == "first_seen":
        keys = role["key"]
        evidence = [{"key": keys[i], "events": events[cut[i] : cut[i + 1]]}
                    for i in range(len(keys))]  # fmt: skip
    elif c.mode == "state_change":
        prev = f.measures["prev"]
        before = _take(texts, tord, np.maximum(prev, 0), cols.texts["value"]) if len(prev) else []
        before = [b if p >= 0 else None for b, p in zip(before, prev.tolist(), strict=True)]
        evidence = [
            {"contact_id": role["contact"][i], "property": c.value_path, "from": before[i],
             "to": role["value"][i], "events": events[cut[i] : cut[i + 1]]}
            for i in range(len(before))
        ]  # fmt: skip
    elif c.mode in ("baseline", "change"):
        m = {k: v.tolist() for k, v in f.measures.items()}
        evidence = [
            {**window_evidence(c, m, i), "events": events[cut[i] : cut[i + 1]]}
            for i in range(len(f.rows))
        ]
    else:
        const = {"threshold": clean_number(c.extra["at_least"]), **c.extra["ev"]}
        values = [clean_number(v) for v in f.measures["value"].tolist()]
        evidence = [
            {"value": v, **const, "events": events[cut[i] : cut[i + 1]]}
            for i, v in enumerate(values)
        ]
    return _Rows(take["account_id"], take["msg"], take["t"], take["rt"], evidence)


def _each(found: FiredSet) -> Iterator[tuple[Compiled, _Rows]]:
    """Each definition's rows; the cyclic garbage collector waits meanwhile (millions of
    small acyclic dicts and lists would otherwise trigger it again and again)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        tord = OrdIndex(found.texts)
        for f, cols in zip(found.fired, found.cols, strict=True):
            if len(f.rows):
                yield f.c, _rows(found, f, cols, tord)
    finally:
        if paused:
            gc.enable()


def signals(found: FiredSet) -> list[Signal]:
    """`Signal` objects of every fired row, in definition order."""
    out: list[Signal] = []
    for c, r in _each(found):
        kind = signal_kind(c.loaded)
        out += [
            make_signal(kind, account_id=a, key=m, observed_us=int(t),
                         received_us=int(rt) if rt is not None else None, evidence=ev)
            for a, m, t, rt, ev in zip(r.accounts, r.msgs, r.t, r.rt, r.evidence, strict=True)
        ]  # fmt: skip
    return out
