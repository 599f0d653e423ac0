"""`accord match` end to end through a subprocess, on small CSVs written here."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

ACCOUNTS = """id,name,domain,country,parent_id
a1,Acme Corp,acme.com;https://www.acme.co.uk/about,US,
a2,Acme Cloud,acme.com,US,a1
a3,Globex GmbH,globex.de,DE,
a4,The Walt Disney Company,thewaltdisneycompany.com,US,
a5,Twenty-First Century Fox,thewaltdisneycompany.com,US,
"""
LEADS = """id,email,company,country,website
l1,bob@globex.de,,,
l2,ann@gmail.com,Globex,,
l3,x@thewaltdisneycompany.com,,,
l4,y@acme.com,,,
l5,,,,
l6,z@hotmail.com,,,https://www.acme.co.uk/jobs
l7,q@acme.de,ACME Inc.,,
"""


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ACCORD_WORKSPACE": str(tmp_path / "ws")}
    return subprocess.run(
        [sys.executable, "-m", "accord", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def write(tmp_path: Path, name: str, text: str, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return path


def test_match_cli_writes_one_row_per_lead_in_input_order(tmp_path: Path) -> None:
    write(tmp_path, "A.csv", ACCOUNTS)
    write(tmp_path, "L.csv", LEADS, bom=True)
    proc = run(tmp_path, "match", "--accounts", "A.csv", "--leads", "L.csv", "--out", "M.csv")
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "M.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["lead_id", "account_id", "confidence", "rule", "candidates"]
    got = [(r["lead_id"], r["account_id"], r["rule"]) for r in rows]
    assert got == [
        ("l1", "a3", "email_domain"),
        ("l2", "a3", "name_exact"),
        ("l3", "", "ambiguous"),
        ("l4", "a1", "email_domain_parent"),
        ("l5", "", "no_input"),
        ("l6", "a1", "website_domain"),
        ("l7", "a1", "regional_domain"),
    ]
    assert rows[2]["candidates"].count(":") == 2
    assert all(0.0 <= float(r["confidence"]) <= 1.0 for r in rows)
    assert "email_domain" in proc.stderr
    assert proc.stdout == ""


def test_match_cli_does_not_create_a_workspace(tmp_path: Path) -> None:
    write(tmp_path, "A.csv", ACCOUNTS)
    write(tmp_path, "L.csv", LEADS)
    proc = run(tmp_path, "match", "--accounts", "A.csv", "--leads", "L.csv", "--out", "M.csv")
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "ws").exists()
    assert not (tmp_path / "accord-data").exists()


def test_match_cli_rejects_missing_column(tmp_path: Path) -> None:
    write(tmp_path, "A.csv", ACCOUNTS)
    write(tmp_path, "L.csv", "id,email\nl1,x@acme.com\n")
    proc = run(tmp_path, "match", "--accounts", "A.csv", "--leads", "L.csv", "--out", "M.csv")
    assert proc.returncode == 2
    assert "L.csv" in proc.stderr
    assert "'company'" in proc.stderr
    assert not (tmp_path / "M.csv").exists()


def test_match_cli_rejects_malformed_row(tmp_path: Path) -> None:
    write(tmp_path, "A.csv", ACCOUNTS + "a9,Broken\n")
    write(tmp_path, "L.csv", LEADS)
    proc = run(tmp_path, "match", "--accounts", "A.csv", "--leads", "L.csv", "--out", "M.csv")
    assert proc.returncode == 2
    assert "A.csv line 7" in proc.stderr
    assert not (tmp_path / "M.csv").exists()
