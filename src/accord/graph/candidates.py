"""Name index: exact normalized-name lookup, blocking and fuzzy scoring of a bounded candidate list.

Fuzzy scoring never runs over every account. A name's blocking keys are its words with their
one-letter deletions (so any word within one edit shares a key) and the 5-letter ends of the
compact key. Keys shared by too many accounts say nothing and are skipped; the rarest keys
fill a candidate list of at most `MAX_CANDIDATES`. rapidfuzz ranks that list in C, and only
the best few get the full (Python) `similarity`.
"""

from __future__ import annotations

from typing import NamedTuple

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from accord.graph.names import NameKey

MAX_BLOCK = 500  # a key shared by more accounts than this says nothing; skip it
MAX_CANDIDATES = 200  # rank at most this many accounts per lookup (bounds the p99)
PREFILTER = 6  # per ranking (compact and token order), this many get the full similarity
MIN_DELETE_LEN = 4  # words this long also index their one-letter deletions
END_LEN = 5  # length of the compact-key prefix and suffix keys
SPACING_ONLY = 92  # compact strings this close differ by spacing or one slip, not by a word
EXTRA_WORD_PENALTY = 0.08
WORD_MATCH = 80
COMMON_MIN_ACCOUNTS = 20  # a word in this many accounts (and COMMON_SHARE of them) is common
COMMON_SHARE = 0.002
# fmt: off
GENERIC_WORDS = frozenset((
    "global", "solutions", "solution", "international", "intl", "group", "systems", "tech",
    "svc", "holdings", "partners", "consulting", "software", "labs", "digital", "media",
    "networks", "analytics", "data", "cloud", "health", "energy", "capital", "financial",
    "industries", "enterprises", "services", "products", "associates", "management",
    "advanced", "united", "american", "national", "general", "first", "premier", "universal",
    "allied", "integrated", "strategic", "creative", "innovative", "professional", "business",
    "company", "co", "corp", "world", "worldwide", "north", "south", "east", "west", "new",
    "consolidated", "standard", "pacific", "atlantic",
))
# fmt: on


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
        if not ys:
            return len(xs)
        return sum(
            1
            for t in xs
            if t not in ys
            and process.extractOne(t, ys, scorer=fuzz.ratio, score_cutoff=WORD_MATCH) is None
        )

    if len(a) != len(b):
        longer, shorter = (a, b) if len(a) > len(b) else (b, a)
        return count(longer, shorter)
    return max(count(a, b), count(b, a))


def name_edits(a: NameKey, b: NameKey) -> int:
    """Letter edits (transposition counts once) between two names, ignoring word order."""
    if a.compact == b.compact or sorted(a.tokens) == sorted(b.tokens):
        return 0
    edits = OSA.distance(a.compact, b.compact)
    if a.spelled and b.spelled:
        edits = min(edits, OSA.distance(a.spelled, b.spelled))
    return min(edits, OSA.distance("".join(sorted(a.tokens)), "".join(sorted(b.tokens))))


QWERTY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _key_neighbours() -> dict[str, frozenset[str]]:
    """Letters next to each key on a QWERTY keyboard (same row, and the staggered rows)."""
    where = {ch: (r, c) for r, row in enumerate(QWERTY_ROWS) for c, ch in enumerate(row)}
    out: dict[str, frozenset[str]] = {}
    for ch, (r, c) in where.items():
        spots = [(r, c - 1), (r, c + 1), (r - 1, c), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c)]
        out[ch] = frozenset(
            QWERTY_ROWS[rr][cc]
            for rr, cc in spots
            if 0 <= rr < 3 and 0 <= cc < len(QWERTY_ROWS[rr])
        )
    return out


KEY_NEIGHBOURS = _key_neighbours()


def _near(a: str, b: str) -> bool:
    return b in KEY_NEIGHBOURS.get(a, ())


def typo_kind(typed: str, meant: str) -> tuple[str, int] | None:
    """The keyboard slip that turns `meant` into `typed`, with its position in `meant`, or
    None when one edit does not read as a slip: `swap` (`Walmrat`), `double` (`Walmmart`),
    `neighbour` (a key next to the right one: `Walmarr`), `fat_finger` (a neighbouring key
    pressed too: `Walmaert`), `dropped_double` (`Cumins`) or `drop` (`Walmrt`). The first
    letter is rarely mistyped, so a slip there is not one."""
    if len(typed) == len(meant):
        diff = [i for i in range(len(typed)) if typed[i] != meant[i]]
        if len(diff) == 1 and diff[0] > 0 and _near(meant[diff[0]], typed[diff[0]]):
            return "neighbour", diff[0]
        if len(diff) == 2 and diff[1] == diff[0] + 1:
            i = diff[0]
            if typed[i] == meant[i + 1] and typed[i + 1] == meant[i]:
                return "swap", i
        return None
    if abs(len(typed) - len(meant)) != 1:
        return None
    longer, shorter = (typed, meant) if len(typed) > len(meant) else (meant, typed)
    i = next((k for k in range(len(shorter)) if longer[k] != shorter[k]), len(shorter))
    if i == 0 or longer[:i] + longer[i + 1 :] != shorter:
        return None
    extra, around = longer[i], (longer[i - 1], longer[i + 1] if i + 1 < len(longer) else "")
    if longer is meant:
        return ("dropped_double", i) if extra in around else ("drop", i)
    if extra in around:
        return "double", i
    return ("fat_finger", i) if any(_near(extra, ch) for ch in around if ch) else None


