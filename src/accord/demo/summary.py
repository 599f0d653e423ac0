"""The demo's summary: what is in the database after the import, read back with SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, select

from accord.store import schema as s

COUNTED = (
    "accounts", "contacts", "leads", "opportunities", "opportunity_stages", "cases",
    "identity_links", "review_items", "target_list_members", "events",
)  # fmt: skip
TOP = 10
SCAN = 5000  # unresolved leads looked at to pick those with candidates
SCORES = ("intent", "engagement", "health")
TOP_SIGNALS = 10


def build_summary(engine: Engine) -> dict[str, Any]:
    """Counts, match rate by rule, unresolved leads, top accounts, target tiers."""
    with engine.connect() as conn:
        return {
            "counts": table_counts(conn),
            "match_rules": match_rules(conn),
            "match_rate": match_rate(conn),
            "unresolved_leads": unresolved_leads(conn),
            "top_accounts_by_contacts": top_by_contacts(conn),
            "top_accounts_by_open_pipeline": top_by_pipeline(conn),
            "target_tiers": target_tiers(conn),
            "signal_counts": signal_counts(conn),
            "top_signals": top_signals(conn),
            "top_accounts_by_score": {name: top_by_score(conn, name) for name in SCORES},
        }


def table_counts(conn: Connection) -> dict[str, int]:
    tables = s.metadata.tables
    return {
        name: int(conn.execute(select(func.count()).select_from(tables[name])).scalar_one())
        for name in COUNTED
    }


def match_rules(conn: Connection) -> list[dict[str, Any]]:
    """Links per subject type and rule, with their share of that subject type."""
    link = s.identity_links.c
    rows = conn.execute(
        select(link.subject_type, link.rule, func.count(), func.avg(link.confidence))
        .group_by(link.subject_type, link.rule)
        .order_by(link.subject_type, func.count().desc(), link.rule)
    ).all()
    totals: dict[str, int] = {}
    for subject, _, n, _ in rows:
        totals[subject] = totals.get(subject, 0) + n
    return [
        {
            "subject": subject,
            "rule": rule,
            "count": n,
            "share": round(n / totals[subject], 4),
            "avg_confidence": round(float(conf or 0.0), 3),
        }
        for subject, rule, n, conf in rows
    ]


def match_rate(conn: Connection) -> dict[str, float]:
    """Share of contacts and of leads linked to an account."""
    link = s.identity_links.c
    linked = func.sum(case((link.account_id.is_not(None), 1), else_=0))
    rows = conn.execute(select(link.subject_type, linked, func.count()).group_by(link.subject_type))
    return {subject: round((hit or 0) / n, 4) for subject, hit, n in rows if n}


def unresolved_leads(conn: Connection) -> list[dict[str, Any]]:
    """Unlinked leads, those with candidates first, each with its candidate accounts."""
    link, lead = s.identity_links.c, s.leads.c
    rows = conn.execute(
        select(lead.id, lead.email, lead.company, lead.website, link.rule, link.candidates)
        .join(s.identity_links, and_(link.subject_type == "lead", link.subject_id == lead.id))
        .where(link.account_id.is_(None))
        .order_by(link.rule, lead.email, lead.id)
        .limit(SCAN)
    ).all()
    rows = sorted(rows, key=lambda r: (not r.candidates, r.rule, r.email or ""))[:TOP]
    names = _account_names(conn, {c["account_id"] for r in rows for c in r.candidates or []})
    return [
        {
            "lead_id": r.id,
            "email": r.email,
            "company": r.company,
            "website": r.website,
            "rule": r.rule,
            "candidates": [
                {
                    "account_id": c["account_id"],
                    "name": names.get(c["account_id"], ""),
                    "score": round(float(c["score"]), 3),
                    "reason": c.get("reason", ""),
                }
                for c in (r.candidates or [])[:3]
            ],
        }
        for r in rows
    ]


def _account_names(conn: Connection, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    a = s.accounts.c
    return dict(conn.execute(select(a.id, a.name).where(a.id.in_(sorted(ids)))).tuples().all())


def top_by_contacts(conn: Connection) -> list[dict[str, Any]]:
    a, c = s.accounts.c, s.contacts.c
    n = func.count(c.id).label("contacts")
    rows = conn.execute(
        select(a.id, a.name, a.domain, n)
        .join(s.contacts, c.account_id == a.id)
        .group_by(a.id, a.name, a.domain)
        .order_by(n.desc(), a.name)
        .limit(TOP)
    ).all()
    return [{"account_id": i, "name": nm, "domain": d, "contacts": k} for i, nm, d, k in rows]


def top_by_pipeline(conn: Connection) -> list[dict[str, Any]]:
    a, o = s.accounts.c, s.opportunities.c
    total = func.sum(o.amount).label("open_pipeline")
    rows = conn.execute(
        select(a.id, a.name, a.domain, total, func.count(o.id))
        .join(s.opportunities, o.account_id == a.id)
        .where(o.is_closed.is_(False))
        .group_by(a.id, a.name, a.domain)
        .order_by(total.desc(), a.name)
        .limit(TOP)
    ).all()
    return [
        {"account_id": i, "name": nm, "domain": d, "open_pipeline": float(t or 0), "deals": k}
        for i, nm, d, t, k in rows
    ]


def target_tiers(conn: Connection) -> list[dict[str, Any]]:
    """Members of each list's current version per tier, and how many resolved."""
    t, m = s.target_lists.c, s.target_list_members.c
    resolved = func.sum(case((m.account_id.is_not(None), 1), else_=0))
    rows = conn.execute(
        select(t.name, t.current_version, m.tier, func.count(), resolved)
        .join(s.target_list_members, and_(m.list_id == t.id, m.version == t.current_version))
        .group_by(t.name, t.current_version, m.tier)
        .order_by(t.name, m.tier)
    ).all()
    return [
        {"list": name, "version": v, "tier": tier, "members": n, "resolved": int(r or 0)}
        for name, v, tier, n, r in rows
    ]


