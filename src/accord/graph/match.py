"""Lead-to-account matching: exact keys first, fuzzy names only behind blocking.

`Matcher.build(accounts)` indexes accounts once (normalized domains, brand labels, names);
`match(lead)` applies the rules in `graph.rules` and returns the account, the rule, a
calibrated confidence and the candidates considered. The same matcher serves imports,
routing and `accord match`, so they always agree.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from accord.graph import personal_email
from accord.graph.calibration import Calibration, shipped
from accord.graph.candidates import similarity
from accord.graph.domains import Domain, email_domain
from accord.graph.index import AccountIndex
from accord.graph.names import normalize_name
from accord.graph.rules import NAME_AGREES, Decision, decide, view_of

RESULT_CACHE = 200_000  # decisions repeat (one per account and rule): share their results
PARALLEL_MIN = 20_000  # below this many leads, one process is faster than forking


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

    def __init__(self, calibration: Calibration | None = None) -> None:
        self._index = AccountIndex()
        self._calibration = calibration if calibration is not None else shipped()
        self._results: dict[Decision, MatchResult] = {}
        self._fast: dict[tuple[str, bool, float, bool], MatchResult] = {}

    @classmethod
    def build(
        cls, accounts: Iterable[AccountRecord], calibration: Calibration | None = None
    ) -> Matcher:
        """Index every account (ids must be unique; a repeated id keeps the last record)."""
        matcher = cls(calibration)
        was_enabled = gc.isenabled()
        gc.disable()  # indexing allocates millions of small objects and none are garbage
        try:
            for account in accounts:
                matcher.add(account)
        finally:
            if was_enabled:
                gc.enable()
        return matcher

    def __len__(self) -> int:
        return len(self._index.accounts)

    def add(self, account: AccountRecord) -> None:
        """Index (or re-index) one account incrementally."""
        self._index.add(
            account.id, account.name, account.domains, account.country, account.parent_id
        )

    def remove(self, account_id: str) -> None:
        """Forget one account (no-op when it is not indexed)."""
        self._index.remove(account_id)

    def match(self, lead: LeadRecord) -> MatchResult:
        """The account for one lead, or None with the reason and the candidates."""
        if lead.email:
            dom = email_domain(lead.email)
            if dom is not None:
                owners = self._index.by_domain.get(dom.registrable)
                if owners is not None and len(owners) == 1:
                    return self._single_owner(owners[0], dom, lead.company)
        view = view_of(lead.email, lead.company, lead.country, lead.website)
        return self._result(decide(self._index, view))

    def _single_owner(self, account_id: str, dom: Domain, company: str | None) -> MatchResult:
        """The exact path: an e-mail domain one account owns (same answer as `decide`)."""
        raw = 1.0
        if company and company.strip():
            key = normalize_name(company)
            if key.compact:
                agree = similarity(key, self._index.accounts[account_id].key)
                raw = 1.0 if agree >= NAME_AGREES else 0.9
        personal = personal_email.kind(dom.host, dom.registrable) is not None
        fast_key = (account_id, dom.is_subdomain, raw, personal)
        result = self._fast.get(fast_key)
        if result is None:
            rule = "email_subdomain" if dom.is_subdomain else "email_domain"
            context = "personal" if personal else "corporate"
            confidence = self._calibration.confidence(rule, context, raw)
            result = MatchResult(account_id, confidence, rule, (Candidate(account_id, 1.0, rule),))
            if len(self._fast) >= RESULT_CACHE:
                self._fast.clear()
            self._fast[fast_key] = result
        return result

    def decide(self, lead: LeadRecord) -> Decision:
        """The raw decision before calibration (the bench fits calibration on these)."""
        view = view_of(lead.email, lead.company, lead.country, lead.website)
        return decide(self._index, view)

    def match_many(
        self, leads: Sequence[LeadRecord], processes: int | None = None
    ) -> list[MatchResult]:
        """Match many leads in order; `processes` > 1 forks workers for big inputs."""
        if not processes or processes <= 1 or len(leads) < PARALLEL_MIN:
            return [self.match(lead) for lead in leads]
        return _match_parallel(self, leads, processes)

    def _result(self, d: Decision) -> MatchResult:
        candidates = tuple(Candidate(s.account_id, round(s.score, 4), d.rule) for s in d.candidates)
        if d.account_id is None:
            return MatchResult(None, 0.0, d.rule, candidates)
        confidence = self._calibration.confidence(d.rule, d.context, d.raw)
        return MatchResult(d.account_id, confidence, d.rule, candidates)


_WORKER: Matcher | None = None


def _match_chunk(bounds: tuple[int, int]) -> list[MatchResult]:
    assert _WORKER is not None
    assert _WORKER_LEADS is not None
    start, stop = bounds
    return [_WORKER.match(lead) for lead in _WORKER_LEADS[start:stop]]


_WORKER_LEADS: Sequence[LeadRecord] | None = None


def _match_parallel(
    matcher: Matcher, leads: Sequence[LeadRecord], processes: int
) -> list[MatchResult]:
    """Fork workers that inherit the index and the leads; only results cross processes."""
    global _WORKER, _WORKER_LEADS
    _WORKER, _WORKER_LEADS = matcher, leads
    step = max(1_000, len(leads) // (processes * 8))
    chunks = [(i, min(i + step, len(leads))) for i in range(0, len(leads), step)]
    try:
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            parts = pool.map(_match_chunk, chunks)
    finally:
        _WORKER, _WORKER_LEADS = None, None
    return [result for part in parts for result in part]
