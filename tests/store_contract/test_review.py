"""The review queue: open items with candidates, and decisions that stick."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from accord.errors import Conflict, NotFound
from accord.graph.resolve import resolve_all
from accord.graph.review import decide, list_open
from accord.store.schema import audit_entries, contacts, leads, review_items
from accord.workspace import Workspace
from tests.store_contract.test_resolve import dump, link_map, seed_graph


def _item(ws: Workspace, subject_id: str):
    return next(i for i in list_open(ws.engine) if i.subject_id == subject_id)


def test_review_lists_open_items_with_candidates(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    items = list_open(workspace.engine)
    assert sorted((i.subject_type, i.subject_id, i.reason) for i in items) == [
        ("contact", "con_crm", "crm_disagreement"),
        ("lead", "lea_shared", "ambiguous"),
    ]
    shared = _item(workspace, "lea_shared")
    assert {c["account_id"] for c in shared.candidates} == {"acc_disney", "acc_fox"}


def test_review_decision_sticks_across_full_resolve(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    decide(workspace.engine, _item(workspace, "lea_shared").id, "acc_fox", actor="dana")
    for full in (True, False, True):
        resolve_all(workspace.engine, full=full)
    account_id, rule, confidence, candidates, origin = link_map(workspace.engine)[
        "lead", "lea_shared"
    ]
    assert (account_id, rule, confidence, origin) == ("acc_fox", "review", 1.0, "review")
    assert len(candidates) == 2
    with workspace.engine.connect() as conn:
        lead = conn.execute(select(leads.c.account_id).where(leads.c.id == "lea_shared"))
        assert lead.scalar() == "acc_fox"
        item = conn.execute(select(review_items).where(review_items.c.subject_id == "lea_shared"))
        item = item.one()
        audit = conn.execute(
            select(audit_entries).where(
                audit_entries.c.subject_id == "lea_shared", audit_entries.c.action == "review"
            )
        ).one()
    assert (item.status, item.decision_account_id, item.decided_by) == (
        "decided",
        "acc_fox",
        "dana",
    )
    assert audit.actor == "dana"
    assert audit.details["previous"]["rule"] == "ambiguous"
    assert [i.subject_id for i in list_open(workspace.engine)] == ["con_crm"]


def test_review_decision_for_crm_disagreement_overrides_crm(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    decide(workspace.engine, _item(workspace, "con_crm").id, "acc_acme", actor="dana")
    resolve_all(workspace.engine, full=True)
    assert link_map(workspace.engine)["contact", "con_crm"][0] == "acc_acme"
    with workspace.engine.connect() as conn:
        crm = conn.execute(select(contacts.c.account_id).where(contacts.c.id == "con_crm"))
        assert crm.scalar() == "acc_acme"
    assert resolve_all(workspace.engine).disagreements == 0


def test_review_decision_none_sticks(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    decide(workspace.engine, _item(workspace, "lea_shared").id, None, actor="dana")
    resolve_all(workspace.engine, full=True)
    link = link_map(workspace.engine)["lead", "lea_shared"]
    assert (link[0], link[1], link[4]) == (None, "review_none", "review")


def test_review_decide_rejects_unknown_item_and_account(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    before = dump(workspace.engine)
    with pytest.raises(NotFound, match="review item 'rev_nope' does not exist"):
        decide(workspace.engine, "rev_nope", "acc_fox", actor="dana")
    item = _item(workspace, "lea_shared")
    with pytest.raises(NotFound, match="account 'acc_nope' does not exist"):
        decide(workspace.engine, item.id, "acc_nope", actor="dana")
    assert dump(workspace.engine) == before


def test_review_decide_rejects_a_decided_item(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    item = _item(workspace, "lea_shared")
    decide(workspace.engine, item.id, "acc_fox", actor="dana")
    before = dump(workspace.engine)
    with pytest.raises(Conflict, match="is decided, not open"):
        decide(workspace.engine, item.id, "acc_disney", actor="eve")
    assert dump(workspace.engine) == before
