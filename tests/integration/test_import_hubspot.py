"""HubSpot imports: the hand-made UI export and the real warehouse tables."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from accord.ingest.hubspot import import_hubspot
from accord.ingest.options import ImportOptions
from accord.model.ids import stable_id
from accord.store.schema import accounts, contacts, opportunities
from accord.workspace import Workspace
from tests.integration.import_support import DATA, dump, run_cli

QUIET = ImportOptions(progress=False)


def _company(record_id: str) -> str:
    return stable_id("account", "hubspot", "company", record_id)


def test_hubspot_export_dedupes_by_domain_and_email(workspace: Workspace) -> None:
    report = import_hubspot(workspace.engine, DATA / "hubspot", QUIET)
    assert report.counts == {"account": 10, "contact": 10, "opportunity": 10}
    with workspace.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(accounts)) == 9
        assert conn.scalar(select(func.count()).select_from(contacts)) == 9
        hooli = conn.execute(
            select(accounts.c.name, accounts.c.domains).where(accounts.c.id == _company("5004"))
        ).one()
    assert hooli.name == "Hooli"
    assert hooli.domains == ["hooli.example"]


def test_hubspot_export_links_associations(workspace: Workspace) -> None:
    import_hubspot(workspace.engine, DATA / "hubspot", QUIET)
    with workspace.engine.connect() as conn:
        deals = {r.name: r for r in conn.execute(select(opportunities))}
        gavin = conn.scalar(
            select(contacts.c.account_id).where(contacts.c.email == "gavin@hooli.example")
        )
    assert deals["Hooli expansion"].account_id == _company("5004")  # 5005 is an alias of 5004
    assert gavin == _company("5004")
    assert deals["Initech renewal 2024"].is_won
    assert deals["Initech renewal 2024"].is_closed
    assert deals["Initech renewal 2024"].amount == 48000
    assert deals["Unknown company deal"].account_id is None
    assert deals["Unknown company deal"].attributes["account_id_unresolved"] == "7777"


def test_hubspot_warehouse_tables_load(workspace: Workspace, realworld: Path) -> None:
    folder = realworld / "hubspot" / "fivetran-dbt_hubspot_source"
    report = import_hubspot(workspace.engine, folder, QUIET)
    assert report.counts == {"account": 24, "contact": 22, "opportunity": 44}
    with workspace.engine.connect() as conn:
        linked = conn.scalar(select(func.count()).where(opportunities.c.account_id.is_not(None)))
    assert linked == 0  # the association ids do not join: nothing invented
    assert any("owner_data.csv" in n for n in report.notes)


def test_hubspot_reimport_changes_nothing(workspace: Workspace, realworld: Path) -> None:
    for path in (DATA / "hubspot", realworld / "hubspot" / "fivetran-dbt_hubspot_source"):
        import_hubspot(workspace.engine, path, QUIET)
        before = dump(workspace.engine)
        import_hubspot(workspace.engine, path, QUIET)
        assert dump(workspace.engine) == before


def test_hubspot_cli_reimport_with_resolution_changes_nothing(sqlite_workspace: Workspace) -> None:
    first = run_cli(sqlite_workspace, "import", "hubspot", str(DATA / "hubspot"))
    assert first.returncode == 0, first.stderr
    before = dump(sqlite_workspace.engine)
    second = run_cli(sqlite_workspace, "import", "hubspot", str(DATA / "hubspot"))
    assert second.returncode == 0, second.stderr
    assert dump(sqlite_workspace.engine) == before
