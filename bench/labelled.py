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
        taken = {normalize_name(a.name).compact for a in self.accounts}
        self.unknown = [c for c in held if normalize_name(c.name).compact not in taken]
        self._add_children()

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
        self.add("name_typo", a.id, self._maybe_personal(), _typo(a.name, self.rng))

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


def _typo(name: str, rng: random.Random) -> str:
    """One keyboard slip: a letter substituted, dropped, doubled or two letters swapped."""
    core = _core(name)
    positions = [i for i, ch in enumerate(core) if ch.isalpha()]
    if len(positions) < 5:
        return core
    i = rng.choice(positions[1:])
    kind = rng.choice(("sub", "drop", "double", "swap"))
    if kind == "sub":
        return core[:i] + rng.choice(string.ascii_lowercase) + core[i + 1 :]
    if kind == "drop":
        return core[:i] + core[i + 1 :]
    if kind == "double":
        return core[:i] + core[i] + core[i:]
    j = min(i + 1, len(core) - 1)
    return core[:i] + core[j] + core[i] + core[j + 1 :]


def generate(seed: int, per_account: int = 8, realworld: Path = REALWORLD) -> LabelledSet:
    """The labelled set for one seed (about 10k leads with the defaults)."""
    builder = _Builder(seed, load_companies(realworld))
    builder.build_accounts()
    builder.build_leads(per_account)
    return LabelledSet(
        builder.accounts, builder.leads, builder.truth, builder.variant, builder.family
    )
