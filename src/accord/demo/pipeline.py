"""Opportunities with their stage histories, and support cases, following each account's story."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from accord.demo.model import Account, Case, Opportunity, SalesforceIds, World
from accord.demo.sampling import day_between, moment_on, poisson

# Salesforce's default sales process: stage name and default probability.
STAGES: tuple[tuple[str, int], ...] = (
    ("Prospecting", 10),
    ("Qualification", 10),
    ("Needs Analysis", 20),
    ("Value Proposition", 50),
    ("Id. Decision Makers", 60),
    ("Perception Analysis", 70),
    ("Proposal/Price Quote", 75),
    ("Negotiation/Review", 90),
)
WON, LOST = ("Closed Won", 100), ("Closed Lost", 0)
_OPEN_FORECAST = {10: "Pipeline", 20: "Pipeline", 50: "Pipeline", 60: "Best Case"}

CASE_SUBJECTS = (
    "Login issue with SSO",
    "Dashboard not loading",
    "Question about invoice",
    "API rate limit exceeded",
    "Salesforce sync delayed",
    "Feature request: export to CSV",
    "Cannot invite new users",
    "Report shows wrong totals",
    "Webhook deliveries failing",
    "Request to cancel subscription",
    "Data retention question (GDPR)",
)


def add_opportunities(rng: random.Random, ids: SalesforceIds, world: World) -> None:
    """Each account's deals: won new business and renewals at customers, open deals, losses."""
    maker = DealMaker(rng, ids, world)
    for index, account in enumerate(world.accounts):
        maker.for_account(index, account)


class DealMaker:
    def __init__(self, rng: random.Random, ids: SalesforceIds, world: World) -> None:
        self.rng, self.ids, self.world = rng, ids, world
        self.as_of = world.config.as_of

    def for_account(self, index: int, account: Account) -> None:
        rng, as_of = self.rng, self.as_of
        since = account.customer_since
        if since is not None:
            acv = self._deal(index, account, "New Business", since, won=True)
            renewal = since + timedelta(days=365)
            while renewal <= (account.churned_on or as_of):
                self._deal(index, account, "Renewal", renewal, won=True, amount=acv)
                renewal += timedelta(days=365)
            if account.churned_on is not None:
                self._deal(index, account, "Renewal", account.churned_on, won=False, amount=acv)
            elif renewal - as_of < timedelta(days=120):
                self._deal(index, account, "Renewal", renewal, won=None, amount=acv)
            if account.pattern == "expanding":
                won = True if rng.random() < 0.3 else None
                self._deal(index, account, "Existing Business", as_of, won=won)
        elif account.lifecycle == "opportunity":
            self._deal(index, account, "New Business", as_of + timedelta(days=60), won=None)
        if account.lifecycle in ("prospect", "opportunity") and rng.random() < 0.15:
            lost_on = day_between(rng, self.world.config.start, as_of - timedelta(days=30))
            self._deal(index, account, "New Business", lost_on, won=False)

    def _deal(
        self,
        index: int,
        account: Account,
        kind: str,
        close: date,
        *,
        won: bool | None,
        amount: float | None = None,
    ) -> float:
        """Add one deal closing around `close` (won, lost, or open when `won` is None)."""
        rng = self.rng
        if amount is None:
            amount = acv_for(rng, account)
        elif kind == "Renewal":
            amount = round(amount * rng.uniform(0.95, 1.15), -2)
        cycle = rng.randint(20, 60) if kind == "Renewal" else rng.randint(30, 150)
        created = close - timedelta(days=cycle)
        if won is None:
            created = min(created, self.as_of - timedelta(days=rng.randint(3, 90)))
            close = max(close, self.as_of + timedelta(days=rng.randint(7, 90)))
        path = self._path(kind, won)
        stage, probability = path[-1]
        opp = Opportunity(
            sfid=self.ids.next("006"),
            account=index,
            name=f"{account.core} - {_short(kind)} - {close.year}",
            type=kind,
            stage=stage,
            amount=amount,
            probability=probability,
            created=moment_on(rng, created),
            close_date=close,
            is_closed=won is not None,
            is_won=bool(won),
            owner_id=account.owner_id,
            forecast=_forecast(probability, won),
        )
        last = min(close, self.as_of) if won is not None else self.as_of
        opp.history = _history(rng, path, created, last)
        self.world.opportunities.append(opp)
        return amount

    def _path(self, kind: str, won: bool | None) -> list[tuple[str, int]]:
        start = 6 if kind == "Renewal" else 0
        if won is True:
            return [*STAGES[start:], WON]
        reached = self.rng.randint(start, len(STAGES) - 1)
        open_path = list(STAGES[start : reached + 1])
        return open_path if won is None else [*open_path, LOST]


def acv_for(rng: random.Random, account: Account) -> float:
    """A first-year contract value that grows with company size."""
    base = 6_000 + min(account.employees, 20_000) * rng.uniform(15, 40)
    return round(base * (2.0 if account.tier == 1 else 1.0), -2)


def _short(kind: str) -> str:
    return {"New Business": "New", "Existing Business": "Expansion"}.get(kind, kind)


def _forecast(probability: int, won: bool | None) -> str:
    if won is not None:
        return "Closed" if won else "Omitted"
    return _OPEN_FORECAST.get(probability, "Commit" if probability >= 90 else "Best Case")


def _history(
    rng: random.Random, path: list[tuple[str, int]], start: date, end: date
) -> list[tuple[str, datetime, int]]:
    """Stage entries spread in order between `start` and `end`."""
    span = max((end - start).days, len(path))
    offsets = sorted(rng.sample(range(1, span + 1), len(path) - 1)) if len(path) > 1 else []
    days = [start, *(start + timedelta(days=o) for o in offsets)]
    return [(stage, moment_on(rng, d), p) for (stage, p), d in zip(path, days, strict=True)]


def add_cases(rng: random.Random, ids: SalesforceIds, world: World) -> None:
    """Support cases at customers; accounts on their way out open many more."""
    config = world.config
    by_account: dict[int, list[int]] = {}
    for i, contact in enumerate(world.contacts):
        by_account.setdefault(contact.account, []).append(i)
    for index, account in enumerate(world.accounts):
        if account.customer_since is None:
            continue
        rate = 3.0 * (3.0 if account.pattern == "churning" else 1.0)
        last = account.churned_on or config.as_of
        first = max(config.start, account.customer_since)
        for _ in range(poisson(rng, rate * max(0, (last - first).days) / 365)):
            opened = moment_on(rng, day_between(rng, first, last))
            world.cases.append(_case(rng, ids, index, by_account.get(index, []), opened, last))


def _case(
    rng: random.Random,
    ids: SalesforceIds,
    index: int,
    contacts: list[int],
    opened: datetime,
    last: date,
) -> Case:
    closed: datetime | None = opened + timedelta(hours=rng.randint(1, 24 * 12))
    status = "Closed"
    if closed is not None and closed.date() > last:
        closed, status = None, rng.choice(("New", "Working", "Escalated"))
    return Case(
        sfid=ids.next("500"),
        account=index,
        contact=rng.choice(contacts) if contacts else None,
        subject=rng.choice(CASE_SUBJECTS),
        status=status,
        priority=rng.choice(("Low", "Medium", "Medium", "High")),
        origin=rng.choice(("Email", "Web", "Phone")),
        type=rng.choice(("Question", "Problem", "Feature Request")),
        created=opened,
        closed=closed,
    )
