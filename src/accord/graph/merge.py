"""Merging duplicate accounts, reversibly, and linking people to accounts by hand.

A merge re-points every row that names the duplicate (contacts, leads, opportunities and their
stage history, cases, events, identity links, target-list members, child accounts and domains)
to the kept account, marks the duplicate `merged_into`, and records in `merges.moved` exactly
which rows moved, so `unmerge` puts each one back. Manual links and unlinks have origin
`manual`: resolution never changes them. Every change is audited with its actor and reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, bindparam, select, update

from accord.errors import Conflict, InputError, NotFound
from accord.graph.review import (
    SUBJECTS,
    LinkRow,
    audit_row,
    link_row_of,
    live_account,
    subject_type_checked,
    sync_subject_accounts,
    utcnow,
    write_links,
)
from accord.graph.targets import refresh_target_flags
from accord.model.ids import new_id
from accord.store.schema import (
    account_domains,
    accounts,
    audit_entries,
    cases,
    contacts,
    events,
    identity_links,
    leads,
    merges,
    opportunities,
    opportunity_stages,
    review_items,
    target_list_members,
)

# (name in `merges.moved`, table, the column naming the account)
MOVES: tuple[tuple[str, Table, str], ...] = (
    ("contacts", contacts, "account_id"),
    ("leads", leads, "account_id"),
    ("opportunities", opportunities, "account_id"),
    ("opportunity_stages", opportunity_stages, "account_id"),
    ("cases", cases, "account_id"),
    ("events", events, "account_id"),
    ("identity_links", identity_links, "account_id"),
    ("target_list_members", target_list_members, "account_id"),
    ("child_accounts", accounts, "parent_id"),
)


@dataclass(frozen=True)
class MergeResult:
    id: str
    kept_id: str
    merged_id: str
    counts: dict[str, int]


def merge_accounts(
    engine: Engine, keep_id: str, dup_id: str, *, actor: str, reason: str | None = None
) -> MergeResult:
    """Fold account `dup_id` into `keep_id`; reversible with `unmerge`."""
    if keep_id == dup_id:
        raise InputError(f"merge: keep and duplicate are both '{keep_id}'; name two accounts")
    with engine.begin() as conn:
        before = _accounts_state(conn, keep_id, dup_id)
        now, merge_id = utcnow(), new_id("merge")
        moved: dict[str, Any] = {"accounts": before}
        for name, table, column in MOVES:
            moved[name] = _move_rows(conn, table, column, dup_id, keep_id)
        moved["account_domains"] = _move_domains(conn, dup_id, keep_id)
        conn.execute(update(accounts).where(accounts.c.id == dup_id).values(merged_into=keep_id))
        refresh_target_flags(conn)
        counts = _counts(moved)
        row = {
            "id": merge_id,
            "kept_id": keep_id,
            "merged_id": dup_id,
            "moved": moved,
            "actor": actor,
            "created_at": now,
        }
        conn.execute(merges.insert(), [row])
        details = {"merge_id": merge_id, "kept_id": keep_id, "counts": counts, "reason": reason}
        _audit(conn, actor, "merge", dup_id, keep_id, details, now)
    return MergeResult(merge_id, keep_id, dup_id, counts)


def unmerge(engine: Engine, merge_id: str, *, actor: str, reason: str | None = None) -> MergeResult:
    """Put back every row a merge moved; refuses a merge that was already undone."""
    with engine.begin() as conn:
        m = conn.execute(select(merges).where(merges.c.id == merge_id)).first()
        if m is None:
            raise NotFound(
                f"merge '{merge_id}' does not exist; `accord graph merge` printed its id"
            )
        if m.undone_at is not None:
            raise Conflict(
                f"merge '{merge_id}' was already undone at {m.undone_at}; nothing changed"
            )
        kept = conn.execute(select(accounts.c.merged_into).where(accounts.c.id == m.kept_id)).one()
        if kept.merged_into is not None:
            raise Conflict(
                f"merge '{merge_id}': account '{m.kept_id}' was since merged into "
                f"'{kept.merged_into}'; undo that merge first"
            )
        moved = m.moved
        for name, table, column in MOVES:
            _restore_rows(conn, table, column, moved.get(name, []), m.kept_id, m.merged_id)
        _restore_domains(conn, moved["account_domains"], m.merged_id, m.kept_id)
        _restore_accounts(conn, moved["accounts"])
        now = utcnow()
        conn.execute(update(merges).where(merges.c.id == merge_id).values(undone_at=now))
        details = {"merge_id": merge_id, "kept_id": m.kept_id, "reason": reason}
        _audit(conn, actor, "unmerge", m.merged_id, m.merged_id, details, now)
    return MergeResult(merge_id, m.kept_id, m.merged_id, _counts(moved))


def _counts(moved: dict[str, Any]) -> dict[str, int]:
    """Rows moved per table."""
    counts = {name: len(moved.get(name, [])) for name, _, _ in MOVES}
    counts["account_domains"] = len(moved["account_domains"]["rows"])
    return counts


def _accounts_state(conn: Connection, keep_id: str, dup_id: str) -> dict[str, Any]:
    """Check both accounts can take part; their target flags, for an exact unmerge."""
    a = accounts.c
    found = {
        r.id: r
        for r in conn.execute(
            select(a.id, a.merged_into, a.is_target, a.tier).where(a.id.in_([keep_id, dup_id]))
        )
    }
    for account_id in (keep_id, dup_id):
        if account_id not in found:
            raise NotFound(f"merge: account '{account_id}' does not exist")
        if found[account_id].merged_into is not None:
            into = found[account_id].merged_into
            raise Conflict(f"merge: account '{account_id}' is already merged into '{into}'")
    return {i: {"is_target": bool(r.is_target), "tier": r.tier} for i, r in found.items()}


def _pk_json(table: Table, row: Any) -> list[Any]:
    return [v.isoformat() if isinstance(v, datetime) else v for v in row]


def _pk_params(table: Table, values: list[Any]) -> dict[str, Any]:
    params = {}
    for col, value in zip(table.primary_key.columns, values, strict=True):
        is_time = isinstance(value, str) and col.type.python_type is datetime
        params[f"k_{col.name}"] = datetime.fromisoformat(value) if is_time else value
    return params


def _move_rows(conn: Connection, table: Table, column: str, dup: str, keep: str) -> list[Any]:
    """Re-point rows naming `dup` to `keep` (set-based); their primary keys."""
    col = table.c[column]
    where = [col == dup]
    if table is accounts:
        where.append(accounts.c.id != keep)  # the kept account stays where it is
    keys = [
        _pk_json(table, r) for r in conn.execute(select(*table.primary_key.columns).where(*where))
    ]
    if keys:
        conn.execute(update(table).where(*where).values({column: keep}))
    return keys


def _restore_rows(
    conn: Connection, table: Table, column: str, keys: list[Any], keep: str, dup: str
) -> None:
    if not keys:
        return
    pk = [c == bindparam(f"k_{c.name}") for c in table.primary_key.columns]
    stmt = update(table).where(and_(*pk), table.c[column] == keep).values({column: dup})
    conn.execute(stmt, [_pk_params(table, k) for k in keys])


def _move_domains(conn: Connection, dup: str, keep: str) -> dict[str, Any]:
    """Move the duplicate's domains to the kept account (not as its primary)."""
    ad = account_domains
    own = [
        list(r)
        for r in conn.execute(select(ad.c.domain, ad.c.is_primary).where(ad.c.account_id == dup))
    ]
    kept = set(conn.execute(select(ad.c.domain).where(ad.c.account_id == keep)).scalars())
    added = [d for d, _ in own if d not in kept]
    conn.execute(ad.delete().where(ad.c.account_id == dup))
    if added:
        conn.execute(
            ad.insert(), [{"account_id": keep, "domain": d, "is_primary": False} for d in added]
        )
    return {"rows": own, "added": added}


