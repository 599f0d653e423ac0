"""Domain normalization: any URL, host or e-mail address → its registrable domain.

Public-suffix aware through tldextract's bundled suffix list (never fetched from the network):
`https://EU.Shop.Acme.co.uk:8443/path` → `acme.co.uk`, `bob@mail.acme.com` → `acme.com`.
Results are cached because the same domains repeat across millions of leads.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import NamedTuple

import tldextract

_EXTRACT = tldextract.TLDExtract(suffix_list_urls=(), include_psl_private_domains=True)


class Domain(NamedTuple):
    """A normalized host: the full host, its registrable domain and the brand label."""

    host: str  # eu.shop.acme.co.uk
    registrable: str  # acme.co.uk
    brand: str  # acme
    suffix: str  # co.uk
    is_subdomain: bool  # labels in front of the registrable domain (other than `www`)


def _host_of(raw: str) -> str:
    """The bare host of a URL, host name or e-mail address (lower case, no port or path)."""
    text = raw.strip().lower()
    if "@" in text:
        text = text.rpartition("@")[2]
    scheme_end = text.find("://")
    if scheme_end >= 0:
        text = text[scheme_end + 3 :]
    for stop in "/?#":
        cut = text.find(stop)
        if cut >= 0:
            text = text[:cut]
    if "@" in text:  # user:password@host in a URL
        text = text.rpartition("@")[2]
    text = text.partition(":")[0].strip().strip(".")
    return text


@functools.lru_cache(maxsize=1 << 18)
def parse_domain(raw: str) -> Domain | None:
    """Normalize `raw` (URL, host or e-mail) into a `Domain`; None when it has no public suffix."""
    host = _host_of(raw)
    if not host or " " in host:
        return None
    ext = _EXTRACT(host)
    if not ext.suffix or not ext.domain:
        return None
    registrable = f"{ext.domain}.{ext.suffix}"
    sub = host != registrable and host != "www." + registrable
    return Domain(host, registrable, ext.domain, ext.suffix, sub)


_PLAIN_HOST = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+")


@functools.cache
def suffix_parents() -> frozenset[str]:
    """Every name with a public-suffix rule somewhere below it (`amazonaws.com` for
    `*.compute.amazonaws.com`): under those names only the suffix list can tell."""
    parents: set[str] = set()
    for rule in _EXTRACT.tlds:
        labels = rule.lstrip("*.!").split(".")
        parents.update(".".join(labels[i:]) for i in range(1, len(labels)))
    return frozenset(parents)


def known_host(host: str, known: Mapping[str, Domain]) -> Domain | None:
    """`host` (lower-case, plain) under a registrable domain of `known`, found by walking its
    labels instead of the suffix list; None when no known domain holds it or the list might
    disagree (a suffix rule below that domain)."""
    if _PLAIN_HOST.fullmatch(host) is None:
        return None
    dot = -1
    while True:
        tail = host[dot + 1 :]
        dom = known.get(tail)
        if dom is not None:
            if dot < 0:
                return dom
            if tail in suffix_parents():
                return None
            sub = dot != 3 or not host.startswith("www.")
            return Domain(host, tail, dom.brand, dom.suffix, sub)
        dot = host.find(".", dot + 1)
        if dot < 0:
            return None


def registrable_domain(raw: str | None) -> str | None:
    """`eu.shop.acme.co.uk`, `https://www.ACME.co.uk/x`, `bob@acme.co.uk` → `acme.co.uk`."""
    if not raw:
        return None
    parsed = parse_domain(raw)
    return parsed.registrable if parsed else None


def brand_label(raw: str | None) -> str | None:
    """The label in front of the public suffix: `acme.de` and `acme.com` both give `acme`."""
    if not raw:
        return None
    parsed = parse_domain(raw)
    return parsed.brand if parsed else None


def email_domain(email: str | None) -> Domain | None:
    """The domain of an e-mail address; None when there is no `@` or no public suffix."""
    if not email or "@" not in email:
        return None
    return parse_domain(email.rpartition("@")[2])


def split_domains(cell: str | None) -> list[str]:
    """Split a cell holding several domains or URLs (`;`, `,`, `|` or whitespace separated)."""
    if not cell:
        return []
    for sep in ",|\n\t ":
        cell = cell.replace(sep, ";")
    return [part for part in (p.strip() for p in cell.split(";")) if part]
