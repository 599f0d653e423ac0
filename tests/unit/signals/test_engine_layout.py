"""The engine's compact per-account state: every measure's state survives a save and a load
into a new engine (which then fires what one engine would), and reads back as window states."""

from __future__ import annotations

from typing import Any

from accord.signals import SignalEngine, load_library
from accord.signals.layout import WIDTH, stored_form
from accord.workspace import Workspace
from tests.unit.signals.helpers import dense_events
from tests.unit.signals.test_equivalence import PEOPLE, _rows, _setup


def _fired(signals: list[Any]) -> list[tuple[str, str, str, Any]]:
    return [(s.type, s.account_id, s.dedupe_key, s.evidence) for s in signals]


def test_engine_layout_state_of_every_measure_survives_a_restart(
    sqlite_workspace: Workspace,
) -> None:
    _setup(sqlite_workspace)
    rows = sorted(_rows(dense_events(5, 1200)), key=lambda r: r["occurred_at"])
    specs = load_library()
    one = SignalEngine(None, specs, contact_dims=PEOPLE)
    expected = one.process_many(rows)
    half = len(rows) // 2
    first = SignalEngine(sqlite_workspace.engine, specs, contact_dims=PEOPLE)
    fired = first.on_events(rows[:half])
    second = SignalEngine(sqlite_workspace.engine, specs, contact_dims=PEOPLE)
    fired += second.on_events(rows[half:])
    assert {c.mode for c in one.compiled} >= set(WIDTH) - {"sum"}
    assert _fired(fired) == _fired(expected)
    assert second.states.keys() == one.states.keys()
    for key, st in one.states.items():
        form = stored_form(one.compiled_by_idx(key[0]))
        assert second.states[key].dumps(**form) == st.dumps(**form)


def test_engine_layout_states_read_back_as_window_states() -> None:
    engine = SignalEngine(None, load_library(), contact_dims=PEOPLE)
    engine.replay(sorted(_rows(dense_events(9, 300)), key=lambda r: r["occurred_at"]))
    states = engine.states
    rows = {(r["signal_id"], r["account_id"]): r["state"] for r in engine.dirty_rows()}
    assert len(states) == len(rows) > 20
    for (idx, account), st in states.items():
        c = engine.compiled_by_idx(idx)
        assert rows[c.spec.id, account] == st.dumps(**stored_form(c))
        if c.mode == "count" or (c.mode in ("baseline", "change") and c.value_path is None):
            assert st.rsum == len(st.recent)
            assert st.osum == len(st.older)


def _keyed(rows: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    return {(r["signal_id"], r["account_id"]): r["state"] for r in rows}


def test_taken_states_serialise_as_they_were_when_taken_whatever_comes_after() -> None:
    rows = sorted(_rows(dense_events(9, 600)), key=lambda r: r["occurred_at"])
    half = len(rows) // 2
    engine = SignalEngine(None, load_library(), contact_dims=PEOPLE)
    engine.process_many(rows[:half])
    expected = _keyed(engine.dirty_rows())
    snapshot = engine.take_dirty_states()
    assert engine.dirty_rows() == []  # marked saved
    assert not snapshot.done
    for k, row in enumerate(rows[half:]):  # windows grow and shrink, sets and dicts change
        snapshot.before([row])
        engine.process(row)
        if k % 50 == 0:
            snapshot.advance(0.0)  # one state at least
    assert snapshot.done
    assert _keyed(snapshot.rows) == expected
    later = _keyed(engine.dirty_rows())
    assert sum(later.get(key, state) != state for key, state in expected.items()) > 20
    assert {key[0] for key in expected} >= {"new_persona_engaged", "research_surge"}


def test_a_snapshot_given_back_is_written_by_the_next_flush() -> None:
    rows = sorted(_rows(dense_events(9, 600)), key=lambda r: r["occurred_at"])
    half = len(rows) // 2
    engine = SignalEngine(None, load_library(), contact_dims=PEOPLE)
    one = SignalEngine(None, load_library(), contact_dims=PEOPLE)
    engine.process_many(rows[:half])
    one.process_many(rows)
    snapshot = engine.take_dirty_states()
    snapshot.advance(0.0)
    engine.process_many(rows[half:])
    snapshot.give_back()
    assert snapshot.done
    assert snapshot.rows == []
    assert _keyed(engine.dirty_rows()) == _keyed(one.dirty_rows())  # every state changed
