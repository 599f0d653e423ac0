"""The review queue, and the one link writer every decision goes through.

Resolution, reviewers and manual links all write `identity_links` through `write_links`, which
keeps the subject's `account_id` in step and audits every change with its rule, confidence and
candidates. Ambiguous subjects and CRM/matcher disagreements wait here as `review_items`; a
decision links the subject with origin `review`, and resolution never changes it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, exists, func, select, update

from accord.errors import Conflict, InputError, NotFound
from accord.graph.match import Candidate
from accord.model.ids import new_id
from accord.store.schema import (
    accounts,
    audit_entries,
    contacts,
    identity_links,
    leads,
    review_items,
)

SUBJECTS = {"contact": contacts, "lead": leads}
STICKY = ("manual", "review")  # origins resolution never changes


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LinkRow:
    """The link a subject should have."""

    subject_type: str
    subject_id: str
    account_id: str | None
    rule: str
    confidence: float
    candidates: list[dict[str, Any]]
    origin: str

    def differs_from(self, row: Any) -> bool:
        """True when `row` (with link_* fields, or None when there is no link) is different."""
        if row is None or row.link_origin is None:
            return True
        current = (row.link_account, row.link_rule, row.link_confidence, row.link_origin)
        wanted = (self.account_id, self.rule, self.confidence, self.origin)
        return current != wanted or list(row.link_candidates or []) != self.candidates


@dataclass
class ResolveReport:
    """The state of the links after a run (totals), and what this run did."""

    resolved: int = 0  # links to an account written by the matcher, a reviewer or a person
    crm_links: int = 0  # links kept from the CRM export
    unresolved: int = 0
    disagreements: int = 0  # open review items: CRM link != matcher answer
    by_rule: dict[str, int] = field(default_factory=dict)
    ambiguous: int = 0  # open review items: several plausible accounts
    evaluated: int = 0  # subjects this run looked at
    changed: int = 0  # links this run wrote (each audited)


@dataclass(frozen=True)
class ReviewWish:
    """A review item resolution wants open for one subject."""

    subject_id: str
    reason: str  # ambiguous, crm_disagreement
    candidates: list[dict[str, Any]]


@dataclass(frozen=True)
class ReviewItem:
    id: str
    subject_type: str
    subject_id: str
    reason: str
    candidates: list[dict[str, Any]]
    status: str
    created_at: datetime


def subject_type_checked(subject_type: str) -> str:
    """`subject_type` when it is one we link; InputError naming the choices otherwise."""
    if subject_type not in SUBJECTS:
        choices = ", ".join(SUBJECTS)
        raise InputError(f"subject type '{subject_type}' is unknown; use one of: {choices}")
    return subject_type


def candidates_json(candidates: Iterable[Candidate]) -> list[dict[str, Any]]:
    return [{"account_id": c.account_id, "score": c.score, "reason": c.reason} for c in candidates]


def merged_roots(conn: Connection) -> dict[str, str]:
    """Merged account id → the account it finally lives on."""
    parent = dict(
        conn.execute(
            select(accounts.c.id, accounts.c.merged_into).where(accounts.c.merged_into.is_not(None))
        ).all()
    )
    roots: dict[str, str] = {}
    for start in parent:
        node, seen = start, {start}
        while node in parent and parent[node] not in seen:
            node = parent[node]
            seen.add(node)
        roots[start] = node
    return roots


def audit_row(
    *,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    account_id: str | None,
    details: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    return {
        "id": new_id("audit"),
        "at": at,
        "actor": actor,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "account_id": account_id,
        "details": details,
    }


def write_links(
    conn: Connection,
    links: Sequence[tuple[LinkRow, Any]],
    *,
    actor: str,
    action: str,
    now: datetime,
    reason: str | None = None,
) -> int:
    """Store each (wanted link, current row) pair; audit changes; the number changed."""
    inserts, updates, touches, audits = [], [], [], []
    for link, row in links:
        values: dict[str, Any] = {
            "account_id": link.account_id,
            "rule": link.rule,
            "confidence": link.confidence,
            "candidates": link.candidates,
            "origin": link.origin,
            "updated_at": now,
        }
        key = {"b_type": link.subject_type, "b_id": link.subject_id}
        if not link.differs_from(row):
            touches.append({**key, "b_now": now})
            continue
        if row is None or row.link_origin is None:
            inserts.append({"subject_type": link.subject_type, "subject_id": link.subject_id})
            inserts[-1].update(values)
        else:
            updates.append({**key, **{f"v_{k}": v for k, v in values.items()}})
        details: dict[str, Any] = {
            k: values[k] for k in ("rule", "confidence", "candidates", "origin")
        }
        details["previous"] = _previous(row)
        if reason:
            details["reason"] = reason
        audits.append(
            audit_row(
                actor=actor,
                action=action,
                subject_type=link.subject_type,
                subject_id=link.subject_id,
                account_id=link.account_id,
                details=details,
                at=now,
            )
        )
    _execute_link_writes(conn, inserts, updates, touches)
    if audits:
        conn.execute(audit_entries.insert(), audits)
    return len(audits)


def _previous(row: Any) -> dict[str, Any] | None:
    if row is None or row.link_origin is None:
        return None
    return {"account_id": row.link_account, "rule": row.link_rule, "origin": row.link_origin}


def _execute_link_writes(
    conn: Connection,
    inserts: list[dict[str, Any]],
    updates: list[dict[str, Any]],
    touches: list[dict[str, Any]],
) -> None:
    il = identity_links
    key = and_(il.c.subject_type == bindparam("b_type"), il.c.subject_id == bindparam("b_id"))
    if inserts:
        conn.execute(il.insert(), inserts)
    if updates:
        names = ("account_id", "rule", "confidence", "candidates", "origin", "updated_at")
        stmt = update(il).where(key).values({n: bindparam(f"v_{n}") for n in names})
        conn.execute(stmt, updates)
    if touches:
        conn.execute(update(il).where(key).values(updated_at=bindparam("b_now")), touches)


def sync_subject_accounts(
    conn: Connection, *, subject_type: str | None = None, subject_id: str | None = None
) -> None:
    """Copy each link's account onto its contact or lead where they differ (set-based)."""
    il = identity_links
    for kind, table in SUBJECTS.items():
        if subject_type is not None and kind != subject_type:
            continue
        joined = and_(il.c.subject_type == kind, il.c.subject_id == table.c.id)
        differs = exists().where(joined, il.c.account_id.is_distinct_from(table.c.account_id))
        stmt = update(table).where(differs)
        if subject_id is not None:
            stmt = stmt.where(table.c.id == subject_id)
        conn.execute(
            stmt.values(account_id=select(il.c.account_id).where(joined).scalar_subquery())
        )


