"""Free-mail and disposable domains, and the company domains that sit on those lists."""

from __future__ import annotations

from accord.graph import personal_email
from accord.graph.match import AccountRecord, LeadRecord, Matcher


def test_kind_knows_free_and_disposable_domains() -> None:
    assert personal_email.kind("gmail.com") == "free"
    assert personal_email.kind("att.net") == "free"
    assert personal_email.kind("0-180.com") == "disposable"
    assert personal_email.kind("att.com") is None
    assert personal_email.is_personal("GMAIL.COM")


def test_lists_are_shipped_deduplicated() -> None:
    free, disposable = personal_email.free_domains(), personal_email.disposable_domains()
    assert len(free) > 13_000
    assert len(disposable) > 80_000
    assert not free & disposable


def test_account_domain_wins_over_the_freemail_list() -> None:
    """facebook.com is on the free-mail list, but a lead there belongs to Facebook."""
    assert personal_email.kind("facebook.com") == "free"
    matcher = Matcher.build([AccountRecord("fb", "Facebook, Inc.", ("facebook.com",))])
    result = matcher.match(LeadRecord("l1", email="mark@facebook.com"))
    assert (result.account_id, result.rule) == ("fb", "email_domain")


def test_isp_domain_is_personal_but_corporate_domain_is_not() -> None:
    matcher = Matcher.build([AccountRecord("att", "AT&T Inc.", ("att.com",))])
    assert matcher.match(LeadRecord("l1", email="x@att.com")).account_id == "att"
    isp = matcher.match(LeadRecord("l2", email="x@att.net"))
    assert (isp.account_id, isp.rule) == (None, "personal_email")
    named = matcher.match(LeadRecord("l3", email="x@att.net", company="AT and T"))
    assert (named.account_id, named.rule) == ("att", "name_exact")
