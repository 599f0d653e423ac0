"""Regenerate migration 0001 from the schema (allowed until the first release ships)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command

from accord.store.engine import MIGRATIONS, alembic_config, make_engine

target = MIGRATIONS / "versions" / "0001_account_graph.py"
target.unlink(missing_ok=True)
with tempfile.TemporaryDirectory() as d:
    engine = make_engine(f"sqlite:///{Path(d) / 'gen.db'}")
    command.revision(
        alembic_config(engine), message="account graph", autogenerate=True, rev_id="0001"
    )
    engine.dispose()

ruff = [sys.executable, "-m", "ruff"]
subprocess.run([*ruff, "check", "--fix", "-q", str(target)], check=False)
subprocess.run([*ruff, "format", "-q", str(target)], check=True)