def link_row_of(conn: Connection, subject_type: str, subject_id: str) -> Any:
    """The current link of one subject in the shape `write_links` compares against."""
    il = identity_links
    return conn.execute(
        select(
            il.c.account_id.label("link_account"),
            il.c.rule.label("link_rule"),
            il.c.confidence.label("link_confidence"),
            il.c.candidates.label("link_candidates"),
            il.c.origin.label("link_origin"),
        ).where(il.c.subject_type == subject_type, il.c.subject_id == subject_id)
    ).first()


def write_review_items(
    conn: Connection,
    subject_type: str,
    evaluated: Sequence[str],
    wishes: Sequence[ReviewWish],
    *,
    now: datetime,
) -> None:
    """Open the wished items; items of evaluated subjects no longer wished become `superseded`."""
    ri = review_items
    query = select(ri.c.id, ri.c.subject_id, ri.c.reason, ri.c.candidates, ri.c.status).where(
        ri.c.subject_type == subject_type, ri.c.status != "decided"
    )
    if len(evaluated) <= 500:
        query = query.where(ri.c.subject_id.in_(list(evaluated)))
    existing = {(r.subject_id, r.reason): r for r in conn.execute(query)}
    wanted = {(w.subject_id, w.reason): w for w in wishes}
    inserts, reopen, close = [], [], []
    for key, wish in wanted.items():
        row = existing.get(key)
        if row is None:
            inserts.append(
                {
                    "id": new_id("review"),
                    "subject_type": subject_type,
                    "subject_id": wish.subject_id,
                    "reason": wish.reason,
                    "candidates": wish.candidates,
                    "status": "open",
                    "created_at": now,
                }
            )
        elif row.status != "open" or list(row.candidates or []) != wish.candidates:
            reopen.append({"b_id": row.id, "v_candidates": wish.candidates})
    looked_at = set(evaluated)
    for key, row in existing.items():
        if key not in wanted and key[0] in looked_at and row.status == "open":
            close.append({"b_id": row.id})
    by_id = ri.c.id == bindparam("b_id")
    if inserts:
        conn.execute(ri.insert(), inserts)
    if reopen:
        stmt = update(ri).where(by_id).values(status="open", candidates=bindparam("v_candidates"))
        conn.execute(stmt, reopen)
    if close:
        conn.execute(update(ri).where(by_id).values(status="superseded"), close)


