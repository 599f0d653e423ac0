"""Event feeds from CSV: intent, ad, product-usage and customer-success rows become `events`.

Every row is one event. Its message id is derived from what identifies the observation
(the subject, the date and the feed's own keys), so re-importing a feed adds nothing. The
account is attached here when the row names it exactly: a stored contact's e-mail, or a
domain (given, or the e-mail's) that exactly one account holds. Rows left unattached are
resolved through the graph's matcher afterwards (`accord.graph.event_links.attach_events`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from accord.ingest.upsert import chunks
from accord.store.schema import account_domains, contacts

Row = dict[str, Any]


@dataclass(frozen=True)
class Feed:
    """How the rows of one event kind become events."""

    kind: str  # events.kind
    team: str
    name: Callable[[Row], str]  # the event name of a row
    identity: tuple[str, ...]  # fields that, with subject and date, identify an observation


def _ad_name(row: Row) -> str:
    return "Ad Clicked" if (row.get("clicks") or 0) > 0 else "Ad Impression"


FEEDS: dict[str, Feed] = {
    "intent": Feed("intent", "marketing", lambda r: str(r["topic"]), ("topic",)),
    "ad": Feed("ad", "marketing", _ad_name, ("platform", "campaign", "creative")),
    "usage": Feed(
        "usage", "product", lambda r: r.get("event") or "Feature Used", ("event", "feature")
    ),
    "cs": Feed("cs", "cs", lambda r: r.get("event") or "Ticket Created", ("ticket_id", "event")),
}


def _subject(row: Row) -> str:
    """Who the row is about, as the message id sees it."""
    for field in ("email", "user_id", "domain"):
        if row.get(field):
            return str(row[field])
    return str(row.get("company") or "").lower()


def message_id(feed: Feed, row: Row) -> str:
    """A deterministic id for the observation in `row` (intent ids are kept as they were)."""
    if feed.kind == "intent":
        subject = row.get("domain") or (row.get("company") or "").lower()
        basis = f"intent\x1f{subject}\x1f{row['topic'].lower()}\x1f{_iso(row['date'])}"
        return "intent_" + hashlib.sha256(basis.encode()).hexdigest()[:32]
    keys = "\x1f".join(str(row.get(f) or "").lower() for f in feed.identity)
    basis = f"{feed.kind}\x1f{_subject(row)}\x1f{keys}\x1f{_iso(row['date'])}"
    return f"{feed.kind}_" + hashlib.sha256(basis.encode()).hexdigest()[:32]


def _iso(value: date | datetime) -> str:
    return value.isoformat()


def _properties(row: Row) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "date" and v is not None and v != ""}


def feed_events(conn: Connection, kind: str, rows: list[Row]) -> list[Row]:
    """Event rows for `rows` of the event kind `kind` (an `events.kind`)."""
    feed = FEEDS[kind]
    emails = {r["email"] for r in rows if r.get("email")}
    domains = {_bare(r["domain"]) for r in rows if r.get("domain")}
    by_domain = _accounts_by_domain(conn, domains | {e.rpartition("@")[2] for e in emails})
    by_email = _contacts_by_email(conn, emails)
    out = []
    for row in rows:
        email = row.get("email") or ""
        contact_id, account_id = by_email.get(email, (None, None))
        if account_id is None:
            domain = _bare(row["domain"]) if row.get("domain") else email.rpartition("@")[2]
            account_id = by_domain.get(domain)
        out.append(
            {
                "message_id": message_id(feed, row),
                "occurred_at": row["date"],
                "kind": feed.kind,
                "name": feed.name(row)[:255],
                "team": feed.team,
                "account_id": account_id,
                "contact_id": contact_id,
                "user_id": row.get("user_id"),
                "properties": _properties(row),
            }
        )
    return out


def _bare(domain: str) -> str:
    host = domain.strip().lower().split("://")[-1].split("/")[0]
    return host.removeprefix("www.")


def _accounts_by_domain(conn: Connection, domains: Iterable[str]) -> dict[str, str]:
    """domain -> account id, for domains exactly one account holds."""
    owners: dict[str, set[str]] = {}
    c = account_domains.c
    for part in chunks(sorted(domains)):
        for account, domain in conn.execute(
            select(c.account_id, c.domain).where(c.domain.in_(part))
        ):
            owners.setdefault(domain, set()).add(account)
    return {d: next(iter(a)) for d, a in owners.items() if len(a) == 1}


def _contacts_by_email(
    conn: Connection, emails: Iterable[str]
) -> dict[str, tuple[str | None, str | None]]:
    """lower-cased e-mail -> (contact id, account id) of the one contact holding it."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    c = contacts.c  # e-mails are stored lower-cased by every importer
    for part in chunks(sorted(emails)):
        for value, contact_id, account_id in conn.execute(
            select(c.email, c.id, c.account_id).where(c.email.in_(part))
        ):
            found.setdefault(value, []).append((contact_id, account_id))
    return {e: hits[0] for e, hits in found.items() if len(hits) == 1}
