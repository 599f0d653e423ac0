"""The matcher: rules in order, shared domains, families, near-tie refusal, incremental index."""

from __future__ import annotations

import pytest

from accord.graph.match import AccountRecord, LeadRecord, Matcher

ACCOUNTS = [
    AccountRecord("dis", "The Walt Disney Company", ("thewaltdisneycompany.com",), "US"),
    AccountRecord("fox", "Twenty-First Century Fox", ("https://www.thewaltdisneycompany.com/",)),
    AccountRecord("acme", "Acme Corp", ("acme.com; https://www.acme.co.uk/about",), "US"),
    AccountRecord("acme-cloud", "Acme Cloud", ("acme.com",), parent_id="acme"),
    AccountRecord("globex", "Globex GmbH", ("globex.de",), "DE"),
    AccountRecord("initech-us", "Initech Inc", ("initech.com",), "US"),
    AccountRecord("initech-de", "Initech GmbH", ("initech.de",), "DE"),
    AccountRecord("umbrella", "Umbrella Biotech Partners", ("umbrella.bio",)),
    AccountRecord("umbrella2", "Umbrella Biotech Partner", ("umbrella2.bio",)),
]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher.build(ACCOUNTS)


def lead(email: str | None = None, company: str | None = None, **kw: str) -> LeadRecord:
    return LeadRecord("l", email=email, company=company, **kw)


def test_match_links_exact_and_subdomain_emails(matcher: Matcher) -> None:
    r = matcher.match(lead("Bob@GLOBEX.DE"))
    assert (r.account_id, r.rule) == ("globex", "email_domain")
    assert r.confidence >= 0.95
    sub = matcher.match(lead("bob@eu.mail.globex.de"))
    assert (sub.account_id, sub.rule) == ("globex", "email_subdomain")


def test_match_uses_every_domain_of_an_account_and_website_urls(matcher: Matcher) -> None:
    assert matcher.match(lead("x@acme.co.uk", "Acme")).account_id == "acme"
    web = matcher.match(lead("x@gmail.com", website="HTTPS://WWW.GLOBEX.DE/impressum"))
    assert (web.account_id, web.rule) == ("globex", "website_domain")


def test_match_breaks_a_shared_domain_with_the_company_name(matcher: Matcher) -> None:
    fox = matcher.match(lead("x@thewaltdisneycompany.com", "Twenty First Century Fox"))
    assert (fox.account_id, fox.rule) == ("fox", "email_domain_name_tiebreak")
    dis = matcher.match(lead("x@thewaltdisneycompany.com", "Walt Disney"))
    assert dis.account_id == "dis"


def test_match_refuses_a_shared_domain_without_a_name(matcher: Matcher) -> None:
    r = matcher.match(lead("x@thewaltdisneycompany.com"))
    assert (r.account_id, r.rule) == (None, "ambiguous")
    assert {c.account_id for c in r.candidates} == {"dis", "fox"}


def test_match_picks_the_parent_within_one_family(matcher: Matcher) -> None:
    parent = matcher.match(lead("x@acme.com"))
    assert (parent.account_id, parent.rule) == ("acme", "email_domain_parent")
    child = matcher.match(lead("x@acme.com", "Acme Cloud"))
    assert (child.account_id, child.rule) == ("acme-cloud", "email_domain_name_tiebreak")


def test_match_regional_domain_needs_the_name(matcher: Matcher) -> None:
    r = matcher.match(lead("x@acme.fr", "ACME SAS"))
    assert (r.account_id, r.rule) == ("acme", "regional_domain")
    unnamed = matcher.match(lead("x@acme.fr"))
    assert unnamed.account_id is None
    other = matcher.match(lead("x@acme.fr", "Acme Dental"))
    assert other.account_id is None


def test_match_personal_email_falls_back_to_the_company(matcher: Matcher) -> None:
    assert matcher.match(lead("x@gmail.com", "Globex")).rule == "name_exact"
    typo = matcher.match(lead("x@yahoo.com", "Globexx"))
    assert (typo.account_id, typo.rule) == ("globex", "name_fuzzy")
    none = matcher.match(lead("x@mailinator.com"))
    assert (none.account_id, none.rule) == (None, "personal_email")


def test_match_uses_country_to_pick_between_equal_names(matcher: Matcher) -> None:
    assert matcher.match(lead(None, "Initech", country="de")).account_id == "initech-de"
    assert matcher.match(lead(None, "Initech", country="USA")).account_id == "initech-us"
    assert matcher.match(lead(None, "Initech")).rule == "ambiguous"


def test_match_refuses_near_ties(matcher: Matcher) -> None:
    r = matcher.match(lead(None, "Umbrella Biotech Partnrs"))
    assert (r.account_id, r.rule) == (None, "ambiguous")
    assert len(r.candidates) >= 2


def test_match_leaves_unknown_companies_unlinked(matcher: Matcher) -> None:
    assert matcher.match(lead("x@hooli.com", "Hooli")).rule == "no_candidate"
    assert matcher.match(lead()).rule == "no_input"
    assert matcher.match(lead(None, "Globex Plumbing")).account_id is None


