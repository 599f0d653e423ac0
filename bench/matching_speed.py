"""Matcher speed against 100,000 synthetic accounts (`python -m bench.matching_speed`).

Figures and targets:

- index build time for 100,000 accounts (target <= 60 s: seconds, not minutes);
- exact path (corporate, subdomain and secondary-domain e-mails, normalization included),
  one process: leads per CPU second of that process (target >= 100,000/s per core; other
  load on the machine does not count against it) and, for information, per wall second;
- one new lead at a time (the realistic mix, a fifth of it fuzzy), 10,000 samples timed with
  `perf_counter_ns`: p50 and p99 (target p99 <= 10 ms);
- 1,000,000 leads of that mix on 2 processes: wall time (target <= 180 s) and leads/s. It runs
  in 20 slices and stops once it has used twice its target, reporting the projected time.

Per lead kind it also reports how many leads were linked and how many links were right: a
fast matcher that links nothing would otherwise look good. `--quick` (or
`ACCORD_BENCH_QUICK=1`) divides every size and the wall-time target by 10. `--profile` runs
cProfile over the exact path and prints the top functions instead.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import inspect
import multiprocessing
import os
import pstats
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from accord.graph.match import LeadRecord, Matcher, MatchResult
from bench import figure, number, quick
from bench.synthetic import (
    EXACT_MIX,
    FUZZY_KINDS,
    MIXED_MIX,
    LabelledLead,
    generate_accounts,
    generate_leads,
)

ACCOUNTS = 100_000
EXACT_LEADS = 200_000
LATENCY_SAMPLES = 10_000
BULK_LEADS = 1_000_000
BULK_TARGET_S = 180.0
BULK_SLICES = 20
PROCESSES = 2

console = Console(stderr=True)


def _timed(step: str, fn: Callable[[], Any]) -> tuple[Any, float]:
    console.print(f"  {step} ...", end="")
    start = time.perf_counter()
    value = fn()
    elapsed = time.perf_counter() - start
    console.print(f" {elapsed:.2f} s")
    return value, elapsed


def _quality(leads: Sequence[LabelledLead], results: Sequence[MatchResult]) -> dict[str, Any]:
    """Per lead kind: n, linked share, and share of links that name the right account."""
    counts: dict[str, Counter[str]] = {}
    for labelled, result in zip(leads, results, strict=True):
        c = counts.setdefault(labelled.kind, Counter())
        c["n"] += 1
        if result.account_id is not None:
            c["linked"] += 1
            c["right"] += result.account_id == labelled.expected
    return {
        kind: {
            "n": c["n"],
            "linked": round(c["linked"] / c["n"], 4),
            "right_of_linked": round(c["right"] / c["linked"], 4) if c["linked"] else None,
        }
        for kind, c in sorted(counts.items())
    }


def _exact_path(
    matcher: Matcher, leads: list[LeadRecord]
) -> tuple[float, float, list[MatchResult]]:
    """Leads per CPU second and per wall second in this one process, and the results."""
    cpu_start = time.process_time()
    results, elapsed = _timed(
        f"exact path, {len(leads):,} leads, 1 process", lambda: matcher.match_many(leads)
    )
    cpu = time.process_time() - cpu_start
    return len(leads) / cpu, len(leads) / elapsed, results


def _latencies(matcher: Matcher, leads: Sequence[LeadRecord]) -> list[int]:
    """Nanoseconds per `match` call, one lead at a time."""
    clock = time.perf_counter_ns
    out: list[int] = []
    for lead in leads:
        start = clock()
        matcher.match(lead)
        out.append(clock() - start)
    return out


def _percentile(values: Sequence[int], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


_POOL_MATCHER: Matcher | None = None
_POOL_LEADS: Sequence[LeadRecord] = ()


def _pool_chunk(bounds: tuple[int, int]) -> list[MatchResult]:
    assert _POOL_MATCHER is not None
    return [_POOL_MATCHER.match(lead) for lead in _POOL_LEADS[bounds[0] : bounds[1]]]


def _parallel(matcher: Matcher, leads: Sequence[LeadRecord]) -> list[MatchResult]:
    """`match_many(..., processes=2)` when offered, else a forked pool of our own."""
    if "processes" in inspect.signature(matcher.match_many).parameters:
        return matcher.match_many(leads, processes=PROCESSES)
    global _POOL_MATCHER, _POOL_LEADS
    _POOL_MATCHER, _POOL_LEADS = matcher, leads
    step = max(1_000, len(leads) // (PROCESSES * 16))
    chunks = [(i, min(i + step, len(leads))) for i in range(0, len(leads), step)]
    try:
        with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
            parts = pool.map(_pool_chunk, chunks)
    finally:
        _POOL_MATCHER, _POOL_LEADS = None, ()
    return [result for part in parts for result in part]


def _cpu_with_children() -> float:
    """CPU seconds used by this process and its finished children (the pool workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _bulk(
    matcher: Matcher, leads: Sequence[LeadRecord], target_s: float
) -> tuple[float, bool, list[MatchResult]]:
    """Wall seconds for all leads (projected when stopped at 2x target), finished?, results."""
    results: list[MatchResult] = []
    size = -(-len(leads) // BULK_SLICES)
    start = time.perf_counter()
    for i in range(0, len(leads), size):
        results.extend(_parallel(matcher, leads[i : i + size]))
        elapsed = time.perf_counter() - start
        console.print(f"  bulk: {len(results):,}/{len(leads):,} leads after {elapsed:.1f} s")
        if elapsed > 2 * target_s and len(results) < len(leads):
            return elapsed * len(leads) / len(results), False, results
    return time.perf_counter() - start, True, results


def run(quick_run: bool | None = None) -> dict[str, Any]:
    """Measure the matcher; figures next to their targets."""
    scale = 10 if (quick() if quick_run is None else quick_run) else 1
    bulk_target = BULK_TARGET_S / scale
    console.print(f"[bold]matching_speed[/] ({ACCOUNTS // scale:,} accounts)")
    accounts, _ = _timed("generate accounts", lambda: generate_accounts(ACCOUNTS // scale, 1))
    matcher, build_s = _timed("build index", lambda: Matcher.build(accounts))
    exact = generate_leads(accounts, EXACT_LEADS // scale, seed=11, mix=EXACT_MIX)
    sample = generate_leads(accounts, LATENCY_SAMPLES // scale, seed=13, mix=MIXED_MIX)
    bulk = generate_leads(accounts, BULK_LEADS // scale, seed=17, mix=MIXED_MIX)
    gc.collect()
    gc.freeze()  # inputs and index are long-lived, as after a server's start-up

    exact_cpu_rate, exact_rate, exact_results = _exact_path(matcher, [x.lead for x in exact])
    latencies, _ = _timed(
        f"one at a time, {len(sample):,} leads",
        lambda: _latencies(matcher, [x.lead for x in sample]),
    )
    bulk_leads = [x.lead for x in bulk]
    cpu_before = _cpu_with_children()
    (bulk_s, finished, bulk_results), _ = _timed(
        f"bulk, {len(bulk):,} leads, {PROCESSES} processes",
        lambda: _bulk(matcher, bulk_leads, bulk_target),
    )
    bulk_cpu = (_cpu_with_children() - cpu_before) * len(bulk) / len(bulk_results)
    exact_quality = _quality(exact, exact_results)
    right = [q["right_of_linked"] for q in exact_quality.values() if q["right_of_linked"]]
    fuzzy_share = sum(x.kind in FUZZY_KINDS for x in bulk) / len(bulk)
    bulk_name = f"{len(bulk):,} leads on {PROCESSES} processes" + (
        "" if finished else " (projected)"
    )
    return {
        "name": "matching_speed",
        "quick": scale > 1,
        "sizes": {
            "accounts": len(accounts),
            "exact_leads": len(exact),
            "latency_samples": len(sample),
            "bulk_leads": len(bulk),
            "bulk_fuzzy_share": round(fuzzy_share, 3),
        },
        "figures": [
            figure(
                f"index build, {len(accounts):,} accounts", build_s, unit="s", target=60.0, op="<="
            ),
            figure(
                "exact path, 1 process, per CPU second",
                exact_cpu_rate,
                unit="leads/s",
                target=100_000.0,
            ),
            figure("exact path, 1 process, per wall second", exact_rate, unit="leads/s"),
            figure(
                "exact path, links naming the right account",
                min(right) if right else 0.0,
                unit="share",
                target=0.99,
            ),
            figure("one lead, p50", _percentile(latencies, 0.50) / 1e6, unit="ms"),
            figure(
                "one lead, p99", _percentile(latencies, 0.99) / 1e6, unit="ms", target=10.0, op="<="
            ),
            figure("one lead, max", max(latencies) / 1e6, unit="ms"),
            figure(bulk_name, bulk_s, unit="s", target=bulk_target, op="<="),
            figure(f"{bulk_name}, rate", len(bulk) / bulk_s, unit="leads/s"),
            figure(f"{bulk_name}, CPU seconds (all processes)", bulk_cpu, unit="s"),
            figure(
                f"{bulk_name}, CPU seconds / {PROCESSES} (wall on idle cores)",
                bulk_cpu / PROCESSES,
                unit="s",
                target=bulk_target,
                op="<=",
            ),
        ],
        "by_kind": {
            "exact": exact_quality,
            "bulk": _quality(bulk[: len(bulk_results)], bulk_results),
        },
        "notes": [
            f"one lead at a time: mean {statistics.fmean(latencies) / 1e6:.2f} ms",
            "load average at the end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()),
        ],
    }


def profile(path: str = "exact", top: int = 25, quick_run: bool = False) -> str:
    """cProfile of one path (`exact` or `mixed`): the `top` functions by own time."""
    scale = 10 if quick_run else 1
    accounts = generate_accounts(ACCOUNTS // scale, 1)
    matcher = Matcher.build(accounts)
    mix, n = (EXACT_MIX, EXACT_LEADS) if path == "exact" else (MIXED_MIX, LATENCY_SAMPLES)
    leads = [x.lead for x in generate_leads(accounts, n // scale, 11, mix)]
    profiler = cProfile.Profile()
    profiler.runcall(matcher.match_many, leads)
    stats = pstats.Stats(profiler)
    lines = [f"{path} path, {len(leads):,} leads against {len(accounts):,} accounts"]
    for (path, line, fn), (_, calls, own, cumulative, _) in sorted(
        stats.stats.items(),  # type: ignore[attr-defined]
        key=lambda item: item[1][2],
        reverse=True,
    )[:top]:
        where = f"{path.rsplit('/', 2)[-2:]!s}:{line}({fn})" if "/" in path else f"{path}({fn})"
        lines.append(f"{own:8.3f} s own {cumulative:8.3f} s cum {calls:>9} calls  {where}")
    return "\n".join(lines)


def show(result: dict[str, Any]) -> None:
    """The figures as a Rich table on stdout."""
    table = Table(title=result["name"])
    for column in ("figure", "value", "target", "result"):
        table.add_column(column)
    for f in result["figures"]:
        target = f"{f['op']} {number(f['target'])}" if "target" in f else ""
        verdict = ("[green]PASS" if f["passed"] else "[red]FAIL") if "target" in f else ""
        table.add_row(f["name"], f"{number(f['value'])} {f['unit']}", target, verdict)
    Console().print(table)
    kinds = Table(title="links per lead kind (bulk run)")
    for column in ("kind", "leads", "linked", "right of linked"):
        kinds.add_column(column)
    for kind, q in result.get("by_kind", {}).get("bulk", {}).items():
        right = "-" if q["right_of_linked"] is None else f"{q['right_of_linked']:.4f}"
        kinds.add_row(kind, number(q["n"]), f"{q['linked']:.4f}", right)
    Console().print(kinds)
    print(
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs at the end of the run"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.matching_speed")
    parser.add_argument("--quick", action="store_true", help="sizes divided by 10")
    parser.add_argument(
        "--profile", choices=("exact", "mixed"), help="cProfile one path instead of measuring"
    )
    args = parser.parse_args(argv)
    if args.profile:
        print(profile(args.profile, quick_run=args.quick or quick()))
        return
    show(run(quick_run=args.quick or None))


if __name__ == "__main__":
    main()
