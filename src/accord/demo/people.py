"""Contacts at accounts and leads from the web: names, titles, e-mail addresses."""

from __future__ import annotations

import math
import random
from datetime import timedelta

from accord.demo import names
from accord.demo.model import Account, Contact, Lead, SalesforceIds, World
from accord.demo.names import SECTOR_WORDS, company_core
from accord.demo.sampling import Weighted, ascii_slug, day_between, moment_on, poisson, typo

_TITLE = Weighted(names.TITLES)
_STATUS = Weighted(names.LEAD_STATUSES)
_LIFECYCLE_WEIGHT = {"prospect": 0.5, "opportunity": 1.3, "customer": 1.7, "churned": 1.0}
_KIND_WEIGHT = {"company": 1.0, "subsidiary": 0.8, "duplicate": 0.15, "shared_domain": 0.6}
_LEAD_VARIANT = Weighted(
    [
        ("corporate", 38),
        ("subdomain", 7),
        ("personal", 14),
        ("typo", 10),
        ("website", 6),
        ("shared_domain", 3),
        ("unknown", 17),
        ("no_company", 5),
    ]
)
_NO_COMPANY = ("N/A", "none", "Self-employed", "-", "Freelance", "Student", "[not provided]")


def add_contacts(rng: random.Random, ids: SalesforceIds, world: World) -> None:
    """About `contacts_per_account` contacts per account, more at customers and big firms."""
    accounts, config = world.accounts, world.config
    weights = [_contact_weight(a) for a in accounts]
    scale = config.contacts_per_account * len(accounts) / max(sum(weights), 1e-9)
    for index in range(len(accounts)):
        taken: set[str] = set()
        for _ in range(max(1, poisson(rng, weights[index] * scale))):
            world.contacts.append(_contact(rng, ids, world, index, taken))


def _contact_weight(account: Account) -> float:
    size = math.log10(max(account.employees, 10))
    tier = 2.0 if account.tier == 1 else 1.0
    return size * _LIFECYCLE_WEIGHT[account.lifecycle] * _KIND_WEIGHT[account.kind] * tier


def _contact(
    rng: random.Random, ids: SalesforceIds, world: World, index: int, taken: set[str]
) -> Contact:
    account = world.accounts[index]
    first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
    domain = account.mail_domain
    if account.employees > 2000 and rng.random() < 0.1:
        domain = f"{rng.choice(names.MAIL_SUBDOMAINS)}.{domain}"
    local = email_local(first, last, account.email_style)
    email = f"{local}@{domain}"
    n = 1
    while email in taken:
        n += 1
        email = f"{local}{n}@{domain}"
    taken.add(email)
    start = max(account.created.date(), world.config.start - timedelta(days=700))
    created = day_between(rng, start, world.config.as_of)
    return Contact(
        sfid=ids.next("003"),
        account=index,
        first_name=first,
        last_name=last,
        email=email,
        title=_TITLE.pick(rng),
        phone=phone(rng, account.country),
        country=account.country,
        created=moment_on(rng, created),
        owner_id=account.owner_id,
        user_id=f"u_{rng.getrandbits(40):010x}",
    )


def email_local(first: str, last: str, style: int) -> str:
    """The local part under a company's e-mail convention."""
    f, la = ascii_slug(first) or "x", ascii_slug(last) or "x"
    return (f"{f}.{la}", f"{f[0]}{la}", f, f"{f}{la[0]}", f"{f}_{la}")[style % 5]


def phone(rng: random.Random, country: str) -> str:
    """A phone number written the way the country writes it."""
    digits = f"{rng.randrange(10**9):09d}"
    if country in ("United States", "Canada"):
        return f"({rng.randint(201, 989)}) {digits[:3]}-{digits[3:7]}"
    code = {"United Kingdom": "44", "Germany": "49", "France": "33", "Japan": "81"}.get(country)
    return f"+{code or rng.randint(30, 61)} {digits[:3]} {digits[3:6]} {digits[6:]}"


def add_leads(rng: random.Random, ids: SalesforceIds, world: World) -> None:
    """Leads of every kind the matcher meets: corporate, free-mail, typos, unknown companies."""
    maker = LeadMaker(rng, world)
    total = round(world.config.leads_per_account * len(world.accounts))
    for _ in range(total):
        lead = maker.make(_LEAD_VARIANT.pick(rng))
        lead.sfid = ids.next("00Q")
        world.leads.append(lead)


