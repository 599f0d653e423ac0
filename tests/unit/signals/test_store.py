"""Fired signals and window state through `signals.store`, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from accord.signals.signal import Signal, signal_id
from accord.signals.store import get_signal, list_signals, save_signals, save_states
from accord.store.schema import signal_state
from accord.workspace import Workspace

T0 = datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)


def _signal(account: str, msg: str, evidence: dict[str, object], *, cool: bool = True) -> Signal:
    key = f"busy:{account}:{msg}"
    return Signal(
        id=signal_id(key),
        account_id=account,
        type="busy",
        fired_at=T0 + timedelta(seconds=2),
        observed_at=T0,
        strength=0.75,
        evidence=evidence,
        dedupe_key=key,
        cooldown_until=T0 + timedelta(days=7) if cool else None,
        source_lag_s=2.0,
        half_life_s=86400.0,
        source="id: busy\n",
    )


def test_save_signals_stores_every_field_and_skips_stored_keys(workspace: Workspace) -> None:
    first = _signal("acc_1", "m1", {"value": 3, "events": ["m1"], "nested": {"x": [1, None]}})
    other = _signal("acc_2", "m2", {"value": 1.5, "events": []}, cool=False)
    with workspace.engine.begin() as conn:
        assert save_signals(conn, [first, other]) == 2
    # the same key again (new evidence) is skipped; of two with one key the last is offered
    again = _signal("acc_1", "m1", {"value": 99, "events": []})
    late = _signal("acc_3", "m3", {"value": 1, "events": []})
    later = _signal("acc_3", "m3", {"value": 2, "events": ["m3"]})
    with workspace.engine.begin() as conn:
        assert save_signals(conn, [again, late, later]) == 1
    assert get_signal(workspace.engine, first.id) == first
    assert get_signal(workspace.engine, other.id) == other
    assert get_signal(workspace.engine, later.id) == later
    assert len(list_signals(workspace.engine)) == 3


def test_save_states_upserts_and_the_last_row_of_a_key_wins(workspace: Workspace) -> None:
    rows = [
        {"signal_id": "busy", "account_id": "acc_1", "fingerprint": "f1", "state": "[1]"},
        {"signal_id": "busy", "account_id": "acc_2", "fingerprint": "f1", "state": "[2]"},
    ]
    with workspace.engine.begin() as conn:
        save_states(conn, rows)
    with workspace.engine.begin() as conn:
        save_states(conn, [
            {"signal_id": "busy", "account_id": "acc_1", "fingerprint": "f2", "state": "[3]"},
            {"signal_id": "busy", "account_id": "acc_1", "fingerprint": "f3", "state": "[4]"},
            {"signal_id": "quiet", "account_id": "acc_1", "fingerprint": "f1", "state": "[]"},
        ])  # fmt: skip
    q = select(
        signal_state.c.signal_id,
        signal_state.c.account_id,
        signal_state.c.fingerprint,
        signal_state.c.state,
        signal_state.c.updated_at,
    ).order_by(signal_state.c.signal_id, signal_state.c.account_id)
    with workspace.engine.connect() as conn:
        got = conn.execute(q).all()
    assert [tuple(r[:4]) for r in got] == [
        ("busy", "acc_1", "f3", "[4]"),
        ("busy", "acc_2", "f1", "[2]"),
        ("quiet", "acc_1", "f1", "[]"),
    ]
    stamp = got[0][4]
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    assert abs(stamp - datetime.now(UTC)) < timedelta(minutes=5)
