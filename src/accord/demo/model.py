"""The demo world: settings, the records it holds, and Salesforce-style ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property

DEFAULT_AS_OF = date(2026, 10, 31)

LIFECYCLES = ("prospect", "opportunity", "customer", "churned")
PATTERNS = ("dormant", "steady", "surging", "expanding", "churning")

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_SPACE = 62**7
_UPPER_FLAGS = str.maketrans({c: "1" if c.isupper() else "0" for c in _B62})
_SCRAMBLE = 2_654_435_761  # odd and not a multiple of 31, so coprime with 62**7


@dataclass(frozen=True)
class DemoConfig:
    """What to generate. The same config always gives the same files."""

    seed: int = 7
    accounts: int = 2000
    months: int = 12
    events_per_account: int = 100
    as_of: date = DEFAULT_AS_OF
    contacts_per_account: float = 10.0
    leads_per_account: float = 2.5

    @cached_property
    def start(self) -> date:
        """First day of the event window."""
        return self.as_of - timedelta(days=round(self.months * 30.44))


@dataclass(slots=True)
class Account:
    sfid: str
    name: str
    core: str  # the name without legal form: what people call the company
    domain: str  # the company's real primary domain, normalized
    website: str  # as typed into the CRM ('' when blank)
    country: str
    city: str
    industry: str
    employees: int
    revenue: float
    kind: str  # company, subsidiary, duplicate, shared_domain
    lifecycle: str = "prospect"
    pattern: str = "steady"
    tier: int | None = None
    parent: int | None = None  # index into World.accounts
    same_as: int | None = None  # for duplicates and shared domains: the other account
    owner_id: str = ""
    created: datetime = datetime(2020, 1, 1)
    customer_since: date | None = None
    churned_on: date | None = None
    phone: str = ""
    group_id: str = ""  # the product's workspace id, used as Segment groupId
    mail_domain: str = ""  # where this company's people have their mail
    email_style: int = 0


@dataclass(slots=True)
class Contact:
    sfid: str
    account: int
    first_name: str
    last_name: str
    email: str
    title: str
    phone: str
    country: str
    created: datetime
    owner_id: str
    user_id: str  # the product's user id, used as Segment userId


@dataclass(slots=True)
class Lead:
    sfid: str
    first_name: str
    last_name: str
    company: str
    email: str
    website: str
    title: str
    country: str
    status: str
    source: str
    created: datetime
    owner_id: str
    variant: str  # how the lead was made: corporate, subdomain, personal, typo, website, ...
    expected: int | None  # the account a careful human would link it to, if any


@dataclass(slots=True)
class Opportunity:
    sfid: str
    account: int
    name: str
    type: str  # New Business, Existing Business, Renewal
    stage: str
    amount: float
    probability: int
    created: datetime
    close_date: date
    is_closed: bool
    is_won: bool
    owner_id: str
    forecast: str
    history: list[tuple[str, datetime, int]] = field(default_factory=list)


@dataclass(slots=True)
class Case:
    sfid: str
    account: int
    contact: int | None
    subject: str
    status: str
    priority: str
    origin: str
    type: str
    created: datetime
    closed: datetime | None


@dataclass(slots=True)
class TargetRow:
    list_name: str
    tier: int
    domain: str
    name: str
    expected: int | None


@dataclass(slots=True)
class IntentRow:
    company: str
    domain: str
    topic: str
    score: int
    week: date
    expected: int | None


@dataclass
class World:
    """Everything the demo company knows, before it is written to files."""

    config: DemoConfig
    accounts: list[Account] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    leads: list[Lead] = field(default_factory=list)
    opportunities: list[Opportunity] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    targets: list[TargetRow] = field(default_factory=list)
    intent: list[IntentRow] = field(default_factory=list)
    owners: list[str] = field(default_factory=list)


class SalesforceIds:
    """18-character Salesforce ids: key prefix, org part, counter, case-safe checksum."""

    def __init__(self, seed: int) -> None:
        self._org = _base62(620 + seed % 3000, 2) + "000"
        self._counters: dict[str, int] = {}

    def next(self, prefix: str) -> str:
        """The next id for an object's key prefix (001 account, 003 contact, ...)."""
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        scrambled = (n * _SCRAMBLE + 916_132_831) % _SPACE  # a bijection: ids stay unique
        return with_checksum(prefix + self._org + _base62(scrambled, 7))


def with_checksum(id15: str) -> str:
    """Append Salesforce's 3-character suffix that makes a 15-character id case-insensitive."""
    flags = id15.translate(_UPPER_FLAGS)  # "1" where a character is upper case
    # Each 5-character chunk gives 5 bits, first character lowest.
    return id15 + "".join(_SUFFIX_CHARS[int(flags[i : i + 5][::-1], 2)] for i in (0, 5, 10))


def _base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(width, "0")
