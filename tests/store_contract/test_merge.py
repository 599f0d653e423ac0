"""Merging duplicate accounts (and undoing it exactly), and manual links that stick."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, update

from accord.errors import Conflict, InputError, NotFound
from accord.graph.merge import link_subject, merge_accounts, unlink_subject, unmerge
from accord.graph.resolve import resolve_all
from accord.graph.targets import import_targets
from accord.ingest.options import ImportOptions
from accord.store.schema import (
    account_domains,
    accounts,
    audit_entries,
    cases,
    contacts,
    events,
    identity_links,
    leads,
    merges,
    metadata,
    opportunities,
    opportunity_stages,
    target_list_members,
)
from accord.workspace import Workspace
from tests.store_contract.test_resolve import T0, account, dump, link_map, seed, seed_graph

REFERENCING = [
    contacts,
    leads,
    opportunities,
    opportunity_stages,
    cases,
    events,
    identity_links,
    target_list_members,
]
NOT_RESTORED = {"audit_entries", "merges"}


def seed_everything(engine: Engine, tmp_path: Path) -> None:
    """The resolve graph plus opportunities, stages, cases, events, a child and a target list."""
    seed_graph(engine)
    seed(engine, accts=[account("acc_fox_uk", "Fox UK", "fox.co.uk", parent_id="acc_fox")])
    opp = {
        "type": "new_business",
        "stage": "Prospecting",
        "amount": 1000.0,
        "is_closed": False,
        "is_won": False,
        "source": "csv",
        "attributes": {},
        "created_at": T0,
        "updated_at": T0,
    }
    stamp = {"source": "csv", "attributes": {}, "created_at": T0, "updated_at": T0}
    with engine.begin() as conn:
        conn.execute(
            insert(opportunities),
            [
                {**opp, "id": "opp_1", "account_id": "acc_fox", "name": "Fox deal"},
                {**opp, "id": "opp_2", "account_id": "acc_disney", "name": "Disney deal"},
            ],
        )
        conn.execute(
            insert(opportunity_stages),
            [
                {
                    "opportunity_id": "opp_1",
                    "stage": "Prospecting",
                    "entered_at": T0,
                    "account_id": "acc_fox",
                },
                {
                    "opportunity_id": "opp_1",
                    "stage": "Closed Won",
                    "entered_at": T0.replace(day=9),
                    "account_id": "acc_fox",
                },
            ],
        )
        conn.execute(
            insert(cases), [{**stamp, "id": "cas_1", "account_id": "acc_fox", "subject": "Help"}]
        )
        conn.execute(
            insert(events),
            [
                {
                    "message_id": f"m{i}",
                    "source": "web",
                    "occurred_at": T0,
                    "received_at": T0,
                    "kind": "page",
                    "account_id": "acc_fox" if i % 2 else "acc_disney",
                    "properties": {},
                }
                for i in range(6)
            ],
        )
    resolve_all(engine)
    targets = tmp_path / "targets.csv"
    targets.write_text("list,tier,account_id\nenterprise,1,acc_fox\nenterprise,2,acc_acme\n")
    import_targets(engine, targets, ImportOptions(progress=False))
    link_subject(engine, "lead", "lea_shared", "acc_fox", actor="dana", reason="called them")


def restorable(engine: Engine) -> dict[str, list[tuple]]:
    return dump(engine, [t for t in metadata.sorted_tables if t.name not in NOT_RESTORED])


def count_for(engine: Engine, account_id: str) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(
                select(func.count()).select_from(t).where(t.c.account_id == account_id)
            ).scalar()
            for t in REFERENCING
        }


def test_merge_then_unmerge_restores_every_table(workspace: Workspace, tmp_path: Path) -> None:
    seed_everything(workspace.engine, tmp_path)
    before = restorable(workspace.engine)
    result = merge_accounts(workspace.engine, "acc_disney", "acc_fox", actor="dana", reason="dupe")
    assert restorable(workspace.engine) != before
    unmerge(workspace.engine, result.id, actor="eve", reason="not a dupe")
    assert restorable(workspace.engine) == before


def test_merge_repoints_every_row_and_marks_the_duplicate(
    workspace: Workspace, tmp_path: Path
) -> None:
    seed_everything(workspace.engine, tmp_path)
    moving = count_for(workspace.engine, "acc_fox")
    result = merge_accounts(workspace.engine, "acc_disney", "acc_fox", actor="dana")
    assert all(n == 0 for n in count_for(workspace.engine, "acc_fox").values())
    assert result.counts["events"] == moving["events"] == 3
    assert result.counts["opportunity_stages"] == 2
    assert result.counts["child_accounts"] == 1
    with workspace.engine.connect() as conn:
        fox = conn.execute(select(accounts).where(accounts.c.id == "acc_fox")).one()
        disney = conn.execute(select(accounts).where(accounts.c.id == "acc_disney")).one()
        child = conn.execute(select(accounts.c.parent_id).where(accounts.c.id == "acc_fox_uk"))
        assert child.scalar() == "acc_disney"
        fox_domains = conn.execute(
            select(func.count())
            .select_from(account_domains)
            .where(account_domains.c.account_id == "acc_fox")
        ).scalar()
        merge_row = conn.execute(select(merges)).one()
        audit = conn.execute(select(audit_entries).where(audit_entries.c.action == "merge")).one()
    assert fox.merged_into == "acc_disney"
    assert (disney.is_target, disney.tier) == (True, 1)
    assert fox_domains == 0
    assert len(merge_row.moved["events"]) == 3
    assert merge_row.actor == "dana"
    assert (audit.actor, audit.subject_id, audit.account_id) == ("dana", "acc_fox", "acc_disney")


def test_resolve_after_merge_uses_the_kept_account(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    merge_accounts(workspace.engine, "acc_disney", "acc_fox", actor="dana")
    report = resolve_all(workspace.engine)
    assert link_map(workspace.engine)["lead", "lea_shared"][:2] == ("acc_disney", "email_domain")
    assert report.ambiguous == 0
    with workspace.engine.connect() as conn:
        ids = set(conn.execute(select(accounts.c.id)).scalars())
    assert ids == {"acc_acme", "acc_globex", "acc_disney", "acc_fox"}


def test_unmerge_refuses_when_already_undone(workspace: Workspace, tmp_path: Path) -> None:
    seed_everything(workspace.engine, tmp_path)
    result = merge_accounts(workspace.engine, "acc_disney", "acc_fox", actor="dana")
    unmerge(workspace.engine, result.id, actor="dana")
    before = dump(workspace.engine)
    with pytest.raises(Conflict, match="already undone"):
        unmerge(workspace.engine, result.id, actor="dana")
    with pytest.raises(NotFound, match="merge 'mrg_nope' does not exist"):
        unmerge(workspace.engine, "mrg_nope", actor="dana")
    assert dump(workspace.engine) == before


def test_unmerge_refuses_while_the_kept_account_is_merged(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    first = merge_accounts(workspace.engine, "acc_disney", "acc_fox", actor="dana")
    merge_accounts(workspace.engine, "acc_acme", "acc_disney", actor="dana")
    with pytest.raises(Conflict, match="undo that merge first"):
        unmerge(workspace.engine, first.id, actor="dana")


def test_merge_rejects_bad_pairs(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    merge_accounts(workspace.engine, "acc_disney", "acc_fox", actor="dana")
    before = dump(workspace.engine)
    with pytest.raises(InputError, match="both 'acc_acme'"):
        merge_accounts(workspace.engine, "acc_acme", "acc_acme", actor="dana")
    with pytest.raises(NotFound, match="account 'acc_nope' does not exist"):
        merge_accounts(workspace.engine, "acc_acme", "acc_nope", actor="dana")
    with pytest.raises(Conflict, match="already merged into 'acc_disney'"):
        merge_accounts(workspace.engine, "acc_acme", "acc_fox", actor="dana")
    assert dump(workspace.engine) == before


def test_unlink_is_sticky(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    unlink_subject(workspace.engine, "lead", "lea_acme", actor="dana", reason="left the company")
    for full in (True, False):
        resolve_all(workspace.engine, full=full)
    account_id, rule, _, _, origin = link_map(workspace.engine)["lead", "lea_acme"]
    assert (account_id, rule, origin) == (None, "manual_unlink", "manual")
    with workspace.engine.connect() as conn:
        lead = conn.execute(select(leads.c.account_id).where(leads.c.id == "lea_acme"))
        assert lead.scalar() is None
        audit = conn.execute(select(audit_entries).where(audit_entries.c.action == "unlink")).one()
    assert (audit.actor, audit.details["reason"]) == ("dana", "left the company")
    assert audit.details["previous"]["account_id"] == "acc_acme"


def test_manual_link_overrides_crm_and_sticks(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    link_subject(workspace.engine, "contact", "con_crm", "acc_acme", actor="dana")
    with workspace.engine.begin() as conn:  # a re-import writes the CRM's value back
        conn.execute(
            update(contacts).where(contacts.c.id == "con_crm").values(account_id="acc_globex")
        )
    resolve_all(workspace.engine)
    assert link_map(workspace.engine)["contact", "con_crm"][0::4] == ("acc_acme", "manual")
    with workspace.engine.connect() as conn:
        crm = conn.execute(select(contacts.c.account_id).where(contacts.c.id == "con_crm"))
        assert crm.scalar() == "acc_acme"
    assert resolve_all(workspace.engine).disagreements == 0


def test_link_rejects_unknown_subject_and_merged_account(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    merge_accounts(workspace.engine, "acc_disney", "acc_fox", actor="dana")
    before = dump(workspace.engine)
    with pytest.raises(NotFound, match="lead 'lea_nope' does not exist"):
        link_subject(workspace.engine, "lead", "lea_nope", "acc_acme", actor="dana")
    with pytest.raises(Conflict, match="merged into 'acc_disney'"):
        link_subject(workspace.engine, "lead", "lea_acme", "acc_fox", actor="dana")
    with pytest.raises(InputError, match="subject type 'visitor' is unknown"):
        link_subject(workspace.engine, "visitor", "v1", "acc_acme", actor="dana")
    assert dump(workspace.engine) == before
