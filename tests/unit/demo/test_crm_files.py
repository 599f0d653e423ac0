"""The CRM-side files: Salesforce API headers, parseable CSV, ids that join, a valid map."""

from __future__ import annotations

import csv
from pathlib import Path

from accord.demo.crm_files import SALESFORCE_DIR
from accord.demo.model import DemoConfig
from accord.demo.run import write_demo_files
from accord.ingest.column_map import load_column_map
from tests.unit.demo.conftest import SMALL, Written


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return next(csv.reader(f))


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_crm_files_use_salesforce_api_names(written: Written) -> None:
    sf = written.out / SALESFORCE_DIR
    headers = {p.name: _header(p) for p in sf.glob("*.csv")}
    assert set(headers) == {
        "Account.csv", "Contact.csv", "Lead.csv", "Opportunity.csv",
        "OpportunityHistory.csv", "Case.csv",
    }  # fmt: skip
    assert {"Id", "Name", "Website", "ParentId", "NumberOfEmployees"} <= set(headers["Account.csv"])
    assert {"Id", "AccountId", "Email", "Title"} <= set(headers["Contact.csv"])
    assert {"Id", "Company", "Email", "Website", "Status"} <= set(headers["Lead.csv"])
    assert {"StageName", "IsClosed", "IsWon", "CloseDate"} <= set(headers["Opportunity.csv"])
    assert {"OpportunityId", "StageName", "CreatedDate"} <= set(headers["OpportunityHistory.csv"])


def test_crm_files_row_counts_match_the_world(written: Written) -> None:
    sf, world = written.out / SALESFORCE_DIR, written.world
    assert len(_rows(sf / "Account.csv")) == len(world.accounts) == written.run.files["Account.csv"]
    assert len(_rows(sf / "Contact.csv")) == len(world.contacts)
    assert len(_rows(sf / "Lead.csv")) == len(world.leads)
    assert len(_rows(sf / "Case.csv")) == len(world.cases)
    assert len(_rows(written.out / "targets.csv")) == len(world.targets)


def test_crm_files_ids_are_unique_and_links_resolve(written: Written) -> None:
    sf = written.out / SALESFORCE_DIR
    tables = {n: _rows(sf / f"{n}.csv") for n in ("Account", "Contact", "Lead", "Opportunity")}
    tables["OpportunityHistory"] = _rows(sf / "OpportunityHistory.csv")
    tables["Case"] = _rows(sf / "Case.csv")
    every_id = [r["Id"] for rows in tables.values() for r in rows]
    assert len(every_id) == len(set(every_id))
    assert all(len(i) == 18 for i in every_id)
    accounts = {r["Id"] for r in tables["Account"]}
    contacts = {r["Id"] for r in tables["Contact"]}
    opportunities = {r["Id"] for r in tables["Opportunity"]}
    assert all(r["AccountId"] in accounts for r in tables["Contact"])
    assert all(r["AccountId"] in accounts for r in tables["Opportunity"])
    assert all(r["ParentId"] in accounts for r in tables["Account"] if r["ParentId"])
    assert all(r["OpportunityId"] in opportunities for r in tables["OpportunityHistory"])
    assert all(r["ContactId"] in contacts for r in tables["Case"] if r["ContactId"])
    assert {r["Id"][:3] for r in tables["Lead"]} == {"00Q"}


def test_crm_files_are_byte_identical_for_a_seed(written: Written, tmp_path: Path) -> None:
    _, again = write_demo_files(SMALL, tmp_path)
    for name in ("Account.csv", "Contact.csv", "Lead.csv", "OpportunityHistory.csv"):
        first = (written.out / SALESFORCE_DIR / name).read_bytes()
        assert (again.out / SALESFORCE_DIR / name).read_bytes() == first, name
    assert (again.out / "events.jsonl").read_bytes() == (written.out / "events.jsonl").read_bytes()


def test_crm_files_targets_give_domain_or_name(written: Written) -> None:
    rows = _rows(written.out / "targets.csv")
    assert all(r["tier"] in ("1", "2", "3") and r["list"] for r in rows)
    assert all(bool(r["domain"]) != bool(r["name"]) for r in rows)
    assert any(r["domain"] for r in rows)
    assert any(r["name"] for r in rows)


def test_crm_files_intent_map_loads_for_the_intent_feed(written: Written) -> None:
    cmap = load_column_map(written.out / "intent_map.yaml", "intent")
    header = _header(written.out / "intent.csv")
    assert set(cmap.columns.values()) <= set(header)
    rows = _rows(written.out / "intent.csv")
    assert all(0 <= int(r["Composite Score"]) <= 100 for r in rows)


def test_crm_files_scale_linearly(tmp_path: Path) -> None:
    _, run = write_demo_files(DemoConfig(seed=3, accounts=100, events_per_account=0), tmp_path)
    assert run.files["Account.csv"] == 100
    assert run.files["events.jsonl"] == 0
