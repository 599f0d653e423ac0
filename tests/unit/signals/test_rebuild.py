"""Property: the set-based state rebuild leaves the same `signal_state` rows as replaying
the events through the incremental engine, and an engine resumes identically from either."""

from __future__ import annotations

from typing import Any

import duckdb
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete

from accord.signals import SignalEngine, load_library
from accord.signals.batch import load_store
from accord.signals.rebuild import rebuild_states, rebuild_store
from accord.store.schema import events, signal_state
from accord.workspace import Workspace
from tests.unit.signals.helpers import dense_events, insert_events
from tests.unit.signals.test_equivalence import PEOPLE, SPECS, STREAMS, _event, _rows, _setup


def _rebuilt(ws: Workspace, specs: Any, rows_per_part: int | None = None) -> dict[Any, str]:
    con = duckdb.connect()
    try:
        load_store(con, ws.engine)
        rows = rebuild_states(con, specs, rows_per_part=rows_per_part)
    finally:
        con.close()
    return {(r["signal_id"], r["account_id"]): r["state"] for r in rows.to_pylist()}


def _replayed(rows: list[dict[str, Any]], specs: Any) -> dict[Any, str]:
    engine = SignalEngine(None, specs, contact_dims=PEOPLE)
    engine.replay(rows)
    return {(r["signal_id"], r["account_id"]): r["state"] for r in engine.dirty_rows()}


def _store(ws: Workspace, rows: list[dict[str, Any]]) -> None:
    with ws.engine.begin() as conn:
        conn.execute(delete(events))
        conn.execute(delete(signal_state))
    insert_events(ws.engine, rows)


@STREAMS
@given(drawn=st.lists(_event, max_size=60), split=st.integers(min_value=0, max_value=60))
def test_rebuild_equals_replay_on_random_streams(
    workspace: Workspace, drawn: list[dict[str, Any]], split: int
) -> None:
    _setup(workspace)
    rows = _rows(drawn)
    head, tail = rows[:split], rows[split:]
    _store(workspace, head)
    assert _rebuilt(workspace, SPECS) == _replayed(head, SPECS)
    assert _rebuilt(workspace, SPECS, rows_per_part=7) == _replayed(head, SPECS)
    rebuild_store(workspace.engine, SPECS)
    resumed = SignalEngine(workspace.engine, SPECS, contact_dims=PEOPLE).process_many(tail)
    replayed = SignalEngine(None, SPECS, contact_dims=PEOPLE)
    replayed.replay(head)
    assert resumed == replayed.process_many(tail)


def test_rebuild_equals_replay_for_the_shipped_library_on_a_dense_stream(
    sqlite_workspace: Workspace,
) -> None:
    drawn = dense_events(11, 2000)
    _setup(sqlite_workspace)
    rows = _rows(drawn)
    _store(sqlite_workspace, rows)
    specs = load_library()
    replayed = _replayed(rows, specs)
    assert len(replayed) > 20
    assert _rebuilt(sqlite_workspace, specs) == replayed


def test_run_batch_stores_the_signals_it_returns(workspace: Workspace) -> None:
    """Fired rows are stored set-based from columns; reading them back gives the same signals."""
    from accord.signals import run_batch
    from accord.signals.store import list_signals

    rows = _rows(
        [{"minute": m * 13 % 1440, "kind": ["track", "page", "identify"][m % 3], "name": "a1",
          "account": f"acc_{m % 2}", "contact": f"c{m % 4}", "props": {"topic": "xyzw"[m % 4],
          "value": m % 5, "status": ["active", "left"][m % 2], "title": ["CTO", "CEO"][m % 3 % 2]},
          "lag_s": 90 * (m % 2)} for m in range(200)]
    )  # fmt: skip
    _setup(workspace)
    _store(workspace, rows)
    fired = run_batch(workspace.engine, SPECS, save=True)
    assert {s.type for s in fired} >= {"n_events", "surge", "first_topic", "retitled"}
    stored = list_signals(workspace.engine)
    assert sorted(stored, key=lambda s: s.id) == sorted(fired, key=lambda s: s.id)
    assert run_batch(workspace.engine, SPECS, save=True) == fired  # stored once
    assert len(list_signals(workspace.engine)) == len(stored)
