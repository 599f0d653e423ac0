"""Incremental evaluation: each ingested event updates its account's compact state (one list
per account, `layout`) and may fire signals. State is saved in `signal_state`, so a new
engine resumes where one stopped.

Events must reach `process` in `occurred_at` order per account (ties in arrival order) for
the batch engine to give the same answer; see docs/signals.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, select

from accord.signals import layout
from accord.signals.filters import Dims
from accord.signals.measures import Compiled, compile_spec
from accord.signals.routes import Route, build_route
from accord.signals.signal import Signal
from accord.signals.snapshot import StateSnapshot, state_rows
from accord.signals.specs import LoadedSignal
from accord.signals.store import load_states, save_signals, save_states
from accord.signals.windows import AccountState
from accord.store.schema import contacts

_NO_DIMS: Dims = (None, None)
_ROUTE_LIMIT = 100_000


def _fired_none(row: Mapping[str, Any]) -> None:
    return None


def _crossed_none(row: Mapping[str, Any]) -> int:
    return 0


class SignalEngine:
    """`on_event(row)` for the ingest path; `process` + `flush` to batch the commits;
    `replay` to rebuild window state from history without building signals.

    Events are routed by their (kind, name) to one generated function (`routes`) that runs
    every definition accepting the pair inline; the others cost nothing for such events.
    State is one list per account holding every definition's fields at fixed slots (`layout`);
    evidence is built only when a threshold is crossed outside the cooldown; writes are batched
    until `flush`.
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
        self._empty = layout.assign(self.compiled)
        self._accounts: dict[str, layout.Slots] = {}
        self._dirty: set[str] = set()  # accounts with a state changed since the last flush
        self._pending: list[Signal] = []
        self._dims: dict[str, Dims] = dict(contact_dims or {})
        self._bound = {
            "ACCOUNTS": self._accounts,
            "DIRTY": self._dirty,
            "PENDING": self._pending,
            "DIMS": self._dims,
            "EMPTY": self._empty,
            "contact_dims": self._contact_dims,
        }
        self._fire: dict[Any, dict[Any, Route]] = {}  # by kind, then name
        self._replay: dict[Any, dict[Any, Route]] = {}
        self._routes = 0  # routes remembered in both tables
        self._shapes: dict[bool, dict[tuple[int, ...], Route]] = {True: {}, False: {}}
        if engine is not None:
            self._load(engine)
            if contact_dims is None:
                self._load_dims(engine)

    @property
    def states(self) -> dict[tuple[int, str], AccountState]:
        """Every window state by (definition index, account)."""
        out = {}
        for a, slots in self._accounts.items():
            for c in self.compiled:
                st = layout.view(c, slots)
                if st is not None:
                    out[c.idx, a] = st
        return out

    # --- evaluation ------------------------------------------------------------------------

    def _route(self, key: tuple[str, Any], fire: bool) -> Route:
        """The generated function for events of this kind and name (see `routes`)."""
        kind, name = key
        pos = tuple(
            c.pos for c in self.compiled if (c.kinds is None or kind in c.kinds) and c.name_ok(name)
        )
        shapes = self._shapes[fire]
        fn = shapes.get(pos)
        if fn is None:
            if not pos:
                fn = _fired_none if fire else _crossed_none
            else:
                cands = [self.compiled[i] for i in pos]
                fn = shapes[pos] = build_route(cands, self._bound, fire=fire)
        if self._routes < _ROUTE_LIMIT:
            self._routes += 1
            (self._fire if fire else self._replay).setdefault(kind, {})[name] = fn
        return fn

    def _slow(self, row: Mapping[str, Any], fire: bool) -> Route:
        """The route of an event whose kind and name no table holds yet."""
        return self._route((row["kind"], row.get("name")), fire)

    def process(self, row: Mapping[str, Any]) -> list[Signal]:
        """Update state with one event and return the signals it fires (not yet saved)."""
        try:
            fn = self._fire[row["kind"]][row["name"]]
        except KeyError:
            fn = self._slow(row, True)
        out: list[Signal] | None = fn(row)
        return out or []

    def replay(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Rebuild window state (cooldowns included) from events in order, building no
        signals: they were stored when the events first came. Returns the crossings seen."""
        table, crossed = self._replay, 0
        for row in rows:
            try:
                fn = table[row["kind"]][row["name"]]
            except KeyError:
                fn = self._slow(row, False)
            crossed += fn(row)
        return crossed

    def process_many(self, rows: Iterable[Mapping[str, Any]]) -> list[Signal]:
        """`process` each event in order; every signal fired."""
        table, out = self._fire, []
        for row in rows:
            try:
                fn = table[row["kind"]][row["name"]]
            except KeyError:
                fn = self._slow(row, True)
            fired = fn(row)
            if fired is not None:
                out.extend(fired)
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
        accounts = self._accounts
        return state_rows(self.compiled, ((a, accounts[a][0], accounts[a]) for a in self._dirty))

    def take_dirty_states(self) -> StateSnapshot:
        """The states changed since the last flush, to be serialised as they are now, a
        slice at a time (`snapshot.StateSnapshot`); every state is marked saved, so the next
        take holds only later changes."""
        accounts = self._accounts
        taken = {a: accounts[a][0] for a in self._dirty if accounts[a][0]}
        self._clean()
        return StateSnapshot(self.compiled, accounts, self._dirty, taken)

    def _clean(self) -> None:
        for a in self._dirty:
            self._accounts[a][0] = 0
        self._dirty.clear()
        self._pending.clear()

    def compiled_by_idx(self, idx: int) -> Compiled:
        return self._idx[idx]

    def _load(self, engine: Engine) -> None:
        by_id = {c.spec.id: c for c in self.compiled}
        fps = {c.spec.id: c.fingerprint for c in self.compiled}
        for signal_id, account, text in load_states(engine, fps):
            slots = self._accounts.get(account)
            if slots is None:
                slots = self._accounts[account] = self._empty.copy()
            layout.load(by_id[signal_id], slots, text)

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
