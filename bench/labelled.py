"""A seeded, labelled lead-to-account set built from real company lists.

Accounts come from the Fortune 500 (2019) and the remote-in-tech company list; 15% of the
companies are held out as *unknown* companies whose leads must stay unmatched. Leads come in
variant classes (see `VARIANTS`); every lead carries the account it truly belongs to (or None).
Real quirks are kept: Disney and Twenty-First Century Fox share one domain, so do the two
O'Reilly rows of the remote-tech list.
"""

from __future__ import annotations

import csv
import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from accord.graph.candidates import GENERIC_WORDS, KEY_NEIGHBOURS
from accord.graph.domains import parse_domain
from accord.graph.match import AccountRecord, LeadRecord
from accord.graph.names import normalize_name

REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "data" / "realworld"
FREEMAIL = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com")
REGIONAL_SUFFIXES = ("de", "fr", "co.uk", "nl", "es", "it", "com.au", "ca", "jp", "com.br")
SUBDOMAINS = ("eu", "us", "mail", "corp", "uk", "apac", "emea")
LEGAL_FORMS = ("Inc.", "Inc", "LLC", "Ltd", "Corp.", "Corporation", "GmbH", "S.A.", "PLC")
CHILD_WORDS = ("Cloud", "Labs", "Europe", "Financial Services", "Ventures", "Health")
LOCAL_WORDS = ("Dental", "Plumbing", "Bakery", "Realty", "Auto Repair", "Pizza", "Law Office")
PREFIX_WORDS = ("Capital", "Foods", "Logistics", "Insurance", "Airlines", "Studios")
GENERIC_FIRST = ("Global", "Advanced", "United", "Premier", "Integrated", "Strategic", "Digital")
GENERIC_SECOND = ("Solutions", "Systems", "Services", "Consulting", "Partners", "Technologies")
COMMON_WORDS = (
    "Summit", "Pioneer", "Horizon", "Keystone", "Liberty", "Eagle", "Apex", "Atlas", "Phoenix",
    "Vertex", "Frontier", "Pinnacle", "Sterling", "Guardian", "Heritage", "Legacy", "Beacon",
)  # fmt: skip
ABBREVIATIONS = {
    "international": "Intl",
    "corporation": "Corp",
    "technologies": "Tech",
    "technology": "Tech",
    "services": "Svcs",
    "group": "Grp",
    "manufacturing": "Mfg",
    "holdings": "Hldgs",
    "and": "&",
    "&": "and",
}
FIRST = ("anna", "ben", "carla", "dev", "emma", "farid", "grace", "hugo", "ines", "jon", "kai")
LAST = ("smith", "garcia", "muller", "rossi", "tanaka", "okafor", "novak", "silva", "berg")

VARIANTS = (
    "exact_email",
    "subdomain_email",
    "name_variant",
    "name_typo",
    "personal_email_company",
    "regional_domain",
    "shared_domain",
    "parent_child",
    "website",
    "unknown_corporate",
    "unknown_personal",
    "unknown_close_name",
    "personal_no_company",
    "prefix_name",
    "unknown_one_edit",
    "unknown_two_edits",
    "unknown_generic",
    "unknown_common_word",
)


@dataclass(frozen=True)
class Company:
    name: str
    website: str
    domain: str
    source: str


@dataclass
class LabelledSet:
    accounts: list[AccountRecord]
    leads: list[LeadRecord]
    truth: dict[str, str | None]  # lead id → true account id
    variant: dict[str, str]  # lead id → variant class
    family: dict[str, str] = field(default_factory=dict)  # account id → family root


