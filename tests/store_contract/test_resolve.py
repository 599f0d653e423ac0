"""Resolution of stored contacts and leads to accounts, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, insert, select, update

from accord.graph.match import LeadRecord
from accord.graph.merge import link_subject
from accord.graph.resolve import current_link, matcher_for, resolve_all, resolve_one
from accord.ingest.options import ImportOptions
from accord.ingest.salesforce import import_salesforce
from accord.store.schema import (
    account_domains,
    accounts,
    audit_entries,
    contacts,
    identity_links,
    leads,
    metadata,
    review_items,
)
from accord.workspace import Workspace

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def account(id: str, name: str, website: str | None = None, domains: Iterable[str] = (), **kw: Any):
    row = {
        "id": id,
        "name": name,
        "website": website,
        "domains": list(domains),
        "source": "csv",
        "is_target": False,
        "lifecycle_stage": "prospect",
        "attributes": {},
        "created_at": T0,
        "updated_at": T0,
    }
    return {**row, **kw}


def person(
    id: str, email: str | None, account_id: str | None = None, title: str | None = None, **kw: Any
):
    row = {
        "id": id,
        "email": email,
        "account_id": account_id,
        "title": title,
        "source": "csv",
        "status": "active",
        "seniority": "unknown",
        "department": "other",
        "buying_role": "unknown",
        "attributes": {},
        "created_at": T0,
        "updated_at": T0,
    }
    return {**row, **kw}


def lead(id: str, email: str | None, **kw: Any):
    return person(id, email, **{"company": None, "website": None, **kw})


def seed(engine: Engine, *, accts=(), cons=(), leas=()) -> None:
    with engine.begin() as conn:
        for table, rows in ((accounts, accts), (contacts, cons), (leads, leas)):
            if rows:
                conn.execute(insert(table), list(rows))


def seed_graph(engine: Engine) -> None:
    """Accounts with a shared domain and a multi-domain account; CRM-linked and free people."""
    seed(
        engine,
        accts=[
            account("acc_acme", "Acme Corp", "https://www.acme.com/about"),
            account("acc_globex", "Globex", "globex.com", ["GLOBEX.co.uk"]),
            account("acc_disney", "Walt Disney", "http://www.thewaltdisneycompany.com"),
            account("acc_fox", "Twenty-First Century Fox", "thewaltdisneycompany.com"),
        ],
        cons=[
            person("con_crm", "bob@acme.com", "acc_globex", "VP Sales"),
            person("con_agree", "ann@globex.com", "acc_globex", "Software Engineer"),
            person("con_free", "joe@globex.co.uk", None, "Chief Technology Officer"),
        ],
        leas=[
            lead("lea_acme", "x@acme.com", company="Acme"),
            lead("lea_shared", "y@thewaltdisneycompany.com"),
            lead("lea_gmail", "z@gmail.com", company="Globex Inc"),
            lead("lea_unknown", "q@initech-unknown.com"),
        ],
    )


def link_map(engine: Engine) -> dict[tuple[str, str], tuple[Any, ...]]:
    il = identity_links.c
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                il.subject_type,
                il.subject_id,
                il.account_id,
                il.rule,
                il.confidence,
                il.candidates,
                il.origin,
            )
        )
        return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def dump(engine: Engine, tables: Iterable[Table] | None = None) -> dict[str, list[tuple]]:
    """Every row of every table, as comparable, sorted tuples."""
    chosen = list(tables) if tables is not None else list(metadata.sorted_tables)
    with engine.connect() as conn:
        return {
            t.name: sorted(
                (tuple(_plain(v) for v in row) for row in conn.execute(select(t))), key=repr
            )
            for t in chosen
        }


def test_resolve_crm_link_wins_and_disagreement_is_reviewed(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    report = resolve_all(workspace.engine)
    links = link_map(workspace.engine)
    assert links["contact", "con_crm"][:2] == ("acc_globex", "crm_link")
    assert links["contact", "con_crm"][4] == "crm"
    assert links["contact", "con_agree"][:3] == ("acc_globex", "crm_link", 1.0)
    with workspace.engine.connect() as conn:
        items = conn.execute(
            select(review_items).where(review_items.c.reason == "crm_disagreement")
        )
        items = list(items)
        crm_ids = conn.execute(select(contacts.c.account_id).where(contacts.c.id == "con_crm"))
        assert crm_ids.scalar() == "acc_globex"
    assert [(i.subject_id, i.status) for i in items] == [("con_crm", "open")]
    assert [c["account_id"] for c in items[0].candidates] == ["acc_globex", "acc_acme"]
    assert report.disagreements == 1
    assert report.crm_links == 2


def test_resolve_fills_unlinked_people_with_the_matcher(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    links = link_map(workspace.engine)
    assert links["contact", "con_free"][0] == "acc_globex"
    assert links["contact", "con_free"][4] == "matcher"
    assert links["lead", "lea_acme"][:2] == ("acc_acme", "email_domain")
    assert links["lead", "lea_gmail"][0] == "acc_globex"
    assert links["lead", "lea_unknown"][0] is None
    with workspace.engine.connect() as conn:
        lead_accounts = dict(conn.execute(select(leads.c.id, leads.c.account_id)).all())
        con_free = conn.execute(select(contacts.c.account_id).where(contacts.c.id == "con_free"))
        assert con_free.scalar() == "acc_globex"
    assert lead_accounts == {
        "lea_acme": "acc_acme",
        "lea_shared": None,
        "lea_gmail": "acc_globex",
        "lea_unknown": None,
    }


def test_resolve_ambiguous_lead_waits_for_review(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    report = resolve_all(workspace.engine)
    account_id, rule, _, candidates, origin = link_map(workspace.engine)["lead", "lea_shared"]
    assert (account_id, rule, origin) == (None, "ambiguous", "matcher")
    assert {c["account_id"] for c in candidates} == {"acc_disney", "acc_fox"}
    with workspace.engine.connect() as conn:
        item = conn.execute(select(review_items).where(review_items.c.subject_id == "lea_shared"))
        item = item.one()
    assert (item.reason, item.status) == ("ambiguous", "open")
    assert report.ambiguous == 1


def test_resolve_refreshes_normalized_account_domains(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    with workspace.engine.connect() as conn:
        rows = set(conn.execute(select(account_domains)).all())
        primary = dict(conn.execute(select(accounts.c.id, accounts.c.domain)).all())
        raw = conn.execute(select(accounts.c.domains).where(accounts.c.id == "acc_globex"))
        assert raw.scalar() == ["GLOBEX.co.uk"]
    assert rows == {
        ("acc_acme", "acme.com", True),
        ("acc_globex", "globex.com", True),
        ("acc_globex", "globex.co.uk", False),
        ("acc_disney", "thewaltdisneycompany.com", True),
        ("acc_fox", "thewaltdisneycompany.com", True),
    }
    assert primary["acc_acme"] == "acme.com"
    with workspace.engine.begin() as conn:
        stmt = update(accounts).where(accounts.c.id == "acc_acme")
        conn.execute(stmt.values(website="acme.io", updated_at=T0 + timedelta(days=1)))
    resolve_all(workspace.engine)
    with workspace.engine.connect() as conn:
        acme = select(account_domains.c.domain).where(account_domains.c.account_id == "acc_acme")
        assert list(conn.execute(acme).scalars()) == ["acme.io"]


def test_resolve_classifies_titles_and_reclassifies_changed_ones(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    c = contacts.c
    query = select(c.id, c.seniority, c.department, c.buying_role)
    with workspace.engine.connect() as conn:
        profiles = {r.id: tuple(r[1:]) for r in conn.execute(query)}
    assert profiles["con_crm"][:2] == ("vp", "sales")
    assert profiles["con_free"][0] == "c_level"
    assert profiles["con_agree"][:2] == ("individual", "engineering")
    with workspace.engine.begin() as conn:
        stmt = update(contacts).where(c.id == "con_agree")  # as a re-import does
        conn.execute(stmt.values(title="Director of Finance", updated_at=datetime.now(UTC)))
    resolve_all(workspace.engine)
    with workspace.engine.connect() as conn:
        row = conn.execute(query.where(c.id == "con_agree")).one()
    assert tuple(row[1:3]) == ("director", "finance")


def test_resolve_incremental_run_equals_full_run(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    later = T0 + timedelta(days=2)
    seed(
        workspace.engine,
        accts=[account("acc_initech", "Initech", "initech-unknown.com", updated_at=later)],
        leas=[lead("lea_new", "n@globex.com", updated_at=later)],
    )
    incremental = resolve_all(workspace.engine)
    links_incremental = link_map(workspace.engine)
    others = dump(workspace.engine, [review_items, leads, contacts, account_domains, accounts])
    assert links_incremental["lead", "lea_unknown"][0] == "acc_initech"
    assert links_incremental["lead", "lea_new"][0] == "acc_globex"
    full = resolve_all(workspace.engine, full=True)
    assert full.changed == 0
    assert link_map(workspace.engine) == links_incremental
    assert (
        dump(workspace.engine, [review_items, leads, contacts, account_domains, accounts]) == others
    )
    assert (incremental.by_rule, incremental.unresolved) == (full.by_rule, full.unresolved)


def test_resolve_rerun_changes_nothing_and_keeps_account_ids(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    before = dump(workspace.engine)
    second = resolve_all(workspace.engine)
    assert (second.evaluated, second.changed) == (0, 0)
    assert dump(workspace.engine) == before
    resolve_all(workspace.engine, full=True)
    after = dump(workspace.engine)
    assert after["accounts"] == before["accounts"]
    assert link_map(workspace.engine) == {
        (r[0], r[1]): (r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in before["identity_links"]
    }


def test_resolve_audits_every_link_change(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    report = resolve_all(workspace.engine)
    with workspace.engine.connect() as conn:
        entries = list(
            conn.execute(select(audit_entries).where(audit_entries.c.action == "resolve"))
        )
    assert len(entries) == report.changed == 7
    shared = next(e for e in entries if e.subject_id == "lea_shared")
    assert (shared.actor, shared.action) == ("resolve", "resolve")
    assert shared.details["rule"] == "ambiguous"
    assert len(shared.details["candidates"]) == 2
    assert shared.details["previous"] is None


def test_resolve_follows_a_changed_crm_link(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    with workspace.engine.begin() as conn:
        stmt = update(contacts).where(contacts.c.id == "con_crm")
        conn.execute(stmt.values(account_id="acc_acme", updated_at=T0 + timedelta(days=1)))
    report = resolve_all(workspace.engine)
    assert link_map(workspace.engine)["contact", "con_crm"][:2] == ("acc_acme", "crm_link")
    assert report.disagreements == 0
    with workspace.engine.connect() as conn:
        status = conn.execute(
            select(review_items.c.status).where(review_items.c.subject_id == "con_crm")
        )
        assert status.scalar() == "superseded"


def test_resolve_one_links_a_new_lead_like_a_full_run(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    resolve_all(workspace.engine)
    seed(workspace.engine, leas=[lead("lea_one", "kim@sales.acme.com", title="CFO")])
    link = resolve_one(workspace.engine, "lead", "lea_one")
    assert link is not None
    assert (link.account_id, link.origin) == ("acc_acme", "matcher")
    assert resolve_all(workspace.engine, full=True).changed == 0
    assert current_link(workspace.engine, "lead", "lea_one") == link
    assert resolve_one(workspace.engine, "lead", "lea_missing") is None
    link_subject(workspace.engine, "lead", "lea_one", "acc_globex", actor="dana")
    sticky = resolve_one(workspace.engine, "lead", "lea_one")
    assert sticky is not None
    assert (sticky.account_id, sticky.origin) == ("acc_globex", "manual")


def test_matcher_cache_rebuilds_when_accounts_change(workspace: Workspace) -> None:
    seed_graph(workspace.engine)
    with workspace.engine.connect() as conn:
        first, second = matcher_for(conn), matcher_for(conn)
    assert first is second
    seed(workspace.engine, accts=[account("acc_new", "Hooli", "hooli.com")])
    with workspace.engine.connect() as conn:
        assert matcher_for(conn) is not first


def test_resolve_fortune500_accounts_and_leads(workspace: Workspace, realworld: Path) -> None:
    path = realworld / "companies" / "fortune500_2019_smechov.utf8.csv"
    with path.open(encoding="utf-8") as f:
        companies = list(csv.DictReader(f))
    accts = [
        account(f"acc_{i:03d}", r["company_name"], r["website"]) for i, r in enumerate(companies)
    ]
    leas = [
        lead(f"lea_{i:03d}", f"someone@{r['website'].split('//')[-1].removeprefix('www.')}")
        for i, r in enumerate(companies)
    ]
    seed(workspace.engine, accts=accts, leas=leas)
    report = resolve_all(workspace.engine)
    links = link_map(workspace.engine)
    wrong = [k for k, v in links.items() if v[0] is not None and v[0] != k[1].replace("lea", "acc")]
    unlinked = sorted(
        companies[int(k[1][4:])]["company_name"].strip() for k, v in links.items() if v[0] is None
    )
    assert wrong == []
    assert unlinked == ["Twenty-First Century Fox", "Walt Disney"]
    assert report.ambiguous == 2


def test_resolve_apex_recipes_keeps_every_crm_link(workspace: Workspace, realworld: Path) -> None:
    plan = realworld / "salesforce" / "apex-recipes" / "data-plan.json"
    import_salesforce(workspace.engine, plan, ImportOptions(progress=False))
    report = resolve_all(workspace.engine)
    with workspace.engine.connect() as conn:
        rows = conn.execute(select(contacts.c.id, contacts.c.email, contacts.c.account_id)).all()
        matcher = matcher_for(conn)
    crm = {r.id: r.account_id for r in rows}
    links = link_map(workspace.engine)
    assert report.crm_links == len(rows) == 150
    assert {k[1]: v[0] for k, v in links.items()} == crm
    answers = {r.id: matcher.match(LeadRecord(r.id, email=r.email)).account_id for r in rows}
    disagree = {i for i, a in answers.items() if a is not None and a != crm[i]}
    assert report.disagreements == len(disagree) > 0
    with workspace.engine.connect() as conn:
        items = set(conn.execute(select(review_items.c.subject_id)).scalars())
    assert items == disagree
    import_salesforce(workspace.engine, plan, ImportOptions(progress=False))
    assert resolve_all(workspace.engine).changed == 0
