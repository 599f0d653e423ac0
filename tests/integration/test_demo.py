"""`accord demo` end to end: files written, imported through the real paths, summary printed."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import orjson
from sqlalchemy import create_engine, func, inspect, select

from accord.store import schema

ACCOUNTS = "200"


def _accord(workspace: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ACCORD_DATABASE_URL": db_url, "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "accord", "--workspace", str(workspace), "demo", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def _file_rows(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.DictReader(f))


def _db_counts(db_url: str) -> dict[str, int]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {
                name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in schema.metadata.tables.items()
            }
    finally:
        engine.dispose()


def test_demo_imports_what_it_writes(tmp_path: Path, db_url: str) -> None:
    ws = tmp_path / "ws"
    result = _accord(ws, db_url, "--accounts", ACCOUNTS)
    assert result.returncode == 0, result.stderr
    for heading in (
        "Rows in the database",
        "Links by rule",
        "Unresolved leads",
        "Top accounts by contacts",
        "Top accounts by open pipeline",
        "Target lists",
        "Signals that fired",
        "Top accounts by intent",
        "Top accounts by engagement",
        "Top accounts by health",
        "Real-time consumer starts after event id",
    ):
        assert heading in result.stdout, heading  # fmt: skip
    sf = ws / "demo-input" / "salesforce"
    counts = _db_counts(db_url)
    assert counts["accounts"] == _file_rows(sf / "Account.csv") == int(ACCOUNTS)
    assert counts["contacts"] == _file_rows(sf / "Contact.csv")
    assert counts["leads"] == _file_rows(sf / "Lead.csv")
    assert counts["opportunities"] == _file_rows(sf / "Opportunity.csv")
    assert counts["opportunity_stages"] == _file_rows(sf / "OpportunityHistory.csv")
    assert counts["cases"] == _file_rows(sf / "Case.csv")
    assert counts["target_list_members"] == _file_rows(ws / "demo-input" / "targets.csv")
    calls = len((ws / "demo-input" / "events.jsonl").read_bytes().splitlines())
    assert counts["events"] == _file_rows(ws / "demo-input" / "intent.csv") + calls
    assert counts["signals"] > 0
    assert counts["scores_current"] > 0
    assert counts["consumer_cursors"] == 2  # the consumer's signals and its window state
    assert counts["identity_links"] == counts["contacts"] + counts["leads"]


def test_demo_json_summary_matches_the_database(tmp_path: Path, db_url: str) -> None:
    ws, out = tmp_path / "ws", tmp_path / "files"
    result = _accord(ws, db_url, "--accounts", ACCOUNTS, "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    summary = orjson.loads(result.stdout)
    assert (out / "events.jsonl").is_file()
    assert summary["files"]["Account.csv"] == int(ACCOUNTS)
    counts = _db_counts(db_url)
    assert {k: counts[k] for k in summary["counts"]} == summary["counts"]
    rules = {(r["subject"], r["rule"]) for r in summary["match_rules"]}
    assert ("contact", "crm_link") in rules
    assert len(summary["unresolved_leads"]) <= 10
    assert summary["target_tiers"]
    assert summary["seconds"]["import_salesforce"] > 0


def test_demo_twice_leaves_identical_counts(tmp_path: Path, db_url: str) -> None:
    ws = tmp_path / "ws"
    assert _accord(ws, db_url, "--accounts", "60", "--json").returncode == 0
    first = _db_counts(db_url)
    second_run = _accord(ws, db_url, "--accounts", "60", "--json")
    assert second_run.returncode == 0, second_run.stderr
    second = _db_counts(db_url)
    # Target lists gain a version per import; everything else stays as it was.
    moved = {k for k in first if first[k] != second[k]}
    assert moved == {"target_list_versions", "target_list_members"}
    assert second["target_list_versions"] == 2 * first["target_list_versions"]


def test_demo_rejects_bad_as_of(tmp_path: Path, db_url: str) -> None:
    ws = tmp_path / "ws"
    result = _accord(ws, db_url, "--accounts", "60", "--as-of", "31/10/2026")
    assert result.returncode == 2
    assert "--as-of: '31/10/2026' is not a date; write YYYY-MM-DD" in result.stderr
    assert not (ws / "demo-input").exists()
    engine = create_engine(db_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()


def test_demo_files_only_writes_without_importing(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    result = subprocess.run(
        [sys.executable, "-m", "accord", "--workspace", str(ws), "demo", "--files-only",
         "--accounts", "50", "--events-per-account", "20"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Account.csv: 50 rows" in result.stdout
    assert (ws / "demo-input" / "events.jsonl").stat().st_size > 0
    assert (ws / "demo-input" / "salesforce" / "Case.csv").is_file()
    assert not (ws / "accord.db").exists()
