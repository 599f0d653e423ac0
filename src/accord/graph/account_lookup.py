"""Account lookups for ingest: e-mail → contact and account, company traits → account.

Built from the stored graph and cached in flat dicts; the graph's Matcher answers company
names and e-mail domains when it is available, exact normalized domains otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, and_, func, select

from accord.graph.domains import registrable_domain
from accord.graph.match import AccountRecord, LeadRecord, Matcher
from accord.graph.personal_email import is_personal
from accord.store.schema import account_domains, accounts, contacts, identity_links, leads

Signature = tuple[Any, ...]


def graph_signature(engine: Engine) -> Signature:
    """Changes whenever accounts, their domains or contacts change (cheap to compute)."""
    with engine.connect() as conn:
        acc = conn.execute(select(func.count(), func.max(accounts.c.updated_at))).one()
        con = conn.execute(select(func.count(), func.max(contacts.c.updated_at))).one()
        dom = conn.execute(select(func.count()).select_from(account_domains)).scalar_one()
    return (*acc, *con, dom)


def _unique_map(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """key -> value where the key maps to exactly one value."""
    out: dict[str, str] = {}
    clash: set[str] = set()
    for key, value in pairs:
        if key in out and out[key] != value:
            clash.add(key)
        out[key] = value
    for key in clash:
        del out[key]
    return out


def _build_matcher(records: list[AccountRecord]) -> Matcher | None:
    try:
        return Matcher.build(records)
    except NotImplementedError:
        return None


class AccountIndex:
    """Flat lookups over the stored accounts and contacts."""

    def __init__(
        self,
        emails: dict[str, tuple[str | None, str | None]],
        domains: dict[str, str],
        names: dict[str, str],
        matcher: Matcher | None,
        signature: Signature = (),
    ) -> None:
        self.emails = emails
        self.domains = domains
        self.names = names
        self.matcher = matcher
        self.signature = signature
        self._companies: dict[tuple[str | None, str | None], str | None] = {}
        self._email_domains: dict[str, str | None] = {}

    @classmethod
    def load(cls, engine: Engine) -> AccountIndex:
        """Read accounts, domains, contacts and leads; build the matcher when it exists."""
        signature = graph_signature(engine)
        live = accounts.c.merged_into.is_(None)
        lead_link = and_(
            identity_links.c.subject_type == "lead", identity_links.c.subject_id == leads.c.id
        )
        with engine.connect() as conn:
            records = [
                AccountRecord(id=i, name=n, domains=tuple(d or ()), parent_id=p)
                for i, n, d, p in conn.execute(
                    select(
                        accounts.c.id, accounts.c.name, accounts.c.domains, accounts.c.parent_id
                    ).where(live)
                )
            ]
            domain_rows = conn.execute(
                select(account_domains.c.domain, account_domains.c.account_id)
            )
            domains = _unique_map((d.lower(), a) for d, a in domain_rows)
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
        names = _unique_map((r.name.strip().lower(), r.id) for r in records if r.name)
        return cls(emails, domains, names, _build_matcher(records), signature)

    def by_email(self, email: str) -> tuple[str | None, str | None]:
        """(contact_id, account_id) of the stored person with this e-mail, else by its domain."""
        key = email.strip().lower()
        found = self.emails.get(key)
        if found is not None:
            return found
        domain = key.rpartition("@")[2]
        if domain not in self._email_domains:
            self._email_domains[domain] = self._account_for_email(key, domain)
        return None, self._email_domains[domain]

    def _account_for_email(self, email: str, domain: str) -> str | None:
        if self.matcher is not None:
            return self.matcher.match(LeadRecord(id="event", email=email)).account_id
        registrable = registrable_domain(domain)
        if registrable is None:
            return None
        account = self.domains.get(registrable) or self.domains.get(domain)
        if account is None and is_personal(registrable):
            return None
        return account

    def by_company(self, name: str | None, website: str | None) -> str | None:
        """The account a company name and website resolve to, or None when unsafe."""
        key = (name, website)
        if key not in self._companies:
            self._companies[key] = self._account_for_company(name, website)
        return self._companies[key]

    def _account_for_company(self, name: str | None, website: str | None) -> str | None:
        if self.matcher is not None:
            lead = LeadRecord(id="group", company=name, website=website)
            return self.matcher.match(lead).account_id
        domain = registrable_domain(website) if website else None
        if domain and domain in self.domains:
            return self.domains[domain]
        return self.names.get(name.strip().lower()) if name else None
