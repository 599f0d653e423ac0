"""Buying stage: declarative rules over lifecycle, opportunities, signals and scores.

Rules are tried from the top and the first whose condition holds gives the stage; the
value stored is the stage's position (unaware 0 ... customer 5), the label its name, and
the one part says which rule decided and why.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from accord.scoring.parts import Scored, part
from accord.scoring.specs import (
    STAGES,
    AllCondition,
    AnyCondition,
    Condition,
    LifecycleCondition,
    OpportunityCondition,
    ScoreCondition,
    SignalCondition,
    StageSpec,
)


@dataclass
class Facts:
    """What the rules read about one account."""

    lifecycle: str = "prospect"
    opportunities: list[dict[str, Any]] = field(default_factory=list)
    signals: dict[str, int] = field(default_factory=dict)  # type -> last observed (epoch us)
    scores: dict[str, float] = field(default_factory=dict)


@functools.lru_cache(maxsize=256)
def _glob_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(p.casefold()) for p in patterns))


def _glob(value: str | None, patterns: list[str]) -> bool:
    """Whether `value` matches any `*`/`?` pattern, ignoring case."""
    return _glob_regex(tuple(patterns)).match((value or "").casefold()) is not None


def _opportunity(c: OpportunityCondition, o: dict[str, Any], today: date) -> bool:
    if c.won_within is not None:
        closed: date | None = o["close_date"]
        if not (o["is_won"] and closed is not None and closed >= today - c.won_within):
            return False
    elif o["is_closed"]:
        return False
    if c.types is not None and o["type"] not in c.types:
        return False
    if c.stages is not None and not _glob(o["stage"], c.stages):
        return False
    return c.min_probability is None or (o["probability"] or 0.0) >= c.min_probability


def holds(c: Condition, f: Facts, now_us: int, today: date) -> str | None:
    """Why the condition holds for these facts (a short phrase), or None when it does not."""
    if isinstance(c, LifecycleCondition):
        return f"lifecycle stage {f.lifecycle}" if f.lifecycle in c.one_of else None
    if isinstance(c, OpportunityCondition):
        for o in f.opportunities:
            if _opportunity(c, o, today):
                state = "won" if o["is_won"] else "open"
                return f"{state} {o['type']} opportunity in stage {o['stage']}"
        return None
    if isinstance(c, SignalCondition):
        since = now_us - int(c.within.total_seconds() * 1e6)
        hit = sorted(t for t in c.types if f.signals.get(t, -1) > since)
        return f"signal {', '.join(hit)} within {c.within.days} days" if hit else None
    if isinstance(c, ScoreCondition):
        v = f.scores.get(c.score)
        return f"{c.score} {v:g} >= {c.at_least:g}" if v is not None and v >= c.at_least else None
    if isinstance(c, AnyCondition):
        for sub in c.of:
            if (why := holds(sub, f, now_us, today)) is not None:
                return why
        return None
    if isinstance(c, AllCondition):
        whys = [holds(sub, f, now_us, today) for sub in c.of]
        return None if any(w is None for w in whys) else " and ".join(str(w) for w in whys)
    raise TypeError(f"unknown condition {c!r}")


def decide(spec: StageSpec, f: Facts, now: datetime) -> Scored:
    """The stage these facts give under `spec`."""
    now_us, today = int(now.timestamp() * 1e6), now.date()
    for i, rule in enumerate(spec.rules):
        why = holds(rule.when, f, now_us, today)
        if why is not None:
            return _stage(rule.stage, rule.says or why, rule=i)
    return _stage(spec.default, "no stage rule holds", rule=None)


def _stage(stage: str, says: str, rule: int | None) -> Scored:
    value = float(STAGES.index(stage))
    return Scored(value=value, parts=[part(stage, value, 5, says, rule=rule)], label=stage)


__all__ = ["Facts", "decide", "holds"]
