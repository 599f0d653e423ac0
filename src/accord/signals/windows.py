"""One (signal, account) window state as an object (evidence, rebuild checks, the engine's
`states` view; the engine itself keeps them in `layout`'s slots), and its JSON form.

Entries are tuples `(t_us, message_id, contact_id, value)` in arrival order. `recent` holds
the entries of the current window, `older` those of the baseline or previous window. Both
are plain lists (windows drop their expired head in one slice): many thousands of states
stay small and close together in memory.

The stored form keeps what a restarted engine can still read (`state_json`): evidence names
only the latest `keep` entries of the window, and entries only ever leave from its head, so
the others are stored without their message id (`[t, contact, value]`), and without the
contact too (`[t, value]`) where nothing counts contacts (every window but distinct and new
contact ones): `[t, "<message id>", "<contact>", 1.0]` becomes `[t, 1.0]`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

Entry = tuple[int, "str | None", "str | None", float]  # no message id: stored beyond `keep`


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

    def latest(self, n: int) -> list[str | None]:
        """Message ids of the latest `n` entries of the window, oldest first (None only past
        the `keep` a loaded state was stored with)."""
        if n <= 0:
            return []
        rec = self.recent
        return [rec[i][1] for i in range(max(0, len(rec) - n), len(rec))]

    def dumps(self, *, keep: int | None = None, keys: bool = True) -> str:
        """The stored JSON (`keep`, `keys`: see `state_json`)."""
        return state_json(
            self.recent, self.rsum, self.older, self.osum, self.seen, self.last,
            self.cool, keep=keep, keys=keys,
        )  # fmt: skip

    @classmethod
    def loads(cls, text: str, *, counts: bool) -> AccountState:
        doc = orjson.loads(text)
        st = cls()
        st.recent = [_entry(e) for e in doc.get("r", ())]
        st.older = [_entry(e) for e in doc.get("o", ())]
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


def _entry(e: list[Any]) -> Entry:
    """A stored entry as an in-memory one (no message id or contact: None)."""
    if len(e) == 4:
        return (e[0], e[1], e[2], e[3])
    if len(e) == 3:
        return (e[0], None, e[1], e[2])
    return (e[0], None, None, e[1])


def stored_entries(entries: list[Entry], keep: int | None, keys: bool) -> list[Any]:
    """Entries as stored: whole for the latest `keep` (None: all), the others without their
    message id, and without their contact or key unless `keys`."""
    cut = 0 if keep is None else max(0, len(entries) - max(keep, 0))
    if not cut:
        return entries
    head: list[Any]
    if keys:
        head = [(e[0], e[2], e[3]) for e in entries[:cut]]
    else:
        head = [(e[0], e[3]) for e in entries[:cut]]
    return head + entries[cut:]


def state_json(
    recent: list[Entry], rsum: float, older: list[Entry], osum: float,
    seen: Iterable[str] | None, last: dict[str, str] | None, cool: int | None,
    *, keep: int | None = None, keys: bool = True,
) -> str:  # fmt: skip
    """The stored JSON of one window state (the form `AccountState.loads` reads). With
    `keep`, only the latest `keep` entries of the window keep their message id (those
    evidence names), and the older window's none; without `keys`, no entry keeps its contact
    or key (a window that counts no contacts)."""
    doc: dict[str, Any] = {"r": stored_entries(recent, keep, keys), "rs": rsum}
    if older:
        doc["o"] = stored_entries(older, None if keep is None else 0, keys)
        doc["os"] = osum
    if seen is not None:
        doc["s"] = sorted(seen)
    if last is not None:
        doc["l"] = last
    if cool is not None:
        doc["c"] = cool
    return orjson.dumps(doc).decode()
