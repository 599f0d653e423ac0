"""Helpers for the import tests: dump every table, run the CLI in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from accord.store.schema import metadata
from accord.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted, for before/after comparisons."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            rows = [tuple(repr(v) for v in row) for row in conn.execute(select(table))]
            tables[table.name] = sorted(rows)
    return tables


def run_cli(ws: Workspace, *args: str) -> subprocess.CompletedProcess[str]:
    """`accord --workspace WS ARGS...` against the workspace's database."""
    env = {**os.environ, "ACCORD_DATABASE_URL": ws.settings.database_url, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "accord", "--workspace", str(ws.path), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
        check=False,
    )