def _restore_domains(conn: Connection, moved: dict[str, Any], dup: str, keep: str) -> None:
    ad = account_domains
    if moved["added"]:
        conn.execute(ad.delete().where(ad.c.account_id == keep, ad.c.domain.in_(moved["added"])))
    rows = [{"account_id": dup, "domain": d, "is_primary": bool(p)} for d, p in moved["rows"]]
    if rows:
        conn.execute(ad.insert(), rows)


def _restore_accounts(conn: Connection, before: dict[str, Any]) -> None:
    for account_id, state in before.items():
        values = {"is_target": state["is_target"], "tier": state["tier"], "merged_into": None}
        conn.execute(update(accounts).where(accounts.c.id == account_id).values(values))


def _audit(
    conn: Connection,
    actor: str,
    action: str,
    subject_id: str,
    account_id: str | None,
    details: dict[str, Any],
    now: datetime,
) -> None:
    row = audit_row(
        actor=actor,
        action=action,
        subject_type="account",
        subject_id=subject_id,
        account_id=account_id,
        details=details,
        at=now,
    )
    conn.execute(audit_entries.insert(), [row])


# --- manual links -------------------------------------------------------------------------


def link_subject(
    engine: Engine,
    subject_type: str,
    subject_id: str,
    account_id: str | None,
    *,
    actor: str,
    reason: str | None = None,
) -> LinkRow:
    """Link a contact or lead to `account_id` by hand (None: to no account); it sticks."""
    subject_type_checked(subject_type)
    table = SUBJECTS[subject_type]
    with engine.begin() as conn:
        if conn.execute(select(table.c.id).where(table.c.id == subject_id)).first() is None:
            raise NotFound(f"{subject_type} '{subject_id}' does not exist")
        if account_id is not None:
            live_account(conn, account_id)
        current = link_row_of(conn, subject_type, subject_id)
        candidates = list(current.link_candidates or []) if current is not None else []
        rule = "manual" if account_id is not None else "manual_unlink"
        link = LinkRow(subject_type, subject_id, account_id, rule, 1.0, candidates, "manual")
        action = "link" if account_id is not None else "unlink"
        write_links(
            conn, [(link, current)], actor=actor, action=action, now=utcnow(), reason=reason
        )
        ri = review_items
        open_items = and_(
            ri.c.subject_type == subject_type, ri.c.subject_id == subject_id, ri.c.status == "open"
        )
        conn.execute(update(ri).where(open_items).values(status="superseded"))
        sync_subject_accounts(conn, subject_type=subject_type, subject_id=subject_id)
    return link


def unlink_subject(
    engine: Engine, subject_type: str, subject_id: str, *, actor: str, reason: str | None = None
) -> LinkRow:
    """Leave a contact or lead linked to no account; resolution keeps it that way."""
    return link_subject(engine, subject_type, subject_id, None, actor=actor, reason=reason)


def audit_history(engine: Engine, subject_type: str, subject_id: str) -> list[Any]:
    """Every audit entry about one subject, oldest first."""
    a = audit_entries
    query = (
        select(a.c.at, a.c.actor, a.c.action, a.c.account_id, a.c.details)
        .where(a.c.subject_type == subject_type, a.c.subject_id == subject_id)
        .order_by(a.c.at, a.c.id)
    )
    with engine.connect() as conn:
        return list(conn.execute(query))