def test_add_and_remove_update_the_index_incrementally() -> None:
    m = Matcher.build(ACCOUNTS[:2])
    assert m.match(lead("x@hooli.com")).account_id is None
    m.add(AccountRecord("hooli", "Hooli", ("hooli.com",)))
    assert m.match(lead("x@hooli.com")).account_id == "hooli"
    m.add(AccountRecord("hooli", "Hooli XYZ", ("hooli.xyz",)))  # re-index replaces
    assert m.match(lead("x@hooli.com")).account_id is None
    m.remove("hooli")
    assert m.match(lead("x@hooli.xyz")).account_id is None
    m.remove("missing")


def test_match_many_keeps_order_and_agrees_with_match(matcher: Matcher) -> None:
    leads = [lead("x@globex.de"), lead(None, "Acme"), lead("y@gmail.com")] * 10_000
    many = matcher.match_many(leads, processes=2)
    assert many == [matcher.match(x) for x in leads]


def test_match_exact_path_agrees_with_the_full_rules(matcher: Matcher) -> None:
    leads = [
        lead("x@globex.de"),
        lead("x@eu.globex.de", "Globex"),
        lead("x@globex.de", "Something Else Entirely"),
        lead("x@www.globex.de", "globex gmbh"),
    ]
    for x in leads:
        decision = matcher.decide(x)
        fast = matcher.match(x)
        assert (fast.account_id, fast.rule) == (decision.account_id, decision.rule)
        slow = Matcher.build(ACCOUNTS)._result(decision)
        assert fast == slow


SHORT_NAMES = [
    AccountRecord("oak", "Oakridge Analytics Inc.", ("oakridgeanalytics.com",), "US"),
    AccountRecord("walmart", "Walmart Inc.", ("walmart.com",), "US"),
    AccountRecord("berk", "Berkshire Hathaway", ("berkshirehathaway.com",), "US"),
]


@pytest.fixture(scope="module")
def short_names() -> Matcher:
    return Matcher.build(SHORT_NAMES)


def test_match_refuses_one_edit_from_a_short_name_without_evidence(short_names: Matcher) -> None:
    r = short_names.match(lead("x@gmail.com", "Oakbridge Analytics"))
    assert (r.account_id, r.rule) == (None, "no_candidate")
    assert [c.account_id for c in r.candidates] == ["oak"]
    assert short_names.match(lead("x@gmail.com", "Wolmart")).account_id is None


def test_match_links_a_typing_slip_in_a_short_name(short_names: Matcher) -> None:
    swapped = short_names.match(lead("x@gmail.com", "Walmrat"))
    assert (swapped.account_id, swapped.rule) == ("walmart", "name_fuzzy")
    assert short_names.match(lead(None, "Oakkridge Analytics")).account_id == "oak"


def test_match_links_a_keyboard_slip_in_a_short_name_at_a_lower_raw_score(
    short_names: Matcher,
) -> None:
    neighbour = short_names.match(lead("x@gmail.com", "Walmarr"))  # r sits next to t
    assert (neighbour.account_id, neighbour.rule) == ("walmart", "name_fuzzy")
    slip = short_names.decide(lead("x@gmail.com", "Walmarr")).raw
    assert slip < short_names.decide(lead("x@gmail.com", "Walmrat")).raw < 1.0
    assert short_names.match(lead(None, "Walmaert")).account_id == "walmart"


def test_match_refuses_a_dropped_letter_in_a_short_word(short_names: Matcher) -> None:
    assert short_names.match(lead("x@gmail.com", "Walmrt")).account_id is None
    assert short_names.match(lead(None, "Berkshire Hathway")).account_id == "berk"


def test_match_reads_the_company_name_in_a_personal_mailbox(short_names: Matcher) -> None:
    assert short_names.match(lead("x@gmail.com", "Wolmart")).account_id is None
    named = short_names.match(lead("walmart.buyer@gmail.com", "Wolmart"))
    assert (named.account_id, named.rule) == ("walmart", "name_fuzzy")


def test_match_links_one_edit_in_a_long_name_or_with_the_country(short_names: Matcher) -> None:
    assert short_names.match(lead(None, "Berkshire Hathawey")).account_id == "berk"
    agreed = short_names.match(lead("x@gmail.com", "Oakbridge Analytics", country="US"))
    assert agreed.account_id == "oak"


def test_match_refuses_a_close_name_on_the_leads_own_company_domain(short_names: Matcher) -> None:
    r = short_names.match(lead("x@berkshirehathawey.com", "Berkshire Hathawey"))
    assert (r.account_id, r.rule) == (None, "no_candidate")
    web = short_names.match(lead(None, "Berkshire Hathawey", website="berkshirehathawey.com"))
    assert web.account_id is None


def test_match_gives_an_exact_generic_name_a_lower_raw_score() -> None:
    m = Matcher.build([*SHORT_NAMES, AccountRecord("gs", "Global Solutions Inc", ("gs.example",))])
    generic = m.decide(lead("x@gmail.com", "Global Solutions"))
    assert (generic.account_id, generic.rule) == ("gs", "name_exact")
    assert generic.raw < m.decide(lead("x@gmail.com", "Berkshire Hathaway")).raw
