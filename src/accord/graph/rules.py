"""The matching rules, in order: owned e-mail domain, website, regional domain, company name.

Each rule returns a `Decision`: the account (or None), the rule name, a raw score that the
calibration table turns into a confidence, and the candidates considered. Precision beats
recall: when two accounts stay plausible the decision is `ambiguous`, with both candidates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from rapidfuzz import fuzz

from accord.graph import personal_email
from accord.graph.candidates import Scored, name_edits, similarity, typo_kind
from accord.graph.domains import Domain, email_domain, parse_domain
from accord.graph.index import AccountIndex, IndexedAccount, normalize_country
from accord.graph.names import NameKey, normalize_name

NAME_AGREES = 0.80  # a company field this close to the domain owner's name agrees with it
TIEBREAK_ACCEPT = 0.80  # shared domain: the lead's company must be this close to one owner
TIEBREAK_MARGIN = 0.08
REGIONAL_ACCEPT = 0.90  # regional domain (acme.de for acme.com): the name must agree this much
FUZZY_ACCEPT = 0.85
FUZZY_MARGIN = 0.05  # best two within this margin: refuse (ambiguous)
FUZZY_FLOOR = 0.60  # below this a candidate is not worth listing
SUBSET_WEIGHT = 0.9  # weight of token-set containment when only domain owners compete
COUNTRY_AGREE = 0.02
SHORT_NAME = 10  # distinctive letters per edit a fuzzy name needs when nothing else agrees
TYPO_FLOOR = 0.75  # a short name one keyboard slip away may score this low and still link
LONG_WORD = 10  # a letter dropped from a word this long reads as a slip, not another name
# raw score of a short name one slip away, by how rarely that slip tells two real names apart
SLIP_RAW = {
    "swap": 0.8, "double": 0.8, "dropped_double": 0.8, "neighbour": 0.75, "fat_finger": 0.7,
    "drop": 0.65,
}  # fmt: skip
MAILBOX_MIN = 4  # a name or brand this long inside a personal mailbox name is evidence
EXACT_OWN_DOMAIN = 0.9  # raw score of an exact name when the lead's own domain is no account's
EXACT_SHORT = 0.8  # raw score of an exact name with few distinctive letters
COUNTRY_DISAGREE = -0.06


class Decision(NamedTuple):
    account_id: str | None
    rule: str
    raw: float  # raw score in 0..1 for the calibration table
    context: str  # personal | corporate | none: what the lead's e-mail said
    candidates: tuple[Scored, ...]
    reasons: tuple[str, ...] = ()


class LeadView(NamedTuple):
    """A lead with every field normalized once."""

    email: Domain | None
    website: Domain | None
    name: NameKey | None
    country: str | None
    personal: bool
    context: str
    mailbox: str = ""  # letters of a personal e-mail's local part (`acmesales` in acme.sales@)


def view_of(
    email: str | None, company: str | None, country: str | None, website: str | None
) -> LeadView:
    """Normalize a lead's fields."""
    dom = email_domain(email)
    web = parse_domain(website) if website else None
    key = normalize_name(company) if company and company.strip() else None
    if key is not None and not key.compact:
        key = None
    personal = dom is not None and personal_email.kind(dom.host, dom.registrable) is not None
    context = "none" if dom is None else ("personal" if personal else "corporate")
    mailbox = ""
    if personal and email:
        mailbox = "".join(ch for ch in email.rpartition("@")[0].lower() if ch.isalpha())
    return LeadView(dom, web, key, normalize_country(country), personal, context, mailbox)


def decide(index: AccountIndex, lead: LeadView) -> Decision:
    """Apply the rules in order and return the first decision that applies."""
    if lead.email is not None:
        owners = index.by_domain.get(lead.email.registrable)
        if owners:
            rule = "email_subdomain" if lead.email.is_subdomain else "email_domain"
            owned = lead._replace(personal=False, context="corporate")  # the account's domain
            return owned_domain(index, owners, rule, owned)
    if lead.website is not None:
        owners = index.by_domain.get(lead.website.registrable)
        if owners:
            return owned_domain(index, owners, "website_domain", lead)
    regional = regional_domain(index, lead)
    if regional is not None:
        return regional
    if lead.name is not None:
        return by_name(index, lead)
    if lead.personal:
        return Decision(None, "personal_email", 0.0, lead.context, ())
    if lead.email is not None or lead.website is not None:
        return Decision(None, "no_candidate", 0.0, lead.context, ())
    return Decision(None, "no_input", 0.0, lead.context, ())


