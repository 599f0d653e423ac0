"""Incremental evaluation: each ingested event updates flat per-(signal, account) state and
may fire signals. State is saved in `signal_state`, so a new engine resumes where one stopped.

Events must reach `process` in `occurred_at` order per account (ties in arrival order) for
the batch engine to give the same answer; see docs/signals.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, select

from accord.signals import state_checks
from accord.signals.filters import Dims, parse_properties
from accord.signals.measures import Compiled, compile_spec
from accord.signals.signal import Signal, to_us
from accord.signals.specs import LoadedSignal
from accord.signals.store import load_states, save_signals, save_states
from accord.signals.windows import AccountState
from accord.store.schema import contacts

_NO_DIMS: Dims = (None, None)
_NO_PROPS: Mapping[str, Any] = {}
_NONE: list[Signal] = []  # returned for "nothing fired"; callers get a fresh list

_ROUTE_LIMIT = 100_000
_Route = tuple[tuple[tuple[Any, Any, Compiled, int, int], ...], bool, bool]


def _quick(c: Compiled) -> int:
    """Which no-change test the engine makes before calling the step: first_seen keyed by
    the contact (1), its seniority (2) or department (3); new_contact by contact (4); else 0."""
    if c.mode == "new_contact" and c.distinct_of is None:
        return 4
    if c.mode != "first_seen" or c.key_from > 2:
        return 0
    return c.key_from + 1


class _Slots:
    """One account's window states, by definition position, and which changed since the
    last flush (bit i for definition i)."""

    __slots__ = ("dirty", "states")

    def __init__(self, n: int) -> None:
        self.states: list[AccountState | None] = [None] * n
        self.dirty = 0


class SignalEngine:
    """`on_event(row)` for the ingest path; `process` + `flush` to batch the commits;
    `replay` to rebuild window state from history without building signals.

    Definitions are routed by the event's (kind, name): a definition whose kind or name
    filter rejects the pair costs nothing for such events. State is one flat object per
    (definition, account), held per account; evidence is built only when a threshold is
    crossed outside the cooldown; writes are batched until `flush`.
    """

    def __init__(
        self,
        engine: Engine | None,
        specs: Sequence[LoadedSignal],
        *,
        contact_dims: Mapping[str, Dims] | None = None,
    ) -> None:
        self.engine = engine
        self.specs = list(specs)
        self.compiled = [compile_spec(i, s) for i, s in enumerate(specs) if not s.spec.is_state]
        for pos, c in enumerate(self.compiled):
            c.pos = pos
        self._idx = {c.idx: c for c in self.compiled}
        self._routes: dict[tuple[str, Any], _Route] = {}
        self._accounts: dict[str, _Slots] = {}
        self._dirty: set[str] = set()  # accounts with a state changed since the last flush
        self._pending: list[Signal] = []
        self._dims: dict[str, Dims] = dict(contact_dims or {})
        if engine is not None:
            self._load(engine)
            if contact_dims is None:
                self._load_dims(engine)

    @property
    def states(self) -> dict[tuple[int, str], AccountState]:
        """Every window state by (definition index, account)."""
        return {
            (c.idx, a): st
            for a, slots in self._accounts.items()
            for c, st in zip(self.compiled, slots.states, strict=True)
            if st is not None
        }

    # --- evaluation ------------------------------------------------------------------------

    def _route(self, kind: str, name: Any) -> _Route:
        """The definitions that accept events of this kind and name, in definition order,
        each as (filter, step, definition, position, no-change test)."""
        cands = [
            c for c in self.compiled if (c.kinds is None or kind in c.kinds) and c.name_ok(name)
        ]
        route = (
            tuple((c.pred, c.fn, c, c.pos, _quick(c)) for c in cands),
            any(c.needs_props for c in cands),
            any(c.needs_dims for c in cands),
        )
        if len(self._routes) < _ROUTE_LIMIT:
            self._routes[(kind, name)] = route
        return route

    def _step(self, row: Mapping[str, Any], emit: bool) -> list[Signal] | int:
        """Update state with one event: its signals when `emit`, else how many crossed."""
        kind, name = row["kind"], row.get("name")
        route = self._routes.get((kind, name))
        if route is None:
            route = self._route(kind, name)
        cands = route[0]
        if not cands:
            return _NONE if emit else 0
        account = row.get("account_id")
        if not account:
            return _NONE if emit else 0
        contact = row.get("contact_id") or None
        props = _NO_PROPS
        if route[1]:
            raw = row.get("properties")
            props = orjson.loads(raw) if type(raw) is str and raw else parse_properties(raw)
        dims = _NO_DIMS
        if route[2]:
            if contact is not None and not (
                "contact_seniority" in row or "contact_department" in row
            ):
                dims = self._dims.get(contact) or self._contact_dims(row, contact)
            else:
                dims = self._contact_dims(row, contact)
        t = row["occurred_at"]
        if type(t) is not int:
            t = to_us(t)
        slots = self._accounts.get(account)
        if slots is None:
            slots = self._accounts[account] = _Slots(len(self.compiled))
        states = slots.states
        out: list[Signal] | None = None
        crossed = mask = 0
        for pred, fn, c, i, quick in cands:
            if pred is not None and not pred(row, props, dims):
                continue
            st = states[i]
            if st is None:
                st = states[i] = c.new_state()
            mask |= 1 << i
            # the common no-change cases, skipped without calling the step
            if quick == 4:  # new_contact: nothing expires, no new contact, under threshold
                rec = st.recent
                if (
                    (not rec or rec[0][0] > t - c.window_us)
                    and (contact is None or contact in st.seen)  # type: ignore[operator]
                    and len(rec) < c.at_least
                ):
                    continue
            elif quick:  # first_seen of a key already seen (or of none)
                key = contact if quick == 1 else dims[quick - 2]
                if key is None or key in st.seen:  # type: ignore[operator]
                    continue
            evidence = fn(c, st, t, row, props, dims, contact)
            if evidence is None:
                continue
            if not emit:
                crossed += 1
                if c.cooldown_us:
                    st.cool = t + c.cooldown_us
                continue
            if out is None:
                out = []
            out.append(c.fire(st, account, t, row, evidence))
        if mask:
            if not slots.dirty:
                self._dirty.add(account)
            slots.dirty |= mask
        if not emit:
            return crossed
        if out is None:
            return _NONE
        self._pending.extend(out)
        return out

    def process(self, row: Mapping[str, Any]) -> list[Signal]:
        """Update state with one event and return the signals it fires (not yet saved)."""
        out = self._step(row, True)
        return [] if out is _NONE else out  # type: ignore[return-value]

    def replay(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Rebuild window state (cooldowns included) from events in order, building no
        signals: they were stored when the events first came. Returns the crossings seen."""
        step = self._step
        return sum(step(row, False) for row in rows)  # type: ignore[misc]

    def process_many(self, rows: Iterable[Mapping[str, Any]]) -> list[Signal]:
        out: list[Signal] = []
        for row in rows:
            out.extend(self.process(row))
        return out

    def on_event(self, row: Mapping[str, Any]) -> list[Signal]:
        """Process one event and durably save its state change and any signal it fired."""
        fired = self.process(row)
        self.flush()
        return fired

    def on_events(self, rows: Iterable[Mapping[str, Any]]) -> list[Signal]:
        """Process a batch of events and save everything in one transaction."""
        fired = self.process_many(rows)
        self.flush()
        return fired

    def tick(self, now: datetime) -> list[Signal]:
        """Check the time-driven definitions (stage age, renewal) as of `now`, and save."""
        if self.engine is None:
            return []
        fired = state_checks.evaluate(self.engine, self.specs, now)
        self._pending.extend(fired)
        self.flush()
        return fired

    # --- durability ------------------------------------------------------------------------

    def flush(self) -> None:
        """Save dirty window state and pending signals in one transaction."""
        if self.engine is None:
            self._clean()
            return
        rows = self.dirty_rows()
        if not rows and not self._pending:
            return
        with self.engine.begin() as conn:
            save_states(conn, rows)
            save_signals(conn, self._pending)
        self._clean()

    def dirty_rows(self) -> list[dict[str, Any]]:
        """`signal_state` rows for the states changed since the last flush."""
        rows = []
        for a in self._dirty:
            slots = self._accounts[a]
            mask = slots.dirty
            if not mask:
                continue
            for i, st in enumerate(slots.states):
                if mask >> i & 1 and st is not None:
                    c = self.compiled[i]
                    rows.append(
                        {
                            "signal_id": c.spec.id,
                            "account_id": a,
                            "fingerprint": c.fingerprint,
                            "state": st.dumps(),
                        }
                    )
        return rows

    def _clean(self) -> None:
        for a in self._dirty:
            self._accounts[a].dirty = 0
        self._dirty.clear()
        self._pending.clear()

    def compiled_by_idx(self, idx: int) -> Compiled:
        return self._idx[idx]

    def _load(self, engine: Engine) -> None:
        by_id = {c.spec.id: (i, c) for i, c in enumerate(self.compiled)}
        fps = {c.spec.id: c.fingerprint for c in self.compiled}
        for signal_id, account, text in load_states(engine, fps):
            i, c = by_id[signal_id]
            slots = self._accounts.get(account)
            if slots is None:
                slots = self._accounts[account] = _Slots(len(self.compiled))
            slots.states[i] = AccountState.loads(text, counts=c.mode == "distinct")

    def _load_dims(self, engine: Engine) -> None:
        q = select(contacts.c.id, contacts.c.seniority, contacts.c.department)
        if not any(c.needs_dims for c in self.compiled):
            return
        with engine.connect() as conn:
            self._dims.update({r[0]: (r[1], r[2]) for r in conn.execute(q)})

    def _contact_dims(self, row: Mapping[str, Any], contact: str | None) -> Dims:
        if "contact_seniority" in row or "contact_department" in row:
            return (row.get("contact_seniority"), row.get("contact_department"))
        if contact is None:
            return _NO_DIMS
        dims = self._dims.get(contact)
        if dims is None:
            dims = self._lookup_dims(contact)
        return dims

    def _lookup_dims(self, contact: str) -> Dims:
        dims = _NO_DIMS
        if self.engine is not None:
            q = select(contacts.c.seniority, contacts.c.department).where(contacts.c.id == contact)
            with self.engine.connect() as conn:
                r = conn.execute(q).first()
            if r is not None:
                dims = (r[0], r[1])
        self._dims[contact] = dims
        return dims
