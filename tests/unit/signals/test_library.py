"""Each shipped signal fires on a stream made for it and stays quiet on a near miss;
the batch engine agrees with the incremental one on both streams."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from accord.signals import load_library, run_batch, state_checks
from accord.signals.incremental import SignalEngine as Engine
from accord.signals.specs import StageAgeCondition
from accord.signals.state_checks import stage_age_query
from accord.store.schema import accounts, opportunities, opportunity_stages
from accord.workspace import Workspace, open_workspace
from tests.unit.signals.helpers import event, insert_contacts, insert_events, ordered

D = timedelta(days=1)
H = timedelta(hours=1)
LIBRARY = {s.id: s for s in load_library()}
PEOPLE = {"vp1": ("vp", "sales"), "ic1": ("individual", "engineering"), "dir1": ("director", "it")}


def _seq(specs: list[tuple[timedelta, dict[str, Any]]]) -> list[dict[str, Any]]:
    return ordered(event(i + 1, at=at, **kw) for i, (at, kw) in enumerate(specs))


def _research(topic: str = "crm", activity: str = "category") -> dict[str, Any]:
    return {"name": "Review Site Activity", "props": {"topic": topic, "activity": activity}}


def _usage(contact: str) -> dict[str, Any]:
    return {"name": "Signed In", "contact": contact}


def _page(path: str, contact: str) -> dict[str, Any]:
    return {"kind": "page", "name": None, "contact": contact, "props": {"path": path}}


def _ticket(priority: str) -> dict[str, Any]:
    return {"name": "Ticket Created", "props": {"priority": priority}}


def _identify(contact: str, **traits: Any) -> dict[str, Any]:
    return {"kind": "identify", "name": None, "contact": contact, "props": traits}


CASES: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {
    "research_surge": (
        _seq(
            [(w * 7 * D, _research()) for w in range(8)]
            + [(60 * D + i * H, _research()) for i in range(6)]
        ),
        # 4 a week for 8 weeks, then 7 in a week: 1.75x the baseline, below 2x
        _seq(
            [(w * 7 * D + i * H, _research()) for w in range(9) for i in range(4)]
            + [(63 * D + i * H, _research()) for i in range(4, 7)]
        ),
    ),
    "research_breadth": (
        _seq([(i * D, _research(t)) for i, t in enumerate(["crm", "abm", "cdp"])]),
        _seq([(i * D, _research("crm")) for i in range(5)]),
    ),
    "buying_committee_growth": (
        _seq([(i * D, _page("/blog", f"c{i}")) for i in range(3)]),
        _seq([(i * 40 * D, _page("/blog", f"c{i}")) for i in range(3)]),
    ),
    "new_persona_engaged": (
        _seq([(D, _page("/blog", "dir1"))]),
        _seq([(D, _page("/blog", "ic1"))]),
    ),
    "high_intent_pages": (
        _seq([(D, _page("/pricing", "c1")), (2 * D, _page("/demo/request", "c2"))]),
        _seq(
            [
                (D, _page("/pricing", "c1")),
                (2 * D, _page("/pricing", "c1")),
                (3 * D, _page("/blog", "c2")),
            ]
        ),
    ),
    "competitor_intent": (
        _seq([(D, _research(activity="compare"))]),
        _seq([(D, _research(activity="category"))]),
    ),
    "product_usage_threshold": (
        _seq([(i * H, _usage(f"u{i}")) for i in range(5)]),
        _seq([(i * H, _usage(f"u{i % 4}")) for i in range(12)]),
    ),
    "expansion_readiness": (
        _seq([(D, {"name": "Seats Updated", "props": {"seats_used": 19, "seats_limit": 20}})]),
        _seq([(D, {"name": "Seats Updated", "props": {"seats_used": 10, "seats_limit": 20}})]),
    ),
    "usage_drop": (
        _seq(
            [(i * 10 * H, _usage("u1")) for i in range(30)]
            + [(14 * D + i * 2 * D, _usage("u1")) for i in range(6)]
        ),
        _seq([(i * 10 * H, _usage("u1")) for i in range(60)]),
    ),
    "champion_left": (
        _seq([(D, _identify("c1", status="active")), (2 * D, _identify("c1", status="left"))]),
        _seq([(D, _identify("c1", status="active")), (2 * D, _identify("c1", status="active"))]),
    ),
    "title_changed": (
        _seq([(D, _identify("c1", title="VP Sales")), (2 * D, _identify("c1", title="CRO"))]),
        _seq([(D, _identify("c1", title="VP Sales")), (2 * D, _identify("c1", title="VP Sales"))]),
    ),
    "new_executive": (
        _seq([(D, _page("/blog", "vp1"))]),
        _seq([(D, _page("/blog", "ic1"))]),
    ),
    "support_escalation": (
        _seq([(D, _ticket("High")), (2 * D, _ticket("High"))]),
        _seq([(D, _ticket("High")), (12 * D, _ticket("High")), (13 * D, _ticket("Low"))]),
    ),
}


def _fired(signal_id: str, rows: list[dict[str, Any]], tmp: Path) -> tuple[list[Any], list[Any]]:
    specs = [LIBRARY[signal_id]]
    inc = Engine(None, specs, contact_dims=PEOPLE).process_many(rows)
    ws = open_workspace(tmp)
    try:
        insert_contacts(ws.engine, PEOPLE)
        insert_events(ws.engine, rows)
        batch = run_batch(ws.engine, specs)
    finally:
        ws.close()
    return inc, batch


def test_every_event_signal_has_cases() -> None:
    event_driven = {i for i, s in LIBRARY.items() if not s.spec.is_state}
    assert event_driven == set(CASES)


@pytest.mark.parametrize("signal_id", sorted(CASES))
def test_shipped_signal_fires(signal_id: str, tmp_path: Path) -> None:
    inc, batch = _fired(signal_id, CASES[signal_id][0], tmp_path / "ws")
    assert inc, f"{signal_id} did not fire"
    assert all(s.type == signal_id and s.account_id == "acc_1" for s in inc)
    assert inc[0].evidence["events"], "evidence names the events that crossed"
    assert sorted(inc, key=lambda s: s.id) == sorted(batch, key=lambda s: s.id)


@pytest.mark.parametrize("signal_id", sorted(CASES))
def test_shipped_signal_stays_quiet(signal_id: str, tmp_path: Path) -> None:
    inc, batch = _fired(signal_id, CASES[signal_id][1], tmp_path / "ws")
    assert inc == []
    assert batch == []


# --- time-driven definitions, on both databases ---------------------------------------------

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def _account(
    ws: Workspace, acc: str, *, renewal: date | None = None, health: float | None = None
) -> None:
    attrs = {} if health is None else {"health_score": health}
    with ws.engine.begin() as conn:
        conn.execute(accounts.insert(), [{
            "id": acc, "name": acc, "domains": [], "source": "test", "attributes": attrs,
            "renewal_date": renewal, "created_at": NOW, "updated_at": NOW,
        }])  # fmt: skip


def _opportunity(
    ws: Workspace, opp: str, acc: str, entered: datetime, *, closed: bool = False
) -> None:
    with ws.engine.begin() as conn:
        conn.execute(opportunities.insert(), [{
            "id": opp, "account_id": acc, "name": f"{acc} deal", "stage": "Proposal",
            "is_closed": closed, "source": "test", "attributes": {}, "created_at": entered,
            "updated_at": entered,
        }])  # fmt: skip
        conn.execute(opportunity_stages.insert(), [
            {"opportunity_id": opp, "stage": "Proposal", "entered_at": entered, "account_id": acc}
        ])  # fmt: skip


def test_deal_stall_fires_for_an_old_quiet_stage(workspace: Workspace) -> None:
    specs = [LIBRARY["deal_stall"]]
    for acc in ("acc_old", "acc_busy", "acc_new", "acc_closed"):
        _account(workspace, acc)
    _opportunity(workspace, "opp_old", "acc_old", NOW - 30 * D)
    _opportunity(workspace, "opp_busy", "acc_busy", NOW - 30 * D)
    _opportunity(workspace, "opp_new", "acc_new", NOW - 5 * D)
    _opportunity(workspace, "opp_closed", "acc_closed", NOW - 60 * D, closed=True)
    insert_events(
        workspace.engine,
        [event(1, at=NOW - 2 * D, account="acc_busy", team="sales", name="Call Logged"),
         event(2, at=NOW - 1 * D, account="acc_old", team="marketing", name="Page Viewed"),
         event(3, at=NOW - 20 * D, account="acc_old", team="sales", name="Call Logged")],
    )  # fmt: skip
    fired = state_checks.evaluate(workspace.engine, specs, NOW)
    assert [(s.account_id, s.evidence["opportunity_id"]) for s in fired] == [("acc_old", "opp_old")]
    assert fired[0].evidence["last_activity_at"] == (NOW - 20 * D).isoformat()
    assert fired[0].observed_at == NOW - 20 * D + 14 * D  # quiet since its last sales call
    assert fired[0].evidence["days_in_stage"] == 30
    assert run_batch(workspace.engine, specs, now=NOW) == fired


def test_deal_stall_reads_each_account_s_activity_through_its_index(
    sqlite_workspace: Workspace,
) -> None:
    """The last activity is looked up per old opportunity's account, not grouped over every
    stored event (seconds per million events, every minute in the real-time consumer)."""
    spec = LIBRARY["deal_stall"].spec.when
    assert isinstance(spec, StageAgeCondition)
    engine = sqlite_workspace.engine
    query = stage_age_query(spec, NOW).compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        plan = [r[-1] for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}")]
    searches = [p for p in plan if p.startswith("SEARCH events USING INDEX")]
    assert searches == ["SEARCH events USING INDEX ix_events_account_id_occurred_at "
                        "(account_id=? AND occurred_at<?)"], plan  # fmt: skip
    assert not any(p.startswith("SCAN events") for p in plan), plan


def test_renewal_risk_fires_only_with_weak_health(workspace: Workspace) -> None:
    specs = [LIBRARY["renewal_risk"]]
    _account(workspace, "acc_weak", renewal=date(2025, 7, 15), health=35.0)
    _account(workspace, "acc_healthy", renewal=date(2025, 7, 15), health=80.0)
    _account(workspace, "acc_later", renewal=date(2026, 3, 1), health=20.0)
    _account(workspace, "acc_unknown", renewal=date(2025, 7, 1))
    fired = state_checks.evaluate(workspace.engine, specs, NOW)
    assert [s.account_id for s in fired] == ["acc_weak"]
    assert fired[0].evidence["health"] == 35
    assert fired[0].evidence["days_to_renewal"] == 44
    assert run_batch(workspace.engine, specs, now=NOW) == fired
