"""Target account tiers, the target list file rows, and a third-party intent feed."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from accord.demo.model import Account, IntentRow, TargetRow, World
from accord.demo.people import Outsiders

NAMED_LIST = "FY27 Named Accounts"
SCALE_LIST = "FY27 Scale ABM"
TIER_SHARES = ((1, 0.015), (2, 0.05), (3, 0.12))

INTENT_TOPICS = (
    "Account-Based Marketing",
    "Revenue Operations",
    "Customer Data Platform",
    "Sales Intelligence",
    "Intent Data",
    "Marketing Automation",
    "Lead Routing",
    "Data Quality",
    "Predictive Analytics",
    "Customer Success Software",
)


def assign_tiers(rng: random.Random, world: World) -> None:
    """Pick tier 1, 2 and 3 accounts: big firms and warm prospects rank first."""
    pool = [
        i
        for i, a in enumerate(world.accounts)
        if a.kind in ("company", "subsidiary") and a.lifecycle != "churned"
    ]
    pool.sort(key=lambda i: -_target_score(rng, world.accounts[i]))
    at = 0
    for tier, share in TIER_SHARES:
        count = max(1, round(share * len(world.accounts)))
        for i in pool[at : at + count]:
            world.accounts[i].tier = tier
        at += count


def _target_score(rng: random.Random, account: Account) -> float:
    warm = 1.5 if account.lifecycle == "opportunity" or account.pattern == "surging" else 0.0
    return math.log(account.employees) + warm + rng.gauss(0, 1.5)


def add_targets(rng: random.Random, world: World) -> None:
    """Rows of targets.csv: each target account by domain (in any URL form) or by name."""
    tiered = [(i, a) for i, a in enumerate(world.accounts) if a.tier is not None]
    for index, account in tiered:
        tier = account.tier or 3
        list_name = NAMED_LIST if tier < 3 else SCALE_LIST
        by_name = account.kind == "subsidiary" or rng.random() < 0.35
        domain = "" if by_name else _domain_form(rng, account.domain)
        name = rng.choice((account.name, account.core)) if by_name else ""
        world.targets.append(TargetRow(list_name, tier, domain, name, index))
    outsiders = Outsiders(world)
    for n in range(max(3, len(tiered) // 60)):
        core, domain = outsiders.make(rng)
        domain = domain if n % 2 else ""
        world.targets.append(TargetRow(SCALE_LIST, 3, domain, "" if domain else core, None))
    rng.shuffle(world.targets)


def _domain_form(rng: random.Random, domain: str) -> str:
    return rng.choice((domain, f"https://www.{domain}/", domain.upper(), f"www.{domain}"))


def add_intent(rng: random.Random, world: World) -> None:
    """Weekly topic scores: surging accounts climb for six weeks; others show noise."""
    as_of = world.config.as_of
    monday = as_of - timedelta(days=as_of.weekday())
    for index, account in enumerate(world.accounts):
        if account.kind == "duplicate":
            continue
        if account.pattern == "surging":
            topics = rng.sample(INTENT_TOPICS, rng.randint(2, 4))
            for step in range(6):
                for topic in topics:
                    score = min(99, 50 + step * 8 + rng.randint(-5, 10))
                    _intent(rng, world, index, topic, score, monday - timedelta(weeks=5 - step))
        elif rng.random() < 0.06:
            for _ in range(rng.randint(1, 3)):
                week = monday - timedelta(weeks=rng.randint(0, world.config.months * 4))
                _intent(rng, world, index, rng.choice(INTENT_TOPICS), rng.randint(15, 60), week)
    outsiders = Outsiders(world)
    for _ in range(max(5, len(world.accounts) // 40)):
        core, domain = outsiders.make(rng)
        week = monday - timedelta(weeks=rng.randint(0, 8))
        row = IntentRow(
            core,
            domain,
            rng.choice(INTENT_TOPICS),
            rng.randint(20, 95),
            week,
            None,
        )
        world.intent.append(row)


def _intent(
    rng: random.Random, world: World, index: int, topic: str, score: int, week: date
) -> None:
    account = world.accounts[index]
    domain = account.domain if rng.random() < 0.9 else ""
    world.intent.append(IntentRow(account.name, domain, topic, score, week, index))
