"""Incremental evaluation: each ingested event updates flat per-(signal, account) state and
may fire signals. State is saved in `signal_state`, so a new engine resumes where one stopped.

Events must reach `process` in `occurred_at` order per account (ties in arrival order) for
the batch engine to give the same answer; see docs/signals.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

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


class SignalEngine:
    """`on_event(row)` for the ingest path; `process` + `flush` to batch the commits."""

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
        self._idx = {c.idx: c for c in self.compiled}
        self._any = [c for c in self.compiled if not c.kinds]
        self._by_kind: dict[str, list[Compiled]] = {}
        for c in self.compiled:
            for kind in c.kinds or []:
                self._by_kind.setdefault(kind, []).append(c)
        for kind, cs in self._by_kind.items():
            self._by_kind[kind] = sorted(cs + self._any, key=lambda c: c.idx)
        self.states: dict[tuple[int, str], AccountState] = {}
        self._dirty: set[tuple[int, str]] = set()
        self._pending: list[Signal] = []
        self._dims: dict[str, Dims] = dict(contact_dims or {})
        if engine is not None:
            self._load(engine)
            if contact_dims is None:
                self._load_dims(engine)

    # --- evaluation ------------------------------------------------------------------------

    def process(self, row: Mapping[str, Any]) -> list[Signal]:
        """Update state with one event and return the signals it fires (not yet saved)."""
        cands = self._by_kind.get(row["kind"], self._any)
        if not cands:
            return []
        account = row.get("account_id")
        if not account:
            return []
        props = parse_properties(row.get("properties"))
        dims: Dims | None = None
        t = to_us(row["occurred_at"])
        out: list[Signal] = []
        for c in cands:
            if c.needs_dims and dims is None:
                dims = self._contact_dims(row)
            if not c.pred(row, props, dims or _NO_DIMS):
                continue
            key = (c.idx, account)
            st = self.states.get(key)
            if st is None:
                st = self.states[key] = c.new_state()
            self._dirty.add(key)
            sig = c.step(st, account, t, row, props, dims or _NO_DIMS)
            if sig is not None:
                out.append(sig)
        if out:
            self._pending.extend(out)
        return out

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
            self._dirty.clear()
            self._pending.clear()
            return
        if not self._dirty and not self._pending:
            return
        rows = []
        for idx, account in self._dirty:
            c = self.compiled_by_idx(idx)
            rows.append(
                {
                    "signal_id": c.spec.id,
                    "account_id": account,
                    "fingerprint": c.fingerprint,
                    "state": self.states[(idx, account)].dumps(),
                }
            )
        with self.engine.begin() as conn:
            save_states(conn, rows)
            save_signals(conn, self._pending)
        self._dirty.clear()
        self._pending.clear()

    def compiled_by_idx(self, idx: int) -> Compiled:
        return self._idx[idx]

    def _load(self, engine: Engine) -> None:
        by_id = {c.spec.id: c for c in self.compiled}
        fps = {c.spec.id: c.fingerprint for c in self.compiled}
        for signal_id, account, text in load_states(engine, fps):
            c = by_id[signal_id]
            st = AccountState.loads(text, counts=c.mode == "distinct")
            self.states[(c.idx, account)] = st

    def _load_dims(self, engine: Engine) -> None:
        q = select(contacts.c.id, contacts.c.seniority, contacts.c.department)
        if not any(c.needs_dims for c in self.compiled):
            return
        with engine.connect() as conn:
            self._dims.update({r[0]: (r[1], r[2]) for r in conn.execute(q)})

    def _contact_dims(self, row: Mapping[str, Any]) -> Dims:
        if "contact_seniority" in row or "contact_department" in row:
            return (row.get("contact_seniority"), row.get("contact_department"))
        contact = row.get("contact_id")
        if not contact:
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
