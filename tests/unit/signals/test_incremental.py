# ruff: noqa: E501
"""The incremental engine: cooldown, stored evidence, durable state across a restart."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from typer.testing import CliRunner

from accord.cli import app
from accord.signals import SignalEngine, run_batch
from accord.signals.explain import explanation
from accord.signals.store import list_signals
from accord.store.schema import signal_state, signals
from accord.workspace import Workspace
from tests.unit.signals.helpers import T0, event, insert_events, spec

H = timedelta(hours=1)
HOURLY = spec(
    {"id": "busy", "description": "Three events within 6 hours.", "strength": 0.6, "cooldown": "1d",
     "freshness": {"source_lag": "1h", "half_life": "2d"},
     "when": {"kind": "count", "event": {"kind": "track"}, "window": "6h", "at_least": 3}},
    source="signals/busy.yaml:1",
)  # fmt: skip
NEW = spec(
    {"id": "people", "description": "Two new people within a day.", "strength": 0.4,
     "when": {"kind": "count", "event": {}, "distinct": "new_contact", "window": "1d", "at_least": 2}},
)  # fmt: skip


def _stream(n: int) -> list[dict[str, object]]:
    return [
        event(
            i + 1, at=i * H, account=f"acc_{i % 2}", contact=f"c{i % 7}", lag=timedelta(minutes=5)
        )
        for i in range(n)
    ]


def test_cooldown_suppresses_repeat_firing(workspace: Workspace) -> None:
    rows = [event(i + 1, at=i * H) for i in range(72)]
    fired = SignalEngine(workspace.engine, [HOURLY]).on_events(rows)
    assert [s.observed_at for s in fired] == [T0 + 2 * H, T0 + 26 * H, T0 + 50 * H]
    stored = list_signals(workspace.engine, type="busy")
    assert sorted(s.observed_at for s in stored) == [s.observed_at for s in fired]
    assert all(s.cooldown_until == s.observed_at + timedelta(days=1) for s in stored)


def test_fired_signal_stores_evidence_and_freshness(workspace: Workspace) -> None:
    rows = [event(i + 1, at=i * H, lag=timedelta(minutes=10)) for i in range(3)]
    SignalEngine(workspace.engine, [HOURLY]).on_events(rows)
    [stored] = list_signals(workspace.engine)
    assert stored.evidence == {
        "value": 3,
        "threshold": 3,
        "window": "6h",
        "events": ["m1", "m2", "m3"],
    }
    assert stored.source == "signals/busy.yaml:1"
    assert stored.observed_at == T0 + 2 * H
    assert stored.fired_at == T0 + 2 * H + timedelta(minutes=10)
    assert stored.source_lag_s == 3600
    assert stored.half_life_s == 2 * 86400
    assert stored.decayed_strength(stored.observed_at + timedelta(days=2)) == 0.3
    assert stored.is_fresh(stored.observed_at + 23 * H, timedelta(hours=24))
    insert_events(workspace.engine, rows)
    doc = explanation(workspace.engine, stored.id, [HOURLY])
    assert [e["message_id"] for e in doc["events"]] == ["m1", "m2", "m3"]
    assert doc["definition"]["description"] == "Three events within 6 hours."


def test_state_survives_restart(workspace: Workspace) -> None:
    rows = _stream(80)
    expected = SignalEngine(None, [HOURLY, NEW]).process_many(rows)
    first = SignalEngine(workspace.engine, [HOURLY, NEW]).on_events(rows[:37])
    second = SignalEngine(workspace.engine, [HOURLY, NEW])  # a new process: state from the DB
    later = [second.on_event(r) for r in rows[37:]]
    assert first + [s for batch in later for s in batch] == expected
    with workspace.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(signals)).scalar_one() == len(expected)
        assert conn.execute(select(func.count()).select_from(signal_state)).scalar_one() == 4


def test_changed_definition_discards_old_state(workspace: Workspace) -> None:
    SignalEngine(workspace.engine, [HOURLY]).on_events([event(1, at=H), event(2, at=2 * H)])
    stricter = spec(HOURLY.spec.model_dump(mode="json") | {"cooldown": "2d"}, source="x:1")
    fresh = SignalEngine(workspace.engine, [stricter])
    assert fresh.process(event(3, at=3 * H)) == []  # the two earlier events were not reused
    kept = SignalEngine(workspace.engine, [HOURLY])
    assert len(kept.process(event(3, at=3 * H))) == 1


def test_batch_run_stores_each_signal_once(workspace: Workspace) -> None:
    rows = _stream(60)
    insert_events(workspace.engine, rows)
    SignalEngine(workspace.engine, [HOURLY, NEW]).on_events(rows)
    before = list_signals(workspace.engine)
    again = run_batch(workspace.engine, [HOURLY, NEW], save=True)
    assert sorted(s.id for s in again) == sorted(s.id for s in before)
    assert len(list_signals(workspace.engine)) == len(before)


def test_signals_cli_runs_lists_and_explains(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    start = datetime.now(UTC) - timedelta(days=2)
    rows = [event(i + 1, at=start + i * H, kind="page", name=None, contact=f"c{i}",
                  props={"path": "/pricing"}) for i in range(3)]  # fmt: skip
    insert_events(ws.engine, rows)
    runner = CliRunner()
    base = ["--workspace", str(ws.path)]
    result = runner.invoke(app, [*base, "signals", "run", "--since", "30d", "--json"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, [*base, "signals", "list", "--json"])
    assert listed.exit_code == 0
    assert "high_intent_pages" in listed.stdout
    [sig] = list_signals(ws.engine, type="high_intent_pages")
    shown = runner.invoke(app, [*base, "signals", "explain", sig.id])
    assert shown.exit_code == 0, shown.output
    assert "high_intent_pages on account acc_1" in shown.stdout
    assert "high_intent_pages.yaml:1" in shown.stdout
    missing = runner.invoke(app, [*base, "signals", "explain", "sig_nope"])
    assert missing.exit_code == 1


def test_replay_rebuilds_the_state_process_would_leave() -> None:
    rows = _stream(80)
    expected = SignalEngine(None, [HOURLY, NEW]).process_many(rows)
    rebuilt = SignalEngine(None, [HOURLY, NEW])
    crossings = rebuilt.replay(rows[:50])
    assert crossings == sum(1 for s in expected if s.observed_at <= rows[49]["occurred_at"])
    later = rebuilt.process_many(rows[50:])
    assert later == [s for s in expected if s.observed_at > rows[49]["occurred_at"]]


def test_duration_options_reject_bad_values(sqlite_workspace: Workspace) -> None:
    ws = sqlite_workspace
    for args, option in ((["signals", "run", "--since", "bogus"], "--since"),
                         (["scores", "train", "--horizon", "6 months"], "--horizon")):  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-m", "accord", "--workspace", str(ws.path), *args],
            capture_output=True, text=True, check=False,
            env={**os.environ, "ACCORD_DATABASE_URL": ws.settings.database_url},
        )  # fmt: skip
        assert result.returncode == 2, result.stderr
        assert f"{option} '{args[-1]}': not a duration" in result.stderr
        assert "Traceback" not in result.stderr
    assert list_signals(ws.engine) == []
