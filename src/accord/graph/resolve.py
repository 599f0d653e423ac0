"""Resolve stored contacts and leads to accounts (CRM links win; the matcher fills the rest).

A run refreshes the normalized account domains, classifies job titles, then writes one
`identity_links` row per contact and lead: the CRM's own link (rule `crm_link`), the
matcher's answer, or an unresolved row with its candidates. Links a person decided (origin
`manual` or `review`) are never changed. An incremental run re-evaluates only what is new or
stale; a full run re-evaluates everything; both reach the same links.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, literal, or_, select, update

from accord.graph.domains import registrable_domain, split_domains
from accord.graph.match import AccountRecord, LeadRecord, Matcher, MatchResult
from accord.graph.review import (
    STICKY,
    SUBJECTS,
    LinkRow,
    ResolveReport,
    ReviewWish,
    audit_row,
    candidates_json,
    link_totals,
    merged_roots,
    sync_subject_accounts,
    utcnow,
    write_links,
    write_review_items,
)
from accord.graph.titles import classify_title
from accord.store.schema import (
    account_domains,
    accounts,
    audit_entries,
    identity_links,
    merges,
)

ACTOR = "resolve"
ONE_RECORD_MAX_AGE = 1.0  # seconds an account change may take to reach `resolve_one`


Link = LinkRow  # one subject's current account link and its explanation


def resolve_all(engine: Engine, *, full: bool = False) -> ResolveReport:
    """Link every contact and lead that is new or stale (all of them with `full`); idempotent."""
    started = utcnow()
    with engine.begin() as conn:
        last = _last_run(conn)
        accounts_now = list(_accounts_fingerprint(conn))
        everything = full or accounts_now != last.get("accounts")
        if everything:
            refresh_account_domains(conn)
        since = None if full or "started_at" not in last else last["started_at"]
        classify_titles(conn, since=datetime.fromisoformat(since) if since else None)
        evaluated, changed = 0, 0
        for subject_type in SUBJECTS:
            rows = conn.execute(_subject_query(subject_type, full=everything)).all()
            evaluated += len(rows)
            changed += _resolve_rows(conn, subject_type, rows)
        sync_subject_accounts(conn)
        if changed or accounts_now != last.get("accounts"):
            _record_run(
                conn,
                accounts_now,
                started_at=started.isoformat(),
                full=full,
                evaluated=evaluated,
                changed=changed,
            )
        report = link_totals(conn)
    report.evaluated, report.changed = evaluated, changed
    return report


def _last_run(conn: Connection) -> dict[str, Any]:
    """What the last recorded run saw: its accounts fingerprint and start time."""
    a = audit_entries.c
    query = select(a.details).where(a.action == "resolve_run").order_by(a.at.desc(), a.id.desc())
    details = conn.execute(query.limit(1)).scalar()
    return dict(details) if details else {}


def _record_run(conn: Connection, fingerprint: list[Any], **counts: Any) -> None:
    details = {"accounts": fingerprint, **counts}
    row = audit_row(
        actor=ACTOR,
        action="resolve_run",
        subject_type="graph",
        subject_id="accounts",
        account_id=None,
        details=details,
        at=utcnow(),
    )
    conn.execute(audit_entries.insert(), [row])


def resolve_one(engine: Engine, subject_type: str, subject_id: str) -> Link | None:
    """Resolve one new or changed contact or lead now; its link (None when it does not exist).

    A link a person decided is returned as it is.
    """
    table = SUBJECTS[subject_type]
    with engine.begin() as conn:
        classify_titles(conn, ids=[subject_id], tables=[table])
        query = _subject_query(subject_type, full=True).where(table.c.id == subject_id)
        rows = conn.execute(query).all()
        if rows:
            _resolve_rows(conn, subject_type, rows, max_age=ONE_RECORD_MAX_AGE)
            sync_subject_accounts(conn, subject_type=subject_type, subject_id=subject_id)
    return current_link(engine, subject_type, subject_id)


def current_link(engine: Engine, subject_type: str, subject_id: str) -> Link | None:
    """The stored link of one subject, or None when it has none yet."""
    il = identity_links
    key = (il.c.subject_type == subject_type, il.c.subject_id == subject_id)
    with engine.connect() as conn:
        row = conn.execute(select(il).where(*key)).first()
    if row is None:
        return None
    fields = (row.account_id, row.rule, row.confidence, list(row.candidates or []), row.origin)
    return Link(subject_type, subject_id, *fields)


def _subject_query(subject_type: str, *, full: bool) -> Any:
    """Subjects to evaluate with their current link: new and stale ones, or all with `full`."""
    table, il = SUBJECTS[subject_type], identity_links
    company = table.c.company if "company" in table.c else literal(None).label("company")
    website = table.c.website if "website" in table.c else literal(None).label("website")
    query = (
        select(
            table.c.id,
            table.c.email,
            table.c.country,
            table.c.account_id,
            company,
            website,
            il.c.account_id.label("link_account"),
            il.c.rule.label("link_rule"),
            il.c.confidence.label("link_confidence"),
            il.c.candidates.label("link_candidates"),
            il.c.origin.label("link_origin"),
        )
        .select_from(table)
        .outerjoin(il, and_(il.c.subject_type == subject_type, il.c.subject_id == table.c.id))
        .where(or_(il.c.origin.is_(None), il.c.origin.not_in(STICKY)))
        .order_by(table.c.id)
    )
    if full:
        return query
    stale = [
        il.c.subject_id.is_(None),
        table.c.updated_at > il.c.updated_at,
        table.c.account_id.is_distinct_from(il.c.account_id),
    ]
    return query.where(or_(*stale))


def _crm_account(subject_type: str, row: Any, roots: dict[str, str]) -> str | None:
    """The account the CRM export names for this contact (None for leads and our own fills)."""
    if subject_type != "contact" or row.account_id is None:
        return None
    if row.link_origin == "matcher" and row.link_account == row.account_id:
        return None  # the graph layer wrote this value back; it is not the CRM's
    crm: str = roots.get(row.account_id, row.account_id)
    return crm


def _lead_record(row: Any) -> LeadRecord:
    return LeadRecord(
        id=row.id, email=row.email, company=row.company, country=row.country, website=row.website
    )


def _resolve_rows(
    conn: Connection, subject_type: str, rows: Sequence[Any], *, max_age: float = 0.0
) -> int:
    """Match `rows`, write their links and review items; the number of links changed."""
    if not rows:
        return 0
    graph = cached_graph(conn, max_age=max_age)
    roots = graph.roots
    results = graph.matcher.match_many([_lead_record(r) for r in rows])
    links: list[tuple[LinkRow, Any]] = []
    wishes: list[ReviewWish] = []
    for row, result in zip(rows, results, strict=True):
        link, wish = _decide(subject_type, row, result, _crm_account(subject_type, row, roots))
        links.append((link, row))
        if wish is not None:
            wishes.append(wish)
    now = utcnow()
    changed = write_links(conn, links, actor=ACTOR, action="resolve", now=now)
    write_review_items(conn, subject_type, [r.id for r in rows], wishes, now=now)
    return changed


def _decide(
    subject_type: str, row: Any, result: MatchResult, crm: str | None
) -> tuple[LinkRow, ReviewWish | None]:
    """The link to store for one subject, and the review item it needs (if any)."""
    found = candidates_json(result.candidates)
    if crm is not None:
        link = LinkRow(subject_type, row.id, crm, "crm_link", 1.0, [], "crm")
        if result.account_id is None or result.account_id == crm:
            return link, None
        crm_candidate = {"account_id": crm, "score": 1.0, "reason": "crm_link"}
        others = [c for c in found if c["account_id"] != crm]
        return link, ReviewWish(row.id, "crm_disagreement", [crm_candidate, *others])
    link = LinkRow(
        subject_type, row.id, result.account_id, result.rule, result.confidence, found, "matcher"
    )
    if _is_ambiguous(result):
        return link, ReviewWish(row.id, "ambiguous", found)
    return link, None


def _is_ambiguous(result: MatchResult) -> bool:
    """Several plausible accounts and none safe to pick."""
    return result.account_id is None and result.rule.startswith("ambiguous")


# --- accounts: normalized domains and the cached matcher ---------------------------------


def normalized_domains(website: str | None, raw: Any) -> list[str]:
    """An account's registrable domains, website first, without repeats."""
    return [
        d for d in dict.fromkeys(registrable_domain(c) for c in _raw_domains(website, raw)) if d
    ]


