"""Seeded synthetic accounts and leads at benchmark sizes (100,000 accounts, 1,000,000 leads).

Accounts get company names built from word lists plus a legal form matching their country,
one unique primary domain each, and the real-world mess a matcher meets: some accounts own
several domains (a regional or a product domain), some children sit under a parent (with
their own regional domain or on the parent's), and some unrelated accounts share a domain.

Leads are drawn from those accounts (bigger accounts get more leads) in kinds, each labelled
with the account it belongs to (`None` when it must stay unmatched):

- `corporate`: first.last@primary-domain, sometimes with the company field;
- `subdomain`: an e-mail on a mail/regional subdomain of the primary domain;
- `secondary_domain`: an e-mail on another domain of the account;
- `personal_named`: free-mail address plus a normalizable variant of the company name;
- `personal_typo`: free-mail address plus a misspelled company name (the fuzzy path);
- `personal_only`: free-mail address and no company (stays unmatched);
- `unknown`: a company that is not an account, on its own domain, with a name built from
  the same words as real accounts (the fuzzy path, and it must stay unmatched).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from accord.graph.match import AccountRecord, LeadRecord

__all__ = [
    "EXACT_MIX",
    "FUZZY_KINDS",
    "MIXED_MIX",
    "LabelledLead",
    "generate_accounts",
    "generate_leads",
]

T = TypeVar("T")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_PREFIXES = _words(
    "Blue North Apex Silver Iron Red Green Bright Clear Deep Far First Golden High Lake "
    "Little Lone Maple Mid New Oak Old Pine Prime Quick Rapid River Rock Sea Shadow Sky "
    "Snow Solid Star Stone Summit Sun Swift True Twin Urban Vast West East South Wild Wind "
    "Winter Alpine Amber Arctic Atlas Aurora Bay Birch Black Bold Cedar Cobalt Coral Crown "
    "Crystal Delta Eagle Echo Ember Falcon Fox Granite Harbor Hawk Horizon Indigo Ivory Jade"
)
_CORES = _words(
    "ridge field stone wave point gate bridge works line path forge light brook haven "
    "crest peak port vale wood view mark side spring well dale fall ford grove hill land "
    "mont shore bank bay cliff cove creek dune glen isle key mesa mill moor pond reef "
    "rise run sound tower trail vista wick yard beam bolt core flow grid hub link loop "
    "mind net pulse scope shift spark sync"
)
_SECTORS = _words(
    "Analytics Logistics Foods Systems Health Energy Capital Labs Software Robotics Media "
    "Pharma Textiles Motors Insurance Consulting Aerospace Dental Outdoor Apparel "
    "Optics Networks Technologies Biosciences Materials Electric Airlines Hotels Retail "
    "Brewing Chemicals Semiconductors Security Games Studios Mining Shipping Finance Cloud"
)
# (legal form, country, country domain suffix); the first rows are the most common.
_LEGAL = (
    ("Inc.", "US", ".com"),
    ("Inc.", "US", ".com"),
    ("LLC", "US", ".com"),
    ("Corp.", "US", ".com"),
    ("", "US", ".io"),
    ("Ltd", "GB", ".co.uk"),
    ("plc", "GB", ".co.uk"),
    ("GmbH", "DE", ".de"),
    ("AG", "DE", ".de"),
    ("SAS", "FR", ".fr"),
    ("S.A.", "ES", ".es"),
    ("S.p.A.", "IT", ".it"),
    ("B.V.", "NL", ".nl"),
    ("Pty Ltd", "AU", ".com.au"),
    ("K.K.", "JP", ".co.jp"),
    ("AB", "SE", ".se"),
    ("Ltda.", "BR", ".com.br"),
)
_LEGAL_LONGEST_FIRST = sorted({legal for legal, _, _ in _LEGAL if legal}, key=len, reverse=True)
_REGIONS = (
    ("Deutschland", "GmbH", "DE", ".de"),
    ("UK", "Ltd", "GB", ".co.uk"),
    ("France", "SAS", "FR", ".fr"),
)
_FREE_MAIL = _words(
    "gmail.com gmail.com gmail.com yahoo.com hotmail.com outlook.com icloud.com aol.com "
    "gmx.de web.de orange.fr yahoo.co.uk proton.me"
)
_PEOPLE = tuple(
    f"{first}.{last}"
    for first in _words("anna ben carla david elena felix grace hugo ines jon kira liam maya")
    for last in _words("smith muller garcia rossi tanaka dubois silva jensen novak kim lopez")
)
_SUBDOMAINS = ("mail", "eu", "us", "uk", "corp", "de")

EXACT_MIX: Mapping[str, float] = {"corporate": 0.8, "subdomain": 0.1, "secondary_domain": 0.1}
MIXED_MIX: Mapping[str, float] = {
    "corporate": 0.55,
    "subdomain": 0.08,
    "secondary_domain": 0.07,
    "personal_named": 0.07,
    "personal_only": 0.03,
    "personal_typo": 0.12,
    "unknown": 0.08,
}
FUZZY_KINDS = frozenset({"personal_typo", "unknown"})


@dataclass(frozen=True, slots=True)
class LabelledLead:
    """A lead, the kind it was generated as and the account it belongs to (None: none)."""

    lead: LeadRecord
    kind: str
    expected: str | None


def _base_name(index: int) -> tuple[str, str]:
    """Company base name and domain label for one combination index of the word lists."""
    prefix, rest = divmod(index, len(_CORES) * len(_SECTORS))
    core, sector = divmod(rest, len(_SECTORS))
    brand = _PREFIXES[prefix] + _CORES[core]
    name = f"{brand} {_SECTORS[sector]}"
    return name, (brand + _SECTORS[sector]).lower()


def _combinations() -> int:
    return len(_PREFIXES) * len(_CORES) * len(_SECTORS)


def _pick(rng: random.Random, items: Sequence[T]) -> T:
    """One item, uniformly (cheaper than `Random.choice` in the hot loops)."""
    return items[int(rng.random() * len(items))]


def generate_accounts(n: int, seed: int = 1) -> list[AccountRecord]:
    """`n` accounts with unique ids, names and primary domains (deterministic per seed)."""
    if n > _combinations() // 2:
        raise ValueError(f"at most {_combinations() // 2} accounts, asked for {n}")
    rng = random.Random(seed)
    combos = rng.sample(range(_combinations()), n)
    labels = {_base_name(combo)[1] for combo in combos}
    accounts: list[AccountRecord] = []
    names: set[str] = set()
    for i, combo in enumerate(combos):
        account = _account(rng, i, combo, accounts, labels)
        if account.name in names:  # a second child of one parent in one region
            account = _account(rng, i, combo, (), labels)
        names.add(account.name)
        accounts.append(account)
    return accounts


def _strip_legal(name: str) -> str:
    for legal in _LEGAL_LONGEST_FIRST:
        if name.endswith(" " + legal):
            return name[: -len(legal) - 1]
    return name


def _account(
    rng: random.Random, i: int, combo: int, earlier: Sequence[AccountRecord], labels: set[str]
) -> AccountRecord:
    name, label = _base_name(combo)
    legal, country, suffix = _pick(rng, _LEGAL)
    domains = [label + (suffix if rng.random() < 0.5 else ".com")]
    roll = rng.random()
    if roll < 0.10:  # a second domain: regional or product site
        domains.append(label + _pick(rng, (".de", ".fr", ".co.uk", ".net", ".ai")))
    parent_id = None
    if earlier and roll > 0.95:  # a child of an earlier account, e.g. "Acme Deutschland GmbH"
        parent = _pick(rng, earlier)
        region, legal, country, region_suffix = _pick(rng, _REGIONS)
        name = f"{_strip_legal(parent.name)} {region}"
        regional = parent.domains[0].split(".")[0] + region_suffix
        on_parent = roll > 0.975 or regional in parent.domains
        domains = [parent.domains[0] if on_parent else regional]
        parent_id = parent.id
    elif earlier and roll > 0.94:  # an unrelated company on another account's domain
        domains = [_pick(rng, earlier).domains[0]]
    full = f"{name} {legal}".strip()
    return AccountRecord(f"acc_{i:07d}", full, tuple(domains), country, parent_id)


def _name_variant(rng: random.Random, name: str) -> str:
    """A spelling of `name` that normalization maps back to it."""
    pick = int(rng.random() * 5)
    if pick == 0:
        return _strip_legal(name)
    if pick == 1:
        return name.upper()
    if pick == 2:
        return name.lower().replace(".", "")
    if pick == 3:
        return "The " + name
    return name


def _typo(rng: random.Random, name: str) -> str:
    """`name` with one edit (drop, swap or double a letter) in its longest word."""
    words = name.split()
    j = max(range(len(words)), key=lambda k: len(words[k]))
    word = words[j]
    k = 1 + int(rng.random() * (len(word) - 2))
    edit = int(rng.random() * 3)
    if edit == 0:
        word = word[:k] + word[k + 1 :]
    elif edit == 1:
        word = word[:k] + word[k + 1] + word[k] + word[k + 2 :]
    else:
        word = word[:k] + word[k] + word[k:]
    words[j] = word
    return " ".join(words)


def generate_leads(
    accounts: Sequence[AccountRecord],
    n: int,
    seed: int = 2,
    mix: Mapping[str, float] = MIXED_MIX,
) -> list[LabelledLead]:
    """`n` labelled leads drawn from `accounts` in the kinds and shares of `mix`."""
    rng = random.Random(seed)
    kinds = rng.choices(list(mix), weights=list(mix.values()), k=n)
    shared = _shared_domains(accounts)
    labels = {d.split(".")[0] for a in accounts for d in a.domains}
    labels |= {_strip_legal(a.name).replace(" ", "").lower() for a in accounts}  # names too
    size = len(accounts)
    leads: list[LabelledLead] = []
    for i, kind in enumerate(kinds):
        person = f"{_pick(rng, _PEOPLE)}{i}"
        if kind == "unknown":
            leads.append(_unknown_lead(rng, i, person, labels))
            continue
        account = accounts[int(size * rng.random() ** 2)]  # bigger accounts: more leads
        leads.append(_known_lead(rng, i, person, kind, account, shared))
    return leads


def _shared_domains(accounts: Sequence[AccountRecord]) -> set[str]:
    seen: set[str] = set()
    shared: set[str] = set()
    for account in accounts:
        for domain in account.domains:
            (shared if domain in seen else seen).add(domain)
    return shared


def _known_lead(
    rng: random.Random,
    i: int,
    person: str,
    kind: str,
    account: AccountRecord,
    shared: set[str],
) -> LabelledLead:
    lead_id = f"lead_{i:07d}"
    domain = account.domains[-1] if kind == "secondary_domain" else account.domains[0]
    company = account.name if domain in shared or rng.random() < 0.5 else None
    if kind in {"corporate", "secondary_domain"}:
        lead = LeadRecord(lead_id, f"{person}@{domain}", company)
    elif kind == "subdomain":
        lead = LeadRecord(lead_id, f"{person}@{_pick(rng, _SUBDOMAINS)}.{domain}", company)
    elif kind == "personal_named":
        variant = _name_variant(rng, account.name)
        lead = LeadRecord(lead_id, f"{person}@{_pick(rng, _FREE_MAIL)}", variant)
    elif kind == "personal_typo":
        typo = _typo(rng, account.name)
        lead = LeadRecord(lead_id, f"{person}@{_pick(rng, _FREE_MAIL)}", typo)
    elif kind == "personal_only":
        lead = LeadRecord(lead_id, f"{person}@{_pick(rng, _FREE_MAIL)}")
        return LabelledLead(lead, kind, None)
    else:
        raise ValueError(f"unknown lead kind {kind!r}")
    return LabelledLead(lead, kind, account.id)


def _unknown_lead(rng: random.Random, i: int, person: str, labels: set[str]) -> LabelledLead:
    """A company that is no account (neither its domain label nor its name is an account's),
    named from the same words as the accounts."""
    while True:
        name, label = _base_name(int(rng.random() * _combinations()))
        if label not in labels:
            break
    legal, _, suffix = _pick(rng, _LEGAL)
    company = f"{name} {legal}".strip()
    lead = LeadRecord(f"lead_{i:07d}", f"{person}@{label}{suffix}", company)
    return LabelledLead(lead, "unknown", None)
