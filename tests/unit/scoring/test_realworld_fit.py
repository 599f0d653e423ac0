"""Fit on the real Fortune 500 (2019) list: names with trailing spaces, money as "$1,234.5"."""

from __future__ import annotations

import csv

from accord.scoring.compute import compute_from_store
from accord.scoring.library import load_library
from tests.unit.scoring.helpers import NOW, account, assert_parts_add_up, insert_accounts


def _money(text: str) -> float | None:
    cleaned = text.replace("$", "").replace(",", "").strip()
    return float(cleaned) * 1e6 if cleaned not in ("", "-") else None


def test_fit_scores_the_fortune_500(sqlite_workspace, realworld):
    path = realworld / "companies" / "fortune500_2019_smechov.utf8.csv"
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    accounts = [
        account(f"acc_{i}", name=r["company_name"].strip(), industry=r["sector"],
                employees=int(r["employees"]) if r["employees"].isdigit() else None,
                annual_revenue=_money(r["revenue ($M)"]), country="US")
        for i, r in enumerate(rows)
    ]  # fmt: skip
    insert_accounts(sqlite_workspace.engine, accounts)
    spec = load_library()["fit"].spec
    got = compute_from_store(sqlite_workspace.engine, {"fit": spec}, NOW)["fit"]
    assert len(got) == len(rows) == 500
    by_name = {a["name"]: got[a["id"]] for a in accounts}
    # Technology is in the ICP list; 21,357 employees is past the 20,000 bound; no tier
    assert by_name["Adobe"].value == 65.0
    assert by_name["Walmart"].value == 35.0  # retailing, 2.2M employees: revenue and country
    assert "not 200-20,000 employees (2200000)" in by_name["Walmart"].parts[1]["says"]
    for s in got.values():
        assert_parts_add_up(s)
