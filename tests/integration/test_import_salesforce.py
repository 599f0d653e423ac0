"""Salesforce imports on the real samples, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from accord.ingest.options import ImportOptions
from accord.ingest.salesforce import import_salesforce
from accord.model.ids import stable_id
from accord.store.schema import (
    accounts,
    campaigns,
    cases,
    contacts,
    opportunities,
    opportunity_stages,
)
from accord.workspace import Workspace, open_workspace
from tests.integration.import_support import dump, run_cli

QUIET = ImportOptions(progress=False)


def _count(ws: Workspace, table) -> int:  # type: ignore[no-untyped-def]
    with ws.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(table)) or 0)


def _sf(realworld: Path, *parts: str) -> Path:
    return realworld.joinpath("salesforce", *parts)


def test_salesforce_plan_loads_apex_counts(workspace: Workspace, realworld: Path) -> None:
    report = import_salesforce(
        workspace.engine, _sf(realworld, "apex-recipes", "data-plan.json"), QUIET
    )
    assert report.counts == {"account": 50, "contact": 150, "opportunity": 50}
    assert (_count(workspace, accounts), _count(workspace, contacts)) == (50, 150)
    assert _count(workspace, opportunities) == 50


def test_salesforce_plan_links_every_record_to_its_ref(
    workspace: Workspace, realworld: Path
) -> None:
    folder = _sf(realworld, "apex-recipes")
    import_salesforce(workspace.engine, folder / "data-plan.json", QUIET)
    for name, table in (("Contacts.json", contacts), ("Opportunities.json", opportunities)):
        records = json.loads((folder / name).read_text())["records"]
        with workspace.engine.connect() as conn:
            stored = dict(conn.execute(select(table.c.id, table.c.account_id)).all())
        for record in records:
            own = stable_id(
                table.name[:-1] if table is contacts else "opportunity",
                "sfdc_ref",
                "contact" if table is contacts else "opportunity",
                f"apex-recipes/{record['attributes']['referenceId']}",
            )
            ref = record["accountId"].removeprefix("@")
            expected = stable_id("account", "sfdc_ref", "account", f"apex-recipes/{ref}")
            assert stored[own] == expected


def test_salesforce_folder_loads_campaigns_too(workspace: Workspace, realworld: Path) -> None:
    report = import_salesforce(workspace.engine, _sf(realworld, "apex-recipes"), QUIET)
    assert report.counts == {"account": 50, "campaign": 15, "contact": 150, "opportunity": 50}
    assert _count(workspace, campaigns) == 15
    assert any("Accounts.csv" in n for n in report.notes)


def test_salesforce_csv_keyed_by_natural_key(workspace: Workspace, realworld: Path) -> None:
    folder = _sf(realworld, "apex-recipes")
    for name, expected in (("Accounts.csv", 50), ("Opportunities.csv", 50), ("Campaigns.csv", 15)):
        report = import_salesforce(workspace.engine, folder / name, QUIET)
        assert sum(report.counts.values()) == expected
    assert (_count(workspace, accounts), _count(workspace, opportunities)) == (50, 50)
    key = stable_id("account", "sfdc_key", "account", "name=zoonoodle 37")
    with workspace.engine.connect() as conn:
        assert conn.scalar(select(accounts.c.name).where(accounts.c.id == key)) == "Zoonoodle 37"


def test_salesforce_csv_refs_resolve_against_plan(workspace: Workspace, realworld: Path) -> None:
    folder = _sf(realworld, "apex-recipes")
    import_salesforce(workspace.engine, folder / "data-plan.json", QUIET)
    import_salesforce(workspace.engine, folder / "Contacts.csv", QUIET)
    key = stable_id("contact", "sfdc_key", "contact", "email=lsinisbury0@dropbox.com")
    with workspace.engine.connect() as conn:
        account = conn.scalar(select(contacts.c.account_id).where(contacts.c.id == key))
    assert account == stable_id("account", "sfdc_ref", "account", "apex-recipes/AccountRef10")


def test_salesforce_plan_rejects_missing_file(workspace: Workspace, realworld: Path) -> None:
    before = dump(workspace.engine)
    result = run_cli(
        workspace, "import", "salesforce", str(_sf(realworld, "apex-recipes", "data-plan2.json"))
    )
    assert result.returncode == 2
    assert "data-plan2.json" in result.stderr
    assert "'Junction Demo 1.json'" in result.stderr
    assert dump(workspace.engine) == before


def test_salesforce_ebikes_plan_rejects_missing_files(
    sqlite_workspace: Workspace, realworld: Path
) -> None:
    before = dump(sqlite_workspace.engine)
    result = run_cli(
        sqlite_workspace,
        "import",
        "salesforce",
        str(_sf(realworld, "ebikes-lwc", "sample-data-plan.json")),
    )
    assert result.returncode == 2
    assert "'Product_Family__cs.json'" in result.stderr
    assert dump(sqlite_workspace.engine) == before


def test_salesforce_ebikes_folder_loads_case(workspace: Workspace, realworld: Path) -> None:
    folder = next(_sf(realworld, "ebikes-lwc").glob("at-*"))
    report = import_salesforce(workspace.engine, folder, QUIET)
    assert report.counts == {"account": 3, "opportunity": 1, "case": 1}
    with workspace.engine.connect() as conn:
        row = conn.execute(select(cases.c.subject, cases.c.account_id, cases.c.status)).one()
    assert row.account_id == stable_id(
        "account", "sfdc_ref", "account", f"{folder.name}/AccountRef3"
    )
    assert row.status == "Escalated"


def test_salesforce_lwc_folder_and_report_export(workspace: Workspace, realworld: Path) -> None:
    folder = _sf(realworld, "lwc-recipes")
    assert import_salesforce(workspace.engine, folder, QUIET).counts == {
        "account": 10,
        "contact": 6,
        "opportunity": 20,
    }
    report = import_salesforce(workspace.engine, folder / "Accounts-Contacts.csv", QUIET)
    assert report.counts == {"account": 14, "contact": 6}
    amy = stable_id("contact", "sfdc_key", "contact", "email=amy@demo.net")
    alpha = stable_id("account", "sfdc_key", "account", "name=alpha dynamics")
    with workspace.engine.connect() as conn:
        row = conn.execute(
            select(contacts.c.account_id, contacts.c.title).where(contacts.c.id == amy)
        ).one()
        name = conn.scalar(select(accounts.c.name).where(accounts.c.id == alpha))
    assert (row.account_id, row.title, name) == (alpha, "VP of Engineering", "Alpha Dynamics")


def test_salesforce_warehouse_layout(workspace: Workspace, realworld: Path) -> None:
    report = import_salesforce(
        workspace.engine, _sf(realworld, "fivetran-dbt_salesforce_source"), QUIET
    )
    assert report.counts == {
        "account": 10,
        "contact": 4,
        "lead": 1,
        "opportunity": 10,
        "opportunity_history": 10,
    }
    assert _count(workspace, opportunity_stages) > 0
    with workspace.engine.connect() as conn:
        won = conn.scalar(select(func.count()).where(opportunities.c.is_won.is_(True)))
        linked = conn.scalar(select(func.count()).where(contacts.c.account_id.is_not(None)))
    assert won == 5
    assert linked == 0  # their accounts are not in the export: no invented links


def test_salesforce_reimport_changes_nothing(workspace: Workspace, realworld: Path) -> None:
    for path in (
        _sf(realworld, "apex-recipes"),
        _sf(realworld, "lwc-recipes", "Accounts-Contacts.csv"),
        _sf(realworld, "fivetran-dbt_salesforce_source"),
    ):
        import_salesforce(workspace.engine, path, QUIET)
        before = dump(workspace.engine)
        import_salesforce(workspace.engine, path, QUIET)
        assert dump(workspace.engine) == before


def test_salesforce_fresh_database_same_ids(tmp_path: Path, realworld: Path) -> None:
    ids = []
    for name in ("one", "two"):
        ws = open_workspace(tmp_path / name)
        import_salesforce(ws.engine, _sf(realworld, "apex-recipes"), QUIET)
        with ws.engine.connect() as conn:
            ids.append(
                {
                    t.name: sorted(conn.scalars(select(t.c.id)))
                    for t in (accounts, contacts, opportunities, campaigns)
                }
            )
        ws.close()
    assert ids[0] == ids[1]


def test_salesforce_cli_json_summary(workspace: Workspace, realworld: Path) -> None:
    result = run_cli(
        workspace, "import", "salesforce", str(_sf(realworld, "apex-recipes")), "--json"
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["import"]["counts"]["contact"] == 150
    assert "resolve" in document


def test_salesforce_rejects_bad_amount(workspace: Workspace) -> None:
    folder = Path(__file__).parents[1] / "data" / "bad" / "sfdc_bad_amount"
    before = dump(workspace.engine)
    result = run_cli(workspace, "import", "salesforce", str(folder))
    assert result.returncode == 2
    assert "Opportunity.csv line 3, column 'Amount'" in result.stderr
    assert "'one thousand' is not a number" in result.stderr
    assert dump(workspace.engine) == before
