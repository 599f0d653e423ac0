"""Compact per-account state of the incremental engine: one list per account holding every
definition's fields at fixed slots, so an event reaches all of an account's state through one
dict lookup and one list.

Slot 0 holds the account's dirty mask (bit i: definition i changed since the last flush).
Each definition owns consecutive slots from `Compiled.slot`, by measure:

- count: window entries, cooldown end
- distinct / new_contact: window entries, key counts / seen keys, cooldown end
- sum: window entries, window total, cooldown end
- baseline / change: window entries, window total, older entries, older total, cooldown end
  (counting events, without a property: the totals are the lengths, the total slots unused)
- first_seen: seen keys, cooldown end
- state_change: each contact's last value, cooldown end

The first slot stays None until an event reaches the definition at the account. Entries are
tuples `(t_us, message_id, contact_or_key, value)` as in `windows`; the stored form is the one
`AccountState.dumps` writes with `stored_form` (entries evidence can no longer name lose their
message id, and their contact unless the window counts contacts; count, distinct and
new-contact totals follow from the entries).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from accord.signals.measures import Compiled, window_evidence
from accord.signals.signal import Signal
from accord.signals.windows import AccountState, Entry, state_json

Slots = list[Any]

WIDTH = {
    "count": 2,
    "distinct": 3,
    "new_contact": 3,
    "sum": 3,
    "baseline": 5,
    "change": 5,
    "first_seen": 2,
    "state_change": 2,
}


def assign(compiled: Sequence[Compiled]) -> Slots:
    """Give each definition its first slot; returns an empty account (copy it per account)."""
    n = 1
    for c in compiled:
        c.slot = n
        n += WIDTH[c.mode]
    empty: Slots = [None] * n
    empty[0] = 0
    for c in compiled:
        if c.mode in ("sum", "baseline", "change"):
            empty[c.slot + 1] = 0.0
        if c.mode in ("baseline", "change"):
            empty[c.slot + 3] = 0.0
    return empty


def cool_slot(c: Compiled) -> int:
    """The slot of the definition's cooldown end (None: no cooldown running)."""
    return c.slot + WIDTH[c.mode] - 1


def view(c: Compiled, a: Slots) -> AccountState | None:
    """The definition's state at the account as an `AccountState` sharing its containers."""
    b = c.slot
    first = a[b]
    if first is None:
        return None
    st = AccountState()
    st.cool = a[cool_slot(c)]
    mode = c.mode
    if mode in ("first_seen", "new_contact"):
        st.seen = first if mode == "first_seen" else a[b + 1]
    if mode == "state_change":
        st.last = first
        return st
    if mode == "first_seen":
        return st
    st.recent = first
    if mode == "count":
        st.rsum = float(len(first))
    elif mode == "distinct":
        st.counts = a[b + 1]
    elif mode in ("sum", "baseline", "change"):
        st.rsum = a[b + 1]
    if mode in ("baseline", "change"):
        st.older, st.osum = a[b + 2], a[b + 3]
        if c.value_path is None:
            st.rsum, st.osum = float(len(first)), float(len(st.older))
    return st


def dumps(c: Compiled, a: Slots) -> str | None:
    """The stored JSON of the definition's state at the account (None: never touched)."""
    b, mode = c.slot, c.mode
    first = a[b]
    if first is None:
        return None
    cool = a[cool_slot(c)]
    if mode == "first_seen":
        return state_json([], 0.0, [], 0.0, first, None, cool)
    if mode == "state_change":
        return state_json([], 0.0, [], 0.0, None, first, cool)
    form = stored_form(c)
    if mode == "count":
        return state_json(first, float(len(first)), [], 0.0, None, None, cool, **form)
    if mode in ("distinct", "new_contact"):
        seen = a[b + 1] if mode == "new_contact" else None
        return state_json(first, 0.0, [], 0.0, seen, None, cool, **form)
    if mode == "sum":
        return state_json(first, a[b + 1], [], 0.0, None, None, cool, **form)
    older = a[b + 2]
    if c.value_path is None:
        rsum, osum = float(len(first)), float(len(older))
    else:
        rsum, osum = a[b + 1], a[b + 3]
    return state_json(first, rsum, older, osum, None, None, cool, **form)


def stored_form(c: Compiled) -> dict[str, Any]:
    """How `dumps` stores the definition's window entries (`windows.state_json`)."""
    return {"keep": c.keep, "keys": c.mode in ("distinct", "new_contact")}


def load(c: Compiled, a: Slots, text: str) -> None:
    """Put a stored state into the account's slots."""
    st = AccountState.loads(text, counts=c.mode == "distinct")
    b, mode = c.slot, c.mode
    a[cool_slot(c)] = st.cool
    if mode == "first_seen":
        a[b] = st.seen if st.seen is not None else set()
        return
    if mode == "state_change":
        a[b] = st.last if st.last is not None else {}
        return
    a[b] = st.recent
    if mode == "distinct":
        a[b + 1] = st.counts
    elif mode == "new_contact":
        a[b + 1] = st.seen if st.seen is not None else set()
    elif mode in ("sum", "baseline", "change"):
        a[b + 1] = st.rsum
    if mode in ("baseline", "change"):
        a[b + 2], a[b + 3] = st.older, st.osum


def evict_sum(rec: list[Entry], total: float, limit: int) -> float:
    """Drop entries at or before `limit` from a sum window; returns the new total."""
    n, k = len(rec), 0
    while k < n and rec[k][0] <= limit:
        total -= rec[k][3]
        k += 1
    del rec[:k]
    return total


Firer = Callable[[Slots, str, int, Any, "dict[str, Any] | bool"], Signal]


def firer(c: Compiled) -> Firer:
    """`fire` for one definition, with its slots and evidence parts read once: a count,
    distinct, new-contact or sum crossing builds its window evidence straight from the
    slots (the same dict `window_evidence` builds)."""
    if c.mode not in ("count", "distinct", "new_contact", "sum"):
        return partial(fire, c)
    b, cool, cool_us, keep, mode = c.slot, cool_slot(c), c.cooldown_us, c.keep, c.mode
    shared = {"threshold": c.extra["at_least"], **c.extra["ev"]}
    signal = c.signal

    def fire_window(
        a: Slots, account: str, t: int, row: Any, evidence: dict[str, Any] | bool
    ) -> Signal:
        if cool_us:
            a[cool] = t + cool_us
        if evidence is True:
            rec = a[b]
            if mode == "distinct":
                value = float(len(a[b + 1]))
            elif mode == "sum":
                value = a[b + 1]
            else:
                value = float(len(rec))
            events = [e[1] for e in rec[-keep:]] if keep > 0 else []
            evidence = {"value": value, **shared, "events": events}
        return signal(account, t, row, evidence)  # type: ignore[arg-type]

    return fire_window


def fire(
    c: Compiled, a: Slots, account: str, t: int, row: Any, evidence: dict[str, Any] | bool
) -> Signal:
    """The signal of a crossing (`True`: evidence from the window); starts the cooldown."""
    if c.cooldown_us:
        a[cool_slot(c)] = t + c.cooldown_us
    if evidence is True:
        st = view(c, a)
        assert st is not None
        evidence = window_evidence(c, st)
    return c.signal(account, t, row, evidence)  # type: ignore[arg-type]
