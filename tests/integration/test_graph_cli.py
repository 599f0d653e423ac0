"""`accord graph ...` and `accord targets ...` through the real CLI on a SQLite workspace."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from accord.cli import app
from accord.store.schema import leads
from accord.workspace import open_workspace
from tests.store_contract.test_resolve import dump, seed_graph

runner = CliRunner()


@pytest.fixture
def ws_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("ACCORD_DATABASE_URL", raising=False)
    monkeypatch.setenv("USER", "dana")
    path = tmp_path / "ws"
    ws = open_workspace(path)
    seed_graph(ws.engine)
    ws.close()
    return path


def accord(ws: Path, *args: str) -> str:
    """Run one command in-process; its stdout (fails the test on a non-zero exit)."""
    result = runner.invoke(app, ["--workspace", str(ws), *args])
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result.stdout


def accord_process(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "accord", "--workspace", str(ws), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def database(ws: Path) -> dict[str, list[tuple]]:
    opened = open_workspace(ws)
    try:
        return dump(opened.engine)
    finally:
        opened.close()


def test_graph_resolve_review_decide_explain(ws_path: Path) -> None:
    report = json.loads(accord(ws_path, "graph", "resolve", "--json"))
    assert (report["crm_links"], report["ambiguous"], report["disagreements"]) == (2, 1, 1)
    items = json.loads(accord(ws_path, "graph", "review", "--json"))
    shared = next(i for i in items if i["subject_id"] == "lea_shared")
    assert {c["name"] for c in shared["candidates"]} == {"Walt Disney", "Twenty-First Century Fox"}
    accord(ws_path, "graph", "decide", shared["id"], "--account", "acc_fox")
    full = json.loads(accord(ws_path, "graph", "resolve", "--full", "--json"))
    assert full["changed"] == 0
    explained = json.loads(accord(ws_path, "graph", "explain", "lead", "lea_shared", "--json"))
    assert explained["link"]["account_id"] == "acc_fox"
    assert explained["link"]["origin"] == "review"
    assert [(h["action"], h["actor"]) for h in explained["history"]] == [
        ("resolve", "resolve"),
        ("review", "dana"),
    ]
    table = accord(ws_path, "graph", "explain", "lead", "lea_shared")
    assert "Twenty-First Century Fox" in table
    assert "review" in table


def test_graph_link_unlink_merge_unmerge(ws_path: Path) -> None:
    accord(ws_path, "graph", "resolve")
    accord(ws_path, "graph", "unlink", "lead", "lea_acme", "--reason", "left")
    accord(ws_path, "graph", "link", "lead", "lea_gmail", "acc_acme", "--actor", "eve")
    accord(ws_path, "graph", "resolve", "--full")
    ws = open_workspace(ws_path)
    with ws.engine.connect() as conn:
        linked = dict(conn.execute(select(leads.c.id, leads.c.account_id)).all())
    ws.close()
    assert (linked["lea_acme"], linked["lea_gmail"]) == (None, "acc_acme")
    before = database(ws_path)
    merge_id = accord(ws_path, "graph", "merge", "acc_acme", "acc_globex").strip().splitlines()[-1]
    assert merge_id.startswith("mrg_")
    accord(ws_path, "graph", "unmerge", merge_id)
    after = database(ws_path)
    for name in ("audit_entries", "merges"):
        before.pop(name), after.pop(name)
    assert after == before
    again = accord_process(ws_path, "graph", "unmerge", merge_id)
    assert again.returncode == 1
    assert f"error: merge '{merge_id}' was already undone" in again.stderr


def test_graph_decide_rejects_both_account_and_none(ws_path: Path) -> None:
    accord(ws_path, "graph", "resolve")
    before = database(ws_path)
    result = accord_process(ws_path, "graph", "decide", "rev_x", "--account", "acc_fox", "--none")
    assert result.returncode == 2
    assert "give exactly one of --account ID or --none" in result.stderr
    assert result.stdout == ""
    assert database(ws_path) == before


def test_graph_link_rejects_unknown_account(ws_path: Path) -> None:
    before = database(ws_path)
    result = accord_process(ws_path, "graph", "link", "lead", "lea_acme", "acc_nope")
    assert result.returncode == 1
    assert "error: account 'acc_nope' does not exist" in result.stderr
    assert database(ws_path) == before


def test_targets_import_list_show(ws_path: Path, tmp_path: Path) -> None:
    csv_path = tmp_path / "targets.csv"
    csv_path.write_text("list,tier,domain\nabm,1,acme.com\nabm,2,nowhere-at-all.com\n")
    report = json.loads(accord(ws_path, "targets", "import", str(csv_path), "--json"))
    assert report["lists"] == {"abm": 1}
    assert [u["given"] for u in report["unresolved"]] == ["nowhere-at-all.com"]
    accord(ws_path, "targets", "import", str(csv_path))
    lists = json.loads(accord(ws_path, "targets", "list", "--json"))
    assert [(s["name"], s["current_version"], s["versions"]) for s in lists] == [("abm", 2, 2)]
    shown = json.loads(accord(ws_path, "targets", "show", "abm", "--version", "1", "--json"))
    assert [m["account_id"] for m in shown["members"]] == ["acc_acme", None]
    assert "Acme Corp" in accord(ws_path, "targets", "show", "abm")


def test_targets_import_rejects_bad_tier(ws_path: Path, tmp_path: Path) -> None:
    csv_path = tmp_path / "targets.csv"
    csv_path.write_text("list,tier,domain\nabm,1,acme.com\nabm,gold,globex.com\n")
    before = database(ws_path)
    result = accord_process(ws_path, "targets", "import", str(csv_path))
    assert result.returncode == 2
    assert "targets.csv line 3, column 'tier': 'gold' is not a tier" in result.stderr
    assert database(ws_path) == before
