"""HubSpot export columns (UI export labels and warehouse `property_*` names) -> columns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table

from accord.ingest.fields import (
    FieldSpec,
    as_text,
    date_field,
    float_field,
    int_field,
    lower_text,
    norm,
    text_field,
)
from accord.store import schema


def id_list(raw: Any) -> list[str]:
    """A multi-valued cell: `12;34` (UI export) -> ["12", "34"]."""
    value = as_text(raw)
    return [part.strip() for part in value.split(";") if part.strip()] if value else []


def field_key(header: str) -> str:
    """A column's key: UI labels and warehouse `property_*` names meet in one form."""
    key = norm(header)
    return key.removeprefix("property")


@dataclass(frozen=True)
class HsObject:
    """One HubSpot object: its id column(s), table, fields and dedupe field."""

    name: str  # company, contact, deal
    kind: str  # our id kind: account, contact, opportunity
    table: Table
    id_keys: tuple[str, ...]
    fields: dict[str, FieldSpec]
    dedupe: str | None  # column HubSpot deduplicates on: domains, email


_OWNER = ("companyowner", "contactowner", "dealowner", "hubspotownerid", "ownerid")

COMPANY = HsObject(
    "company",
    "account",
    schema.accounts,
    ("recordid", "id", "companyid"),
    {
        "companyname": text_field("name"),
        "name": text_field("name"),
        "companydomainname": FieldSpec("domains", lower_text),
        "domain": FieldSpec("domains", lower_text),
        "websiteurl": text_field("website"),
        "website": text_field("website"),
        "industry": text_field("industry"),
        "numberofemployees": int_field("employees"),
        "annualrevenue": float_field("annual_revenue"),
        "countryregion": text_field("country"),
        "country": text_field("country"),
        "stateregion": text_field("region"),
        "state": text_field("region"),
        "lifecyclestage": FieldSpec("lifecycle_stage", lower_text),
        **{k: text_field("owner_ae") for k in _OWNER},
    },
    dedupe="domains",
)

CONTACT = HsObject(
    "contact",
    "contact",
    schema.contacts,
    ("recordid", "id", "vid", "contactid"),
    {
        "firstname": text_field("first_name"),
        "lastname": text_field("last_name"),
        "email": FieldSpec("email", lower_text),
        "phonenumber": text_field("phone"),
        "phone": text_field("phone"),
        "jobtitle": text_field("title"),
        "countryregion": text_field("country"),
        "country": text_field("country"),
        "lifecyclestage": FieldSpec("lifecycle_stage", lower_text),
        **{k: text_field("owner") for k in _OWNER},
    },
    dedupe="email",
)

DEAL = HsObject(
    "deal",
    "opportunity",
    schema.opportunities,
    ("recordid", "dealid", "id"),
    {
        "dealname": text_field("name"),
        "dealstage": text_field("stage"),
        "amount": float_field("amount"),
        "closedate": date_field("close_date"),
        "createdate": date_field("created_date"),
        "dealtype": text_field("type"),
        **{k: text_field("owner") for k in _OWNER},
    },
    dedupe=None,
)

OBJECTS = {o.name: o for o in (COMPANY, CONTACT, DEAL)}
LINKS = {"associatedcompanyids": "company", "associatedcontactids": "contact"}

_LIFECYCLE = {"customer": "customer", "evangelist": "customer", "opportunity": "opportunity"}


def account_lifecycle(stage: str | None) -> str:
    """HubSpot's lifecycle stage as ours (prospect, opportunity, customer)."""
    return _LIFECYCLE.get(norm(stage or ""), "prospect")


def find_file_object(stem: str) -> str | None:
    """companies.csv / company_data.csv -> company; deal_company_data.csv -> deal_company."""
    key = stem.lower().removesuffix("_data").replace("-", "_")
    if key in ("deal_company", "deal_contact"):
        return key
    key = key.removesuffix("s").removesuffix("ie")
    for name in OBJECTS:
        if key in (name, name.removesuffix("y")):
            return name
    return None
