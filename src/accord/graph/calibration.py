"""Confidence calibration: per rule, a step function from the raw score to a probability.

The table ships as package data (`data/match_calibration.json`); it is fitted on one seed of
the labelled bench with pool-adjacent-violators (isotonic regression) and evaluated on
another. A key is `rule:context` (context = `personal`, `corporate` or `none`: what the lead's
e-mail said); lookups fall back to the bare rule, then to the raw score itself.
"""

from __future__ import annotations

import bisect
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path

CALIBRATION_FILE = "match_calibration.json"


class Calibration:
    """Raw score → calibrated probability, one monotone step function per key."""

    def __init__(self, tables: Mapping[str, Sequence[Sequence[float]]] | None = None) -> None:
        self._tables: dict[str, tuple[list[float], list[float]]] = {}
        for key, steps in (tables or {}).items():
            xs = [float(s[0]) for s in steps]
            ys = [float(s[1]) for s in steps]
            self._tables[key] = (xs, ys)

    @classmethod
    def identity(cls) -> Calibration:
        """No table: the confidence is the raw score (used while fitting)."""
        return cls({})

    @classmethod
    def from_file(cls, path: Path) -> Calibration:
        return cls(json.loads(path.read_text(encoding="utf-8"))["tables"])

    def confidence(self, rule: str, context: str, raw: float) -> float:
        """The calibrated probability that a link made by `rule` at `raw` is right."""
        table = self._tables.get(f"{rule}:{context}") or self._tables.get(rule)
        if table is None:
            return round(raw, 4)
        xs, ys = table
        i = bisect.bisect_right(xs, raw) - 1
        return ys[max(i, 0)]


@functools.cache
def shipped() -> Calibration:
    """The calibration table shipped with the package (identity when it is missing)."""
    resource = resources.files("accord").joinpath("data", CALIBRATION_FILE)
    if not resource.is_file():
        return Calibration.identity()
    return Calibration(json.loads(resource.read_text(encoding="utf-8"))["tables"])


def fit_pav(points: Iterable[tuple[float, bool]], prior: float = 1.0) -> list[list[float]]:
    """Isotonic fit of correctness on raw score: steps `[x_start, probability]`.

    Each block's probability is smoothed toward 1/2 with `prior` pseudo-counts on each side,
    so a rule never claims certainty from a finite sample.
    """
    by_x: dict[float, list[float]] = {}
    for x, ok in points:
        counts = by_x.setdefault(x, [0.0, 0.0])
        counts[0] += ok
        counts[1] += 1
    blocks: list[list[float]] = []  # [x_start, correct, n]
    for x in sorted(by_x):  # all points at one score first, then pool adjacent violators
        blocks.append([x, *by_x[x]])
        while len(blocks) > 1 and _rate(blocks[-2]) >= _rate(blocks[-1]):
            last = blocks.pop()
            blocks[-1][1] += last[1]
            blocks[-1][2] += last[2]
    return [[b[0], round((b[1] + prior) / (b[2] + 2 * prior), 4)] for b in blocks]


def _rate(block: list[float]) -> float:
    return block[1] / block[2]


def fit_tables(
    samples: Iterable[tuple[str, str, float, bool]], min_samples: int = 30
) -> dict[str, list[list[float]]]:
    """Fit `rule:context` and `rule` tables from (rule, context, raw, correct) samples."""
    by_key: dict[str, list[tuple[float, bool]]] = {}
    for rule, context, raw, ok in samples:
        by_key.setdefault(rule, []).append((raw, ok))
        by_key.setdefault(f"{rule}:{context}", []).append((raw, ok))
    return {
        key: fit_pav(points)
        for key, points in sorted(by_key.items())
        if len(points) >= min_samples or ":" not in key
    }