def owned_domain(index: AccountIndex, owners: list[str], rule: str, lead: LeadView) -> Decision:
    """One owner links; several need the company name, else the family head, else refuse."""
    if len(owners) == 1:
        account_id = owners[0]
        raw = 1.0
        if lead.name is not None:
            agree = similarity(lead.name, index.accounts[account_id].key)
            raw = 1.0 if agree >= NAME_AGREES else 0.9
        return Decision(account_id, rule, raw, lead.context, (Scored(1.0, account_id),))
    scored = _score_names(index, owners, lead) if lead.name is not None else []
    if scored:
        best, second = scored[0], (scored[1].score if len(scored) > 1 else 0.0)
        if best.score >= TIEBREAK_ACCEPT and best.score - second >= TIEBREAK_MARGIN:
            raw = best.score
            return Decision(
                best.account_id, f"{rule}_name_tiebreak", raw, lead.context, tuple(scored)
            )
        if best.score >= TIEBREAK_ACCEPT:
            return Decision(None, "ambiguous", 0.0, lead.context, tuple(scored))
    listed = tuple(scored) or tuple(Scored(1.0, a) for a in owners)
    head = index.family_head(owners)
    if head is not None:
        return Decision(head, f"{rule}_parent", 0.5, lead.context, listed)
    return Decision(None, "ambiguous", 0.0, lead.context, listed)


def regional_domain(index: AccountIndex, lead: LeadView) -> Decision | None:
    """`acme.de` when an account owns `acme.com`: only with a company name that agrees."""
    if lead.name is None:
        return None
    for dom in (None if lead.personal else lead.email, lead.website):
        if dom is None:
            continue
        owners = index.by_brand.get(dom.brand)
        if not owners:
            continue
        scored = _score_names(index, owners, lead, similarity)
        if not scored or scored[0].score < REGIONAL_ACCEPT:
            continue
        second = scored[1].score if len(scored) > 1 else 0.0
        if scored[0].score - second < FUZZY_MARGIN:
            return Decision(None, "ambiguous", 0.0, lead.context, tuple(scored))
        best = scored[0]
        return Decision(best.account_id, "regional_domain", best.score, lead.context, tuple(scored))
    return None


def by_name(index: AccountIndex, lead: LeadView) -> Decision:
    """Exact normalized name, then fuzzy over the blocked candidates with a margin."""
    assert lead.name is not None
    exact = index.names.exact.get(lead.name.compact)
    if exact:
        return _exact_name(index, exact, lead)
    top = _adjust_for_country(index, index.names.top(lead.name, floor=FUZZY_FLOOR), lead.country)
    if not top:
        return Decision(None, "no_candidate", 0.0, lead.context, ())
    best, second = top[0], (top[1].score if len(top) > 1 else 0.0)
    account = index.accounts[best.account_id]
    if best.score < FUZZY_ACCEPT and not (
        best.score >= TYPO_FLOOR and slip_between(lead.name, account.key) is not None
    ):
        return Decision(None, "no_candidate", 0.0, lead.context, tuple(top[:3]))
    if best.score - second < FUZZY_MARGIN:
        return Decision(None, "ambiguous", 0.0, lead.context, tuple(top[:3]))
    raw = fuzzy_evidence(index, lead, account, min(best.score, 1.0))
    if raw is None:
        return Decision(None, "no_candidate", 0.0, lead.context, tuple(top[:3]))
    return Decision(best.account_id, "name_fuzzy", raw, lead.context, tuple(top[:3]))


def _own_domain(lead: LeadView) -> bool:
    """The lead names a corporate domain (e-mail or website) that no account owns."""
    return (lead.email is not None and not lead.personal) or lead.website is not None


