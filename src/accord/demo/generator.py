"""Seeded generator of a B2B SaaS company's accounts; `generate` builds the whole world."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from accord.demo import names, people, pipeline, targets
from accord.demo.model import Account, DemoConfig, SalesforceIds, World
from accord.demo.names import company_core
from accord.demo.sampling import Weighted, ascii_slug, day_between, moment_on

_COUNTRY = Weighted([(c, w) for c, w, _, _ in names.COUNTRIES])
_TLD = {c: tld for c, _, tld, _ in names.COUNTRIES}
_LABEL = {c: label for c, _, _, label in names.COUNTRIES}
_INDUSTRY = Weighted(names.INDUSTRIES)
_LIFECYCLE = Weighted([("prospect", 58), ("opportunity", 14), ("customer", 22), ("churned", 6)])
_PATTERN = {
    "prospect": Weighted([("dormant", 50), ("steady", 40), ("surging", 10)]),
    "opportunity": Weighted([("steady", 60), ("surging", 40)]),
    "customer": Weighted([("steady", 70), ("expanding", 15), ("churning", 15)]),
    "churned": Weighted([("churning", 1)]),
}


def generate(config: DemoConfig) -> World:
    """Build the demo world for `config`; the same config gives the same world."""
    rng = random.Random(config.seed)
    ids = SalesforceIds(config.seed)
    world = World(config=config)
    world.owners = [ids.next("005") for _ in range(max(4, config.accounts // 150))]
    AccountMaker(rng, ids, world).make(config.accounts)
    targets.assign_tiers(rng, world)
    people.add_contacts(rng, ids, world)
    people.add_leads(rng, ids, world)
    pipeline.add_opportunities(rng, ids, world)
    pipeline.add_cases(rng, ids, world)
    targets.add_targets(rng, world)
    targets.add_intent(rng, world)
    return world


class AccountMaker:
    """Makes accounts: independent companies, then subsidiaries, CRM duplicates, shared domains."""

    def __init__(self, rng: random.Random, ids: SalesforceIds, world: World) -> None:
        self.rng, self.ids, self.world = rng, ids, world
        self.cores: set[str] = set()
        self.domains: set[str] = set()

    def make(self, n: int) -> None:
        children, dupes, shared = round(n * 0.04), round(n * 0.015), round(n * 0.01)
        base = n - children - dupes - shared
        for _ in range(base):
            self._add(self._company())
        big = sorted(range(base), key=lambda i: -self.world.accounts[i].employees)[: base // 5]
        for _ in range(children):
            self._add(self._subsidiary(self.rng.choice(big)))
        for _ in range(dupes):
            self._add(self._duplicate(self.rng.randrange(base)))
        for _ in range(shared):
            self._add(self._shared_domain(self.rng.randrange(base)))
        for account in self.world.accounts:
            self._set_lifecycle(account)

    def _add(self, account: Account) -> None:
        account.sfid = self.ids.next("001")
        account.owner_id = self.rng.choice(self.world.owners)
        account.group_id = f"ws_{self.rng.getrandbits(48):012x}"
        account.email_style = self.rng.randrange(5)
        account.phone = people.phone(self.rng, account.country)
        account.mail_domain = account.mail_domain or account.domain
        self.world.accounts.append(account)

    def _company(self) -> Account:
        rng = self.rng
        country = _COUNTRY.pick(rng)
        core = self._unique_core()
        domain = self._unique_domain(core, country)
        employees = max(3, round(math.exp(rng.gauss(5.0, 1.6))))
        return Account(
            sfid="",
            name=self._legal_name(core, country),
            core=core,
            domain=domain,
            website=self._website(domain),
            country=country,
            city=rng.choice(names.CITIES[country]),
            industry=_INDUSTRY.pick(rng),
            employees=employees,
            revenue=round(employees * rng.uniform(80_000, 320_000), -3),
            kind="company",
        )

    def _subsidiary(self, parent_index: int) -> Account:
        rng, parent = self.rng, self.world.accounts[parent_index]
        country = rng.choice([c for c in _TLD if c != parent.country] or [parent.country])
        core = f"{parent.core} {_LABEL[country]}"
        own = f"{ascii_slug(parent.core.split(' ')[0])}.{_TLD[country]}"
        if own in self.domains or rng.random() < 0.5:
            domain, path = parent.domain, f"/{_TLD[country].split('.')[-1]}/"
            website = f"https://www.{domain}{path}"
        else:
            self.domains.add(own)
            domain, website = own, self._website(own)
        employees = max(10, parent.employees // rng.randint(5, 20))
        child = Account(
            sfid="",
            name=self._legal_name(core, country, always=True),
            core=core,
            domain=domain,
            website=website,
            country=country,
            city=rng.choice(names.CITIES[country]),
            industry=parent.industry,
            employees=employees,
            revenue=round(employees * rng.uniform(80_000, 320_000), -3),
            kind="subsidiary",
            parent=parent_index,
        )
        return child

    def _duplicate(self, index: int) -> Account:
        """The same company entered twice by different reps: a name variant, another URL form."""
        rng, twin = self.rng, self.world.accounts[index]
        variants = (twin.core, twin.core.upper(), f"The {twin.core}", twin.core + " Inc")
        return self._copy(twin, rng.choice(variants), "duplicate", index, twin.domain)

    def _shared_domain(self, index: int) -> Account:
        """A sister brand run from the same domain (one website, two companies)."""
        twin = self.world.accounts[index]
        core = f"{twin.core.split(' ')[0]} {self.rng.choice(names.SECTOR_WORDS)}"
        if core.lower() in self.cores:
            core = self._unique_core()
        self.cores.add(core.lower())
        account = self._copy(twin, self._legal_name(core, twin.country), "shared_domain", index)
        account.core = core
        account.employees = max(5, twin.employees // self.rng.randint(2, 8))
        return account

    def _copy(
        self, twin: Account, name: str, kind: str, index: int, domain: str | None = None
    ) -> Account:
        return Account(
            sfid="",
            name=name,
            core=twin.core,
            domain=twin.domain,
            website=self._website(domain or twin.domain),
            country=twin.country,
            city=twin.city,
            industry=twin.industry if kind == "duplicate" else _INDUSTRY.pick(self.rng),
            employees=twin.employees,
            revenue=twin.revenue,
            kind=kind,
            same_as=index,
        )

    def _unique_core(self) -> str:
        core = company_core(self.rng)
        for _ in range(20):
            if core.lower() not in self.cores:
                break
            core = company_core(self.rng)
        self.cores.add(core.lower())
        return core

    def _unique_domain(self, core: str, country: str) -> str:
        rng = self.rng
        words = [ascii_slug(w) for w in core.replace("&", " ").split()]
        words = [w for w in words if w]
        stem = "".join(words) if rng.random() < 0.8 or len(words) < 2 else "-".join(words)
        if len(words) > 1 and words[-1].capitalize() in names.SECTOR_WORDS and rng.random() < 0.3:
            stem = "".join(words[:-1])
        tld = _TLD[country] if rng.random() < 0.6 else "com"
        options = [f"{stem}.{tld}", f"{stem}.com", f"{stem}.io", f"get{stem}.com", f"{stem}hq.com"]
        for domain in options:
            if domain not in self.domains:
                break
        else:
            domain = f"{stem}{len(self.domains)}.com"
        self.domains.add(domain)
        return domain

    def _legal_name(self, core: str, country: str, *, always: bool = False) -> str:
        if not always and self.rng.random() < 0.45:
            return core
        form = self.rng.choice(names.LEGAL_FORMS[country])
        sep = ", " if form.startswith("Inc") and self.rng.random() < 0.3 else " "
        return f"{core}{sep}{form}"

    def _website(self, domain: str) -> str:
        """A website field as reps type it: full URLs, bare domains, upper case, paths, blanks."""
        r = self.rng.random()
        if r < 0.35:
            return f"https://www.{domain}/"
        if r < 0.55:
            return domain
        if r < 0.65:
            return f"www.{domain}"
        if r < 0.72:
            return domain.upper()
        if r < 0.82:
            return f"http://{domain}/{self.rng.choice(('en-us/', 'about', 'home.html', 'en/'))}"
        if r < 0.95:
            return f"https://{domain}"
        return ""

    def _set_lifecycle(self, account: Account) -> None:
        rng, config = self.rng, self.world.config
        stage = _LIFECYCLE.pick(rng) if account.kind != "duplicate" else "prospect"
        account.lifecycle = stage
        account.pattern = _PATTERN[stage].pick(rng)
        created = day_between(rng, config.start - timedelta(days=3 * 365), config.as_of)
        if stage in ("customer", "churned"):
            created = min(created, config.start - timedelta(days=rng.randint(30, 400)))
            since_end = config.as_of - timedelta(days=60)
            account.customer_since = day_between(rng, created + timedelta(days=30), since_end)
        if stage == "churned":
            account.churned_on = _churn_day(rng, account.customer_since, config)
        account.created = moment_on(rng, created)


def _churn_day(rng: random.Random, since: date | None, config: DemoConfig) -> date:
    first = max(config.start + timedelta(days=60), (since or config.start) + timedelta(days=365))
    if first >= config.as_of:
        first = config.as_of - timedelta(days=30)
    return day_between(rng, first, config.as_of - timedelta(days=7))
