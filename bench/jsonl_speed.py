"""Bulk JSONL load speed (`python -m bench --only jsonl_speed`), on SQLite and PostgreSQL.

A realistic Segment file (identify, group, page and track calls with properties and context,
anonymous visitors; `bench.jsonl_events`) is loaded, resolved and stored through
`accord.ingest.jsonl_bulk.bulk_load` into a fresh workspace whose accounts and contacts are
seeded, so stitching has e-mails and company traits to resolve. Figures per store: events/s
(target >= 200,000), wall time against the 10M-in-50-s target scaled to the file, CPU time
of this process and of the SQLite writer process, peak memory, and the load average (the
machine may be shared: compare CPU time when the load average is high). Quick mode loads
1M events; the full run 10M.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from accord.graph.stitch import IdentityStitcher
from accord.ingest.jsonl_bulk import bulk_load
from accord.workspace import open_workspace
from bench import figure, quick
from bench.jsonl_events import seed_graph, write_events

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.pg_server import create_database, postgres_server  # noqa: E402

TARGET_RATE = 200_000  # events/s
TARGET_SECONDS_PER_10M = 50.0
TARGET_PEAK_MB = 2048.0


def _cpu() -> tuple[float, float]:
    """(this process, waited-for children) CPU seconds, user + system."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def _peak_mb() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(me, kids) / 1024


def measure(store: str, db_url: str, workdir: Path, path: Path, n: int, accounts: int) -> list[
    dict[str, Any]
]:  # fmt: skip
    """Load `path` into a fresh seeded workspace on one store; its figures."""
    ws = open_workspace(workdir, database_url=db_url)
    seed_graph(ws.engine, accounts)
    stitcher = IdentityStitcher.load(ws.engine)
    load0 = os.getloadavg()[0]
    cpu0 = _cpu()
    report = bulk_load(ws.engine, path, stitcher=stitcher, source="bench")
    cpu1 = _cpu()
    load1 = os.getloadavg()[0]
    ws.close()
    me, kids = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    rate = report.stored / report.seconds
    wall_target = TARGET_SECONDS_PER_10M * n / 10_000_000
    tag = f"{store}, {n:,} events"
    return [
        figure(f"{tag}: resolved + stored", rate, unit="events/s", target=TARGET_RATE),
        figure(f"{tag}: wall time (10M <= 50 s, scaled)", report.seconds, unit="s",
               target=wall_target, op="<="),
        figure(f"{tag}: CPU time, loader process", me, unit="s"),
        figure(f"{tag}: CPU time, writer process (SQLite only)", kids, unit="s"),
        figure(f"{tag}: CPU per event (both processes)", 1e6 * (me + kids) / n,
               unit="us"),
        figure(f"{tag}: peak memory (largest process)", _peak_mb(), unit="MB",
               target=TARGET_PEAK_MB, op="<="),
        figure(f"{tag}: load average before / after", load0, unit=f"/ {load1:.1f}"),
        figure(f"{tag}: stored", report.stored, unit="events", target=n, op="=="),
    ]  # fmt: skip


def run() -> dict[str, Any]:
    n = 1_000_000 if quick() else 10_000_000
    accounts = 20_000 if quick() else 100_000
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="accord-jsonl-bench-") as tmp:
        workdir = Path(tmp)
        path = workdir / "events.jsonl"
        started = time.perf_counter()
        size = write_events(path, n, accounts)
        written = time.perf_counter() - started
        figures += measure("sqlite", f"sqlite:///{workdir / 'sqlite.db'}", workdir / "sqlite",
                           path, n, accounts)  # fmt: skip
        with postgres_server(durable=True) as base:
            figures += measure("postgres", create_database(base), workdir / "pg", path, n,
                               accounts)  # fmt: skip
    return {
        "name": "jsonl_speed",
        "figures": figures,
        "notes": [
            f"{os.cpu_count()} CPUs; file {size / 1e6:,.0f} MB, {n:,} calls, {accounts:,} "
            f"accounts x 5 contacts seeded (written in {written:.0f} s)",
            "PostgreSQL server CPU is not in the CPU figures (its own processes)",
        ],
    }


if __name__ == "__main__":
    for f in run()["figures"]:
        print(f)