def is_slip(a: str, b: str) -> bool:
    """True when `a` and `b` differ by two neighbours swapped or a letter doubled (`Walmrat`,
    `Walmmart`), in either direction: the edits people make and real names rarely differ by."""
    kinds = {typo_kind(a, b), typo_kind(b, a)}
    return any(k is not None and k[0] in ("swap", "double") for k in kinds)


def blocking_keys(key: NameKey) -> set[str]:
    """Keys that two spellings of one name (one slip apart in a word) are likely to share."""
    keys: set[str] = set()
    for token in key.tokens:
        if len(token) < 2:
            continue
        keys.add(token)
        if len(token) >= MIN_DELETE_LEN:
            keys.update([token[:i] + token[i + 1 :] for i in range(len(token))])
    if len(key.compact) > END_LEN:
        keys.add("^" + key.compact[:END_LEN])
        keys.add("$" + key.compact[-END_LEN:])
    return keys


class NameIndex:
    """Accounts by exact compact name and by blocking key; flat dicts of id lists."""

    def __init__(self) -> None:
        self.exact: dict[str, list[str]] = {}
        self.blocks: dict[str, list[str]] = {}
        self.keys: dict[str, NameKey] = {}
        self.compact_of: dict[str, str] = {}  # flat copies for ranking in C
        self.text_of: dict[str, str] = {}
        self.word_count: dict[str, int] = {}  # accounts per name word

    def add(self, account_id: str, key: NameKey) -> None:
        """Index one account's normalized name."""
        if not key.compact:
            return
        self.keys[account_id] = key
        self.compact_of[account_id] = key.compact
        self.text_of[account_id] = key.text
        self.exact.setdefault(key.compact, []).append(account_id)
        blocks = self.blocks
        for block in blocking_keys(key):
            ids = blocks.get(block)
            if ids is None:
                blocks[block] = [account_id]
            else:
                ids.append(account_id)
        for token in set(key.tokens):
            self.word_count[token] = self.word_count.get(token, 0) + 1

    def remove(self, account_id: str) -> None:
        """Drop one account from the index (no-op when absent)."""
        key = self.keys.pop(account_id, None)
        if key is None:
            return
        del self.compact_of[account_id], self.text_of[account_id]
        _discard(self.exact, key.compact, account_id)
        for block in blocking_keys(key):
            _discard(self.blocks, block, account_id)
        for token in set(key.tokens):
            left = self.word_count.get(token, 1) - 1
            if left > 0:
                self.word_count[token] = left
            else:
                self.word_count.pop(token, None)

    def is_common(self, token: str) -> bool:
        """A generic business word, or one that many accounts' names share."""
        if token in GENERIC_WORDS:
            return True
        count = self.word_count.get(token, 0)
        return count >= COMMON_MIN_ACCOUNTS and count >= COMMON_SHARE * len(self.keys)

    def distinctive_length(self, key: NameKey) -> int:
        """Letters in the name's words that are not common: what tells it from others."""
        return sum(len(t) for t in key.tokens if not self.is_common(t))

    def distinctive_words_agree(self, lead: NameKey, account: NameKey) -> bool:
        """The account's distinctive words are spelled exactly so in the lead, and the lead's
        other words are within one edit of the account's common words (`Oakridge Analytcs`)."""
        common = [t for t in account.tokens if self.is_common(t)]
        mine = "".join(t for t in account.tokens if not self.is_common(t))
        theirs = "".join(
            t
            for t in lead.tokens
            if not self.is_common(t) and not any(OSA.distance(t, c) <= 1 for c in common)
        )
        return bool(mine) and mine == theirs

    def candidates(self, key: NameKey) -> list[str]:
        """Accounts sharing a rare blocking key with `key`, rarest keys first (bounded)."""
        blocks = self.blocks
        lists = [
            ids
            for block in blocking_keys(key)
            if (ids := blocks.get(block)) is not None and len(ids) <= MAX_BLOCK
        ]
        lists.sort(key=len)
        found: dict[str, None] = {}
        for ids in lists:
            found.update(dict.fromkeys(ids))
            if len(found) >= MAX_CANDIDATES:
                return list(found)[:MAX_CANDIDATES]
        return list(found)

    def top(self, key: NameKey, limit: int = 5, floor: float = 0.5) -> list[Scored]:
        """The best-scoring accounts for `key`, best first (ties broken by account id)."""
        ids = self.candidates(key)
        if not ids:
            return []
        picked = self._prefilter(key, ids, floor)
        scored = []
        for account_id in picked:
            score = similarity(key, self.keys[account_id])
            if score >= floor:
                scored.append(Scored(round(score, 4), account_id))
        scored.sort(key=lambda s: (-s.score, s.account_id))
        return scored[:limit]

    def _prefilter(self, key: NameKey, ids: list[str], floor: float) -> set[str]:
        """The few candidates closest by compact string or by sorted words (ranked in C)."""
        if len(ids) <= PREFILTER:
            return set(ids)
        cutoff = max(floor * 100 - 1, 0.0)
        picked = set()
        compact_of, text_of = self.compact_of, self.text_of
        compacts = [compact_of[a] for a in ids]
        for _, _, i in process.extract(
            key.compact, compacts, scorer=fuzz.ratio, limit=PREFILTER, score_cutoff=cutoff
        ):
            picked.add(ids[i])
        texts = [text_of[a] for a in ids]
        for _, _, i in process.extract(
            key.text, texts, scorer=fuzz.token_sort_ratio, limit=PREFILTER, score_cutoff=cutoff
        ):
            picked.add(ids[i])
        return picked


def _discard(index: dict[str, list[str]], key: str, account_id: str) -> None:
    ids = index.get(key)
    if ids is None:
        return
    if account_id in ids:
        ids.remove(account_id)
    if not ids:
        del index[key]
