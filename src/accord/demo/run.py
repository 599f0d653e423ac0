"""Generate the demo files, then load them through the real import paths and resolve."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as day_time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from accord.demo.crm_files import SALESFORCE_DIR, write_all
from accord.demo.events import write_events
from accord.demo.generator import generate
from accord.demo.model import DemoConfig, World
from accord.graph.resolve import resolve_all
from accord.graph.stitch import IdentityStitcher
from accord.graph.targets import import_targets
from accord.ingest.csv_import import import_csv
from accord.ingest.jsonl_bulk import bulk_load
from accord.ingest.options import ImportOptions
from accord.ingest.salesforce import import_salesforce
from accord.realtime import Consumer
from accord.scoring.compute import compute_and_store
from accord.signals import load_library, run_batch

EVENTS_FILE = "events.jsonl"


@dataclass
class DemoRun:
    """What one demo run wrote, imported and resolved, and how long each step took."""

    out: Path
    files: dict[str, int] = field(default_factory=dict)  # file name -> rows (events: calls)
    imported: dict[str, dict[str, int]] = field(default_factory=dict)  # import -> counts
    resolve: dict[str, Any] = field(default_factory=dict)
    scores: dict[str, Any] = field(default_factory=dict)
    signals: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def write_demo_files(config: DemoConfig, out: Path) -> tuple[World, DemoRun]:
    """Generate the world for `config` and write every demo file into `out`."""
    run = DemoRun(out=out)
    with _timed(run, "generate"):
        world = generate(config)
    with _timed(run, "write_crm"):
        out.mkdir(parents=True, exist_ok=True)
        run.files = write_all(world, out)
    with _timed(run, "write_events"):
        run.files[EVENTS_FILE] = write_events(world, out / EVENTS_FILE)
    return world, run


def run_demo(engine: Engine, config: DemoConfig, out: Path) -> DemoRun:
    """Write the demo files and import them (events.jsonl is written by a second process
    while the CRM import runs), then load the events, score and evaluate signals."""
    started = time.perf_counter()
    run = DemoRun(out=out)
    with _timed(run, "generate"):
        world = generate(config)
    with _timed(run, "write_crm"):
        out.mkdir(parents=True, exist_ok=True)
        run.files = write_all(world, out)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        events = pool.submit(write_events_for, config, out / EVENTS_FILE)
        import_demo_files(engine, run)
        with _timed(run, "wait_for_events"):
            run.files[EVENTS_FILE] = events.result()
    analyse_events(engine, run, _end_of(config))
    run.seconds["total"] = round(time.perf_counter() - started, 3)
    return run


def write_events_for(config: DemoConfig, path: Path) -> int:
    """Regenerate the world for `config` and write its events (same seed, same file)."""
    return write_events(generate(config), path)


def import_demo_files(engine: Engine, run: DemoRun) -> None:
    """Load the files of `run` through the importers, resolving once the CRM is in."""
    options = ImportOptions(progress=False)
    out = run.out
    with _timed(run, "import_salesforce"):
        report = import_salesforce(engine, out / SALESFORCE_DIR, options)
        run.imported["salesforce"] = dict(report.counts)
    with _timed(run, "resolve"):
        run.resolve = asdict(resolve_all(engine))
    with _timed(run, "import_intent"):
        intent = import_csv(
            engine, out / "intent.csv", kind="intent", column_map=out / "intent_map.yaml",
            options=options,
        )  # fmt: skip
        run.imported["intent"] = dict(intent.counts)
    with _timed(run, "import_targets"):
        targets = import_targets(engine, out / "targets.csv", options)
        run.imported["targets"] = {"rows": targets.rows, "resolved": targets.resolved}


def _end_of(config: DemoConfig) -> datetime:
    """The moment the generated history ends: midnight after its last day, UTC."""
    return datetime.combine(config.as_of + timedelta(days=1), day_time(), tzinfo=UTC)


def analyse_events(engine: Engine, run: DemoRun, now: datetime) -> None:
    """Load events.jsonl through the JSONL loader, compute scores, run every signal over the
    history in batch, then start the real-time consumer's cursor after the last event.

    Scores and signals feed each other (renewal risk reads health; intent counts intent
    signals), so scores are computed again once the signals are in: a second demo run then
    finds nothing to change."""
    with _timed(run, "load_events"):
        stitcher = IdentityStitcher.load(engine)
        report = bulk_load(engine, run.out / EVENTS_FILE, source="demo", stitcher=stitcher)
        run.imported["events"] = {"lines": report.lines, "stored": report.stored,
                                  "duplicates": report.duplicates}  # fmt: skip
    with _timed(run, "scores"):
        run.scores = compute_and_store(engine, None, now=now).to_json()
    with _timed(run, "signals"):
        fired = run_batch(engine, load_library(), now=now, save=True)
        cursor = Consumer(engine, []).seek_end()
        run.signals = {"fired": len(fired), "consumer_from_event_id": cursor.last_id}
    with _timed(run, "rescore"):
        run.scores = compute_and_store(engine, None, now=now).to_json()


class _timed:
    """Add the wall time of a block to `run.seconds[name]`."""

    def __init__(self, run: DemoRun, name: str) -> None:
        self.run, self.name = run, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        elapsed = time.perf_counter() - self.start
        self.run.seconds[self.name] = round(elapsed + self.run.seconds.get(self.name, 0.0), 3)
