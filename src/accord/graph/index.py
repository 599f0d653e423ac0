"""The account index the matching rules read: flat dicts from domain, brand and name to ids."""

from __future__ import annotations

from dataclasses import dataclass

from accord.graph.candidates import NameIndex
from accord.graph.domains import Domain, parse_domain, split_domains
from accord.graph.names import NameKey, normalize_name


def normalize_country(country: str | None) -> str | None:
    """Upper-case ISO-like code; a few common spellings folded (`UK` → `GB`, `USA` → `US`)."""
    if not country:
        return None
    code = country.strip().upper().replace(".", "")
    return _COUNTRY_ALIASES.get(code, code) or None


_COUNTRY_ALIASES = {
    "UK": "GB",
    "UNITED KINGDOM": "GB",
    "GREAT BRITAIN": "GB",
    "USA": "US",
    "UNITED STATES": "US",
    "UNITED STATES OF AMERICA": "US",
    "SP": "ES",
    "SPAIN": "ES",
    "GERMANY": "DE",
    "DEUTSCHLAND": "DE",
    "FRANCE": "FR",
}


@dataclass(frozen=True, slots=True)
class IndexedAccount:
    """An account as the index holds it: normalized once, at indexing time."""

    id: str
    name: str
    key: NameKey
    domains: tuple[Domain, ...]
    country: str | None
    parent_id: str | None


class AccountIndex:
    """Accounts by registrable domain, by brand label and by normalized name."""

    def __init__(self) -> None:
        self.accounts: dict[str, IndexedAccount] = {}
        self.by_domain: dict[str, list[str]] = {}
        self.by_brand: dict[str, list[str]] = {}
        self.domains: dict[str, Domain] = {}  # registrable domain → its parsed form
        self.names = NameIndex()

    def add(
        self,
        account_id: str,
        name: str,
        domains: tuple[str, ...],
        country: str | None,
        parent_id: str | None,
    ) -> None:
        """Index (or re-index) one account."""
        if account_id in self.accounts:
            self.remove(account_id)
        parsed = _parse_all(domains)
        acc = IndexedAccount(
            account_id, name, normalize_name(name or ""), parsed,
            normalize_country(country), parent_id or None,
        )  # fmt: skip
        self.accounts[account_id] = acc
        for dom in parsed:
            _append(self.by_domain, dom.registrable, account_id)
            self.domains[dom.registrable] = dom._replace(host=dom.registrable, is_subdomain=False)
            _append(self.by_brand, dom.brand, account_id)
        self.names.add(account_id, acc.key)

    def remove(self, account_id: str) -> None:
        """Drop one account (no-op when absent)."""
        acc = self.accounts.pop(account_id, None)
        if acc is None:
            return
        for dom in acc.domains:
            _discard(self.by_domain, dom.registrable, account_id)
            if dom.registrable not in self.by_domain:
                self.domains.pop(dom.registrable, None)
            _discard(self.by_brand, dom.brand, account_id)
        self.names.remove(account_id)

    def root(self, account_id: str) -> str:
        """The top of an account's parent chain (within the index; cycles stop the walk)."""
        seen = {account_id}
        current = account_id
        while True:
            parent = self.accounts[current].parent_id if current in self.accounts else None
            if parent is None or parent not in self.accounts or parent in seen:
                return current
            seen.add(parent)
            current = parent

    def family_head(self, account_ids: list[str]) -> str | None:
        """The shared root when all accounts belong to one family and it is among them."""
        roots = {self.root(a) for a in account_ids}
        if len(roots) != 1:
            return None
        head = roots.pop()
        return head if head in account_ids else None


def _parse_all(domains: tuple[str, ...]) -> tuple[Domain, ...]:
    seen: dict[str, Domain] = {}
    for cell in domains:
        for raw in split_domains(cell):
            parsed = parse_domain(raw)
            if parsed is not None and parsed.registrable not in seen:
                seen[parsed.registrable] = parsed
    return tuple(seen.values())


def _append(index: dict[str, list[str]], key: str, account_id: str) -> None:
    ids = index.setdefault(key, [])
    if account_id not in ids:
        ids.append(account_id)


def _discard(index: dict[str, list[str]], key: str, account_id: str) -> None:
    ids = index.get(key)
    if ids and account_id in ids:
        ids.remove(account_id)
        if not ids:
            del index[key]
