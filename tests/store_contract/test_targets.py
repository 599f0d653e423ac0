"""Target lists: resolution through the matcher, versions kept, account flags, bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import select

from accord.errors import InputError
from accord.graph.targets import import_targets, list_members, list_summaries
from accord.ingest.options import ImportOptions
from accord.store.schema import accounts, target_list_members
from accord.workspace import Workspace
from tests.store_contract.test_resolve import account, dump, seed, seed_graph

OPTIONS = ImportOptions(progress=False)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def flags(ws: Workspace) -> dict[str, tuple[bool, int | None]]:
    with ws.engine.connect() as conn:
        rows = conn.execute(select(accounts.c.id, accounts.c.is_target, accounts.c.tier))
        return {r.id: (bool(r.is_target), r.tier) for r in rows}


def test_targets_import_resolves_ids_domains_and_names(
    workspace: Workspace, tmp_path: Path
) -> None:
    seed_graph(workspace.engine)
    path = write(
        tmp_path / "targets.csv",
        (
            "List,Tier,account_id,domain,name\n"
            "enterprise,1,acc_acme,,\n"
            "enterprise,2,,https://www.GLOBEX.co.uk/en,\n"
            "enterprise,,,,Twenty-First Century Fox Inc.\n"
            "enterprise,3,,thewaltdisneycompany.com,\n"
            "enterprise,3,,,Nobody Industries\n"
        ),
    )
    report = import_targets(workspace.engine, path, OPTIONS)
    assert report.lists == {"enterprise": 1}
    assert (report.rows, report.resolved) == (5, 3)
    assert [(u.line, u.given, u.rule) for u in report.unresolved] == [
        (5, "thewaltdisneycompany.com", "ambiguous"),
        (6, "Nobody Industries", "no_candidate"),
    ]
    version, members = list_members(workspace.engine, "enterprise")
    assert version == 1
    assert [(m.line, m.account_id, m.rule) for m in members][:3] == [
        (2, "acc_acme", "account_id"),
        (3, "acc_globex", "website_domain"),
        (4, "acc_fox", "name_exact"),
    ]
    assert [m.account_id for m in members][3:] == [None, None]
    assert flags(workspace) == {
        "acc_acme": (True, 1),
        "acc_globex": (True, 2),
        "acc_fox": (True, None),
        "acc_disney": (False, None),
    }


def test_targets_each_import_makes_a_version_and_keeps_earlier_ones(
    workspace: Workspace, tmp_path: Path
) -> None:
    seed_graph(workspace.engine)
    first = write(tmp_path / "q1.csv", "list,tier,account_id\nabm,1,acc_acme\nabm,2,acc_globex\n")
    second = write(tmp_path / "q2.csv", "list,tier,account_id\nabm,3,acc_globex\n")
    import_targets(workspace.engine, first, OPTIONS)
    report = import_targets(workspace.engine, second, OPTIONS)
    assert report.lists == {"abm": 2}
    assert [m.account_id for m in list_members(workspace.engine, "abm", 1)[1]] == [
        "acc_acme",
        "acc_globex",
    ]
    assert [m.account_id for m in list_members(workspace.engine, "abm")[1]] == ["acc_globex"]
    assert flags(workspace)["acc_acme"] == (False, None)
    assert flags(workspace)["acc_globex"] == (True, 3)
    [summary] = list_summaries(workspace.engine)
    assert (summary.name, summary.current_version, summary.rows, summary.versions) == (
        "abm",
        2,
        1,
        2,
    )


def test_targets_lowest_tier_wins_across_lists(workspace: Workspace, tmp_path: Path) -> None:
    seed_graph(workspace.engine)
    path = write(tmp_path / "t.csv", "list,tier,account_id\nevents,3,acc_acme\nexec,1,acc_acme\n")
    report = import_targets(workspace.engine, path, OPTIONS)
    assert report.lists == {"events": 1, "exec": 1}
    assert flags(workspace)["acc_acme"] == (True, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "list,tier,account_id\nabm,1,acc_acme\nabm,4,acc_globex\n",
            "t.csv line 3, column 'tier': '4' is not a tier; use 1, 2, 3 or leave it empty",
        ),
        (
            "list,tier,account_id\nabm,1,acc_nope\n",
            "t.csv line 2, column 'account_id': account 'acc_nope' does not exist",
        ),
        ("list,tier,account_id\n,1,acc_acme\n", "t.csv line 2, column 'list': empty"),
        (
            "list,tier,domain,name\nabm,1,,\n",
            "t.csv line 2, column 'domain': no account_id, domain or name",
        ),
        (
            "list,tier,company\nabm,1,Acme\n",
            "t.csv: needs a column 'account_id', 'domain' or 'name'",
        ),
        ("tier,account_id\n1,acc_acme\n", "t.csv: missing required column 'list'"),
    ],
    ids=["bad_tier", "unknown_account", "empty_list", "no_key", "no_key_column", "no_list_column"],
)
def test_targets_rejects_bad_rows(
    workspace: Workspace, tmp_path: Path, text: str, message: str
) -> None:
    seed_graph(workspace.engine)
    before = dump(workspace.engine)
    path = write(tmp_path / "t.csv", text)
    with pytest.raises(InputError) as raised:
        import_targets(workspace.engine, path, OPTIONS)
    assert message in raised.value.message
    assert raised.value.exit_code == 2
    assert dump(workspace.engine) == before


def test_targets_skip_bad_rows_writes_rejects(workspace: Workspace, tmp_path: Path) -> None:
    seed_graph(workspace.engine)
    path = write(
        tmp_path / "t.csv",
        "list,tier,account_id\nabm,1,acc_acme\nabm,x,acc_globex\nabm,2,acc_nope\n",
    )
    rejects = tmp_path / "rejects.csv"
    options = ImportOptions(skip_bad_rows=True, rejects_path=rejects, progress=False)
    report = import_targets(workspace.engine, path, options)
    assert (report.rows, report.skipped, report.rejects_path) == (1, 2, rejects)
    with rejects.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["_line"], r["account_id"]) for r in rows] == [("3", "acc_globex"), ("4", "acc_nope")]


def test_targets_fortune500_by_name_and_domain(
    workspace: Workspace, tmp_path: Path, realworld: Path
) -> None:
    source = realworld / "companies" / "fortune500_2019_smechov.utf8.csv"
    with source.open(encoding="utf-8") as f:
        companies = list(csv.DictReader(f))[:120]
    seed(
        workspace.engine,
        accts=[
            account(f"acc_{i:03d}", r["company_name"], r["website"])
            for i, r in enumerate(companies)
        ],
    )
    path = tmp_path / "f500.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f)
        out.writerow(["list", "tier", "domain", "name"])
        for i, r in enumerate(companies):
            by_name = i % 2 == 0
            out.writerow(
                [
                    "f500",
                    1 + i % 3,
                    "" if by_name else r["website"],
                    r["company_name"].upper() if by_name else "",
                ]
            )
    report = import_targets(workspace.engine, path, OPTIONS)
    with workspace.engine.connect() as conn:
        members = conn.execute(select(target_list_members.c.line, target_list_members.c.account_id))
        wrong = [(line, a) for line, a in members if a is not None and a != f"acc_{line - 2:03d}"]
    assert wrong == []
    assert report.resolved >= 118
    assert {u.given for u in report.unresolved} <= {"http://www.thewaltdisneycompany.com"}
