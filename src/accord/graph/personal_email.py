"""Personal e-mail detection: free-mail and disposable domains (lists shipped as package data).

The lists hold some company domains too (facebook.com, charter.com, frontier.com): the matcher
asks `kind()` only for domains no account owns, so an account's own domain always wins.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Literal

PersonalKind = Literal["free", "disposable"]


def _load(name: str) -> frozenset[str]:
    text = resources.files("accord").joinpath("data", name).read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


@functools.cache
def free_domains() -> frozenset[str]:
    """Free-mail provider domains (gmail.com, att.net, web.de, ...)."""
    return _load("freemail.txt")


@functools.cache
def disposable_domains() -> frozenset[str]:
    """Disposable / throw-away mailbox domains."""
    return _load("disposable.txt")


@functools.lru_cache(maxsize=1 << 16)
def kind(host: str, registrable: str | None = None) -> PersonalKind | None:
    """`free`, `disposable` or None for a host (and its registrable domain, when given)."""
    free, disposable = free_domains(), disposable_domains()
    for name in (host, registrable):
        if not name:
            continue
        if name in free:
            return "free"
        if name in disposable:
            return "disposable"
    return None


def is_personal(domain: str) -> bool:
    """True when `domain` is a free-mail or disposable domain."""
    return kind(domain.strip().lower()) is not None
