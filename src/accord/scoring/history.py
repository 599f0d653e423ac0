"""Score history per account, and why a score moved, from the difference of its parts.

    health 72 -> 54: usage: weekly active users -40% (10 -> 6); support: 3 P1 tickets, ...

A movement names the parts whose points changed, largest change first, each with what
the part says now.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from accord.scoring.parts import Parts
from accord.scoring.store import history_rows

MIN_POINTS = 0.5  # a part that moved less than this is not named


def _fmt(value: float | None, label: str | None) -> str:
    if label is not None:
        return label
    return "-" if value is None else f"{value:g}"


def moved_parts(before: Parts, after: Parts) -> list[tuple[dict[str, Any], float]]:
    """(part now, point change) for every part that moved, largest change first."""
    old = {p["name"]: p for p in before}
    out = []
    for p in after:
        prev = old.get(p["name"])
        delta = p["points"] - (prev["points"] if prev else 0.0)
        if abs(delta) >= MIN_POINTS or prev is None:
            out.append((p, delta))
    out.sort(key=lambda x: -abs(x[1]))
    return out


def explain(score: str, before: dict[str, Any] | None, after: dict[str, Any]) -> str:
    """One line: `score old -> new: part says, part says`."""
    start = "new" if before is None else _fmt(before["value"], before.get("label"))
    head = f"{score} {start} -> {_fmt(after['value'], after.get('label'))}"
    if before is not None and before.get("version") != after.get("version"):
        head += f" (definition v{before['version']} -> v{after['version']})"
    parts = moved_parts(before["parts"] if before else [], after["parts"])
    if not parts:
        return head
    return f"{head}: " + ", ".join(p["says"] for p, _ in parts)


def history(engine: Engine, account_id: str, score: str) -> list[dict[str, Any]]:
    """Every stored value of one account's score, oldest first, each with why it moved."""
    rows = history_rows(engine, account_id, score)
    out = []
    prev: dict[str, Any] | None = None
    for row in rows:
        out.append({**row, "explanation": explain(score, prev, row)})
        prev = row
    return out


__all__ = ["explain", "history", "moved_parts"]
