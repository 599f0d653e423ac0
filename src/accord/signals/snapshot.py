"""Window states taken at one point of the event stream, serialised a slice at a time.

A save of the incremental engine's window state must store every changed state as it was
at one position of the stream (the state cursor it is stored with). Serialising a thousand
busy accounts at once takes tens of milliseconds, which every event arriving meanwhile would
wait for; a copy for another thread to serialise costs a third of that and puts the copies in
the garbage collector's way. A `StateSnapshot` is serialised instead by the thread that runs
the engine, in slices between its steps, copy-on-write at the account: before the engine
changes an account the snapshot still holds, that account is serialised first.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from accord.signals import layout
from accord.signals.measures import Compiled


def state_rows(
    compiled: Sequence[Compiled], accounts: Iterable[tuple[str, int, layout.Slots]]
) -> list[dict[str, Any]]:
    """`signal_state` rows of each (account, changed-definition mask, slots)."""
    rows: list[dict[str, Any]] = []
    for a, mask, slots in accounts:
        if not mask:
            continue
        rows.extend(
            {
                "signal_id": c.spec.id,
                "account_id": a,
                "fingerprint": c.fingerprint,
                "state": layout.dumps(c, slots),
            }
            for c in compiled
            if mask >> c.pos & 1 and slots[c.slot] is not None
        )
    return rows


class StateSnapshot:
    """The states that had changed when it was taken (account -> mask of changed
    definitions), to be serialised before the engine changes them again.

    Run everything from the engine's thread: `before(rows)` ahead of processing `rows`,
    `advance(seconds)` between steps; `rows` holds the `signal_state` rows once `done`.
    `give_back()` marks the states changed again, when the save will not happen."""

    def __init__(
        self, compiled: Sequence[Compiled], accounts: Mapping[str, layout.Slots],
        dirty: set[str], taken: dict[str, int],
    ) -> None:  # fmt: skip
        self._compiled = compiled
        self._accounts = accounts
        self._dirty = dirty
        self._taken = taken
        self._todo = dict(taken)
        self.rows: list[dict[str, Any]] = []

    @property
    def done(self) -> bool:
        return not self._todo

    def before(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Serialise the states the events `rows` are about to change."""
        todo = self._todo
        if not todo:
            return
        for row in rows:
            a = row["account_id"]
            if a in todo:
                self._dump(a, todo.pop(a))

    def advance(self, seconds: float) -> bool:
        """Serialise states for about `seconds` (at least one); True once all are."""
        todo = self._todo
        end = time.perf_counter() + seconds
        while todo:
            self._dump(*todo.popitem())
            if time.perf_counter() >= end:
                break
        return not todo

    def give_back(self) -> None:
        """Mark every taken state changed again (the next save or flush writes it)."""
        for a, mask in self._taken.items():
            slots = self._accounts.get(a)
            if slots is not None:
                slots[0] |= mask
                self._dirty.add(a)
        self._todo.clear()
        self.rows = []

    def _dump(self, a: str, mask: int) -> None:
        self.rows += state_rows(self._compiled, ((a, mask, self._accounts[a]),))
