"""The optional win model on seeded data whose outcomes follow fit: it finds the signal,
calibrates, stores `model_win` beside the rule scores, and refuses too few outcomes."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from accord.errors import InputError
from accord.scoring.compute import compute_and_store
from accord.scoring.model import MIN_PER_CLASS, SCORE, train
from accord.store.events import EventRow, write_events
from accord.store.schema import opportunities, scores_current
from accord.workspace import open_workspace
from tests.unit.scoring.helpers import NOW, account, insert_accounts


def _seed(engine, n: int, seed: int = 7, closed: date = date(2025, 3, 1)) -> None:
    """`n` accounts; good-fit ones win 85% of the time, poor-fit ones 15%, all closed on
    `closed`."""
    rng = random.Random(seed)
    accs, opps = [], []
    for i in range(n):
        good = rng.random() < 0.5
        accs.append(account(f"acc_{i:04d}", industry="Software" if good else "Retail",
                            employees=rng.choice([500, 5000]) if good else 20,
                            country="US" if good else "BR"))  # fmt: skip
        won = rng.random() < (0.85 if good else 0.15)
        opps.append({"id": f"opp_{i:04d}", "account_id": f"acc_{i:04d}", "name": "Deal",
                     "type": "new_business", "stage": "Closed Won" if won else "Closed Lost",
                     "source": "test", "attributes": {}, "created_at": NOW, "updated_at": NOW,
                     "is_closed": True, "is_won": won, "close_date": closed})  # fmt: skip
    insert_accounts(engine, accs)
    with engine.begin() as conn:
        conn.execute(opportunities.insert(), opps)


RECENT = date.today() - timedelta(days=30)  # for the CLI, which trains as of today


def _model_rows(engine) -> int:
    q = select(func.count()).select_from(scores_current).where(scores_current.c.score == SCORE)
    with engine.connect() as conn:
        return conn.execute(q).scalar_one()


def test_model_finds_the_known_signal_and_stores_beside_rule_scores(workspace):
    e = workspace.engine
    _seed(e, 240)
    compute_and_store(e, None, NOW)
    report = train(e, None, NOW)
    assert report.auc > 0.75
    assert report.won + report.lost == 240
    assert sum(b["accounts"] for b in report.calibration) == report.holdout == 60
    assert "fit.industry" in report.features
    assert _model_rows(e) == 240
    with e.connect() as conn:
        rows = dict(conn.execute(select(scores_current.c.account_id, scores_current.c.parts)
                                 .where(scores_current.c.score == SCORE)).all())  # fmt: skip
        fit_rows = conn.execute(select(func.count()).select_from(scores_current)
                                .where(scores_current.c.score == "fit")).scalar_one()  # fmt: skip
    assert fit_rows == 240  # the rule scores stay as they were
    good, poor = rows["acc_0000"][0], rows["acc_0001"][0]
    assert "calibrated win probability" in good["says"]
    assert 0 <= poor["measures"]["probability"] <= 1


def test_model_calibration_follows_the_base_rates(sqlite_workspace):
    e = sqlite_workspace.engine
    _seed(e, 400, seed=11)
    report = train(e, None, NOW)
    filled = [b for b in report.calibration if b["accounts"] >= 10]
    assert filled
    for b in filled:  # sigmoid calibration: predicted within 0.25 of the observed rate
        assert abs(b["predicted"] - b["observed"]) < 0.25


def test_scores_train_rejects_too_few_outcomes(tmp_path: Path):
    ws = tmp_path / "ws"
    w = open_workspace(ws)
    try:
        _seed(w.engine, 12, closed=RECENT)
    finally:
        w.close()
    args = [sys.executable, "-m", "accord", "--workspace", str(ws), "scores", "train", "--json"]
    out = subprocess.run(args, capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert f"at least {MIN_PER_CLASS} of each" in out.stderr
    assert out.stdout == ""
    w = open_workspace(ws)
    try:
        assert _model_rows(w.engine) == 0
    finally:
        w.close()


def test_scores_train_prints_auc_and_calibration(tmp_path: Path):
    ws = tmp_path / "ws"
    w = open_workspace(ws)
    try:
        _seed(w.engine, 120, closed=RECENT)
    finally:
        w.close()
    args = [sys.executable, "-m", "accord", "--workspace", str(ws), "scores", "train", "--json"]
    out = subprocess.run(args, capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    assert doc["score"] == SCORE
    assert 0.5 < doc["auc"] <= 1.0
    assert len(doc["calibration"]) == 5
    plain = subprocess.run(args[:-1], capture_output=True, text=True, check=True)
    assert plain.stdout.startswith("model_win: holdout AUC ")
    assert "probability\taccounts\tpredicted\tobserved" in plain.stdout


def test_model_learns_only_outcomes_decided_after_its_cutoff(sqlite_workspace):
    e = sqlite_workspace.engine
    _seed(e, 240)  # decided 2025-03-01: 92 days before NOW
    report = train(e, None, NOW, horizon=timedelta(days=180))
    assert report.won + report.lost == 240
    assert report.cutoff.date() == date(2024, 12, 3)
    with pytest.raises(InputError, match="decided after 2025-04-02"):
        train(e, None, NOW, horizon=timedelta(days=60))  # all decided before the cutoff


def test_model_features_stand_at_the_cutoff(sqlite_workspace):
    """Activity after the cutoff (the deal's own closing touches) cannot leak into training:
    engagement that only winners have, all after the cutoff, must not be learnt."""
    e = sqlite_workspace.engine
    _seed(e, 240)
    with e.connect() as conn:
        winners = [a for (a,) in conn.execute(select(opportunities.c.account_id)
                                              .where(opportunities.c.is_won))]  # fmt: skip
    late = "2025-03-15 10:00:00.000000"  # after the cutoff of a 100-day horizon
    rows = [EventRow(f"m{i}", "t", late, late, "meeting", "Meeting", "sales", a, None, None,
                     None, "{}") for i, a in enumerate(winners)]  # fmt: skip
    with e.begin() as conn:
        write_events(conn, rows)
    report = train(e, None, NOW, horizon=timedelta(days=100))
    assert report.auc < 0.95  # with the meetings as a feature it would be ~1.0
