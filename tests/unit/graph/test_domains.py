"""Domain normalization: URLs, e-mails, subdomains, public suffixes, brand labels."""

from __future__ import annotations

import pytest

from accord.graph.domains import (
    brand_label,
    email_domain,
    known_host,
    parse_domain,
    registrable_domain,
    split_domains,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("acme.com", "acme.com"),
        ("ACME.COM.", "acme.com"),
        ("www.acme.com", "acme.com"),
        ("https://www.Acme.com:8443/about?x=1#top", "acme.com"),
        ("http://user:pw@shop.acme.com/", "acme.com"),
        ("eu.shop.acme.co.uk", "acme.co.uk"),
        ("bob@EU.Mail.Acme.co.uk", "acme.co.uk"),
        ("acme.com.au", "acme.com.au"),
        ("foo.github.io", "foo.github.io"),
    ],
)
def test_registrable_domain_normalizes_urls_hosts_and_emails(raw: str, expected: str) -> None:
    assert registrable_domain(raw) == expected


@pytest.mark.parametrize("raw", ["", "localhost", "acme", "1.2.3.4", "not a domain", None])
def test_registrable_domain_rejects_hosts_without_public_suffix(raw: str | None) -> None:
    assert registrable_domain(raw) is None


def test_brand_label_is_shared_by_regional_domains() -> None:
    assert brand_label("acme.de") == brand_label("https://www.acme.com") == "acme"
    assert brand_label("eu.shop.acme.co.uk") == "acme"


def test_email_domain_marks_subdomains_but_not_www() -> None:
    sub = email_domain("bob@eu.acme.com")
    assert sub is not None
    assert sub.is_subdomain
    assert sub.registrable == "acme.com"
    plain = parse_domain("www.acme.com")
    assert plain is not None
    assert not plain.is_subdomain
    assert email_domain("no-at-sign.acme.com") is None


def test_split_domains_reads_several_domains_in_one_cell() -> None:
    assert split_domains("acme.com; https://acme.de/x ,acme.fr") == [
        "acme.com",
        "https://acme.de/x",
        "acme.fr",
    ]
    assert split_domains("") == []


def test_known_host_agrees_with_the_suffix_list_under_known_domains() -> None:
    known = {}
    for name in ("acme.com", "acme.co.uk", "amazonaws.com"):
        parsed = parse_domain(name)
        assert parsed is not None
        known[name] = parsed
    for host in ("acme.com", "mail.acme.com", "www.acme.com", "eu.shop.acme.co.uk"):
        assert known_host(host, known) == parse_domain(host)
    assert known_host("other.com", known) is None
    assert known_host("co.uk", known) is None
    # a suffix rule lies below amazonaws.com: only the suffix list can answer
    assert known_host("x.compute.amazonaws.com", known) is None
