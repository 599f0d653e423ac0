"""The record kinds `accord import csv --kind` accepts, and the fields each one maps.

A kind is either an entity kind (rows upserted into a table, keyed by the map's `key`) or
an event kind (rows appended to `events`, deduplicated by a deterministic message id).
Event kinds (intent, ads, usage, cs) build their rows in `event_feeds`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from accord.ingest.fields import (
    FieldSpec,
    as_text,
    bool_field,
    date_field,
    float_field,
    int_field,
    link_field,
    lower_text,
    text_field,
    time_field,
)
from accord.ingest.values import to_int
from accord.store import schema


def domain_list(raw: Any) -> list[str]:
    """`a.com; b.com` -> ["a.com", "b.com"] (raw, as given; the graph layer normalizes)."""
    value = as_text(raw)
    return [p.strip() for p in value.split(";") if p.strip()] if value else []


def tier(raw: Any) -> int | None:
    value = to_int(raw)
    if value is not None and value not in (1, 2, 3):
        raise ValueError(f"{raw!r} is not a tier; use 1, 2 or 3")
    return value


@dataclass(frozen=True)
class Kind:
    """One importable kind: its fields, required fields and default key."""

    name: str  # accounts
    object: str  # account (id kind and external-id object)
    table: Table | None  # None for event kinds
    fields: dict[str, FieldSpec]
    required: tuple[str, ...]
    default_keys: tuple[tuple[str, ...], ...]  # first fully mapped candidate keys the rows
    event_kind: str | None = None  # events.kind for event kinds
    any_of: tuple[str, ...] = ()  # at least one of these fields must be mapped and filled


_PERSON = {
    "id": text_field("id"),
    "email": FieldSpec("email", lower_text),
    "first_name": text_field("first_name"),
    "last_name": text_field("last_name"),
    "title": text_field("title"),
    "phone": text_field("phone"),
    "country": text_field("country"),
    "lifecycle_stage": text_field("lifecycle_stage"),
    "owner": text_field("owner"),
}

ACCOUNTS = Kind(
    "accounts",
    "account",
    schema.accounts,
    {
        "id": text_field("id"),
        "name": text_field("name"),
        "domain": FieldSpec("domains", domain_list),
        "website": text_field("website"),
        "industry": text_field("industry"),
        "employees": int_field("employees"),
        "annual_revenue": float_field("annual_revenue"),
        "country": text_field("country"),
        "region": text_field("region"),
        "tier": FieldSpec("tier", tier),
        "lifecycle_stage": text_field("lifecycle_stage"),
        "owner_sdr": text_field("owner_sdr"),
        "owner_ae": text_field("owner_ae"),
        "owner_csm": text_field("owner_csm"),
        "owner_marketer": text_field("owner_marketer"),
        "arr": float_field("arr"),
        "renewal_date": date_field("renewal_date"),
        "parent_id": link_field("parent_id", "account"),
    },
    required=("name",),
    default_keys=(("id",), ("domain",), ("name",)),
)


def contact_status(raw: Any) -> str:
    """`Left`, ` INACTIVE ` -> `left`, `inactive`; an empty cell means active."""
    return lower_text(raw) or "active"


CONTACTS = Kind(
    "contacts",
    "contact",
    schema.contacts,
    {
        **_PERSON,
        "account_id": link_field("account_id", "account"),
        "status": FieldSpec("status", contact_status),
    },
    required=(),
    default_keys=(("id",), ("email",)),
)

LEADS = Kind(
    "leads",
    "lead",
    schema.leads,
    {**_PERSON, "company": text_field("company"), "website": text_field("website")},
    required=(),
    default_keys=(("id",), ("email",)),
)

OPPORTUNITIES = Kind(
    "opportunities",
    "opportunity",
    schema.opportunities,
    {
        "id": text_field("id"),
        "name": text_field("name"),
        "account_id": link_field("account_id", "account"),
        "contact_id": link_field("contact_id", "contact"),
        "type": text_field("type"),
        "stage": text_field("stage"),
        "amount": float_field("amount"),
        "currency": text_field("currency"),
        "probability": float_field("probability"),
        "created_date": date_field("created_date"),
        "close_date": date_field("close_date"),
        "is_closed": bool_field("is_closed"),
        "is_won": bool_field("is_won"),
        "owner": text_field("owner"),
    },
    required=("name", "stage"),
    default_keys=(("id",), ("name", "account_id")),
)

INTENT = Kind(
    "intent",
    "intent",
    None,
    {
        "domain": FieldSpec("domain", lower_text),
        "company": text_field("company"),
        "topic": text_field("topic"),
        "score": float_field("score"),
        "date": time_field("date"),
    },
    required=("topic", "score", "date"),
    default_keys=(),
    event_kind="intent",
    any_of=("domain", "company"),
)

_SUBJECT = {
    "domain": FieldSpec("domain", lower_text),
    "company": text_field("company"),
    "date": time_field("date"),
}

ADS = Kind(
    "ads",
    "ad",
    None,
    {
        **_SUBJECT,
        "platform": text_field("platform"),
        "campaign": text_field("campaign"),
        "creative": text_field("creative"),
        "impressions": int_field("impressions"),
        "clicks": int_field("clicks"),
        "spend": float_field("spend"),
    },
    required=("date",),
    default_keys=(),
    event_kind="ad",
    any_of=("domain", "company"),
)

USAGE = Kind(
    "usage",
    "usage",
    None,
    {
        **_SUBJECT,
        "email": FieldSpec("email", lower_text),
        "user_id": text_field("user_id"),
        "event": text_field("event"),
        "feature": text_field("feature"),
        "count": int_field("count"),
        "active_users": int_field("active_users"),
        "seats_used": int_field("seats_used"),
        "seats_limit": int_field("seats_limit"),
    },
    required=("date",),
    default_keys=(),
    event_kind="usage",
    any_of=("email", "user_id", "domain", "company"),
)

CS = Kind(
    "cs",
    "cs",
    None,
    {
        **_SUBJECT,
        "email": FieldSpec("email", lower_text),
        "ticket_id": text_field("ticket_id"),
        "event": text_field("event"),
        "priority": text_field("priority"),
        "status": text_field("status"),
        "subject": text_field("subject"),
        "channel": text_field("channel"),
        "owner": text_field("owner"),
    },
    required=("date",),
    default_keys=(),
    event_kind="cs",
    any_of=("email", "domain", "company"),
)

KINDS: dict[str, Kind] = {
    k.name: k for k in (ACCOUNTS, CONTACTS, LEADS, OPPORTUNITIES, INTENT, ADS, USAGE, CS)
}
EVENT_KINDS = tuple(k.name for k in KINDS.values() if k.table is None)