def _raw_domains(website: str | None, raw: Any) -> list[str]:
    cells = [website] if website else []
    for cell in [raw] if isinstance(raw, str) else raw or []:
        if isinstance(cell, str):
            cells.extend(split_domains(cell))
    return cells


def refresh_account_domains(conn: Connection) -> int:
    """Derive `account_domains` and `accounts.domain` from websites and raw domains; changes."""
    rows = conn.execute(
        select(accounts.c.id, accounts.c.website, accounts.c.domains, accounts.c.domain)
    ).all()
    roots = merged_roots(conn)
    wanted: dict[tuple[str, str], bool] = {}
    primaries = []
    for row in rows:
        found = normalized_domains(row.website, row.domains)
        if (found[0] if found else None) != row.domain:
            primaries.append({"b_id": row.id, "v_domain": found[0] if found else None})
        owner = roots.get(row.id, row.id)
        for i, domain in enumerate(found):
            wanted[owner, domain] = wanted.get((owner, domain), False) or (
                i == 0 and owner == row.id
            )
    have = {(a, d): p for a, d, p in conn.execute(select(account_domains)).all()}
    return _apply_domain_changes(conn, wanted, have, primaries)


def _apply_domain_changes(
    conn: Connection,
    wanted: dict[tuple[str, str], bool],
    have: dict[tuple[str, str], bool],
    primaries: list[dict[str, Any]],
) -> int:
    ad = account_domains
    key = and_(ad.c.account_id == bindparam("b_account"), ad.c.domain == bindparam("b_domain"))
    gone = [{"b_account": a, "b_domain": d} for (a, d) in have if (a, d) not in wanted]
    new = [
        {"account_id": a, "domain": d, "is_primary": p}
        for (a, d), p in wanted.items()
        if (a, d) not in have
    ]
    flips = [
        {"b_account": a, "b_domain": d, "v_primary": p}
        for (a, d), p in wanted.items()
        if (a, d) in have and have[a, d] != p
    ]
    if gone:
        conn.execute(ad.delete().where(key), gone)
    if new:
        conn.execute(ad.insert(), new)
    if flips:
        conn.execute(update(ad).where(key).values(is_primary=bindparam("v_primary")), flips)
    if primaries:
        stmt = update(accounts).where(accounts.c.id == bindparam("b_id"))
        conn.execute(stmt.values(domain=bindparam("v_domain")), primaries)
    return len(gone) + len(new) + len(flips) + len(primaries)


