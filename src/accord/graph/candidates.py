"""Name index: exact normalized-name lookup, blocking keys and fuzzy scoring of a few candidates.

Fuzzy scoring never runs over every account: a name's blocking keys (its tokens, their
3-letter prefixes and suffixes, the 4-letter ends of the compact key) select a small candidate
set, and only those are scored with rapidfuzz.
"""

from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from rapidfuzz import fuzz

from accord.graph.names import NameKey

MAX_BLOCK = 2_000  # a key shared by more accounts than this says nothing; skip it
MAX_CANDIDATES = 300  # score at most this many accounts per lookup
SPACING_ONLY = 92  # compact strings this close differ by spacing or one slip, not by a word
EXTRA_WORD_PENALTY = 0.08
WORD_MATCH = 80


class Scored(NamedTuple):
    score: float  # 0..1
    account_id: str


def similarity(a: NameKey, b: NameKey) -> float:
    """0..1: the better of a token-order-insensitive and a spacing-insensitive comparison,
    lowered for each whole word without a counterpart (`Acme` vs `Acme Dental`, `Duke
    Energy` vs `Duke Realty`) unless the compact strings differ by a slip only."""
    if a.compact == b.compact:
        return 1.0
    token_score = fuzz.token_sort_ratio(a.text, b.text)
    compact_score = fuzz.ratio(a.compact, b.compact)
    if a.spelled != a.compact or b.spelled != b.compact:
        compact_score = max(compact_score, fuzz.ratio(a.spelled, b.spelled))
    score = max(token_score, compact_score) / 100.0
    if compact_score < SPACING_ONLY:
        score -= EXTRA_WORD_PENALTY * _unmatched_words(a.tokens, b.tokens)
    return max(score, 0.0)


def _unmatched_words(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    """Words of the longer name (either, when equally long) with no close counterpart."""

    def count(xs: tuple[str, ...], ys: tuple[str, ...]) -> int:
        return sum(1 for t in xs if not ys or max(fuzz.ratio(t, y) for y in ys) < WORD_MATCH)

    if len(a) != len(b):
        longer, shorter = (a, b) if len(a) > len(b) else (b, a)
        return count(longer, shorter)
    return max(count(a, b), count(b, a))


def blocking_keys(key: NameKey) -> set[str]:
    """Keys that two spellings of one name are likely to share."""
    keys: set[str] = set()
    for token in key.tokens:
        if len(token) >= 2:
            keys.add("t:" + token)
        if len(token) >= 4:
            keys.add("p:" + token[:3])
            keys.add("s:" + token[-3:])
    if len(key.compact) >= 5:
        keys.add("cp:" + key.compact[:4])
        keys.add("cs:" + key.compact[-4:])
    return keys


class NameIndex:
    """Accounts by exact compact name and by blocking key; flat dicts of id lists."""

    def __init__(self) -> None:
        self.exact: dict[str, list[str]] = {}
        self.blocks: dict[str, list[str]] = {}
        self.keys: dict[str, NameKey] = {}

    def add(self, account_id: str, key: NameKey) -> None:
        """Index one account's normalized name."""
        if not key.compact:
            return
        self.keys[account_id] = key
        self.exact.setdefault(key.compact, []).append(account_id)
        for block in blocking_keys(key):
            self.blocks.setdefault(block, []).append(account_id)

    def remove(self, account_id: str) -> None:
        """Drop one account from the index (no-op when absent)."""
        key = self.keys.pop(account_id, None)
        if key is None:
            return
        _discard(self.exact, key.compact, account_id)
        for block in blocking_keys(key):
            _discard(self.blocks, block, account_id)

    def candidates(self, key: NameKey) -> list[str]:
        """Accounts sharing the most blocking keys with `key` (at most MAX_CANDIDATES)."""
        counts: Counter[str] = Counter()
        for block in blocking_keys(key):
            ids = self.blocks.get(block)
            if ids and len(ids) <= MAX_BLOCK:
                counts.update(ids)
        if len(counts) <= MAX_CANDIDATES:
            return list(counts)
        return [account_id for account_id, _ in counts.most_common(MAX_CANDIDATES)]

    def top(self, key: NameKey, limit: int = 5, floor: float = 0.5) -> list[Scored]:
        """The best-scoring accounts for `key`, best first (ties broken by account id)."""
        scored = []
        for account_id in self.candidates(key):
            score = similarity(key, self.keys[account_id])
            if score >= floor:
                scored.append(Scored(round(score, 4), account_id))
        scored.sort(key=lambda s: (-s.score, s.account_id))
        return scored[:limit]


def _discard(index: dict[str, list[str]], key: str, account_id: str) -> None:
    ids = index.get(key)
    if ids is None:
        return
    if account_id in ids:
        ids.remove(account_id)
    if not ids:
        del index[key]
