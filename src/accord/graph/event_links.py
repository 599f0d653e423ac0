"""Attach stored events that arrived before the graph knew their account.

An intent row naming a company only, a usage row for an e-mail whose contact was imported
later, a Segment `identify` whose domain matches an account created since, page views of an
anonymous visitor who filled in a form afterwards: each waits with no account.
`attach_events` first gives events of a user or anonymous visitor the account their stored
identity now has (set-based, one statement per id type), then resolves the remaining events
that carry an e-mail, a domain or a company, each distinct value once through the graph's
matcher (`AccountLookup`), and writes the account (and the contact an e-mail names) onto
them. Events that already have an account are never moved.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, Engine, String, bindparam, func, select, update

from accord.graph.account_lookup import AccountLookup
from accord.store.schema import events, identities

FEED_KINDS = ("intent", "ad", "usage", "cs")
_BATCH = 5_000


def _text(expr: Any) -> Any:
    return func.nullif(func.trim(expr.as_string()), "")


def _candidates(conn: Connection) -> Iterator[tuple[int, str | None, str | None, str | None]]:
    """(event id, e-mail, company, domain) of every unattached event that names one."""
    p = events.c.properties
    email = func.coalesce(_text(p["email"]), _text(p[("traits", "email")]))
    company = _text(p["company"])
    domain = _text(p["domain"])
    feed = events.c.kind.in_(FEED_KINDS)
    query = (
        select(
            events.c.id,
            func.lower(email).cast(String),
            company.cast(String),
            func.lower(domain).cast(String),
        )
        .where(events.c.account_id.is_(None))
        .where((email.is_not(None)) | (feed & (company.is_not(None) | domain.is_not(None))))
    )
    for row in conn.execute(query):
        yield row[0], row[1], row[2], row[3]


def _by_identity(conn: Connection, id_type: str, column: Any) -> int:
    """Attach unattached events of ids whose stored identity has an account."""
    i = identities.c
    known = (i.id_type == id_type) & (i.id_value == column) & i.account_id.is_not(None)
    account = select(i.account_id).where(known).scalar_subquery()
    contact = select(i.contact_id).where(known).scalar_subquery()
    statement = (
        update(events)
        .where(events.c.account_id.is_(None), column.is_not(None))
        .where(select(i.id_value).where(known).exists())
        .values(account_id=account, contact_id=func.coalesce(events.c.contact_id, contact))
    )
    return conn.execute(statement).rowcount or 0


def attach_events(engine: Engine, lookup: AccountLookup | None = None) -> int:
    """Give unattached events the account their identity, e-mail, domain or company
    resolves to; return how many were attached."""
    with engine.begin() as conn:
        attached = _by_identity(conn, "user", events.c.user_id)
        attached += _by_identity(conn, "anonymous", events.c.anonymous_id)
    with engine.connect() as conn:
        pending = list(_candidates(conn))
    if not pending:
        return attached
    lookup = lookup or AccountLookup.load(engine)
    by_email: dict[str, tuple[str | None, str | None]] = {}
    by_company: dict[tuple[str | None, str | None], str | None] = {}
    changes: list[dict[str, Any]] = []
    for event_id, email, company, domain in pending:
        contact_id, account_id = None, None
        if email:
            if email not in by_email:
                by_email[email] = lookup.by_email(email)
            contact_id, account_id = by_email[email]
        if account_id is None and (company or domain):
            key = (company, domain)
            if key not in by_company:
                by_company[key] = lookup.by_company(company, domain)
            account_id = by_company[key]
        if account_id is not None:
            changes.append({"event_id": event_id, "a": account_id, "c": contact_id})
    statement = (
        update(events)
        .where(events.c.id == bindparam("event_id"), events.c.account_id.is_(None))
        .values(
            account_id=bindparam("a"),
            contact_id=func.coalesce(events.c.contact_id, bindparam("c")),
        )
    )
    with engine.begin() as conn:
        for start in range(0, len(changes), _BATCH):
            conn.execute(statement, changes[start : start + _BATCH])
    return attached + len(changes)
