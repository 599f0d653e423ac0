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
from typing import NamedTuple

from accord.graph import personal_email
from accord.graph.calibration import Calibration, shipped
from accord.graph.candidates import similarity
from accord.graph.domains import Domain, known_host, parse_domain
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
        self._fast: dict[tuple[str, bool, float], MatchResult] = {}
        self._hosts: dict[str, _Host] = {}  # e-mail domain part as written → what it says
        self._owned: dict[tuple[object, ...], MatchResult] = {}  # shared-domain answers
        self._confidences: dict[tuple[str, str, float], float] = {}
        self._host_limit = RESULT_CACHE

    @classmethod
    def build(
        cls, accounts: Iterable[AccountRecord], calibration: Calibration | None = None
    ) -> Matcher:
        """Index every account (ids must be unique; a repeated id keeps the last record)."""
        matcher = cls(calibration)
        personal_email.kind("example.com")  # load the lists now, not on the first lead
        was_enabled = gc.isenabled()
        gc.disable()  # indexing allocates millions of small objects and none are garbage
        try:
            for account in accounts:
                matcher.add(account)
            matcher._prime()
        finally:
            if was_enabled:
                gc.enable()
        return matcher

    def __len__(self) -> int:
        return len(self._index.accounts)

    def add(self, account: AccountRecord) -> None:
        """Index (or re-index) one account incrementally."""
        self._forget_answers()
        self._index.add(
            account.id, account.name, account.domains, account.country, account.parent_id
        )

    def remove(self, account_id: str) -> None:
        """Forget one account (no-op when it is not indexed)."""
        self._forget_answers()
        self._index.remove(account_id)

    def _prime(self) -> None:
        """Answer every owned domain once now: a lead on one is then a single dict lookup."""
        self._host_limit = max(RESULT_CACHE, 2 * len(self._index.by_domain))
        for registrable in self._index.by_domain:
            self._host(registrable)

    def _forget_answers(self) -> None:
        if self._hosts or self._owned:
            self._hosts.clear()
            self._owned.clear()

    def match(self, lead: LeadRecord) -> MatchResult:
        """The account for one lead, or None with the reason and the candidates."""
        email = lead.email
        if email:
            at = email.rfind("@")
            if at >= 0:
                part = email[at + 1 :]
                host = self._hosts.get(part) or self._host(part)
                agreed = host.agreed
                if agreed is not None:  # the exact path: one account owns the domain
                    company = lead.company
                    if not company or company == host.owner_name:
                        return agreed
                    return self._single_owner(host, company)
                if host.shared:
                    return self._shared_owner(host, lead)
        view = view_of(lead.email, lead.company, lead.country, lead.website)
        return self._result(decide(self._index, view))

    def _host(self, part: str) -> _Host:
        """Parse an e-mail's domain part once; later leads on it are one dict lookup."""
        domains = self._index.domains
        dom = domains.get(part) or known_host(part.lower(), domains) or parse_domain(part)
        owners = self._index.by_domain.get(dom.registrable) if dom is not None else None
        owner = owners[0] if owners is not None and len(owners) == 1 else None
        # an owned domain is its account's, even when it is on the free-mail lists
        personal = (
            not owners
            and dom is not None
            and personal_email.kind(dom.host, dom.registrable) is not None
        )
        agreed, name = None, ""
        if owner is not None:
            assert dom is not None
            agreed = self._owner_result(owner, dom.is_subdomain, 1.0)
            name = self._index.accounts[owner].name
        host = _Host(dom, owner, bool(owners) and owner is None, personal, agreed, name)
        if len(self._hosts) >= self._host_limit:
            self._hosts.clear()
        self._hosts[part] = host
        return host

    def _single_owner(self, host: _Host, company: str) -> MatchResult:
        """An e-mail domain one account owns, with a company field (same answer as `decide`)."""
        assert host.domain is not None
        assert host.owner is not None
        raw = self._agreement(host.owner, company)
        return self._owner_result(host.owner, host.domain.is_subdomain, raw)

    def _owner_result(self, owner: str, subdomain: bool, raw: float) -> MatchResult:
        """The one (immutable, shared) answer per owner, rule and raw score."""
        fast_key = (owner, subdomain, raw)
        result = self._fast.get(fast_key)
        if result is None:
            rule = "email_subdomain" if subdomain else "email_domain"
            confidence = self._confidence(rule, "corporate", raw)  # an owned domain: corporate
            result = MatchResult(owner, confidence, rule, (Candidate(owner, 1.0, rule),))
            if len(self._fast) >= RESULT_CACHE:
                self._fast.clear()
            self._fast[fast_key] = result
        return result

    def _confidence(self, rule: str, context: str, raw: float) -> float:
        """The calibrated confidence, looked up once per (rule, context, raw score)."""
        key = (rule, context, raw)
        confidence = self._confidences.get(key)
        if confidence is None:
            confidence = self._calibration.confidence(rule, context, raw)
            self._confidences[key] = confidence
        return confidence

    def _agreement(self, account_id: str, company: str) -> float:
        """1.0 when the lead's company field agrees with the owner's name, else 0.9."""
        account = self._index.accounts[account_id]
        if company == account.name:
            return 1.0
        key = normalize_name(company)
        if not key.compact or key.compact == account.key.compact:
            return 1.0
        return 1.0 if similarity(key, account.key) >= NAME_AGREES else 0.9

    def _shared_owner(self, host: _Host, lead: LeadRecord) -> MatchResult:
        """A domain several accounts own: the full rules, answers shared between alike leads."""
        key = (host.domain, lead.company, lead.country, host.personal)
        result = self._owned.get(key)
        if result is None:
            view = view_of(lead.email, lead.company, lead.country, lead.website)
            result = self._result(decide(self._index, view))
            if len(self._owned) >= RESULT_CACHE:
                self._owned.clear()
            self._owned[key] = result
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
            match = self.match
            return [match(lead) for lead in leads]
        return _match_parallel(self, leads, processes)

    def _result(self, d: Decision) -> MatchResult:
        candidates = tuple(Candidate(s.account_id, round(s.score, 4), d.rule) for s in d.candidates)
        if d.account_id is None:
            return MatchResult(None, 0.0, d.rule, candidates)
        confidence = self._calibration.confidence(d.rule, d.context, d.raw)
        return MatchResult(d.account_id, confidence, d.rule, candidates)


class _Host(NamedTuple):
    """What an e-mail domain says: parsed form, its one owner, several owners?, personal?,
    and with one owner, the answer when the lead's company agrees and the owner's name."""

    domain: Domain | None
    owner: str | None
    shared: bool
    personal: bool
    agreed: MatchResult | None = None
    owner_name: str = ""


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
