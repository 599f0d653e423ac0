"""Identity stitching at ingest: each call is attached to the contact and account known now.

`identify` with an e-mail finds the stored contact (or the account by e-mail domain);
`anonymousId` joins `userId` once both are seen together or through `alias`; `group` (and
`context.groupId`) ties users to the account the group's traits resolve to. All lookups are
flat dicts; what is learnt is queued as identity and group rows, stored with the events.
An anonymous visitor who gains an account is queued as an attachment: the visitor's earlier
unattached events get that account in the same commit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Engine, select

from accord.graph.account_lookup import AccountLookup
from accord.ingest.segment_jsonl import Call
from accord.store.schema import groups, identities

Known = tuple[str | None, str | None, str | None]  # (user_id, contact_id, account_id)
Attachment = tuple[str, str, str | None]  # (anonymous_id, account_id, contact_id)
_NOTHING: Known = (None, None, None)


class IdentityStitcher:
    """Flat caches of identities and groups over an `AccountLookup`."""

    def __init__(
        self,
        index: AccountLookup,
        known: dict[tuple[str, str], Known] | None = None,
        group_accounts: dict[str, str | None] | None = None,
    ) -> None:
        self.index = index
        self.known = known or {}
        self.groups = group_accounts or {}
        self._idents: dict[tuple[str, str], dict[str, Any]] = {}
        self._groups: dict[str, dict[str, Any]] = {}
        self._attach: dict[str, Attachment] = {}

    @classmethod
    def load(cls, engine: Engine) -> IdentityStitcher:
        """Caches filled from the stored accounts, contacts, identities and groups."""
        stitcher = cls(AccountLookup.load(engine))
        stitcher.merge_stored(*read_identities(engine))
        return stitcher

    def merge_stored(
        self, known: dict[tuple[str, str], Known], group_accounts: dict[str, str | None]
    ) -> None:
        """Take identities other writers stored (what this process learnt itself stays)."""
        for key, value in known.items():
            if key not in self._idents:
                self.known[key] = value
        for group_id, account_id in group_accounts.items():
            if group_id not in self._groups:
                self.groups[group_id] = account_id

    def stitch(self, call: Call) -> tuple[str | None, str | None]:
        """(account_id, contact_id) for `call`, learning from it."""
        user_id, anonymous_id, kind = call.user_id, call.anonymous_id, call.kind
        _, contact, account = self._current(user_id, anonymous_id)
        if kind == "identify" or (contact is None and call.email):
            contact, account = self._from_traits(call, contact, account)
        group_id = call.group_id
        if group_id is not None:
            group_account = (
                self.groups.get(group_id) if kind != "group" else self._group_account(call)
            )
            if group_account is not None:
                account = group_account
        if kind == "alias" and call.previous_id:
            self._remember("anonymous", call.previous_id, (user_id, contact, account))
        if user_id and (contact or account):
            self._remember("user", user_id, (user_id, contact, account))
        if anonymous_id:
            self._remember("anonymous", anonymous_id, (user_id, contact, account))
        return account, contact

    def take_updates(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Identity and group rows learnt since the last take (attachments are dropped)."""
        idents, group_rows, _ = self.take_all()
        return idents, group_rows

    def take_all(
        self,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Attachment]]:
        """Identity rows, group rows and attachments learnt since the last take."""
        if not self._idents and not self._groups:
            return [], [], []
        learnt = list(self._idents.values()), list(self._groups.values())
        attach = list(self._attach.values())
        self._idents, self._groups, self._attach = {}, {}, {}
        return *learnt, attach

    def _current(self, user_id: str | None, anonymous_id: str | None) -> Known:
        known = self.known
        found = known.get(("user", user_id)) if user_id else None
        if found is None and anonymous_id:
            found = known.get(("anonymous", anonymous_id))
            if found is not None and user_id is None and found[0]:
                found = known.get(("user", found[0]), found)
        return found or _NOTHING

    def _from_traits(
        self, call: Call, contact: str | None, account: str | None
    ) -> tuple[str | None, str | None]:
        if call.email:
            found_contact, found_account = self.index.by_email(call.email)
            contact = found_contact or contact
            account = found_account or account
        if account is None and call.kind == "identify" and (call.company or call.website):
            account = self.index.by_company(call.company, call.website)
        return contact, account

    def _group_account(self, call: Call) -> str | None:
        group_id = call.group_id
        if group_id is None:
            return None
        if call.kind != "group":
            return self.groups.get(group_id)
        account = (
            self.index.by_company(call.company, call.website)
            if (call.company or call.website)
            else None
        )
        account = account or self.groups.get(group_id)
        traits = orjson.loads(call.properties).get("traits", {})
        self.groups[group_id] = account
        self._groups[group_id] = {
            "group_id": group_id,
            "account_id": account,
            "name": (call.company or "")[:400] or None,
            "website": call.website,
            "traits": traits,
            "updated_at": datetime.now(UTC),
        }
        return account

    def _remember(self, id_type: str, value: str, new: Known) -> None:
        key = (id_type, value)
        old = self.known.get(key, _NOTHING)
        merged = (new[0] or old[0], new[1] or old[1], new[2] or old[2])
        if merged in (old, _NOTHING):
            return
        self.known[key] = merged
        if id_type == "anonymous" and merged[2] is not None and merged[2] != old[2]:
            self._attach[value] = (value, merged[2], merged[1])
        self._idents[key] = {
            "id_type": id_type,
            "id_value": value,
            "user_id": merged[0],
            "contact_id": merged[1],
            "account_id": merged[2],
            "updated_at": datetime.now(UTC),
        }


def read_identities(
    engine: Engine, since: datetime | None = None
) -> tuple[dict[tuple[str, str], Known], dict[str, str | None]]:
    """Stored identities and group accounts (those updated after `since`, when given)."""
    i, g = identities.c, groups.c
    ident_q = select(i.id_type, i.id_value, i.user_id, i.contact_id, i.account_id)
    group_q = select(g.group_id, g.account_id)
    if since is not None:
        ident_q = ident_q.where(i.updated_at >= since)
        group_q = group_q.where(g.updated_at >= since)
    with engine.connect() as conn:
        known = {(t, v): (u, c, a) for t, v, u, c, a in conn.execute(ident_q)}
        group_accounts: dict[str, str | None] = dict(conn.execute(group_q).all())
    return known, group_accounts
