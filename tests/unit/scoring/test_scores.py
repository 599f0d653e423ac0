"""Each score on known inputs: known values, parts that add up, decay, stage rules."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accord.scoring.compute import compute_from_store
from accord.scoring.library import load_library
from accord.scoring.specs import STAGES
from accord.scoring.stage import Facts, decide
from tests.unit.scoring.helpers import (
    NOW,
    account,
    assert_parts_add_up,
    event,
    insert_accounts,
    insert_cases,
    insert_events,
    insert_opportunity,
    insert_signal,
    spec,
)

DAY = timedelta(days=1)
ENGAGEMENT = """
score: engagement
version: 1
half_life: 7d
lookback: 90d
saturation: 10
teams: [sales, marketing]
touches:
  - { kind: meeting, points: 10 }
  - { kind: page, path_glob: "/pricing*", points: 4 }
  - { kind: page, points: 1 }
"""


def _shipped():
    return {k: v.spec for k, v in load_library().items()}


def test_fit_known_account_gets_known_value(sqlite_workspace):
    insert_accounts(
        sqlite_workspace.engine,
        [account("acc_a", industry="software", employees=500, annual_revenue=1e7,
                 country="DE", tier=3)],
    )  # fmt: skip
    fit = compute_from_store(sqlite_workspace.engine, {"fit": _shipped()["fit"]}, NOW)["fit"]
    s = fit["acc_a"]
    assert s.value == 70.0  # industry 30 + employees 25 + country 15; revenue and tier fail
    assert {p["name"]: p["points"] for p in s.parts} == {
        "industry": 30.0, "employees": 25.0, "revenue": 0.0, "region": 15.0, "tier": 0.0,
    }  # fmt: skip
    assert "not annual revenue >= $20M" in s.parts[2]["says"]
    assert_parts_add_up(s)


def test_fit_missing_values_fail_their_rules(sqlite_workspace):
    insert_accounts(sqlite_workspace.engine, [account("acc_a")])
    s = compute_from_store(sqlite_workspace.engine, {"fit": _shipped()["fit"]}, NOW)["fit"]
    assert s["acc_a"].value == 0.0
    assert_parts_add_up(s["acc_a"])


def test_engagement_decays_by_half_life(sqlite_workspace):
    e = sqlite_workspace.engine
    insert_accounts(e, [account(a) for a in ("acc_now", "acc_week", "acc_2weeks", "acc_none")])
    insert_events(
        e,
        [event("acc_now", timedelta(0), kind="meeting", team="sales"),
         event("acc_week", 7 * DAY, kind="meeting", team="sales"),
         event("acc_2weeks", 14 * DAY, kind="meeting", team="sales")],
    )  # fmt: skip
    got = compute_from_store(e, {"engagement": spec(ENGAGEMENT).spec}, NOW)["engagement"]
    assert got["acc_now"].value == 50.0  # 10 points, saturation 10
    assert got["acc_week"].value == pytest.approx(33.3)  # 5 / 15
    assert got["acc_2weeks"].value == 20.0  # 2.5 / 12.5
    assert got["acc_none"].value == 0.0
    for s in got.values():
        assert_parts_add_up(s)


def test_engagement_splits_parts_by_team_and_first_touch_rule_wins(sqlite_workspace):
    e = sqlite_workspace.engine
    insert_accounts(e, [account("acc_a")])
    insert_events(
        e,
        [event("acc_a", timedelta(0), kind="meeting", team="sales"),
         event("acc_a", timedelta(0), kind="page", name=None, team="marketing",
               props={"path": "/pricing/enterprise"}),
         event("acc_a", timedelta(0), kind="page", name=None, team="marketing",
               props={"path": "/blog"}),
         event("acc_a", 100 * DAY, kind="meeting", team="sales")],  # outside the lookback
    )  # fmt: skip
    s = compute_from_store(e, {"engagement": spec(ENGAGEMENT).spec}, NOW)["engagement"]["acc_a"]
    # 10 + 4 + 1 = 15 points -> 100 * 15 / 25 = 60; sales 10/15, marketing 5/15
    assert s.value == 60.0
    assert {p["name"]: p["points"] for p in s.parts} == {"sales": 40.0, "marketing": 20.0}
    assert s.parts[1]["measures"]["touches"] == 2
    assert_parts_add_up(s)


def test_intent_surge_breadth_and_signals(sqlite_workspace):
    e = sqlite_workspace.engine
    insert_accounts(e, [account("acc_hot"), account("acc_cold")])
    research = {"kind": "intent", "name": "Review Site Activity", "team": "marketing"}
    rows = [event("acc_hot", DAY * (i % 6), props={"topic": f"t{i % 4}"}, **research)
            for i in range(12)]  # fmt: skip
    rows += [event("acc_hot", DAY * (10 + 7 * w), props={"topic": "t0"}, **research)
             for w in range(8)]  # fmt: skip
    insert_events(e, rows)
    insert_signal(e, "acc_hot", "research_surge", 2 * DAY, 0.7)
    insert_signal(e, "acc_hot", "research_surge", 90 * DAY, 0.7)  # too old
    got = compute_from_store(e, {"intent": _shipped()["intent"]}, NOW)["intent"]
    hot, cold = got["acc_hot"], got["acc_cold"]
    parts = {p["name"]: p for p in hot.parts}
    assert parts["surge"]["measures"]["recent"] == 12
    assert parts["surge"]["points"] == 25.0  # 12 vs 1 a week: far past 3x
    assert parts["breadth"]["measures"]["topics"] == 4
    assert parts["breadth"]["points"] == 15.0
    assert parts["signals"]["measures"]["strength"] == 0.7
    assert parts["signals"]["points"] == 14.0
    assert parts["breadth"]["measures"]["top_topics"][0]["topic"] == "t0"
    assert cold.value == 0.0
    assert_parts_add_up(hot)
    assert_parts_add_up(cold)


def _weekly_users(acc, weeks, users, *, now=NOW):
    """One usage event per user in each of `weeks` (0 = the week before `now`)."""
    return [event(acc, DAY * (7 * w + 3.5), contact=f"{acc}_u{u}", now=now)
            for w in weeks for u in range(users)]  # fmt: skip


def test_health_usage_drop_and_support_load(sqlite_workspace):
    e = sqlite_workspace.engine
    insert_accounts(e, [account("acc_c", lifecycle_stage="customer", arr=100_000.0),
                        account("acc_p", lifecycle_stage="prospect")])  # fmt: skip
    insert_events(e, _weekly_users("acc_c", range(4, 8), 10) + _weekly_users("acc_c", range(4), 6))
    insert_cases(e, "acc_c", ["High", "High", "Low"])
    insert_cases(e, "acc_c", ["High"], status="Closed")
    specs = _shipped()
    got = compute_from_store(e, {"engagement": specs["engagement"], "health": specs["health"]}, NOW)
    assert "acc_p" not in got["health"]  # customers only
    s = got["health"]["acc_c"]
    parts = {p["name"]: p for p in s.parts}
    assert parts["usage"]["measures"]["change"] == -0.4
    assert parts["usage"]["says"].startswith("weekly active users -40%")
    assert parts["usage"]["points"] == 7.0  # 35 * (1 - 0.4 / 0.5)
    assert parts["support"]["says"] == "2 P1 tickets, 3 open cases"
    assert parts["support"]["points"] == 2.5  # 25 * (1 - 3 * 0.1 - 2 * 0.3)
    assert_parts_add_up(s)


def test_health_arr_and_renewal(sqlite_workspace):
    from datetime import date

    e = sqlite_workspace.engine
    insert_accounts(e, [account("acc_c", lifecycle_stage="customer", arr=120_000.0,
                                renewal_date=date(2025, 7, 16))])  # fmt: skip
    insert_opportunity(e, "acc_c", type="expansion", is_closed=True, is_won=True,
                       amount=20_000.0, close_date=date(2025, 3, 1))  # fmt: skip
    s = compute_from_store(e, {"health": _shipped()["health"]}, NOW)["health"]["acc_c"]
    parts = {p["name"]: p for p in s.parts}
    assert parts["arr"]["measures"]["change"] == 0.2  # 100k -> 120k
    assert parts["arr"]["points"] == 15.0
    assert parts["renewal"]["measures"]["days_to_renewal"] == 45
    assert parts["renewal"]["points"] == 5.0  # 45 of 90 days left
    assert_parts_add_up(s)


@pytest.mark.parametrize(
    ("facts", "stage"),
    [
        (Facts(lifecycle="customer"), "customer"),
        (Facts(opportunities=[{"type": "new_business", "stage": "Negotiation/Review",
                               "probability": 0.5, "is_closed": False, "is_won": False,
                               "close_date": None}]), "purchase"),
        (Facts(opportunities=[{"type": "new_business", "stage": "Qualification",
                               "probability": 0.1, "is_closed": False, "is_won": False,
                               "close_date": None}]), "decision"),
        (Facts(opportunities=[{"type": "new_business", "stage": "Closed Lost",
                               "probability": 0.0, "is_closed": True, "is_won": False,
                               "close_date": None}]), "unaware"),
        (Facts(signals={"high_intent_pages": int((NOW - 5 * DAY).timestamp() * 1e6)}),
         "consideration"),
        (Facts(signals={"high_intent_pages": int((NOW - 50 * DAY).timestamp() * 1e6)}),
         "unaware"),
        (Facts(scores={"intent": 55.0}), "consideration"),
        (Facts(scores={"engagement": 8.0}), "aware"),
        (Facts(), "unaware"),
    ],
)  # fmt: skip
def test_stage_rules_pick_the_first_that_holds(facts, stage):
    s = decide(_shipped()["stage"], facts, NOW)
    assert s.label == stage
    assert s.value == STAGES.index(stage)
    assert_parts_add_up(s)


def test_stage_all_condition_needs_every_part():
    st = spec("""