def load_companies(realworld: Path = REALWORLD) -> list[Company]:
    """Fortune 500 and remote-tech companies with a parsable website (cross-list duplicates
    keep the Fortune row; two rows of one list sharing a domain are kept, as in the file)."""
    out: list[Company] = []
    sources = (
        ("fortune500_2019_smechov.utf8.csv", "company_name", "fortune500"),
        ("remoteintech_remote-jobs_companies.csv", "title", "remoteintech"),
    )
    for filename, name_col, source in sources:
        path = realworld / "companies" / filename
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                parsed = parse_domain(row["website"] or "")
                if parsed is not None and row[name_col].strip():
                    out.append(
                        Company(row[name_col].strip(), row["website"], parsed.registrable, source)
                    )
    fortune_domains = {c.domain for c in out if c.source == "fortune500"}
    return [c for c in out if c.source == "fortune500" or c.domain not in fortune_domains]


class _Builder:
    def __init__(self, seed: int, companies: list[Company]) -> None:
        self.rng = random.Random(seed)
        self.companies = companies
        self.accounts: list[AccountRecord] = []
        self.leads: list[LeadRecord] = []
        self.truth: dict[str, str | None] = {}
        self.variant: dict[str, str] = {}
        self.family: dict[str, str] = {}
        self.unknown: list[Company] = []
        self.owned: set[str] = set()

    # accounts -----------------------------------------------------------------------
    def build_accounts(self) -> None:
        shared = _shared_domains(self.companies)
        pool = list(self.companies)
        self.rng.shuffle(pool)
        cut = int(len(pool) * 0.15)
        held, kept = pool[:cut], pool[cut:]
        kept += [c for c in held if c.domain in shared]
        held = [c for c in held if c.domain not in shared]
        for i, company in enumerate(sorted(kept, key=lambda c: (c.source, c.name))):
            name = company.name
            if self.rng.random() < 0.3:
                name = f"{name} {self.rng.choice(LEGAL_FORMS)}"
            domains = company.website
            if self.rng.random() < 0.2:
                domains += ";" + _regional(company.domain, self.rng)
            country = "US" if company.source == "fortune500" else None
            self.accounts.append(AccountRecord(f"acc{i:04d}", name, (domains,), country))
        self._add_generic()
        self.unknown = [c for c in held if self._free(c.name)]
        self._add_children()
        self._add_prefix_pairs()

    def _free(self, name: str) -> bool:
        """No account has this normalized name (so a lead using it must stay unmatched)."""
        taken = {normalize_name(a.name).compact for a in self.accounts}
        return normalize_name(name).compact not in taken

    def _add_generic(self) -> None:
        """Accounts with generic names (`Global Solutions Inc`): easy to confuse."""
        names = [f"{a} {b}" for a in GENERIC_FIRST for b in GENERIC_SECOND]
        for j, name in enumerate(self.rng.sample(names, 12)):
            domain = name.replace(" ", "").lower() + ".com"
            self.accounts.append(AccountRecord(f"gen{j:03d}", f"{name} Inc", (domain,)))

    def _add_prefix_pairs(self) -> None:
        """Unrelated accounts whose name extends another's (`Delta` and `Delta Foods`)."""
        self.prefix_pairs: list[tuple[AccountRecord, AccountRecord]] = []
        singles = [
            a for a in self.accounts if a.parent_id is None and len(_core(a.name).split()) == 1
        ]
        for j, short in enumerate(self.rng.sample(singles, min(30, len(singles)))):
            name = f"{_core(short.name)} {self.rng.choice(PREFIX_WORDS)}"
            domain = name.replace(" ", "").lower() + ".com"
            longer = AccountRecord(f"pre{j:03d}", name, (domain,), short.country)
            self.accounts.append(longer)
            self.prefix_pairs.append((short, longer))

    def _add_children(self) -> None:
        parents = self.rng.sample(self.accounts, 40)
        for j, parent in enumerate(parents):
            word = self.rng.choice(CHILD_WORDS)
            child = AccountRecord(
                f"chd{j:03d}",
                f"{_core(parent.name)} {word}",
                parent.domains,
                parent.country,
                parent.id,
            )
            self.accounts.append(child)
            self.family[child.id] = parent.id
            self.family[parent.id] = parent.id

    # leads --------------------------------------------------------------------------
    def add(self, variant: str, truth: str | None, email: str | None, company: str | None,
            website: str | None = None) -> None:  # fmt: skip
        lead_id = f"lead{len(self.leads):06d}"
        self.leads.append(LeadRecord(lead_id, email, company, None, website))
        self.truth[lead_id] = truth
        self.variant[lead_id] = variant

    def person(self) -> str:
        sep = self.rng.choice((".", "_", ""))
        return f"{self.rng.choice(FIRST)}{sep}{self.rng.choice(LAST)}{self.rng.randint(1, 99)}"

    def personal(self) -> str:
        return f"{self.person()}@{self.rng.choice(FREEMAIL)}"

    def build_leads(self, per_account: int) -> None:
        self.owned = {
            p.registrable
            for a in self.accounts
            for raw in a.domains[0].split(";")
            if (p := parse_domain(raw)) is not None
        }
        shared = _shared_domains(self.companies)
        parents = {a.parent_id for a in self.accounts if a.parent_id}
        in_family = {a.id for a in self.accounts if a.parent_id or a.id in parents}
        is_shared = {a.id for a in self.accounts if a.id in in_family or _first(a) in shared}
        plain = [a for a in self.accounts if a.id not in is_shared]
        makers: list[tuple[str, Callable[[AccountRecord], None]]] = [
            ("exact_email", self._exact), ("subdomain_email", self._subdomain),
            ("name_variant", self._variant), ("name_typo", self._typo),
            ("personal_email_company", self._personal_company), ("regional_domain", self._regional),
            ("website", self._website),
        ]  # fmt: skip
        for account in plain:
            for _ in range(per_account):
                _, make = self.rng.choice(makers)
                make(account)
        for account in self.accounts:
            if account.id in is_shared:
                self._shared(account)
        for company in self.unknown:
            self._unknown(company)
        for account in self.rng.sample(plain, len(plain) // 4):
            self.add("unknown_close_name", None, self._maybe_personal(),
                     f"{_core(account.name)} {self.rng.choice(LOCAL_WORDS)}")  # fmt: skip
        for _ in range(len(plain) // 4):
            self.add("personal_no_company", None, self.personal(), None)
        self._hard_unknowns(plain)
        for short, longer in self.prefix_pairs:
            for a in (short, longer):
                self.add("prefix_name", a.id, self.personal(), _variant(a.name, self.rng))

    def _hard_unknowns(self, plain: list[AccountRecord]) -> None:
        """Companies that are no account but are named almost like one. Another company one
        letter away is common among short names (`Oakridge`, `Oakbridge`) and rare among long
        ones, so the edited names come from accounts of at most 9 (one edit) or 16 (two
        edits) letters."""
        short = [a for a in plain if len(normalize_name(a.name).compact) <= 9]
        for a in self.rng.sample(short, min(len(short), len(plain) // 6)):
            self._unknown_named("unknown_one_edit", _name_edit(_core(a.name), self.rng))
        medium = [a for a in plain if len(normalize_name(a.name).compact) <= 16]
        for a in self.rng.sample(medium, min(len(medium), len(plain) // 8)):
            once = _name_edit(_core(a.name), self.rng)
            self._unknown_named("unknown_two_edits", _name_edit(once, self.rng))
        for _ in range(len(plain) // 10):
            words = (self.rng.choice(GENERIC_FIRST), self.rng.choice(GENERIC_SECOND))
            tail = self.rng.choice(("", " Group", " Inc", " LLC", " Ltd"))
            self._unknown_named("unknown_generic", " ".join(words) + tail)
        for _ in range(len(plain) // 10):
            tail = self.rng.choice(("", " Partners", " Group", " Media", " Dental", " Labs"))
            self._unknown_named("unknown_common_word", self.rng.choice(COMMON_WORDS) + tail)

    def _unknown_named(self, variant: str, name: str) -> None:
        """A lead of an unknown company: personal e-mail, its own domain or no e-mail."""
        if not self._free(name):
            return
        own = "".join(ch for ch in name.lower() if ch.isalnum()) + ".com"
        email = self.rng.choice((self.personal(), f"{self.person()}@{own}", None))
        parsed = parse_domain(email.rpartition("@")[2]) if email else None
        if parsed is not None and parsed.registrable in self.owned:
            email = self.personal()
        self.add(variant, None, email, name)

    def _maybe_personal(self) -> str | None:
        return self.personal() if self.rng.random() < 0.7 else None

    def _domain(self, account: AccountRecord) -> str:
        parsed = parse_domain(account.domains[0].split(";")[0])
        assert parsed is not None
        return parsed.registrable

    def _exact(self, a: AccountRecord) -> None:
        company = self.rng.choice((None, a.name, _variant(a.name, self.rng)))
        self.add("exact_email", a.id, f"{self.person()}@{self._domain(a)}", company)

    def _subdomain(self, a: AccountRecord) -> None:
        host = f"{self.rng.choice(SUBDOMAINS)}.{self._domain(a)}"
        self.add("subdomain_email", a.id, f"{self.person()}@{host.upper()}", None)

    def _variant(self, a: AccountRecord) -> None:
        self.add("name_variant", a.id, self._maybe_personal(), _variant(a.name, self.rng))

    def _typo(self, a: AccountRecord) -> None:
        typed = _typo(a.name, self.rng)
        if typed is None:  # too short to mistype believably: written as usual instead
            self._variant(a)
            return
        self.add("name_typo", a.id, self._maybe_personal(), typed)

    def _personal_company(self, a: AccountRecord) -> None:
        self.add("personal_email_company", a.id, self.personal(), a.name)

    def _regional(self, a: AccountRecord) -> None:
        host = _regional(self._domain(a), self.rng)
        if host in self.owned:
            return
        self.add("regional_domain", a.id, f"{self.person()}@{host}", _variant(a.name, self.rng))

    def _website(self, a: AccountRecord) -> None:
        url = self.rng.choice(("https://www.{}/about", "{}", "http://{}/", "WWW.{}"))
        self.add("website", a.id, self._maybe_personal(), None, url.format(self._domain(a)))

    def _shared(self, a: AccountRecord) -> None:
        email = f"{self.person()}@{self._domain(a)}"
        for _ in range(3):
            self.add(
                "shared_domain", a.id, email, self.rng.choice((a.name, _variant(a.name, self.rng)))
            )
        self.add("parent_child", a.id, email, None)

    def _unknown(self, c: Company) -> None:
        self.add("unknown_corporate", None, f"{self.person()}@{c.domain}", c.name)
        self.add("unknown_personal", None, self.personal(), c.name)


def _shared_domains(companies: list[Company]) -> set[str]:
    seen: dict[str, int] = {}
    for c in companies:
        seen[c.domain] = seen.get(c.domain, 0) + 1
    return {d for d, n in seen.items() if n > 1}


def _first(account: AccountRecord) -> str:
    parsed = parse_domain(account.domains[0].split(";")[0])
    return parsed.registrable if parsed else ""


def _regional(domain: str, rng: random.Random) -> str:
    parsed = parse_domain(domain)
    assert parsed is not None
    suffixes = [s for s in REGIONAL_SUFFIXES if s != parsed.suffix]
    return f"{parsed.brand}.{rng.choice(suffixes)}"


def _name_edit(name: str, rng: random.Random) -> str:
    """Another plausible name one edit away (not a typing slip): in the longest distinctive
    word (`Oakridge` in `Oakridge Energy`), a letter replaced, or one added or dropped without
    making or breaking a double letter."""
    words = name.split()
    j = max(range(len(words)), key=lambda k: (words[k].lower() not in GENERIC_WORDS, len(words[k])))
    word = words[j]
    if len(word) < 3:
        return f"{name}s"
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("sub", "ins", "del"))
    near = {word[i - 1].lower(), word[i].lower(), word[i + 1].lower()}
    letter = rng.choice([c for c in string.ascii_lowercase if c not in near])
    if kind == "sub":
        word = word[:i] + letter + word[i + 1 :]
    elif kind == "ins":
        word = word[:i] + letter + word[i:]
    elif len(near) == 3:  # dropping the letter makes no double and breaks none
        word = word[:i] + word[i + 1 :]
    else:
        word = word[:i] + letter + word[i + 1 :]
    words[j] = word
    return " ".join(words)


def _core(name: str) -> str:
    """The name without a trailing legal form (as people write it day to day)."""
    words = name.split()
    if len(words) > 1 and words[-1] in LEGAL_FORMS:
        words = words[:-1]
    return " ".join(words)


def _variant(name: str, rng: random.Random) -> str:
    """Legal form dropped or added, `&`/and, abbreviations, case, punctuation or `The`."""
    core = _core(name)
    options = [
        lambda: core,
        lambda: f"{core} {rng.choice(LEGAL_FORMS)}",
        lambda: f"{core}, {rng.choice(LEGAL_FORMS)}",
        lambda: core.upper(),
        lambda: core.lower(),
        lambda: " ".join(ABBREVIATIONS.get(w.lower(), w) for w in core.split()),
        lambda: core.replace(" ", "-") if " " in core else f"{core}.",
        lambda: f"The {core}",
        lambda: core.replace("-", " ").replace(".", "").replace(",", ""),
    ]
    return rng.choice(options)()


TYPO_KINDS = ("neighbour", "drop", "double", "swap", "fat_finger")
TYPO_MIN_LETTERS = 5


def _typo(name: str, rng: random.Random) -> str | None:
    """One keyboard slip as people make them, never on the first letter: a key next to the
    right one (QWERTY), a letter dropped or doubled, two letters swapped, or a neighbouring key
    pressed as well. None for names with fewer than `TYPO_MIN_LETTERS` letters."""
    core = _core(name)
    positions = [i for i, ch in enumerate(core) if ch.isalpha()]
    if len(positions) < TYPO_MIN_LETTERS:
        return None
    want = normalize_name(core).compact
    for _ in range(20):  # a swap of equal letters or a slip that normalizes away: try again
        typed = _slip(core, rng.choice(positions[1:]), rng.choice(TYPO_KINDS), rng)
        if normalize_name(typed).compact != want:
            return typed
    return None


def _slip(core: str, i: int, kind: str, rng: random.Random) -> str:
    """`core` with slip `kind` at letter `i` (the case of the letter is kept)."""
    ch = core[i]
    if kind == "neighbour":
        return (
            core[:i]
            + _same_case(rng.choice(sorted(KEY_NEIGHBOURS[ch.lower()])), ch)
            + core[i + 1 :]
        )
    if kind == "drop":
        return core[:i] + core[i + 1 :]
    if kind == "double":
        return core[:i] + ch + core[i:]
    if kind == "fat_finger":
        extra = _same_case(rng.choice(sorted(KEY_NEIGHBOURS[ch.lower()])), ch)
        return core[:i] + (extra + ch if rng.random() < 0.5 else ch + extra) + core[i + 1 :]
    j = min(i + 1, len(core) - 1)
    return core[:i] + core[j] + core[i] + core[j + 1 :]


def _same_case(letter: str, like: str) -> str:
    return letter.upper() if like.isupper() else letter


def generate(seed: int, per_account: int = 8, realworld: Path = REALWORLD) -> LabelledSet:
    """The labelled set for one seed (about 10k leads with the defaults)."""
    builder = _Builder(seed, load_companies(realworld))
    builder.build_accounts()
    builder.build_leads(per_account)
    return LabelledSet(
        builder.accounts, builder.leads, builder.truth, builder.variant, builder.family
    )
