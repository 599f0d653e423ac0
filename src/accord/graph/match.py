"""Lead-to-account matching: exact keys first, fuzzy names only behind blocking.

INTERFACE (agreed between layers; the implementation fills in the bodies).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """What the matcher knows about an account."""

    id: str
    name: str
    domains: tuple[str, ...] = ()  # raw or normalized; URLs, upper case, `www.` allowed
    country: str | None = None
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class LeadRecord:
    """What the matcher is given about a lead, contact or visitor."""

    id: str
    email: str | None = None
    company: str | None = None
    country: str | None = None
    website: str | None = None


@dataclass(frozen=True, slots=True)
class Candidate:
    account_id: str
    score: float  # 0..1
    reason: str  # e.g. "email_domain", "name_fuzzy 0.93"


@dataclass(frozen=True, slots=True)
class MatchResult:
    """account_id is None when no account is safe to pick; `rule` says why."""

    account_id: str | None
    confidence: float  # 0..1, calibrated: links at c are right about c of the time
    rule: str  # email_domain, website_domain, name_exact, name_fuzzy, ambiguous, ...
    candidates: tuple[Candidate, ...] = field(default_factory=tuple)


class Matcher:
    """An index over accounts; `match` answers one lead, `match_many` many."""

    @classmethod
    def build(cls, accounts: Iterable[AccountRecord]) -> Matcher:
        raise NotImplementedError

    def add(self, account: AccountRecord) -> None:
        """Index (or re-index) one account incrementally."""
        raise NotImplementedError

    def remove(self, account_id: str) -> None:
        raise NotImplementedError

    def match(self, lead: LeadRecord) -> MatchResult:
        raise NotImplementedError

    def match_many(self, leads: Sequence[LeadRecord]) -> list[MatchResult]:
        raise NotImplementedError
