"""Generic CSV imports with a column map, and every kind of bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from accord.errors import DefinitionError
from accord.ingest.csv_import import import_csv
from accord.ingest.options import ImportOptions
from accord.model.ids import stable_id
from accord.store.schema import accounts, contacts, event_dedupe, events, opportunities
from accord.workspace import Workspace
from tests.integration.import_support import DATA, dump, run_cli

QUIET = ImportOptions(progress=False)
CSV = DATA / "csv"
BAD = DATA / "bad"
ACCOUNT_MAP = CSV / "accounts.map.yaml"


def _import(ws: Workspace, kind: str, name: str) -> None:
    import_csv(
        ws.engine,
        CSV / f"{name}.csv",
        kind=kind,
        column_map=CSV / f"{name}.map.yaml",
        options=QUIET,
    )


def test_csv_imports_every_entity_kind(workspace: Workspace) -> None:
    _import(workspace, "accounts", "accounts")
    _import(workspace, "contacts", "contacts")
    _import(workspace, "opportunities", "opportunities")
    a1 = stable_id("account", "csv:acme_crm", "account", "A-1")
    with workspace.engine.connect() as conn:
        row = conn.execute(select(accounts).where(accounts.c.id == a1)).one()
        peter = conn.scalar(
            select(contacts.c.account_id).where(contacts.c.email == "peter@initech.example")
        )
        opp = conn.execute(
            select(opportunities).where(opportunities.c.name == "Initech renewal")
        ).one()
        globex = conn.scalar(
            select(accounts.c.domains).where(accounts.c.name == "Globex Corporation")
        )
    assert (row.name, row.employees, row.tier, str(row.renewal_date)) == (
        "Initech",
        250,
        1,
        "2025-01-31",
    )
    assert row.attributes == {"Segment": "mid-market"}
    assert globex == ["globex.example", "globex-corp.example"]
    assert peter == a1
    assert (opp.account_id, str(opp.close_date), opp.is_won) == (a1, "2025-01-31", True)


def test_csv_intent_becomes_events_once(workspace: Workspace) -> None:
    _import(workspace, "intent", "intent")
    before = dump(workspace.engine)
    _import(workspace, "intent", "intent")
    assert dump(workspace.engine) == before
    with workspace.engine.connect() as conn:
        rows = conn.execute(select(events).order_by(events.c.id)).all()
        dedupe = conn.scalar(select(func.count()).select_from(event_dedupe))
    assert len(rows) == 4
    assert dedupe == 4
    assert {r.kind for r in rows} == {"intent"}
    assert rows[0].properties["topic"] == "Customer Data Platform"
    assert rows[0].properties["score"] == 82


def test_csv_reimport_changes_nothing(workspace: Workspace) -> None:
    for kind, name in (
        ("accounts", "accounts"),
        ("contacts", "contacts"),
        ("opportunities", "opportunities"),
    ):
        _import(workspace, kind, name)
        before = dump(workspace.engine)
        _import(workspace, kind, name)
        assert dump(workspace.engine) == before


def _bad(ws: Workspace, file: Path, *extra: str, map_file: Path = ACCOUNT_MAP):
    before = dump(ws.engine)
    result = run_cli(
        ws, "import", "csv", "--kind", "accounts", str(file), "--map", str(map_file), *extra
    )
    return before, result


def test_csv_rejects_wrong_field_count(workspace: Workspace) -> None:
    before, result = _bad(workspace, BAD / "accounts_wrong_field_count.csv")
    assert result.returncode == 2
    assert "accounts_wrong_field_count.csv line 3: has 5 fields, the header has 6" in result.stderr
    assert dump(workspace.engine) == before


def test_csv_rejects_bad_number(workspace: Workspace) -> None:
    before, result = _bad(workspace, BAD / "accounts_bad_number.csv")
    assert result.returncode == 2
    assert (
        "accounts_bad_number.csv line 3, column 'Employees': '12k' is not a number" in result.stderr
    )
    assert dump(workspace.engine) == before


def test_csv_rejects_bad_date(workspace: Workspace) -> None:
    before, result = _bad(workspace, BAD / "accounts_bad_date.csv")
    assert result.returncode == 2
    assert (
        "accounts_bad_date.csv line 3, column 'Renewal Date': 'June 30th' is not a date"
        in result.stderr
    )
    assert dump(workspace.engine) == before


def test_csv_rejects_missing_required_column(workspace: Workspace) -> None:
    before, result = _bad(workspace, BAD / "accounts_missing_company_column.csv")
    assert result.returncode == 2
    assert "accounts_missing_company_column.csv: missing required column 'Company'" in result.stderr
    assert dump(workspace.engine) == before


def test_csv_rejects_field_over_one_mib(workspace: Workspace, tmp_path: Path) -> None:
    file = tmp_path / "accounts_huge_field.csv"
    file.write_text(
        "Account ID,Company,Domain,Employees,Renewal Date,Tier\n"
        "A-1,Initech,initech.example,250,2025-01-31,1\n"
        f"A-2,{'x' * (1024 * 1024 + 1)},big.example,1,2025-01-31,1\n"
    )
    before, result = _bad(workspace, file)
    assert result.returncode == 2
    assert "accounts_huge_field.csv line 3, column 'Company'" in result.stderr
    assert "over the 1 MiB limit" in result.stderr
    assert dump(workspace.engine) == before


def test_csv_rejects_undecodable_bytes(workspace: Workspace) -> None:
    before, result = _bad(workspace, BAD / "accounts_latin1_bytes.csv")
    assert result.returncode == 2
    assert "accounts_latin1_bytes.csv line 3: byte 0xe9 is not valid utf-8" in result.stderr
    assert "--encoding" in result.stderr
    assert dump(workspace.engine) == before


def test_csv_reads_latin1_with_encoding_option(sqlite_workspace: Workspace) -> None:
    _, result = _bad(sqlite_workspace, BAD / "accounts_latin1_bytes.csv", "--encoding", "latin-1")
    assert result.returncode == 0, result.stderr
    with sqlite_workspace.engine.connect() as conn:
        assert "Café Noir" in set(conn.scalars(select(accounts.c.name)))


def test_csv_reads_utf16_with_bom(workspace: Workspace) -> None:
    _, result = _bad(workspace, BAD / "accounts_utf16_bom.csv")
    assert result.returncode == 0, result.stderr
    with workspace.engine.connect() as conn:
        assert set(conn.scalars(select(accounts.c.name))) == {"Müller GmbH", "Société Générale"}


def test_csv_skip_bad_rows_counts_and_writes_rejects(workspace: Workspace, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    _, result = _bad(
        workspace,
        BAD / "accounts_wrong_field_count.csv",
        "--skip-bad-rows",
        "--rejects",
        str(rejects),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["import"]["skipped"] == 1
    assert document["import"]["counts"] == {"account": 2}
    with rejects.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][-2:] == ["_line", "_error"]
    assert rows[1][:2] == ["A-2", "Globex"]
    assert rows[1][-2] == "3"
    assert "has 5 fields" in rows[1][-1]
    with workspace.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(accounts)) == 2


def test_csv_rejects_unknown_map_field(workspace: Workspace) -> None:
    before, result = _bad(
        workspace, CSV / "accounts.csv", map_file=BAD / "accounts_unknown_field.map.yaml"
    )
    assert result.returncode == 2
    assert "accounts_unknown_field.map.yaml:6:3: columns.domian" in result.stderr
    assert "domain" in result.stderr
    assert dump(workspace.engine) == before


def test_csv_map_kind_mismatch_is_reported(sqlite_workspace: Workspace) -> None:
    with pytest.raises(DefinitionError) as info:
        import_csv(
            sqlite_workspace.engine,
            CSV / "accounts.csv",
            kind="leads",
            column_map=ACCOUNT_MAP,
            options=QUIET,
        )
    assert any("kind: the map is for 'accounts', not 'leads'" in e for e in info.value.errors)


def test_csv_malformed_row_anywhere_writes_nothing(workspace: Workspace, tmp_path: Path) -> None:
    file = tmp_path / "accounts_late_error.csv"
    lines = ["Account ID,Company,Domain,Employees,Renewal Date,Tier"]
    lines += [f"A-{i},Company {i},c{i}.example,{i},2025-01-31,3" for i in range(5000)]
    lines.append("A-x,Broken,broken.example,not-a-number,2025-01-31,3")
    file.write_text("\n".join(lines) + "\n")
    before, result = _bad(workspace, file)
    assert result.returncode == 2
    assert "line 5002, column 'Employees'" in result.stderr
    assert dump(workspace.engine) == before
