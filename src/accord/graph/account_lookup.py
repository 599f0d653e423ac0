"""Account lookups for ingest: e-mail → contact and account, company traits → account.

Stored people are found by e-mail in a flat dict; everything else (e-mail domains, company
names and websites) is answered by the graph's one Matcher, so events resolve the way imports,
routing and `accord match` do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, and_, func, select

from accord.graph.match import LeadRecord, Matcher
from accord.graph.resolve import account_records
from accord.store.schema import account_domains, accounts, contacts, identity_links, leads

Signature = tuple[Any, ...]


def graph_signature(engine: Engine) -> Signature:
    """Changes whenever accounts, their domains or contacts change (cheap to compute)."""
    with engine.connect() as conn:
        acc = conn.execute(select(func.count(), func.max(accounts.c.updated_at))).one()
        con = conn.execute(select(func.count(), func.max(contacts.c.updated_at))).one()
        dom = conn.execute(select(func.count()).select_from(account_domains)).scalar_one()
    return (*acc, *con, dom)


class AccountLookup:
    """The stored graph as ingest needs it, with per-domain and per-company answers cached."""

    def __init__(
        self,
        emails: dict[str, tuple[str | None, str | None]],
        matcher: Matcher,
        signature: Signature = (),
    ) -> None:
        self.emails = emails
        self.matcher = matcher
        self.signature = signature
        self._companies: dict[tuple[str | None, str | None], str | None] = {}
        self._email_domains: dict[str, str | None] = {}

    @classmethod
    def empty(cls) -> AccountLookup:
        """A lookup that knows no account (before the first load)."""
        return cls({}, Matcher.build([]))

    @classmethod
    def load(cls, engine: Engine) -> AccountLookup:
        """Read contacts' and leads' e-mails and build the matcher over the live accounts."""
        signature = graph_signature(engine)
        lead_link = and_(
            identity_links.c.subject_type == "lead", identity_links.c.subject_id == leads.c.id
        )
        with engine.connect() as conn:
            records = account_records(conn)
            emails: dict[str, tuple[str | None, str | None]] = {}
            lead_q = select(
                leads.c.email, func.coalesce(leads.c.account_id, identity_links.c.account_id)
            ).outerjoin(identity_links, lead_link)
            for email, account_id in conn.execute(lead_q.where(leads.c.email.is_not(None))):
                emails[email.strip().lower()] = (None, account_id)
            contact_q = select(contacts.c.email, contacts.c.id, contacts.c.account_id)
            for email, contact_id, account_id in conn.execute(
                contact_q.where(contacts.c.email.is_not(None))
            ):
                emails[email.strip().lower()] = (contact_id, account_id)
        return cls(emails, Matcher.build(records), signature)

    def by_email(self, email: str) -> tuple[str | None, str | None]:
        """(contact_id, account_id) of the stored person with this e-mail, else by its domain."""
        key = email.strip().lower()
        found = self.emails.get(key)
        if found is not None:
            return found
        domain = key.rpartition("@")[2]
        if domain not in self._email_domains:
            self._email_domains[domain] = self._account_for_email(key)
        return None, self._email_domains[domain]

    def _account_for_email(self, email: str) -> str | None:
        return self.matcher.match(LeadRecord(id="event", email=email)).account_id

    def by_company(self, name: str | None, website: str | None) -> str | None:
        """The account a company name and website resolve to, or None when unsafe."""
        key = (name, website)
        if key not in self._companies:
            self._companies[key] = self._account_for_company(name, website)
        return self._companies[key]

    def _account_for_company(self, name: str | None, website: str | None) -> str | None:
        lead = LeadRecord(id="group", company=name, website=website)
        return self.matcher.match(lead).account_id