def link_totals(conn: Connection) -> ResolveReport:
    """Totals over every stored link and open review item (set-based)."""
    il, ri = identity_links, review_items
    report = ResolveReport()
    by = select(il.c.rule, il.c.origin, il.c.account_id.is_(None), func.count())
    for rule, origin, unlinked, n in conn.execute(by.group_by(*by.selected_columns[:3])):
        report.by_rule[rule] = report.by_rule.get(rule, 0) + n
        if unlinked:
            report.unresolved += n
        elif origin == "crm":
            report.crm_links += n
        else:
            report.resolved += n
    open_items = select(ri.c.reason, func.count()).where(ri.c.status == "open")
    counts: dict[str, int] = dict(conn.execute(open_items.group_by(ri.c.reason)).all())
    report.disagreements = counts.get("crm_disagreement", 0)
    report.ambiguous = counts.get("ambiguous", 0)
    report.by_rule = dict(sorted(report.by_rule.items()))
    return report


def list_open(engine: Engine, *, limit: int | None = None) -> list[ReviewItem]:
    """Open review items, oldest first, with their candidates."""
    ri = review_items
    query = select(ri).where(ri.c.status == "open").order_by(ri.c.created_at, ri.c.id)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [
            ReviewItem(
                r.id,
                r.subject_type,
                r.subject_id,
                r.reason,
                list(r.candidates or []),
                r.status,
                r.created_at,
            )
            for r in conn.execute(query)
        ]


def account_names(engine: Engine, ids: Iterable[str]) -> dict[str, str]:
    """Account id → name for display."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    with engine.connect() as conn:
        query = select(accounts.c.id, accounts.c.name).where(accounts.c.id.in_(wanted))
        return dict(conn.execute(query).all())


def live_account(conn: Connection, account_id: str) -> None:
    """Check that `account_id` exists and is not merged away."""
    row = conn.execute(select(accounts.c.merged_into).where(accounts.c.id == account_id)).first()
    if row is None:
        raise NotFound(f"account '{account_id}' does not exist; check the account id")
    if row.merged_into is not None:
        raise Conflict(
            f"account '{account_id}' was merged into '{row.merged_into}'; link to that one instead"
        )


def decide(engine: Engine, item_id: str, account_id: str | None, *, actor: str) -> ReviewItem:
    """Link the item's subject to `account_id` (None: to no account); the decision sticks."""
    ri = review_items
    with engine.begin() as conn:
        item = conn.execute(select(ri).where(ri.c.id == item_id)).first()
        if item is None:
            raise NotFound(
                f"review item '{item_id}' does not exist; `accord graph review` lists them"
            )
        if item.status != "open":
            raise Conflict(f"review item '{item_id}' is {item.status}, not open; nothing changed")
        if account_id is not None:
            live_account(conn, account_id)
        now = utcnow()
        rule = "review" if account_id is not None else "review_none"
        link = LinkRow(
            item.subject_type,
            item.subject_id,
            account_id,
            rule,
            1.0,
            list(item.candidates or []),
            "review",
        )
        current = link_row_of(conn, item.subject_type, item.subject_id)
        write_links(
            conn,
            [(link, current)],
            actor=actor,
            action="review",
            now=now,
            reason=f"review item {item_id} ({item.reason})",
        )
        decided = {
            "status": "decided",
            "decision_account_id": account_id,
            "decided_by": actor,
            "decided_at": now,
        }
        conn.execute(update(ri).where(ri.c.id == item_id).values(decided))
        others = and_(
            ri.c.subject_type == item.subject_type,
            ri.c.subject_id == item.subject_id,
            ri.c.status == "open",
        )
        conn.execute(update(ri).where(others).values(status="superseded"))
        sync_subject_accounts(conn, subject_type=item.subject_type, subject_id=item.subject_id)
    return ReviewItem(
        item.id,
        item.subject_type,
        item.subject_id,
        item.reason,
        list(item.candidates or []),
        "decided",
        item.created_at,
    )