score: stage
version: 1
rules:
  - stage: consideration
    when:
      kind: all
      of:
        - { kind: score, score: fit, at_least: 60 }
        - { kind: score, score: intent, at_least: 40 }
""").spec
    both = decide(st, Facts(scores={"fit": 70.0, "intent": 45.0}), NOW)
    assert both.label == "consideration"
    assert both.parts[0]["says"] == "fit 70 >= 60 and intent 45 >= 40"
    assert decide(st, Facts(scores={"fit": 70.0, "intent": 10.0}), NOW).label == "unaware"


def test_stage_from_store_reads_opportunities_and_signals(sqlite_workspace):
    e = sqlite_workspace.engine
    insert_accounts(e, [account("acc_deal"), account("acc_sig"), account("acc_cust",
                        lifecycle_stage="customer"), account("acc_quiet")])  # fmt: skip
    insert_opportunity(e, "acc_deal", stage="Proposal/Price Quote")
    insert_signal(e, "acc_sig", "competitor_intent", 3 * DAY, 0.6)
    got = compute_from_store(e, _shipped(), NOW)["stage"]
    assert {a: s.label for a, s in got.items()} == {
        "acc_deal": "decision", "acc_sig": "consideration", "acc_cust": "customer",
        "acc_quiet": "unaware",
    }  # fmt: skip
    assert got["acc_deal"].parts[0]["says"] == "an open opportunity"
