"""The Salesforce objects Accord imports and how their API fields map to columns.

Field names are matched after `fields.norm` (case, `_` and spaces ignored), so `AccountId`,
`accountid` and the warehouse layout's `account_id` are one field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Table

from accord.ingest.fields import (
    FieldSpec,
    bool_field,
    date_field,
    float_field,
    int_field,
    link_field,
    lower_text,
    text_field,
    time_field,
)
from accord.store import schema


@dataclass(frozen=True)
class SfObject:
    """One importable sObject: its id kind, table, fields and natural key."""

    name: str  # API name: Account
    object: str  # our object name: account
    table: Table | None  # None: not an entity (OpportunityHistory)
    fields: dict[str, FieldSpec]
    natural_key: tuple[str, ...]  # columns keying a file that has no Id or referenceId
    required: tuple[str, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)  # report labels -> field key


_PERSON = {
    "firstname": text_field("first_name"),
    "lastname": text_field("last_name"),
    "email": FieldSpec("email", lower_text),
    "title": text_field("title"),
    "phone": text_field("phone"),
    "ownerid": text_field("owner"),
}

ACCOUNT = SfObject(
    "Account",
    "account",
    schema.accounts,
    {
        "name": text_field("name"),
        "website": text_field("website"),
        "industry": text_field("industry"),
        "numberofemployees": int_field("employees"),
        "annualrevenue": float_field("annual_revenue"),
        "billingcountry": text_field("country"),
        "billingstate": text_field("region"),
        "parentid": link_field("parent_id", "account"),
        "ownerid": text_field("owner_ae"),
    },
    natural_key=("name",),
    required=("name",),
    aliases={"accountname": "name", "employees": "numberofemployees", "accountowner": "ownerid"},
)

CONTACT = SfObject(
    "Contact",
    "contact",
    schema.contacts,
    {
        **_PERSON,
        "mailingcountry": text_field("country"),
        "accountid": link_field("account_id", "account"),
    },
    natural_key=("email",),
    aliases={"contactowner": "ownerid", "emailaddress": "email"},
)

LEAD = SfObject(
    "Lead",
    "lead",
    schema.leads,
    {
        **_PERSON,
        "country": text_field("country"),
        "company": text_field("company"),
        "website": text_field("website"),
        "status": text_field("lifecycle_stage"),
        "convertedcontactid": link_field("converted_contact_id", "contact"),
    },
    natural_key=("email",),
    aliases={"leadowner": "ownerid", "leadstatus": "status"},
)

OPPORTUNITY = SfObject(
    "Opportunity",
    "opportunity",
    schema.opportunities,
    {
        "name": text_field("name"),
        "stagename": text_field("stage"),
        "amount": float_field("amount"),
        "currencyisocode": text_field("currency"),
        "probability": float_field("probability"),
        "closedate": date_field("close_date"),
        "createddate": date_field("created_date"),
        "isclosed": bool_field("is_closed"),
        "iswon": bool_field("is_won"),
        "ownerid": text_field("owner"),
        "accountid": link_field("account_id", "account"),
        "contactid": link_field("contact_id", "contact"),
    },
    natural_key=("name", "account_id"),
    required=("name",),
    aliases={"opportunityname": "name", "stage": "stagename", "opportunityowner": "ownerid"},
)

OPPORTUNITY_HISTORY = SfObject(
    "OpportunityHistory",
    "opportunity_history",
    None,
    {
        "opportunityid": link_field("opportunity_id", "opportunity"),
        "stagename": text_field("stage"),
        "createddate": time_field("created_at"),
        "fivetranstart": time_field("fivetran_start"),
    },
    natural_key=(),
)

CAMPAIGN = SfObject(
    "Campaign",
    "campaign",
    schema.campaigns,
    {
        "name": text_field("name"),
        "type": text_field("type"),
        "status": text_field("status"),
        "startdate": date_field("start_date"),
        "enddate": date_field("end_date"),
        "budgetedcost": float_field("budget"),
    },
    natural_key=("name",),
    required=("name",),
    aliases={"campaignname": "name"},
)

CASE = SfObject(
    "Case",
    "case",
    schema.cases,
    {
        "subject": text_field("subject"),
        "status": text_field("status"),
        "priority": text_field("priority"),
        "origin": text_field("origin"),
        "createddate": time_field("opened_at"),
        "closeddate": time_field("closed_at"),
        "accountid": link_field("account_id", "account"),
        "contactid": link_field("contact_id", "contact"),
    },
    natural_key=("casenumber",),
    aliases={"caseorigin": "origin"},
)

OBJECTS: dict[str, SfObject] = {
    o.name.lower(): o
    for o in (ACCOUNT, CAMPAIGN, CONTACT, LEAD, OPPORTUNITY, OPPORTUNITY_HISTORY, CASE)
}
ORDER = [o.name for o in OBJECTS.values()]  # parents before children


def find_object(name: str) -> SfObject | None:
    """The object for an API name or a file stem: Account, accounts, sf_account_data."""
    key = name.lower().removeprefix("sf_").removesuffix("_data").replace("_", "")
    for candidate in (key, key.removesuffix("s"), key.removesuffix("es"), key[:-3] + "y"):
        if candidate in OBJECTS and (candidate == key or key.endswith(("s", "ies"))):
            return OBJECTS[candidate]
    return None
