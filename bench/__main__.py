"""`python -m bench` (what `make bench` runs): every benchmark, its figures, a summary.

Each benchmark module runs in its own fresh process (`python -m bench --one NAME`), so one
benchmark's memory, caches and garbage-collector state never colour the next, and a crash
is reported instead of ending the run. Results go to `bench/out/NAME.json` and
`bench/out/summary.json`. The exit status is 0 only when every module ran and every figure
with a target met it.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import QUICK_ENV, check, number
from bench import quick as quick_from_env

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"
# Run in this order (signals_speed reads scoring_speed's figure); any other bench module with
# a `run()` follows, alphabetically.
ORDER = ("matching_quality", "matching_speed", "ingest_speed", "scoring_speed", "signals_speed")
HELPERS = frozenset({"__init__", "__main__", "synthetic", "labelled"})

out = Console()
err = Console(stderr=True)


@dataclass
class Outcome:
    """What one benchmark module produced."""

    name: str
    status: str  # ran, missing, crashed
    seconds: float = 0.0
    figures: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""

    @property
    def failed(self) -> int:
        return sum(1 for f in self.figures if f.get("passed") is False)

    @property
    def passed(self) -> int:
        return sum(1 for f in self.figures if f.get("passed") is True)

    @property
    def ok(self) -> bool:
        return self.status == "ran" and self.failed == 0


def discover() -> list[str]:
    """Benchmark module names: the known ones in order, then any other with a `run()`."""
    others = sorted(
        path.stem
        for path in BENCH_DIR.glob("*.py")
        if path.stem not in HELPERS
        and path.stem not in ORDER
        and "\ndef run(" in path.read_text(encoding="utf-8")
    )
    return [*ORDER, *others]


def _entry(name: str, raw: Any) -> dict[str, Any]:
    """One figure in the common shape, with `passed` computed when a target is given."""
    entry: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {"value": raw}
    entry.setdefault("name", name)
    entry.setdefault("unit", "")
    target, op, value = entry.get("target"), entry.get("op", ">="), entry.get("value")
    if isinstance(target, str):  # e.g. ">= 0.995"
        op, _, number_text = target.strip().partition(" ")
        target = entry["target"] = float(number_text)
        entry["op"] = op
    if target is not None and "passed" not in entry:
        entry["op"] = op
        entry["passed"] = isinstance(value, int | float) and check(value, target, op)
    return entry


def _leaves(prefix: str, data: Any, depth: int = 0) -> list[dict[str, Any]]:
    """Numeric leaves of a result without `figures`, as figures without targets."""
    if isinstance(data, dict) and "value" in data:
        return [_entry(prefix, data)]
    if isinstance(data, dict) and depth < 3:
        found: list[dict[str, Any]] = []
        for key, value in data.items():
            found += _leaves(f"{prefix}.{key}" if prefix else str(key), value, depth + 1)
        return found
    if isinstance(data, int | float) and not isinstance(data, bool):
        return [_entry(prefix, data)]
    return []


def figures_of(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures of a module's `run()` result, whichever accepted shape it has."""
    raw = result.get("figures")
    if isinstance(raw, list):
        return [_entry(str(f.get("name", i)), f) for i, f in enumerate(raw)]
    if isinstance(raw, dict):
        return [_entry(str(name), value) for name, value in raw.items()]
    return _leaves("", {k: v for k, v in result.items() if k != "name"})


def run_one(name: str, quick: bool) -> Outcome:
    """Run `bench.NAME` in a child process and read the JSON it leaves in `bench/out/`."""
    if importlib.util.find_spec(f"bench.{name}") is None:
        return Outcome(name, "missing", detail=f"bench/{name}.py is not there yet")
    target = OUT_DIR / f"{name}.json"
    target.unlink(missing_ok=True)
    env = {**os.environ, QUICK_ENV: "1"} if quick else dict(os.environ)
    start = time.perf_counter()
    command = [sys.executable, "-m", "bench", "--one", name]
    code = subprocess.run(command, cwd=BENCH_DIR.parent, env=env, check=False).returncode
    seconds = time.perf_counter() - start
    if code != 0 or not target.exists():
        return Outcome(name, "crashed", seconds, detail=f"exit status {code}; output above")
    result = json.loads(target.read_text(encoding="utf-8"))
    return Outcome(name, "ran", seconds, figures_of(result))


def child(name: str) -> None:
    """Inside the child process: import, run, write the JSON result."""
    module = importlib.import_module(f"bench.{name}")
    result = module.run()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, default=str)
    (OUT_DIR / f"{name}.json").write_text(text + "\n", encoding="utf-8")


def show(outcome: Outcome) -> None:
    """One module's figures next to their targets."""
    if outcome.status != "ran":
        out.print(f"[bold]{outcome.name}[/]: [red]{outcome.status.upper()}[/] {outcome.detail}")
        return
    table = Table(title=f"{outcome.name} ({outcome.seconds:.0f} s)", title_justify="left")
    for column in ("figure", "value", "target", "result"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for f in outcome.figures:
        has_target = f.get("target") is not None
        target = f"{f.get('op', '>=')} {number(f['target'])}" if has_target else ""
        verdict = ""
        if "passed" in f:
            verdict = "[green]PASS[/]" if f["passed"] else "[red]FAIL[/]"
        value = f"{number(f.get('value'))} {f.get('unit', '')}".strip()
        table.add_row(str(f["name"]), value, target, verdict)
    out.print(table)


def summarize(outcomes: list[Outcome], quick: bool, seconds: float) -> None:
    """The final table, and `bench/out/summary.json`."""
    table = Table(title="benchmark summary" + (" (quick)" if quick else ""), title_justify="left")
    for column in ("benchmark", "status", "figures", "passed", "failed", "seconds"):
        table.add_column(column)
    for o in outcomes:
        status = "[green]PASS[/]" if o.ok else f"[red]{'FAIL' if o.status == 'ran' else o.status}"
        row = (o.name, status, len(o.figures), o.passed, o.failed, f"{o.seconds:.0f}")
        table.add_row(*map(str, row))
    out.print(table)
    summary = {
        "quick": quick,
        "seconds": round(seconds, 1),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "benchmarks": [
            {"name": o.name, "status": o.status, "ok": o.ok, "seconds": round(o.seconds, 1)}
            | {"figures": o.figures, "detail": o.detail}
            for o in outcomes
        ],
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help=f"sizes / 10 (or {QUICK_ENV}=1)")
    parser.add_argument("--only", action="append", metavar="NAME", help="run only these")
    parser.add_argument("--one", metavar="NAME", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        child(args.one)
        return 0
    quick = args.quick or quick_from_env()
    names = args.only or discover()
    err.print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cpus")
    start = time.perf_counter()
    outcomes: list[Outcome] = []
    for name in names:
        err.rule(f"bench.{name}")
        outcomes.append(run_one(name, quick))
        show(outcomes[-1])
    summarize(outcomes, quick, time.perf_counter() - start)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
