"""A large CSV lands every row (speed is measured by `make bench`, not here)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from accord.ingest.csv_import import import_csv
from accord.ingest.options import ImportOptions
from accord.store.schema import accounts
from accord.workspace import Workspace
from tests.integration.import_support import DATA


def test_csv_import_large_file_lands_every_row(sqlite_workspace: Workspace, tmp_path: Path) -> None:
    file = tmp_path / "accounts.csv"
    with file.open("w") as out:
        out.write("Account ID,Company,Domain,Employees,Renewal Date,Tier,Segment\n")
        for i in range(20_000):
            out.write(
                f"A-{i},Company {i},c{i}.example,{i % 5000},2025-01-31,{i % 3 + 1},s{i % 7}\n"
            )
    import_csv(
        sqlite_workspace.engine,
        file,
        kind="accounts",
        column_map=DATA / "csv" / "accounts.map.yaml",
        options=ImportOptions(progress=False),
    )
    with sqlite_workspace.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(accounts)) == 20_000
