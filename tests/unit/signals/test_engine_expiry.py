"""Window expiry in the generated route code: a lone expired head and many entries expiring
at once (after a burst and a gap) leave the same windows, signals and evidence as the batch
engine and the set-based rebuild."""

from __future__ import annotations

from typing import Any

from accord.signals import SignalEngine
from accord.signals.measures import window_evidence
from accord.signals.signal import to_us
from accord.workspace import Workspace
from tests.unit.signals.test_equivalence import PEOPLE, SPECS, _check, _rows, _setup
from tests.unit.signals.test_rebuild import _rebuilt, _replayed, _store


def _bursts() -> list[dict[str, Any]]:
    """Bursts of one event a minute, each followed by a gap longer than every window
    (previous and baseline windows included), then single events that expire one entry
    each: both expiry paths of every window measure, several times over."""
    drawn = [
        {"minute": start + m, "kind": ["track", "page"][m % 5 == 4],
         "name": ["a1", "b", "a2"][m % 3], "account": "acc_1",
         "contact": ["c0", "c1", "c2", "c3", "c9", None][m % 6],
         "props": {"topic": "xyzw"[m % 4], "value": m % 5}, "lag_s": 0}
        for start, n in ((0, 40), (700, 25), (1400, 3), (1420, 30))
        for m in range(n)
    ]  # fmt: skip
    drawn += [  # sparse: one entry at a time
        {"minute": m, "kind": "track", "name": "a1", "account": "acc_2",
         "contact": f"c{m % 4}", "props": {"topic": "xyzw"[m % 3], "value": 2}, "lag_s": 0}
        for m in range(0, 1500, 45)
    ]  # fmt: skip
    return _rows(drawn)


def _within(engine: SignalEngine, rows: list[dict[str, Any]]) -> None:
    """Every window holds exactly the entries of its time span after the last event."""
    last = {r["account_id"]: r["occurred_at"] for r in rows}
    for (idx, account), st in engine.states.items():
        c = engine.compiled_by_idx(idx)
        if not c.window_us or c.mode == "new_contact":
            continue
        t = to_us(last[account])
        assert all(e[0] > t - c.window_us for e in st.recent), c.spec.id
        assert all(t - c.window_us - c.older_us < e[0] for e in st.older), c.spec.id
        if c.mode == "distinct":
            assert sum(st.counts.values()) == sum(e[2] is not None for e in st.recent)  # type: ignore[union-attr]
            assert window_evidence(c, st)["value"] == len(st.counts)  # type: ignore[arg-type]


def test_engine_expiry_after_bursts_equals_batch_and_rebuild(sqlite_workspace: Workspace) -> None:
    rows = _bursts()
    _setup(sqlite_workspace)
    engine = SignalEngine(None, SPECS, contact_dims=PEOPLE)
    fired = engine.process_many(rows)
    assert len(fired) > 10
    _within(engine, rows)
    _check(sqlite_workspace, rows)
    _store(sqlite_workspace, rows)
    assert _rebuilt(sqlite_workspace, SPECS) == _replayed(rows, SPECS)