def signal_counts(conn: Connection) -> dict[str, int]:
    sg = s.signals.c
    rows = conn.execute(select(sg.type, func.count()).group_by(sg.type).order_by(sg.type))
    return {t: int(n) for t, n in rows}


def top_signals(conn: Connection) -> list[dict[str, Any]]:
    """The strongest signals (latest first among equals), one per type, with evidence."""
    sg, a = s.signals.c, s.accounts.c
    rank = (
        func.row_number()
        .over(partition_by=sg.type, order_by=(sg.strength.desc(), sg.observed_at.desc(), sg.id))
        .label("rank")
    )
    ranked = select(
        sg.id, sg.type, sg.account_id, sg.strength, sg.observed_at, sg.evidence, rank
    ).subquery()
    rows = conn.execute(
        select(ranked, a.name)
        .join(s.accounts, a.id == ranked.c.account_id)
        .where(ranked.c.rank == 1)
        .order_by(ranked.c.strength.desc(), ranked.c.type)
        .limit(TOP_SIGNALS)
    ).all()
    return [
        {"id": r.id, "type": r.type, "account_id": r.account_id, "account": r.name,
         "strength": r.strength, "observed_at": str(r.observed_at), "evidence": r.evidence}
        for r in rows
    ]  # fmt: skip


def top_by_score(conn: Connection, score: str) -> list[dict[str, Any]]:
    """Top accounts by one score, with its parts and the account's buying stage."""
    sc, a = s.scores_current, s.accounts.c
    stage = sc.alias("stage")
    rows = conn.execute(
        select(a.id, a.name, sc.c.value, sc.c.parts, stage.c.label.label("stage"))
        .join(sc, sc.c.account_id == a.id)
        .outerjoin(stage, and_(stage.c.account_id == a.id, stage.c.score == "stage"))
        .where(sc.c.score == score)
        .order_by(sc.c.value.desc(), a.name)
        .limit(5)
    ).all()
    return [
        {"account_id": r.id, "name": r.name, "value": round(float(r.value), 1),
         "stage": r.stage, "parts": r.parts}
        for r in rows
    ]  # fmt: skip
