"""One (signal, account) window state as an object (evidence, rebuild checks, the engine's
`states` view; the engine itself keeps them in `layout`'s slots), and its JSON form.

Entries are tuples `(t_us, message_id, contact_id, value)` in arrival order. `recent` holds
the entries of the current window, `older` those of the baseline or previous window. Both
are plain lists (windows drop their expired head in one slice): many thousands of states
stay small and close together in memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

Entry = tuple[int, str, "str | None", float]


class AccountState:
    """Window contents, running sums, seen keys, last values and cooldown of one account."""

    __slots__ = ("cool", "counts", "last", "older", "osum", "recent", "rsum", "seen")

    def __init__(self) -> None:
        self.recent: list[Entry] = []
        self.older: list[Entry] = []
        self.rsum = 0.0
        self.osum = 0.0
        self.counts: dict[str, int] | None = None
        self.seen: set[str] | None = None
        self.last: dict[str, str] | None = None
        self.cool: int | None = None

    def evict(self, limit: int) -> None:
        """Drop recent entries at or before `limit` (no older window)."""
        rec, counts = self.recent, self.counts
        n, k = len(rec), 0
        while k < n and rec[k][0] <= limit:
            e = rec[k]
            k += 1
            self.rsum -= e[3]
            if counts is not None and e[2] is not None:
                left = counts[e[2]] - 1
                if left:
                    counts[e[2]] = left
                else:
                    del counts[e[2]]
        del rec[:k]

    def shift(self, recent_limit: int, older_limit: int) -> None:
        """Move entries from the recent to the older window, then drop the oldest."""
        rec, old = self.recent, self.older
        n, k = len(rec), 0
        while k < n and rec[k][0] <= recent_limit:
            e = rec[k]
            k += 1
            self.rsum -= e[3]
            old.append(e)
            self.osum += e[3]
        del rec[:k]
        n, k = len(old), 0
        while k < n and old[k][0] <= older_limit:
            self.osum -= old[k][3]
            k += 1
        del old[:k]

    def add(self, entry: Entry) -> None:
        self.recent.append(entry)
        self.rsum += entry[3]
        if self.counts is not None and entry[2] is not None:
            self.counts[entry[2]] = self.counts.get(entry[2], 0) + 1

    def latest(self, n: int) -> list[str]:
        """Message ids of the latest `n` entries of the window, oldest first."""
        if n <= 0:
            return []
        rec = self.recent
        return [rec[i][1] for i in range(max(0, len(rec) - n), len(rec))]

    def dumps(self) -> str:
        return state_json(
            self.recent, self.rsum, self.older, self.osum, self.seen, self.last,
            self.cool,
        )  # fmt: skip

    @classmethod
    def loads(cls, text: str, *, counts: bool) -> AccountState:
        doc = orjson.loads(text)
        st = cls()
        st.recent = [tuple(e) for e in doc.get("r", ())]
        st.older = [tuple(e) for e in doc.get("o", ())]
        st.rsum = float(doc.get("rs", 0.0))
        st.osum = float(doc.get("os", 0.0))
        if "s" in doc:
            st.seen = set(doc["s"])
        if "l" in doc:
            st.last = dict(doc["l"])
        st.cool = doc.get("c")
        if counts:
            st.counts = {}
            for e in st.recent:
                if e[2] is not None:
                    st.counts[e[2]] = st.counts.get(e[2], 0) + 1
        return st


def state_json(
    recent: list[Entry], rsum: float, older: list[Entry], osum: float,
    seen: Iterable[str] | None, last: dict[str, str] | None, cool: int | None,
) -> str:  # fmt: skip
    """The stored JSON of one window state (the form `AccountState.loads` reads)."""
    doc: dict[str, Any] = {"r": recent, "rs": rsum}
    if older:
        doc["o"] = older
        doc["os"] = osum
    if seen is not None:
        doc["s"] = sorted(seen)
    if last is not None:
        doc["l"] = last
    if cool is not None:
        doc["c"] = cool
    return orjson.dumps(doc).decode()
