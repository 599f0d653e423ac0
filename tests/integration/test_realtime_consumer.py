"""The consumer on its own, both stores: saves deferred between signals, a crash before such a
save, the time-driven check (beside event consumption), and the SQLite write lock held by
another writer."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from accord.cli import app
from accord.realtime import Consumer, Cursor, load_cursor, read_batch
from accord.realtime import consumer as consumer_module
from accord.realtime.consumer import Usable
from accord.realtime.cursor import state_name
from accord.signals import SignalEngine, load_library, run_batch, state_checks
from accord.signals.layout import stored_form
from accord.signals.store import list_signals
from accord.store.group_commit import WriterLock
from accord.store.schema import accounts, events, opportunities, opportunity_stages
from accord.workspace import Workspace
from tests.integration.test_realtime import (
    PEOPLE,
    START,
    comparable,
    ours,
    seed,
    stream,
    wait_for,
)

DOMAIN_ACCOUNT = {domain: acc for acc, (domain, _) in PEOPLE.items()}


def event_rows() -> list[dict[str, Any]]:
    """The realtime test stream as resolved `events` rows (account and contact known), each
    followed by a quiet one: a sign-in that changes window state but fires nothing."""
    rows = []
    for call in stream():
        person, domain = call["context"]["traits"]["email"].split("@")
        rows.append({"message_id": call["messageId"], "source": "test", "kind": "track",
                     "name": call["event"], "account_id": DOMAIN_ACCOUNT[domain],
                     "contact_id": f"con_{person}", "properties": {},
                     "occurred_at": datetime.fromisoformat(call["timestamp"]),
                     "received_at": START})  # fmt: skip
        rows.append({**rows[-1], "message_id": f"{call['messageId']}-quiet", "name": "Signed In"})
    return rows


def insert(ws: Workspace, row: dict[str, Any]) -> None:
    with ws.engine.begin() as conn:
        conn.execute(events.insert(), row)


def stored_last_id(ws: Workspace) -> int:
    with ws.engine.connect() as conn:
        return load_cursor(conn, "signals").last_id


def _quiet_consumer(ws: Workspace) -> Consumer:
    """An opened consumer on the seeded workspace whose timed saves never fall due."""
    seed(ws)
    consumer = Consumer(ws.engine, load_library(ws.settings.definitions_dir), save_seconds=3600)
    consumer.open()
    return consumer


def test_consumer_crash_before_deferred_save_repeats_and_misses_nothing(
    workspace: Workspace,
) -> None:
    first = _quiet_consumer(workspace)
    specs, rows = first.specs, event_rows()
    crashed_at = 0
    for i, row in enumerate(rows):
        insert(workspace, row)
        first.step()
        if i >= len(rows) // 2 and first.cursor != first.stored:
            crashed_at = i + 1
            break
    assert crashed_at, "no step was left unsaved"
    assert stored_last_id(workspace) < first.cursor.last_id  # the unsaved steps are lost
    first.leader.release()  # the process dies without saving

    second = Consumer(workspace.engine, specs)
    for row in rows[crashed_at:]:
        insert(workspace, row)
    assert second.drain() >= len(rows) - crashed_at
    assert stored_last_id(workspace) == len(rows)
    stored = ours(list_signals(workspace.engine))
    batch = ours(run_batch(workspace.engine, specs))
    assert len(stored) == len({s.dedupe_key for s in stored})
    assert comparable(stored) == comparable(batch)


def _step_each_event(ws: Workspace, consumer: Consumer) -> list[int]:
    """Insert the events one at a time, a step after each; the cursor positions of the steps
    that fired, each checked to be stored with its signals in the same commit."""
    fired_at = []
    for row in event_rows():
        insert(ws, row)
        before = consumer.fired
        consumer.step()
        if consumer.fired > before:
            assert stored_last_id(ws) == consumer.cursor.last_id
            assert len(list_signals(ws.engine)) >= consumer.fired
            fired_at.append(consumer.cursor.last_id)
    return fired_at


def test_consumer_saves_fired_signal_at_once_and_quiet_steps_later(
    workspace: Workspace,
) -> None:
    consumer = _quiet_consumer(workspace)
    assert _step_each_event(workspace, consumer)
    insert(workspace, {**event_rows()[0], "message_id": "quiet", "name": "Nothing Matches"})
    consumer.step()
    assert stored_last_id(workspace) < consumer.cursor.last_id
    consumer.tick()  # the time-driven check saves the cursor before its own commit
    assert stored_last_id(workspace) == consumer.cursor.last_id
    consumer.leader.release()


def _stalled_deal(ws: Workspace, acc: str) -> None:
    """An account whose open opportunity entered its stage 40 days ago, with no activity."""
    entered = datetime.now(UTC) - timedelta(days=40)
    base = {"source": "test", "attributes": {}, "created_at": entered, "updated_at": entered}
    with ws.engine.begin() as conn:
        conn.execute(accounts.insert(), [{"id": acc, "name": acc, "domains": [], **base}])
        conn.execute(opportunities.insert(), [{
            "id": f"opp_{acc}", "account_id": acc, "name": "deal", "stage": "Proposal",
            "is_closed": False, **base,
        }])  # fmt: skip
        conn.execute(opportunity_stages.insert(), [{"opportunity_id": f"opp_{acc}",
            "stage": "Proposal", "entered_at": entered, "account_id": acc}])  # fmt: skip


def test_time_driven_check_runs_beside_event_consumption(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow time-driven check (thousands of open opportunities) holds no event back: the
    events committed while it runs are consumed and their signals stored; the check's own
    signal is stored once it ends."""
    seed(workspace)
    _stalled_deal(workspace, "acc_stalled")
    started, release = threading.Event(), threading.Event()
    check = state_checks.evaluate

    def slow_check(*args: Any) -> Any:
        if not started.is_set():  # the consumer's check is held; the batch's below is not
            started.set()
            release.wait(10)
        return check(*args)

    monkeypatch.setattr(state_checks, "evaluate", slow_check)
    specs = load_library(workspace.settings.definitions_dir)
    consumer = Consumer(workspace.engine, specs, poll_seconds=0.01)
    consumer.start()
    try:
        assert started.wait(10)
        rows = event_rows()
        for row in rows:
            insert(workspace, row)
        wait_for(lambda: consumer.cursor.last_id == len(rows), 10)
        batch = comparable(ours(run_batch(workspace.engine, specs)))
        assert batch
        # the last step's signals are stored just after its cursor moves
        wait_for(lambda: comparable(ours(list_signals(workspace.engine))) == batch, 10)
        stored = list_signals(workspace.engine)
        assert not [s for s in stored if s.type == "deal_stall"]  # the check is still held
        release.set()
        wait_for(lambda: [s.account_id for s in list_signals(workspace.engine)
                          if s.type == "deal_stall"] == ["acc_stalled"], 10)  # fmt: skip
    finally:
        release.set()
        consumer.stop()


