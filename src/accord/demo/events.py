"""Twelve months of Segment calls (events.jsonl), one call per line, in time order by week.

Each account follows its story: surging prospects read /pricing and research the category,
expanding customers use the product more, churning customers use it less and file tickets,
open deals bring sales activity, target accounts see ads.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, TypeVar

import orjson

from accord.demo import segment_calls as sc
from accord.demo.model import Account, Contact, World
from accord.demo.sampling import Weighted, poisson

WEEK = 7 * 86400
_RAW_PER_ACCOUNT = 133  # calls per account at scale 1: events_per_account sets the average
_WEB = {"prospect": 0.6, "opportunity": 2.0, "customer": 1.0, "churned": 0.3}
_ADS = {1: 4.0, 2: 2.5, 3: 1.5}
_USAGE = Weighted([("Signed In", 10), ("Dashboard Viewed", 8), ("Report Created", 3),
                   ("Integration Connected", 1), ("Invite Sent", 1)])  # fmt: skip
_SALES = Weighted([("Email Sent", 6), ("Call Logged", 2), ("Meeting Held", 1)])
_PAGES = Weighted([(p[:2], p[2]) for p in sc.PAGES])
_HOT_PAGES = Weighted([(p[:2], p[2]) for p in sc.HIGH_INTENT_PAGES])
_SLOTS = [  # hour-long slots in a week, repeated by how busy they are
    day * 86400 + hour * 3600
    for day, weight in enumerate((20, 22, 22, 20, 14, 1, 1))
    for hour in (8, 9, 10, 11, 13, 14, 15, 16, 17)
    for _ in range(weight)
]
T = TypeVar("T")
_REVIEW = ("pricing", "compare", "product_profile", "category")


@dataclass
class Plan:
    """What one account does in the window, precomputed once."""

    index: int
    account: Account
    contacts: list[Contact]
    size: float
    usage: tuple[float, float] | None = None  # epoch seconds: product in use
    deals: list[tuple[float, float]] = field(default_factory=list)  # open-deal periods
    tickets: list[tuple[float, str, dict[str, Any], Contact | None]] = field(default_factory=list)
    visitors: tuple[str, ...] = ()
    ip: str = ""
    surging: bool = False
    web: float = 0.0  # page views a week before any surge
    ads: float = 0.0  # ad impressions a week


def write_events(world: World, path: Path) -> int:
    """Write events.jsonl for `world`; return the number of calls written."""
    rng = random.Random(world.config.seed * 7919 + 1)
    n = 0
    with path.open("wb") as f:
        if world.config.events_per_account <= 0:
            return 0
        for week in _weeks(world, rng):
            f.write(b"\n".join(orjson.dumps(call) for _, call in week))
            f.write(b"\n" if week else b"")
            n += len(week)
    return n


def _weeks(world: World, rng: random.Random) -> Iterator[list[tuple[float, dict[str, Any]]]]:
    config = world.config
    start = _epoch(config.start)
    end = _epoch(config.as_of)
    plans = _plans(world, rng)
    scale = config.events_per_account / _RAW_PER_ACCOUNT
    sightings = FirstSightings(world, plans)
    weeks = math.ceil((end - start) / WEEK)
    for w in range(weeks):
        lo = start + w * WEEK
        ramp = max(0.0, (w - (weeks - 7)) / 6)
        calls: list[tuple[float, dict[str, Any]]] = []
        for plan in plans:
            _account_week(rng, plan, lo, min(lo + WEEK, end), ramp, scale, calls)
        calls.sort(key=lambda c: c[0])
        yield sightings.add(rng, calls)


def _epoch(day: Any) -> float:
    return datetime.combine(day, time(0), tzinfo=UTC).timestamp()


def _plans(world: World, rng: random.Random) -> list[Plan]:
    by_account: dict[int, list[Contact]] = {}
    for c in world.contacts:
        by_account.setdefault(c.account, []).append(c)
    plans = []
    for i, a in enumerate(world.accounts):
        if a.kind == "duplicate":
            continue  # a CRM artefact: the company's activity belongs to its twin
        plan = Plan(i, a, by_account.get(i, []), max(0.3, math.log10(max(a.employees, 2)) / 2.5))
        if a.customer_since is not None:
            end = _epoch(a.churned_on) if a.churned_on else float("inf")
            plan.usage = (_epoch(a.customer_since), end)
        plan.surging = a.pattern == "surging"
        plan.web = _WEB[a.lifecycle] * plan.size * (0.08 if a.pattern == "dormant" else 1.0)
        plan.ads = _ADS.get(a.tier or 0, 0.0)
        plan.visitors = tuple(f"anon-{rng.getrandbits(64):016x}" for _ in range(4))
        plan.ip = f"{(i >> 16) % 200 + 20}.{(i >> 8) % 256}.{i % 256}.{rng.randint(2, 250)}"
        plans.append(plan)
    index = {p.index: p for p in plans}
    for o in world.opportunities:
        if o.account in index:
            closed = _epoch(o.close_date) if o.is_closed else float("inf")
            index[o.account].deals.append((o.created.timestamp(), closed))
    _add_tickets(world, index)
    return plans


def _add_tickets(world: World, index: dict[int, Plan]) -> None:
    for case in world.cases:
        plan = index.get(case.account)
        if plan is None:
            continue
        contact = world.contacts[case.contact] if case.contact is not None else None
        props = {"ticket_id": case.sfid, "subject": case.subject, "priority": case.priority}
        plan.tickets.append((case.created.timestamp(), "Ticket Created", props, contact))
        if case.closed is not None:
            plan.tickets.append((case.closed.timestamp(), "Ticket Solved", props, contact))


def _when(rng: random.Random, lo: float, hi: float) -> float:
    """A moment in the week starting at `lo`, mostly weekdays in business hours."""
    at = lo + _SLOTS[int(rng.random() * len(_SLOTS))] + rng.random() * 3600
    return at if at < hi else lo + rng.random() * (hi - lo)


def _pick(rng: random.Random, items: Sequence[T]) -> T:
    return items[int(rng.random() * len(items))]


def _account_week(
    rng: random.Random,
    plan: Plan,
    lo: float,
    hi: float,
    ramp: float,
    scale: float,
    out: list[tuple[float, dict[str, Any]]],
) -> None:
    """Append one account's calls for the week [lo, hi).

    One Poisson draw gives the week's count over all channels (a sum of Poissons is one);
    each call then picks its channel in proportion to the channel's rate.
    """
    a, surging = plan.account, plan.surging
    web = plan.web * (1 + 6 * ramp if surging else 1.0)
    usage = _usage_rate(plan, lo, hi, ramp)
    review = (2.5 * ramp + 0.05) if surging else 0.02
    in_deal = any(s < hi and e > lo for s, e in plan.deals)
    sales = ((1.5 if in_deal else 0.0) + (0.3 if a.tier == 1 else 0.0)) * (1 + (a.tier == 1))
    cum = (web, web + usage, web + usage + review, web + usage + review + plan.ads)
    total = cum[-1] + sales
    for _ in range(poisson(rng, total * scale)):
        at, r = _when(rng, lo, hi), rng.random() * total
        if r < cum[0]:
            hot = rng.random() < (0.12 + (0.5 * ramp if surging else 0.0))
            out.append(_page(rng, plan, at, _HOT_PAGES if hot else _PAGES))
        elif r < cum[1]:
            out.append(_known(rng, plan, at, _USAGE.pick(rng), {}))
        elif r < cum[2]:
            props = {"provider": "g2", "activity": _pick(rng, _REVIEW), "domain": a.domain}
            out.append(_anon(rng, plan, at, "Review Site Activity", props))
        elif r < cum[3]:
            event = "Ad Clicked" if rng.random() < 0.06 else "Ad Impression"
            props = {"platform": "linkedin", "campaign": f"FY27 Tier {a.tier}", "domain": a.domain}
            out.append(_anon(rng, plan, at, event, props))
        else:
            props = {"owner_id": a.owner_id, "channel": "outreach"}
            out.append(_known(rng, plan, at, _SALES.pick(rng), props))
    _exact(rng, plan, lo, hi, out)


def _usage_rate(plan: Plan, lo: float, hi: float, ramp: float) -> float:
    """Product calls a week: by size, fading before a churn, growing with an expansion."""
    if plan.usage is None or not (plan.usage[0] < hi and plan.usage[1] > lo):
        return 0.0
    rate, end = 6.0 * plan.size, plan.usage[1]
    if plan.account.pattern == "churning":
        horizon = end if end != float("inf") else hi + 8 * WEEK
        rate *= max(0.1, min(1.0, (horizon - lo) / (20 * WEEK)))
    elif plan.account.pattern == "expanding":
        rate *= 1 + 3 * ramp
    return rate


def _exact(
    rng: random.Random,
    plan: Plan,
    lo: float,
    hi: float,
    out: list[tuple[float, dict[str, Any]]],
) -> None:
    """Calls at known moments: support tickets, workspace created and deleted."""
    a = plan.account
    for at, event, props, contact in plan.tickets:
        if lo <= at < hi:
            ident = sc.who(contact, plan.visitors[0])
            out.append((at, sc.track(rng, at, event, ident, a.group_id, props)))
    if plan.usage is not None:
        for at, event in ((plan.usage[0], "Account Created"), (plan.usage[1], "Account Deleted")):
            if lo <= at < hi:
                moment = at + 3600 * 10
                out.append(_known(rng, plan, moment, event, {"account_name": a.name}))


def _page(
    rng: random.Random, plan: Plan, at: float, pages: Weighted[tuple[str, str]]
) -> tuple[float, dict[str, Any]]:
    contact = _pick(rng, plan.contacts) if plan.contacts and rng.random() < 0.4 else None
    ident = sc.who(contact, _pick(rng, plan.visitors))
    group = plan.account.group_id if contact else None
    return at, sc.page(rng, at, ident, group, plan.ip, pages.pick(rng))


def _known(
    rng: random.Random, plan: Plan, at: float, event: str, props: dict[str, Any]
) -> tuple[float, dict[str, Any]]:
    contact = _pick(rng, plan.contacts) if plan.contacts else None
    ident = sc.who(contact, plan.visitors[0])
    return at, sc.track(rng, at, event, ident, plan.account.group_id, props)


def _anon(
    rng: random.Random, plan: Plan, at: float, event: str, props: dict[str, Any]
) -> tuple[float, dict[str, Any]]:
    ident = {"anonymousId": plan.visitors[-1]}
    return at, sc.track(rng, at, event, ident, plan.account.group_id, props)


class FirstSightings:
    """Puts an identify before a user's first call and a group before an account's first."""

    def __init__(self, world: World, plans: list[Plan]) -> None:
        self.world = world
        self.accounts = {p.account.group_id: p.account for p in plans}
        self.users = {c.user_id: c for p in plans for c in p.contacts}
        self.seen: set[str] = set()

    def add(
        self, rng: random.Random, calls: list[tuple[float, dict[str, Any]]]
    ) -> list[tuple[float, dict[str, Any]]]:
        out: list[tuple[float, dict[str, Any]]] = []
        seen = self.seen
        for at, call in calls:
            user = call.get("userId")
            if user and user not in seen:
                seen.add(user)
                contact = self.users[user]
                company = self.world.accounts[contact.account].name
                out.append((at, sc.identify(rng, at, contact, company)))
            group = call.get("context", {}).get("groupId")
            if group and group not in seen:
                seen.add(group)
                ident: dict[str, str] = {k: call[k] for k in ("userId", "anonymousId") if k in call}
                out.append((at, sc.group(rng, at, ident, self.accounts[group])))
            out.append((at, call))
        return out