def fuzzy_evidence(
    index: AccountIndex, lead: LeadView, account: IndexedAccount, score: float
) -> float | None:
    """The raw score of a close but unequal name, or None when it must not link. It links only
    when nothing speaks against it (the lead has no corporate domain of its own: that would be
    another company named alike) and something speaks for it: the country agrees, the lead's
    personal mailbox carries the name, the difference lies in common words only, or the name
    has enough distinctive letters per edit that it is not another company (`Oakridge`/
    `Oakbridge`); failing those, one keyboard slip, scored by how telling the slip is."""
    assert lead.name is not None
    if _own_domain(lead):
        return None
    if lead.country is not None and account.country == lead.country:
        return score
    edits = name_edits(lead.name, account.key)
    if edits == 0 or _mailbox_names(lead.mailbox, account):
        return score
    names = index.names
    if names.distinctive_words_agree(lead.name, account.key):
        return score
    if names.distinctive_length(account.key) >= SHORT_NAME * edits:
        return score
    slip = slip_between(lead.name, account.key) if edits == 1 else None
    return SLIP_RAW[slip] if slip is not None else None


def slip_between(typed: NameKey, meant: NameKey) -> str | None:
    """The keyboard slip (see `typo_kind`) that makes `typed` of `meant`, or None; a dropped
    letter counts only from a long word (`Honeywel`), where another company one letter short
    is unlikely."""
    slip = typo_kind(typed.compact, meant.compact)
    if slip is None and typed.spelled and meant.spelled:
        spelled = typo_kind(typed.spelled, meant.spelled)
        slip = spelled if spelled is not None and spelled[0] != "drop" else None
    if slip is None:
        return None
    kind, at = slip
    if kind == "drop" and _word_length_at(meant.tokens, at) < LONG_WORD:
        return None
    return kind


def _word_length_at(tokens: tuple[str, ...], at: int) -> int:
    """Length of the word holding letter `at` of the joined tokens."""
    for token in tokens:
        if at < len(token):
            return len(token)
        at -= len(token)
    return 0


def _mailbox_names(mailbox: str, account: IndexedAccount) -> bool:
    """A personal mailbox named for the company (`acmesales@gmail.com`): its name or brand."""
    if not mailbox:
        return False
    names = [account.key.compact, *(d.brand for d in account.domains)]
    return any(len(n) >= MAILBOX_MIN and n in mailbox for n in names)


def _exact_raw(index: AccountIndex, lead: LeadView) -> float:
    """1.0, lowered when the lead's own domain is no account's or the name is mostly generic."""
    assert lead.name is not None
    raw = 1.0
    if _own_domain(lead):
        raw = EXACT_OWN_DOMAIN
    if index.names.distinctive_length(lead.name) < SHORT_NAME:
        raw = min(raw, EXACT_SHORT)
    return raw


def _exact_name(index: AccountIndex, exact: list[str], lead: LeadView) -> Decision:
    listed = tuple(Scored(1.0, a) for a in exact)
    if len(exact) == 1:
        return Decision(exact[0], "name_exact", _exact_raw(index, lead), lead.context, listed)
    if lead.country is not None:
        same = [a for a in exact if index.accounts[a].country == lead.country]
        if len(same) == 1:
            raw = _exact_raw(index, lead) - 0.05
            return Decision(same[0], "name_exact", raw, lead.context, listed)
    head = index.family_head(exact)
    if head is not None:
        return Decision(head, "name_exact_parent", 0.5, lead.context, listed)
    return Decision(None, "ambiguous", 0.0, lead.context, listed)


def _owner_similarity(a: NameKey, b: NameKey) -> float:
    """Among a few domain owners, a name contained in another (`Fox`) counts for 0.9."""
    contained = fuzz.token_set_ratio(a.text, b.text) / 100.0 * SUBSET_WEIGHT
    return max(similarity(a, b), contained)


def _score_names(
    index: AccountIndex,
    owners: list[str],
    lead: LeadView,
    scorer: Callable[[NameKey, NameKey], float] = _owner_similarity,
) -> list[Scored]:
    assert lead.name is not None
    scored = [Scored(round(scorer(lead.name, index.accounts[a].key), 4), a) for a in owners]
    scored = _adjust_for_country(index, scored, lead.country)
    return scored


def _adjust_for_country(
    index: AccountIndex, scored: list[Scored], country: str | None
) -> list[Scored]:
    """Nudge scores up where countries agree and down where they differ; sort best first."""
    if country is not None:
        adjusted = []
        for s in scored:
            theirs = index.accounts[s.account_id].country
            if theirs is None:
                adjusted.append(s)
                continue
            delta = COUNTRY_AGREE if theirs == country else COUNTRY_DISAGREE
            adjusted.append(Scored(round(min(max(s.score + delta, 0.0), 1.0), 4), s.account_id))
        scored = adjusted
    return sorted(scored, key=lambda s: (-s.score, s.account_id))