def stored_state_id(ws: Workspace) -> int:
    with ws.engine.connect() as conn:
        return load_cursor(conn, state_name("signals")).last_id


def test_fired_signal_is_stored_at_once_and_window_state_in_its_own_time(
    workspace: Workspace,
) -> None:
    consumer = _quiet_consumer(workspace)
    fired_at = _step_each_event(workspace, consumer)[-1]
    assert fired_at > 2
    consumer.finish_state_save()  # the one save started by the first step
    assert consumer.state_saves == 1
    assert stored_state_id(workspace) < fired_at  # the state waits for its next save
    consumer.save()
    assert stored_state_id(workspace) == stored_last_id(workspace) == consumer.cursor.last_id
    consumer.leader.release()


def test_restart_replays_events_past_the_saved_state_and_repeats_no_signal(
    workspace: Workspace,
) -> None:
    first = _quiet_consumer(workspace)
    specs, rows = first.specs, event_rows()
    half = len(rows) // 2
    for row in rows[:half]:
        insert(workspace, row)
        first.step()
    first.finish_state_save()
    signals_at, state_at = stored_last_id(workspace), stored_state_id(workspace)
    assert state_at < signals_at  # signals stored past the state saved with the first step
    first.leader.release()  # the process dies without saving

    second = Consumer(workspace.engine, specs)
    second.open()
    assert second.replayed == signals_at - state_at
    assert second.cursor.last_id == signals_at
    for row in rows[half:]:
        insert(workspace, row)
    second.drain()
    assert stored_last_id(workspace) == stored_state_id(workspace) == len(rows)
    stored = ours(list_signals(workspace.engine))
    batch = ours(run_batch(workspace.engine, specs))
    assert len(stored) == len({s.dedupe_key for s in stored})
    assert comparable(stored) == comparable(batch)
    second.leader.release()

    third = Consumer(workspace.engine, specs)  # everything saved: nothing to replay
    third.open()
    assert third.replayed == 0
    assert third.cursor.last_id == len(rows)
    third.leader.release()


def test_cursor_stored_without_a_state_cursor_gives_the_state_its_position(
    workspace: Workspace,
) -> None:
    seed(workspace)
    specs = load_library(workspace.settings.definitions_dir)
    for row in event_rows()[:6]:
        insert(workspace, row)
    Consumer(workspace.engine, specs).drain()
    with workspace.engine.begin() as conn:
        conn.execute(text("DELETE FROM consumer_cursors WHERE name = :n"),
                     {"n": state_name("signals")})  # fmt: skip
    consumer = Consumer(workspace.engine, specs)
    consumer.open()
    assert consumer.replayed == 0
    assert stored_state_id(workspace) == stored_last_id(workspace) == 6
    consumer.leader.release()


