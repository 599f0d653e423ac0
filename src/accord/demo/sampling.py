"""Small seeded sampling and text helpers shared by the demo generators."""

from __future__ import annotations

import math
import random
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import Generic, TypeVar

T = TypeVar("T")


class Weighted(Generic[T]):
    """A reusable weighted choice over (value, weight) pairs; cumulative weights built once."""

    def __init__(self, pairs: Sequence[tuple[T, int | float]]) -> None:
        self.values = [v for v, _ in pairs]
        self.cum = list(accumulate(w for _, w in pairs))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random) -> T:
        return self.values[bisect_right(self.cum, rng.random() * self.total)]


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson draw; the normal approximation above 30 keeps it cheap."""
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


@lru_cache(maxsize=65536)
def ascii_slug(text: str) -> str:
    """'Müller' -> 'muller', "O'Brien" -> 'obrien': what ends up in an e-mail local part."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in folded.lower() if c.isalnum())


def typo(rng: random.Random, text: str) -> str:
    """One realistic slip of the keyboard in a word of at least four letters."""
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not spots:
        return text
    i = rng.choice(spots)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.choice(("drop", "swap", "double", "case"))
    if kind == "drop":
        w = w[:j] + w[j + 1 :]
    elif kind == "swap":
        w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
    elif kind == "double":
        w = w[:j] + w[j] + w[j:]
    else:
        w = w.lower() if w[0].isupper() else w.capitalize()
    words[i] = w
    return " ".join(words)


def day_between(rng: random.Random, start: date, end: date) -> date:
    """A uniform day in [start, end]."""
    span = max(0, (end - start).days)
    return start + timedelta(days=rng.randint(0, span))


def moment_on(rng: random.Random, day: date) -> datetime:
    """A UTC time on `day`, mostly in business hours."""
    hour = rng.choice((8, 9, 9, 10, 10, 11, 11, 13, 14, 14, 15, 15, 16, 17, 19, 21))
    second = int(rng.random() * 3600)
    return datetime(day.year, day.month, day.day, hour, second // 60, second % 60, tzinfo=UTC)


def salesforce_datetime(at: datetime) -> str:
    """Salesforce export form: 2026-03-01T10:04:05.000Z."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