@dataclass
class _Graph:
    """The matcher and the merged-account map for one accounts fingerprint."""

    fingerprint: tuple[Any, ...]
    checked: float  # time.monotonic() of the last fingerprint check
    matcher: Matcher
    roots: dict[str, str]


_GRAPHS: dict[str, _Graph] = {}


def _accounts_fingerprint(conn: Connection) -> tuple[Any, ...]:
    """Cheap summary that changes whenever the accounts the matcher sees change."""
    a, m = accounts.c, merges.c
    row = conn.execute(select(func.count(), func.count(a.merged_into), func.max(a.updated_at)))
    merge_row = conn.execute(select(func.count(), func.max(m.created_at), func.max(m.undone_at)))
    return tuple(
        v.isoformat() if isinstance(v, datetime) else v for v in (*row.one(), *merge_row.one())
    )


def cached_graph(conn: Connection, *, max_age: float = 0.0) -> _Graph:
    """The matcher over live accounts, rebuilt when accounts change.

    With `max_age`, a matcher checked against the accounts less than that many seconds ago is
    reused without checking again (the one-record path).
    """
    key = conn.engine.url.render_as_string(hide_password=False)
    cached = _GRAPHS.get(key)
    now = time.monotonic()
    if cached is not None and max_age and now - cached.checked < max_age:
        return cached
    fingerprint = _accounts_fingerprint(conn)
    if cached is not None and cached.fingerprint == fingerprint:
        cached.checked = now
        return cached
    graph = _Graph(fingerprint, now, Matcher.build(account_records(conn)), merged_roots(conn))
    _GRAPHS[key] = graph
    return graph


def matcher_for(conn: Connection) -> Matcher:
    """The matcher over live accounts, built once and rebuilt when accounts change."""
    return cached_graph(conn).matcher


def account_records(conn: Connection) -> list[AccountRecord]:
    """What the matcher knows about every live account; merged accounts lend their domains."""
    a = accounts.c
    rows = conn.execute(
        select(a.id, a.name, a.website, a.domains, a.country, a.parent_id, a.merged_into)
    ).all()
    roots = merged_roots(conn)
    raw: dict[str, list[str]] = {}
    for row in rows:
        raw.setdefault(roots.get(row.id, row.id), []).extend(_raw_domains(row.website, row.domains))
    return [
        AccountRecord(
            id=row.id,
            name=row.name,
            domains=tuple(dict.fromkeys(raw.get(row.id, []))),
            country=row.country,
            parent_id=roots.get(row.parent_id, row.parent_id) if row.parent_id else None,
        )
        for row in rows
        if row.merged_into is None
    ]


# --- contacts and leads: job titles -------------------------------------------------------


@functools.lru_cache(maxsize=1 << 16)
def _profile(title: str | None) -> tuple[str, str, str]:
    p = classify_title(title)
    return (p.seniority, p.department, p.buying_role)


def classify_titles(
    conn: Connection,
    *,
    ids: Sequence[str] | None = None,
    tables: Sequence[Any] | None = None,
    since: datetime | None = None,
) -> int:
    """Store seniority, department and buying role where they are missing or stale.

    `since` limits the work to rows changed at or after that time (incremental runs).
    """
    changed = 0
    for table in tables or list(SUBJECTS.values()):
        c = table.c
        query = select(c.id, c.title, c.seniority, c.department, c.buying_role)
        if ids is not None:
            query = query.where(c.id.in_(list(ids)))
        if since is not None:
            query = query.where(c.updated_at >= since)
        rows = [
            {"b_id": r.id, "v_s": p[0], "v_d": p[1], "v_b": p[2]}
            for r in conn.execute(query)
            if (p := _profile(r.title)) != (r.seniority, r.department, r.buying_role)
        ]
        if rows:
            values: dict[str, Any] = {
                "seniority": bindparam("v_s"),
                "department": bindparam("v_d"),
                "buying_role": bindparam("v_b"),
            }
            conn.execute(update(table).where(c.id == bindparam("b_id")).values(values), rows)
        changed += len(rows)
    return changed
