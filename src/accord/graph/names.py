"""Company-name normalization: one comparable key for every way people write a company name.

`The Acme Corporation`, `ACME Corp.`, `Acme, Inc.`, `Acmé GmbH` all become `acme`;
`Johnson & Johnson` and `Johnson and Johnson` agree; `Acme Intl Svcs` and `Acme International
Services` agree. Legal forms come from a curated package-data list (`data/legal_forms.txt`,
derived from the DNB name_matching lists), stripped from the end of a name (and a few
that lead, such as `PT` or `OOO`, from its start).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from importlib import resources
from typing import NamedTuple

_SPLIT = re.compile(r"[^\w.]+")
_FOLD = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ß": "ss"}
)
_CONNECTORS = frozenset({"and", "und", "et", "en", "y"})
_WEB_SUFFIXES = frozenset({"com", "net", "org", "io", "ai"})
_LEADING_FORMS = frozenset({"pt", "cv", "ooo", "oao", "zao", "pao", "ao", "uab", "sia", "tov"})

_ABBREVIATION_GROUPS: tuple[tuple[str, ...], ...] = (
    ("intl", "international", "internat", "internacional", "internationale"),
    ("tech", "technology", "technologies", "techs", "technik", "tecnologia", "technologie"),
    ("mfg", "manufacturing", "manufacturers", "manufacturer", "mfrs", "mfr"),
    ("svc", "service", "services", "svcs", "servicios", "servizi", "servicos"),
    ("group", "grp", "groupe", "grupo", "gruppo", "gruppe"),
    ("holdings", "holding", "hldgs", "hldg"),
    ("systems", "system", "sys"),
    ("labs", "lab", "laboratory", "laboratories"),
    ("bros", "brothers"),
    ("natl", "national"),
    ("mgmt", "management"),
    ("assoc", "associates", "assocs", "association"),
    ("solutions", "solution", "soln", "solns"),
    ("industries", "industry", "inds", "industrie", "industrial"),
    ("eng", "engineering", "engg"),
    ("pharma", "pharmaceutical", "pharmaceuticals"),
    ("comms", "communications", "communication", "commun"),
    ("financial", "finl"),
    ("univ", "university"),
    ("st", "saint"),
    ("enterprises", "enterprise", "ent"),
    ("products", "prods", "product"),
    ("networks", "network", "ntwk"),
    ("consulting", "consultants", "consultancy"),
    ("partners", "ptnrs"),
    ("bancorp", "bancorporation"),
    ("ctr", "center", "centre"),
    ("dept", "department"),
)
ABBREVIATIONS: dict[str, str] = {
    variant: group[0] for group in _ABBREVIATION_GROUPS for variant in group
}


class NameKey(NamedTuple):
    """A normalized company name: its tokens, the spaced text and the compact key."""

    tokens: tuple[str, ...]
    text: str  # "acme intl"
    compact: str  # "acmeintl": the exact-match key
    spelled: str = ""  # "acmeinternational": as written, for typos inside abbreviated words


def fold(text: str) -> str:
    """Lower case without accents: `Société Générale` → `societe generale`."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _chunk_tokens(chunk: str) -> list[str]:
    """`s.r.l.` → [`srl`]; `amazon.com` → [`amazon`, `com`]; `inc.` → [`inc`]."""
    pieces = [p for p in chunk.replace("_", ".").split(".") if p]
    if len(pieces) > 1 and all(len(p) <= 2 for p in pieces):
        return ["".join(pieces)]
    if len(pieces) > 1 and pieces[-1] in _WEB_SUFFIXES:
        del pieces[-1]
    return pieces


def spelled_tokens(name: str) -> list[str]:
    """Folded tokens as written, `&` read as `and`, connectors after the first word dropped."""
    text = fold(name).replace("&", " and ").replace("'", "").replace("’", "")
    tokens: list[str] = []
    for chunk in _SPLIT.split(text):
        if chunk:
            tokens.extend(_chunk_tokens(chunk))
    tokens = [t for i, t in enumerate(tokens) if i == 0 or t not in _CONNECTORS]
    return _join_initials(tokens)


def _join_initials(tokens: list[str]) -> list[str]:
    """Runs of single letters are one word: `N V` → `nv`, `H & M` → `hm`."""
    out: list[str] = []
    run = ""
    for token in tokens:
        if len(token) == 1 and token.isalpha():
            run += token
            continue
        if run:
            out.append(run)
            run = ""
        out.append(token)
    if run:
        out.append(run)
    return out


def raw_tokens(name: str) -> list[str]:
    """`spelled_tokens` with common abbreviations mapped to one spelling (`Intl`, `Svcs`)."""
    return [ABBREVIATIONS.get(t, t) for t in spelled_tokens(name)]


@functools.cache
def legal_forms() -> dict[int, frozenset[tuple[str, ...]]]:
    """Legal forms as token tuples, grouped by length (longest is tried first)."""
    text = resources.files("accord").joinpath("data", "legal_forms.txt").read_text("utf-8")
    by_len: dict[int, set[tuple[str, ...]]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        form = tuple(raw_tokens(line))
        if form:
            by_len.setdefault(len(form), set()).add(form)
    return {n: frozenset(forms) for n, forms in sorted(by_len.items(), reverse=True)}


def _core_span(tokens: list[str]) -> tuple[int, int]:
    """The [start, stop) span left once trailing legal forms and leading `The`/`PT` go."""
    forms = legal_forms()
    start, stop = 0, len(tokens)
    changed = True
    while changed and stop - start > 1:
        changed = False
        for size, group in forms.items():
            if size < stop - start and tuple(tokens[stop - size : stop]) in group:
                stop -= size
                changed = True
                break
    while stop - start > 1 and (tokens[start] == "the" or tokens[start] in _LEADING_FORMS):
        start += 1
    return start, stop


@functools.lru_cache(maxsize=1 << 18)
def normalize_name(name: str) -> NameKey:
    """The comparable form of a company name (empty tokens when nothing meaningful is left)."""
    spelled = spelled_tokens(name)
    tokens = [ABBREVIATIONS.get(t, t) for t in spelled]
    start, stop = _core_span(tokens)
    core = tokens[start:stop]
    return NameKey(tuple(core), " ".join(core), "".join(core), "".join(spelled[start:stop]))


def name_key(name: str | None) -> str:
    """The compact exact-match key of a name (`""` for empty input)."""
    if not name:
        return ""
    return normalize_name(name).compact
