"""A score is the sum of its parts: each part has points, its maximum, and what it says.

Part weights are relative; `scales` turns them into maxima that add up to 100. `scored`
rounds every part's points to one decimal (largest remainder, so the rounded points add up
to the rounded total) and makes the value exactly their sum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Parts = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Scored:
    """One account's score: value 0-100 (or a stage ordinal), optional label, its parts."""

    value: float
    parts: Parts
    label: str | None = None


def clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return lo if x < lo else hi if x > hi else x


def scales(weights: Sequence[float]) -> list[float]:
    """Maximum points of each part: the weights scaled to add up to 100."""
    total = sum(weights)
    return [100.0 * w / total if total > 0 else 0.0 for w in weights]


def part(name: str, points: float, maximum: float, says: str, **measures: Any) -> dict[str, Any]:
    return {
        "name": name,
        "points": points,
        "max": round(maximum, 1),
        "says": says,
        "measures": measures,
    }


def total(parts: Parts) -> float:
    """The value: the sum of the (already rounded) points, rounded once more."""
    return round(float(sum(p["points"] for p in parts)), 1)


def _round_parts(parts: Parts) -> None:
    """Round points to tenths in place so that they add up to the rounded raw total."""
    raw = [p["points"] for p in parts]
    want = round(sum(raw) * 10)
    tenths = [round(x * 10) for x in raw]
    if sum(tenths) == want:  # the common case: plain rounding already adds up
        for p, t in zip(parts, tenths, strict=True):
            p["points"] = t / 10
        return
    tenths = [int(x * 10 + 1e-9) for x in raw]  # floor, points are never negative
    short = want - sum(tenths)
    order = sorted(range(len(raw)), key=lambda i: -(raw[i] * 10 - tenths[i]))
    for i in order[: max(short, 0)]:
        tenths[i] += 1
    for p, t in zip(parts, tenths, strict=True):
        p["points"] = t / 10


def scored(parts: Parts, label: str | None = None) -> Scored:
    """The score of these parts (their points rounded here)."""
    _round_parts(parts)
    return Scored(value=total(parts), parts=parts, label=label)


def pct(change: float) -> str:
    """`-40%`, `+12%`."""
    return f"{change * 100:+.0f}%"


__all__ = ["Parts", "Scored", "clamp", "part", "pct", "scales", "scored", "total"]
