"""Benchmarks behind `make bench` (`python -m bench`).

Every benchmark module exposes `run() -> dict`. The runner understands this shape (plain
JSON-able values) and prints each figure next to its target with PASS/FAIL:

    {
        "name": "matching_speed",
        "figures": [
            {"name": "exact path", "value": 123456.0, "unit": "leads/s",
             "target": 100000, "op": ">="},          # "passed" is computed when absent
            {"name": "index build", "value": 2.1, "unit": "s"},   # no target: info only
        ],
        "notes": ["anything worth a line"],
    }

`figure()` builds one entry. The runner also accepts `figures` as a mapping of name to value
or to such an entry, and, without `figures`, reads numeric leaves of the dict as figures
without targets. `ACCORD_BENCH_QUICK=1` (or `python -m bench --quick`) asks every module to
scale its sizes down about 10x for a smoke run; `quick()` reads it.
"""

from __future__ import annotations

import os
from typing import Any

QUICK_ENV = "ACCORD_BENCH_QUICK"

__all__ = ["QUICK_ENV", "check", "figure", "number", "quick"]


def quick() -> bool:
    """True when a smoke run was asked for (sizes scaled down about 10x)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def check(value: float, target: float, op: str) -> bool:
    """Whether `value` meets `target` under `op` (`>=`, `<=`, `>`, `<`, `==`)."""
    if op == ">=":
        return value >= target
    if op == "<=":
        return value <= target
    if op == ">":
        return value > target
    if op == "<":
        return value < target
    if op == "==":
        return value == target
    raise ValueError(f"unknown comparison {op!r}")


def figure(
    name: str,
    value: float | None,
    *,
    unit: str = "",
    target: float | None = None,
    op: str = ">=",
) -> dict[str, Any]:
    """One measured figure, compared with its target when it has one."""
    entry: dict[str, Any] = {"name": name, "value": value, "unit": unit}
    if target is not None:
        entry["target"] = target
        entry["op"] = op
        entry["passed"] = value is not None and check(value, target, op)
    return entry


def number(value: object) -> str:
    """A figure for people: thousands separated, about four significant digits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "-" if value is None else str(value)
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10 or value == int(value):
        return f"{value:.1f}" if value != int(value) else f"{int(value)}"
    return f"{value:.3g}" if magnitude >= 0.001 else f"{value:.2e}"


def print_result(result: dict[str, Any]) -> None:
    """Print a benchmark's figures, each next to its target, and its notes."""
    for f in result["figures"]:
        verdict = "" if "target" not in f else ("PASS" if f["passed"] else "FAIL")
        target = f" (target {f['op']} {number(f['target'])})" if "target" in f else ""
        print(f"{f['name']}: {number(f['value'])} {f['unit']}{target} {verdict}")
    for note in result.get("notes", []):
        print(note)