def test_consumer_passes_over_unusable_events_in_sql_and_covers_them(
    workspace: Workspace,
) -> None:
    seed(workspace)
    specs = load_library(workspace.settings.definitions_dir)
    consumer = Consumer(workspace.engine, specs)
    consumer.open()
    assert consumer.usable.kinds is None or "track" in consumer.usable.kinds
    row = event_rows()[0]
    insert(workspace, {**row, "message_id": "no-account", "account_id": None})
    insert(workspace, {**row, "message_id": "usable"})
    insert(workspace, {**row, "message_id": "no-account-2", "account_id": None})
    with workspace.engine.connect() as conn:
        read = read_batch(conn, consumer.cursor, 100, consumer.usable)
        everything = read_batch(conn, consumer.cursor, 100)
    assert [r["message_id"] for r in read.rows] == ["usable"]
    assert read.seen == 3
    assert read.cursor.last_id == 3
    assert not read.more
    assert len(everything.rows) == 3
    assert everything.cursor == read.cursor
    assert consumer.step() == (3, False)
    assert consumer.processed == 3
    assert consumer.cursor.last_id == 3
    nothing = Usable(["no such kind"])
    with workspace.engine.connect() as conn:
        assert read_batch(conn, Cursor("x"), 2, nothing).rows == []
        assert read_batch(conn, Cursor("x"), 2, nothing).more
    consumer.finish_state_save()  # the step started one: done before the engine is closed
    consumer.leader.release()


@pytest.mark.parametrize("holder", ["ingest writer's file lock", "sqlite lock"])
def test_consumer_waits_for_sqlite_write_lock_held_by_another_writer(
    sqlite_workspace: Workspace, holder: str
) -> None:
    ws = sqlite_workspace
    consumer = _quiet_consumer(ws)
    for i, row in enumerate(event_rows()[:5]):
        insert(ws, {**row, "message_id": f"n{i}", "name": "Nothing Matches"})
    consumer.step()
    held = threading.Event()

    def hold_lock() -> None:
        if holder == "sqlite lock":
            with ws.engine.connect() as other:
                other.exec_driver_sql("BEGIN IMMEDIATE")
                held.set()
                time.sleep(0.3)
                other.exec_driver_sql("COMMIT")
            return
        lock = WriterLock(str(ws.engine.url.database))
        with lock:
            held.set()
            time.sleep(0.3)
        lock.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    held.wait(5)
    started = time.monotonic()
    consumer.save()
    waited = time.monotonic() - started
    holder.join()
    assert 0.2 < waited < 5
    assert stored_last_id(ws) == consumer.cursor.last_id == 5
    with ws.engine.connect() as conn:  # the pooled connection keeps its normal busy timeout
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 30000
    consumer.leader.release()


def test_worker_once_stores_signals_and_cursor(workspace: Workspace) -> None:
    seed(workspace)
    rows = event_rows()
    for row in rows:
        insert(workspace, row)
    env = {"ACCORD_DATABASE_URL": workspace.settings.database_url}
    result = CliRunner().invoke(
        app, ["--workspace", str(workspace.path), "worker", "--once"], env=env
    )
    assert result.exit_code == 0, result.output
    assert f"{len(rows):,} events processed" in result.output
    assert stored_last_id(workspace) == len(rows)
    stored = ours(list_signals(workspace.engine))
    batch = ours(run_batch(workspace.engine, load_library(workspace.settings.definitions_dir)))
    assert comparable(stored) == comparable(batch)


def test_window_state_saved_a_slice_per_step_restarts_as_if_each_event_came_once(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumer_module, "STATE_SLICE_SECONDS", 0.0)  # one account per step
    monkeypatch.setattr(consumer_module, "STATE_SAVE_SHARE", 1.0)  # saves back to back
    seed(workspace)
    specs = load_library(workspace.settings.definitions_dir)
    first = Consumer(workspace.engine, specs, save_seconds=0.0)
    first.open()
    rows, spanned = event_rows(), 0
    crash = 2 * len(rows) // 3
    for at in range(0, crash, 8):  # several accounts change between two steps
        for row in rows[at : min(at + 8, crash)]:
            insert(workspace, row)
        first.step()
        first.finish_state_save()  # each write ends before the next step
        spanned += first.saving_state
    saves = first.state_saves
    assert spanned >= 3  # saves were serialised over several steps
    assert saves >= 3
    first.leader.release()  # the process dies without saving, a save half serialised or not

    second = Consumer(workspace.engine, specs)
    second.open()
    for row in rows[crash:]:
        insert(workspace, row)
    second.drain()
    stored = ours(list_signals(workspace.engine))
    assert len(stored) == len({s.dedupe_key for s in stored})
    assert comparable(stored) == comparable(ours(run_batch(workspace.engine, specs)))
    second.leader.release()

    third = Consumer(workspace.engine, specs)
    third.open()
    assert third.replayed == 0
    once = SignalEngine(None, specs)
    with workspace.engine.connect() as conn:
        once.process_many(read_batch(conn, Cursor("all"), 10 * len(rows)).rows)
    assert third.signals is not None
    loaded, expected = third.signals.states, once.states
    assert loaded.keys() == expected.keys()
    for key, st in expected.items():
        form = stored_form(once.compiled_by_idx(key[0]))
        assert loaded[key].dumps(**form) == st.dumps(**form)
    third.leader.release()
