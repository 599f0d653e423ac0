"""Signal definitions: frozen Pydantic models loaded from YAML (see docs/signals.md).

A signal is an event filter, a measure over a window (the `when:` condition, picked by
`kind`), a threshold, a strength, a cooldown, the evidence to keep and its freshness.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from accord.yamlspec import Duration

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
PropertyName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$")]
Scalar = str | int | float | bool
EventKind = Literal[
    "page", "screen", "track", "identify", "group", "intent", "ad", "usage", "cs", "email",
    "meeting", "sales_activity",
]  # fmt: skip
Team = Literal["marketing", "sales", "cs", "product"]
Seniority = Literal["c_level", "vp", "director", "manager", "individual", "unknown"]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PropertyTest(Spec):
    """A test on one event property; values compare as text, bounds as numbers."""

    equals: Scalar | None = None
    one_of: list[Scalar] | None = None
    at_least: float | None = None
    at_most: float | None = None
    exists: bool | None = None


class PropertyRatio(Spec):
    """numerator / denominator (two numeric properties of one event) >= at_least."""

    numerator: PropertyName
    denominator: PropertyName
    at_least: float


class EventFilter(Spec):
    """Which events count: kind, name (exact or `*`/`?` glob), page path glob, team, properties."""

    kind: EventKind | list[EventKind] | None = None
    name: str | list[str] | None = None
    path_glob: str | list[str] | None = None
    team: Team | list[Team] | None = None
    properties: dict[PropertyName, PropertyTest] = Field(default_factory=dict)
    ratio: PropertyRatio | None = None
    contact_seniority: list[Seniority] | None = None
    contact_department: list[str] | None = None


class _Windowed(Spec):
    event: EventFilter
    window: Duration


class CountCondition(_Windowed):
    """Matching events, distinct contacts, newly engaged contacts or distinct values of a
    property (`distinct: property` with `property: topic`) in the window >= at_least."""

    kind: Literal["count"]
    distinct: Literal["event", "contact", "new_contact", "property"] = "event"
    property: PropertyName | None = None
    at_least: Annotated[int, Field(ge=1)]

    @model_validator(mode="after")
    def _property_when_distinct(self) -> CountCondition:
        if (self.distinct == "property") != (self.property is not None):
            raise ValueError(
                "`property` names the value to count; give it with distinct: property only"
            )
        return self


class SumCondition(_Windowed):
    """Sum of a numeric property over the window >= at_least."""

    kind: Literal["sum"]
    property: PropertyName
    at_least: float


class BaselineCondition(_Windowed):
    """The window's count (or property sum) against the account's own trailing average."""

    kind: Literal["baseline_ratio"]
    baseline: Duration = timedelta(days=56)
    property: PropertyName | None = None
    at_least: Annotated[float, Field(gt=0)]
    min_count: float = 1.0
    min_baseline: Annotated[float, Field(gt=0)] = 1.0


class ChangeCondition(_Windowed):
    """Relative change of the window's count (or sum) against the window before it."""

    kind: Literal["change"]
    property: PropertyName | None = None
    at_least: float | None = None
    at_most: float | None = None
    min_previous: Annotated[float, Field(gt=0)] = 1.0

    @model_validator(mode="after")
    def _one_bound(self) -> ChangeCondition:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least (growth) or at_most (drop)")
        return self


FirstSeenKey = Annotated[
    str,
    StringConstraints(
        pattern=r"^(contact|name|contact\.seniority|contact\.department|properties\.[A-Za-z0-9_$.-]+)$"
    ),
]


class FirstSeenCondition(Spec):
    """The first matching event per account for a key value (a contact, a topic, a persona)."""

    kind: Literal["first_seen"]
    event: EventFilter
    key: FirstSeenKey
    values: list[Scalar] | None = None


class StateChangeCondition(Spec):
    """A contact's property (title, status) changed between two of its events."""

    kind: Literal["state_change"]
    event: EventFilter
    property: PropertyName
    to: list[Scalar] | None = None
    fire_on_first: bool = False


class StageAgeCondition(Spec):
    """An open opportunity sat in its stage longer than `older_than` with no recent activity."""

    kind: Literal["stage_age"]
    older_than: Duration
    quiet_for: Duration
    stages: list[str] | None = None
    activity: EventFilter = EventFilter(team=["sales", "cs"])


class RenewalCondition(Spec):
    """The renewal date is within `within` and the account's health is below `health_below`."""

    kind: Literal["renewal"]
    within: Duration
    health_below: float
    health_property: PropertyName = "health_score"


EventCondition = (
    CountCondition
    | SumCondition
    | BaselineCondition
    | ChangeCondition
    | FirstSeenCondition
    | StateChangeCondition
)
Condition = Annotated[
    EventCondition | StageAgeCondition | RenewalCondition, Field(discriminator="kind")
]
WINDOWED = (CountCondition, SumCondition, BaselineCondition, ChangeCondition)
STATE = (StageAgeCondition, RenewalCondition)


class Evidence(Spec):
    """How many of the events that crossed the threshold to keep (latest first)."""

    keep_events: Annotated[int, Field(ge=0, le=100)] = 10


class Freshness(Spec):
    """The source's delay (a weekly intent feed lands days late) and the decay half-life."""

    source_lag: Duration = timedelta(0)
    half_life: Duration = timedelta(days=7)


class SignalSpec(Spec):
    id: Slug
    description: str
    when: Condition
    strength: Annotated[float, Field(ge=0, le=1)]
    cooldown: Duration = timedelta(0)
    evidence: Evidence = Evidence()
    freshness: Freshness = Freshness()
    tags: list[str] = Field(default_factory=list)

    @property
    def is_state(self) -> bool:
        """True for conditions checked on the current records (stage age, renewal)."""
        return isinstance(self.when, STATE)

    def fingerprint(self) -> str:
        """A digest of the definition: stored window state is reused only while it matches."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


class LoadedSignal(BaseModel):
    """A validated definition and the file:line it came from (for explanations)."""

    model_config = ConfigDict(frozen=True)

    spec: SignalSpec
    source: str
    shipped: bool = False

    @property
    def id(self) -> str:
        return self.spec.id