class LeadMaker:
    """Builds one lead of a given variant, remembering the account it should go to."""

    def __init__(self, rng: random.Random, world: World) -> None:
        self.rng, self.world = rng, world
        self.companies = [i for i, a in enumerate(world.accounts) if a.kind == "company"]
        self.shared = [i for i, a in enumerate(world.accounts) if a.kind == "shared_domain"]
        self.outsiders = Outsiders(world)

    def make(self, variant: str) -> Lead:
        rng = self.rng
        index = rng.choice(self.companies)
        if variant == "shared_domain" and self.shared:
            index = rng.choice(self.shared)
            index = rng.choice((index, self.world.accounts[index].same_as or index))
        account = self.world.accounts[index]
        first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
        local = email_local(first, last, account.email_style)
        personal = f"{ascii_slug(first)}.{ascii_slug(last)}{rng.randint(1, 99)}@" + rng.choice(
            names.FREE_MAIL
        )
        company, email, website = account.core, f"{local}@{account.domain}", ""
        expected: int | None = index
        if variant == "corporate":
            company = rng.choice((account.name, account.core, account.core.upper()))
        elif variant == "subdomain":
            email = f"{local}@{rng.choice(names.MAIL_SUBDOMAINS)}.{account.domain}"
        elif variant == "personal":
            email = personal
        elif variant == "typo":
            company = typo(rng, account.name)
            email = personal if rng.random() < 0.7 else email
        elif variant == "website":
            email = personal
            website = rng.choice((f"www.{account.domain}", account.website or account.domain))
            company = rng.choice((account.core, "n/a"))
        elif variant == "shared_domain":
            company = account.name
        elif variant == "unknown":
            company, email, expected = self._unknown(local)
        else:
            company, email, expected = rng.choice(_NO_COMPANY), personal, None
        return self._lead(variant, first, last, company, email, website, account, expected)

    def _unknown(self, local: str) -> tuple[str, str, None]:
        core, domain = self.outsiders.make(self.rng)
        return core, f"{local}@{domain}", None

    def _lead(
        self,
        variant: str,
        first: str,
        last: str,
        company: str,
        email: str,
        website: str,
        account: Account,
        expected: int | None,
    ) -> Lead:
        rng, config = self.rng, self.world.config
        return Lead(
            sfid="",
            first_name=first,
            last_name=last,
            company=company,
            email=email,
            website=website,
            title=_TITLE.pick(rng),
            country=account.country if expected is not None else rng.choice(names.COUNTRIES)[0],
            status=_STATUS.pick(rng),
            source=rng.choice(names.LEAD_SOURCES),
            created=moment_on(rng, day_between(rng, config.start, config.as_of)),
            owner_id=rng.choice(self.world.owners),
            variant=variant,
            expected=expected,
        )


class Outsiders:
    """Companies that are not in the CRM and must not look like one that is."""

    _SYLLABLES = ("zor", "va", "lin", "qui", "bex", "tor", "ma", "rix", "dal", "ven", "ko", "sy")

    def __init__(self, world: World) -> None:
        self.keys = {k for a in world.accounts for k in _name_keys(a.core)}
        self.domains = {a.domain for a in world.accounts}

    def make(self, rng: random.Random) -> tuple[str, str]:
        """A company name and its domain, sharing no leading word or domain with an account."""
        for _ in range(30):
            core = company_core(rng)
            if not _name_keys(core) & self.keys and not _is_initials(core):
                break
        else:
            word = "".join(rng.choice(self._SYLLABLES) for _ in range(3)).capitalize()
            core = f"{word} {rng.choice(SECTOR_WORDS)}"
        domain = ascii_slug(core) + rng.choice((".com", ".io", ".co", ".net"))
        while domain in self.domains:
            domain = "the" + domain
        return core, domain


def _name_keys(core: str) -> set[str]:
    """What makes a name recognisable: its first word and first two words, run together."""
    words = [ascii_slug(w) for w in core.replace("&", " ").split()]
    words = [w for w in words if w]
    return {words[0], "".join(words[:2])} if words else set()


def _is_initials(core: str) -> bool:
    """'KDT Systems' or 'Baker & Holt': too easily confused with a real account."""
    first = core.split()[0]
    return "&" in core or (first.isupper() and len(first) <= 4)
