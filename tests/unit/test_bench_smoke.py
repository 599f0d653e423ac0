"""The benchmark data generator and the runner's result reading (no timing asserts)."""

from __future__ import annotations

from bench import figure
from bench.__main__ import figures_of
from bench.synthetic import EXACT_MIX, MIXED_MIX, generate_accounts, generate_leads


def test_generate_accounts_is_deterministic_for_a_seed() -> None:
    assert generate_accounts(2_000, seed=5) == generate_accounts(2_000, seed=5)
    assert generate_accounts(2_000, seed=5) != generate_accounts(2_000, seed=6)


def test_generate_accounts_has_requested_size_unique_ids_and_names() -> None:
    accounts = generate_accounts(3_000, seed=1)
    assert len(accounts) == 3_000
    assert len({a.id for a in accounts}) == 3_000
    assert len({a.name for a in accounts}) == 3_000
    assert all(a.domains for a in accounts)


def test_generate_accounts_includes_several_shared_and_parent_child_domains() -> None:
    accounts = generate_accounts(5_000, seed=1)
    ids = {a.id for a in accounts}
    owners: dict[str, int] = {}
    for a in accounts:
        for d in a.domains:
            owners[d] = owners.get(d, 0) + 1
    assert any(len(a.domains) > 1 for a in accounts)
    assert any(n > 1 for n in owners.values())
    children = [a for a in accounts if a.parent_id]
    assert children
    assert all(a.parent_id in ids for a in children)


def test_generate_leads_is_deterministic_and_sized() -> None:
    accounts = generate_accounts(1_000, seed=1)
    first = generate_leads(accounts, 5_000, seed=9)
    assert first == generate_leads(accounts, 5_000, seed=9)
    assert len(first) == 5_000
    assert len({x.lead.id for x in first}) == 5_000
    assert {x.kind for x in first} == set(MIXED_MIX)


def test_generate_leads_labels_point_at_real_accounts() -> None:
    accounts = generate_accounts(1_000, seed=1)
    by_id = {a.id: a for a in accounts}
    leads = generate_leads(accounts, 2_000, seed=3, mix=EXACT_MIX)
    assert {x.kind for x in leads} <= set(EXACT_MIX)
    for x in leads:
        assert x.expected is not None
        domain = x.lead.email.rsplit("@", 1)[1]
        assert any(domain == d or domain.endswith("." + d) for d in by_id[x.expected].domains)


def test_generate_leads_unknown_companies_own_no_account_domain() -> None:
    accounts = generate_accounts(1_000, seed=1)
    domains = {d for a in accounts for d in a.domains}
    unknown = [x for x in generate_leads(accounts, 3_000, seed=4) if x.kind == "unknown"]
    assert unknown
    assert all(x.expected is None for x in unknown)
    assert all(x.lead.email.rsplit("@", 1)[1] not in domains for x in unknown)


def test_figures_of_compares_targets_in_each_accepted_shape() -> None:
    listed = figures_of({"figures": [figure("rate", 5.0, target=10.0), figure("info", 1.0)]})
    assert [f.get("passed") for f in listed] == [False, None]
    mapped = figures_of({"figures": {"p99": {"value": 3.0, "target": "<= 10"}}})
    assert mapped[0]["passed"] is True
    assert mapped[0]["op"] == "<="
    bare = figures_of({"name": "x", "sizes": {"accounts": 10}})
    assert bare == [{"name": "sizes.accounts", "value": 10, "unit": ""}]
