"""The seeded world model: deterministic, internally consistent, realistic in its mix."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from accord.demo.generator import generate
from accord.demo.model import DemoConfig, SalesforceIds, World, with_checksum
from tests.unit.demo.conftest import SMALL


@pytest.fixture(scope="module")
def default_world() -> World:
    return generate(DemoConfig())


def test_with_checksum_matches_salesforce_suffix() -> None:
    # The documented example of Salesforce's 15 -> 18 character conversion.
    assert with_checksum("001A0000006Vm9r") == "001A0000006Vm9rIAC"


def test_salesforce_ids_are_unique_and_prefixed() -> None:
    ids = SalesforceIds(7)
    made = [ids.next("003") for _ in range(50_000)]
    assert len(set(made)) == len(made)
    assert all(len(i) == 18 and i.startswith("003") for i in made)
    assert all(with_checksum(i[:15]) == i for i in made[:1000])


def test_generate_is_deterministic_for_a_seed() -> None:
    a, b = generate(SMALL), generate(SMALL)
    assert [x.sfid for x in a.accounts] == [x.sfid for x in b.accounts]
    assert [(c.email, c.title) for c in a.contacts] == [(c.email, c.title) for c in b.contacts]
    assert [(x.company, x.email) for x in a.leads] == [(x.company, x.email) for x in b.leads]
    other = generate(replace(SMALL, seed=12))
    assert [x.name for x in other.accounts] != [x.name for x in a.accounts]


def test_generate_links_every_record_to_an_existing_account() -> None:
    world = generate(SMALL)
    n = len(world.accounts)
    assert all(0 <= c.account < n for c in world.contacts)
    assert all(0 <= o.account < n for o in world.opportunities)
    assert all(0 <= c.account < n for c in world.cases)
    assert all(
        a.parent is None or world.accounts[a.parent].kind == "company" for a in world.accounts
    )
    for case in world.cases:
        assert case.contact is None or world.contacts[case.contact].account == case.account


def test_generate_has_default_volumes(default_world: World) -> None:
    world = default_world
    assert len(world.accounts) == 2000
    assert 18_000 <= len(world.contacts) <= 22_000
    assert len(world.leads) == 5000
    assert len(world.opportunities) > 1000


def test_generate_mixes_lifecycles_kinds_and_tiers(default_world: World) -> None:
    world = default_world
    lifecycles = Counter(a.lifecycle for a in world.accounts)
    assert set(lifecycles) == {"prospect", "opportunity", "customer", "churned"}
    kinds = Counter(a.kind for a in world.accounts)
    assert min(kinds[k] for k in ("subsidiary", "duplicate", "shared_domain")) > 0
    tiers = Counter(a.tier for a in world.accounts)
    assert tiers[1] < tiers[2] < tiers[3]
    patterns = Counter(a.pattern for a in world.accounts)
    assert min(patterns[p] for p in ("surging", "churning", "expanding", "dormant")) > 0


def test_generate_writes_websites_in_many_forms(default_world: World) -> None:
    websites = [a.website for a in default_world.accounts]
    assert any(w.startswith("https://www.") for w in websites)
    assert any(w and w == w.upper() and "." in w for w in websites)
    assert any(w.count("/") >= 3 and not w.endswith(".com/") for w in websites)
    assert any("://" not in w and w for w in websites)


def test_generate_shares_domains_only_where_intended(default_world: World) -> None:
    world = default_world
    owners: dict[str, list[int]] = {}
    for i, a in enumerate(world.accounts):
        owners.setdefault(a.domain, []).append(i)
    for members in owners.values():
        kinds = {world.accounts[i].kind for i in members}
        assert len(members) == 1 or kinds & {"subsidiary", "duplicate", "shared_domain"}


def test_generate_leads_cover_every_variant(default_world: World) -> None:
    world = default_world
    variants = Counter(x.variant for x in world.leads)
    for v in ("corporate", "subdomain", "personal", "typo", "website", "unknown", "no_company"):
        assert variants[v] > 0, v
    names = {a.core.lower() for a in world.accounts}
    unknown = [x for x in world.leads if x.variant == "unknown"]
    assert all(x.expected is None and x.company.lower() not in names for x in unknown)
    typos = [x for x in world.leads if x.variant == "typo"]
    accounts = world.accounts
    assert sum(x.company != accounts[x.expected or 0].name for x in typos) > len(typos) * 0.8


def test_generate_titles_include_non_english() -> None:
    titles = {c.title for c in generate(SMALL).contacts}
    assert {"Geschäftsführer", "Directeur Commercial"} & titles


def test_opportunity_histories_follow_the_stage_order() -> None:
    world = generate(SMALL)
    for o in world.opportunities:
        times = [at for _, at, _ in o.history]
        assert times == sorted(times)
        assert o.history[-1][0] == o.stage
        assert o.is_closed == (o.stage in ("Closed Won", "Closed Lost"))
        assert o.is_won == (o.stage == "Closed Won")


def test_generate_unknown_companies_share_no_name_or_domain(default_world: World) -> None:
    world = default_world
    domains = {a.domain for a in world.accounts}
    heads = {a.core.split()[0].lower() for a in world.accounts}
    unknown = [x for x in world.leads if x.variant == "unknown"]
    assert all(x.email.split("@")[1] not in domains for x in unknown)
    assert all(x.company.split()[0].lower() not in heads for x in unknown)
    outsiders = [t for t in world.targets if t.expected is None]
    assert outsiders
    assert all(t.domain not in domains for t in outsiders)
