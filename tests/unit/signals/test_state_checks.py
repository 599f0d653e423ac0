"""Renewal with weak health reads the stored health score first, the attribute otherwise."""

from __future__ import annotations

from datetime import UTC, date, datetime

from accord.signals import run_batch, state_checks
from accord.signals.library import load_library
from accord.store.schema import accounts, scores_current
from accord.workspace import Workspace

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
RENEWAL = date(2025, 7, 15)


def _account(ws: Workspace, acc: str, attribute: float | None, stored: float | None) -> None:
    attrs = {} if attribute is None else {"health_score": attribute}
    with ws.engine.begin() as conn:
        conn.execute(accounts.insert(), [{
            "id": acc, "name": acc, "domains": [], "source": "test", "attributes": attrs,
            "renewal_date": RENEWAL, "created_at": NOW, "updated_at": NOW,
        }])  # fmt: skip
        if stored is not None:
            conn.execute(scores_current.insert(), [{
                "account_id": acc, "score": "health", "version": 1, "value": stored,
                "label": None, "parts": [], "computed_at": NOW,
            }])  # fmt: skip


def test_renewal_risk_prefers_stored_health_over_attribute(workspace: Workspace) -> None:
    specs = [s for s in load_library() if s.id == "renewal_risk"]
    _account(workspace, "acc_scored_weak", attribute=90.0, stored=30.0)
    _account(workspace, "acc_scored_fine", attribute=10.0, stored=75.0)
    _account(workspace, "acc_attr_weak", attribute=20.0, stored=None)
    _account(workspace, "acc_unknown", attribute=None, stored=None)
    fired = state_checks.evaluate(workspace.engine, specs, NOW)
    by_account = {s.account_id: s.evidence for s in fired}
    assert sorted(by_account) == ["acc_attr_weak", "acc_scored_weak"]
    assert by_account["acc_scored_weak"]["health"] == 30
    assert by_account["acc_scored_weak"]["health_source"] == "scores_current.health"
    assert by_account["acc_attr_weak"]["health_source"] == "accounts.attributes.health_score"
    assert run_batch(workspace.engine, specs, now=NOW) == fired


def test_renewal_risk_ignores_other_stored_scores(workspace: Workspace) -> None:
    specs = [s for s in load_library() if s.id == "renewal_risk"]
    _account(workspace, "acc_1", attribute=80.0, stored=None)
    with workspace.engine.begin() as conn:
        conn.execute(scores_current.insert(), [{
            "account_id": "acc_1", "score": "engagement", "version": 1, "value": 5.0,
            "label": None, "parts": [], "computed_at": NOW,
        }])  # fmt: skip
    assert state_checks.evaluate(workspace.engine, specs, NOW) == []
