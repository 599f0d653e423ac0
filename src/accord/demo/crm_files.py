"""Write the demo world as a Salesforce Data Loader export, a target list and an intent feed."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path

from accord.demo.model import SalesforceIds, World
from accord.demo.sampling import salesforce_datetime

SALESFORCE_DIR = "salesforce"

ACCOUNT_FIELDS = (
    "Id", "Name", "Type", "ParentId", "Website", "Industry", "NumberOfEmployees",
    "AnnualRevenue", "BillingCity", "BillingCountry", "Phone", "AccountSource", "OwnerId",
    "CreatedDate",
)  # fmt: skip
CONTACT_FIELDS = (
    "Id", "AccountId", "FirstName", "LastName", "Email", "Title", "Phone", "MailingCountry",
    "OwnerId", "CreatedDate",
)  # fmt: skip
LEAD_FIELDS = (
    "Id", "FirstName", "LastName", "Company", "Email", "Website", "Title", "Country", "Status",
    "LeadSource", "IsConverted", "OwnerId", "CreatedDate",
)  # fmt: skip
OPPORTUNITY_FIELDS = (
    "Id", "AccountId", "Name", "Type", "StageName", "Amount", "Probability", "CloseDate",
    "CreatedDate", "IsClosed", "IsWon", "ForecastCategoryName", "OwnerId",
)  # fmt: skip
HISTORY_FIELDS = (
    "Id", "OpportunityId", "StageName", "Amount", "Probability", "CloseDate", "CreatedDate",
)  # fmt: skip
CASE_FIELDS = (
    "Id", "AccountId", "ContactId", "Subject", "Status", "Priority", "Origin", "Type",
    "IsClosed", "CreatedDate", "ClosedDate",
)  # fmt: skip
TARGET_FIELDS = ("list", "tier", "domain", "name")
INTENT_FIELDS = ("Company Name", "Domain", "Topic", "Composite Score", "Week Start Date")

INTENT_MAP = """\
# Column map for intent.csv, a weekly topic-surge feed (one row per company, topic and week).
kind: intent
source: intent_feed
columns:
  company: Company Name
  domain: Domain
  topic: Topic
  score: Composite Score
  date: Week Start Date
"""


def write_all(world: World, out: Path) -> dict[str, int]:
    """Write every CRM-side file into `out`; return rows written per file name."""
    sf = out / SALESFORCE_DIR
    sf.mkdir(parents=True, exist_ok=True)
    counts = {
        "Account.csv": _write(sf / "Account.csv", ACCOUNT_FIELDS, _accounts(world)),
        "Contact.csv": _write(sf / "Contact.csv", CONTACT_FIELDS, _contacts(world)),
        "Lead.csv": _write(sf / "Lead.csv", LEAD_FIELDS, _leads(world)),
        "Opportunity.csv": _write(sf / "Opportunity.csv", OPPORTUNITY_FIELDS, _opps(world)),
        "OpportunityHistory.csv": _write(
            sf / "OpportunityHistory.csv", HISTORY_FIELDS, _history(world)
        ),
        "Case.csv": _write(sf / "Case.csv", CASE_FIELDS, _cases(world)),
        "targets.csv": _write(out / "targets.csv", TARGET_FIELDS, _targets(world), quote=False),
        "intent.csv": _write(out / "intent.csv", INTENT_FIELDS, _intent(world), quote=False),
    }
    (out / "intent_map.yaml").write_text(INTENT_MAP, encoding="utf-8")
    return counts


def _write(
    path: Path, header: tuple[str, ...], rows: Iterable[list[str]], quote: bool = True
) -> int:
    """Data Loader style: UTF-8, a header of API names, every value quoted, CRLF line ends."""
    n = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_ALL if quote else csv.QUOTE_MINIMAL)
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            n += 1
    return n


def _d(value: date | None) -> str:
    return value.isoformat() if value else ""


def _dt(value: datetime | None) -> str:
    return salesforce_datetime(value) if value else ""


def _b(value: bool) -> str:
    return "true" if value else "false"


_ACCOUNT_TYPE = {  # Salesforce's Type picklist, plus the common custom "Former Customer"
    "prospect": "Prospect",
    "opportunity": "Prospect",
    "customer": "Customer - Direct",
    "churned": "Former Customer",
}


def _accounts(world: World) -> Iterator[list[str]]:
    accounts = world.accounts
    sources = ("Web", "Partner Referral", "Trade Show", "Purchased List", "Other")
    for i, a in enumerate(accounts):
        parent = accounts[a.parent].sfid if a.parent is not None else ""
        yield [
            a.sfid, a.name, _ACCOUNT_TYPE[a.lifecycle], parent, a.website, a.industry,
            str(a.employees), f"{a.revenue:.0f}", a.city, a.country, a.phone,
            sources[i % len(sources)], a.owner_id, _dt(a.created),
        ]  # fmt: skip


def _contacts(world: World) -> Iterator[list[str]]:
    accounts = world.accounts
    for c in world.contacts:
        yield [
            c.sfid, accounts[c.account].sfid, c.first_name, c.last_name, c.email, c.title,
            c.phone, c.country, c.owner_id, _dt(c.created),
        ]  # fmt: skip


def _leads(world: World) -> Iterator[list[str]]:
    for x in world.leads:
        yield [
            x.sfid, x.first_name, x.last_name, x.company, x.email, x.website, x.title, x.country,
            x.status, x.source, "false", x.owner_id, _dt(x.created),
        ]  # fmt: skip


def _opps(world: World) -> Iterator[list[str]]:
    accounts = world.accounts
    for o in world.opportunities:
        yield [
            o.sfid, accounts[o.account].sfid, o.name, o.type, o.stage, f"{o.amount:.2f}",
            str(o.probability), _d(o.close_date), _dt(o.created), _b(o.is_closed), _b(o.is_won),
            o.forecast, o.owner_id,
        ]  # fmt: skip


def _history(world: World) -> Iterator[list[str]]:
    ids = SalesforceIds(world.config.seed)
    for o in world.opportunities:
        for stage, at, probability in o.history:
            yield [
                ids.next("008"), o.sfid, stage, f"{o.amount:.2f}", str(probability),
                _d(o.close_date), _dt(at),
            ]  # fmt: skip


def _cases(world: World) -> Iterator[list[str]]:
    accounts, contacts = world.accounts, world.contacts
    for c in world.cases:
        contact = contacts[c.contact].sfid if c.contact is not None else ""
        yield [
            c.sfid, accounts[c.account].sfid, contact, c.subject, c.status, c.priority, c.origin,
            c.type, _b(c.closed is not None), _dt(c.created), _dt(c.closed),
        ]  # fmt: skip


def _targets(world: World) -> Iterator[list[str]]:
    for t in world.targets:
        yield [t.list_name, str(t.tier), t.domain, t.name]


def _intent(world: World) -> Iterator[list[str]]:
    for r in world.intent:
        yield [r.company, r.domain, r.topic, str(r.score), r.week.isoformat()]
