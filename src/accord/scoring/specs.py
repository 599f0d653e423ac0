"""Score definitions: frozen Pydantic models loaded from YAML, one score per file.

The top-level `score:` key picks the model (fit, engagement, intent, health, stage); every
definition carries a `version` that each stored score row records. Part weights are
relative: a score's parts are scaled so that their maximum points add up to 100.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from accord.signals.specs import EventFilter, PropertyName, Scalar, Slug, Team
from accord.yamlspec import Duration

ScoreName = Literal["fit", "engagement", "intent", "health", "stage"]
NumericScore = Literal["fit", "engagement", "intent", "health"]
Stage = Literal["unaware", "aware", "consideration", "decision", "purchase", "customer"]
STAGES: tuple[Stage, ...] = (
    "unaware", "aware", "consideration", "decision", "purchase", "customer",
)  # fmt: skip
ALL_TEAMS: list[Team] = ["marketing", "sales", "cs", "product"]
ACCOUNT_FIELDS = ("industry", "employees", "annual_revenue", "country", "region", "tier",
                  "is_target", "lifecycle_stage", "arr")  # fmt: skip
_ATTRIBUTE = re.compile(r"^attributes\.[A-Za-z0-9_$-]+$")


def _account_field(value: str) -> str:
    if value in ACCOUNT_FIELDS or _ATTRIBUTE.match(value):
        return value
    close = difflib.get_close_matches(value, ACCOUNT_FIELDS, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise ValueError(
        f"'{value}' is not an account field; use one of {', '.join(ACCOUNT_FIELDS)} "
        f"or attributes.NAME{hint}"
    )


AccountField = Annotated[str, AfterValidator(_account_field)]
Weight = Annotated[float, Field(ge=0)]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Score(Spec):
    version: Annotated[int, Field(ge=1)]
    description: str = ""


# --- fit -----------------------------------------------------------------------------------


class FitRule(Spec):
    """One firmographic test: the field's value is one of a list, or within numeric bounds."""

    id: Slug
    field: AccountField
    one_of: list[Scalar] | None = None
    at_least: float | None = None
    at_most: float | None = None
    weight: Annotated[float, Field(gt=0)]
    label: str | None = None

    @model_validator(mode="after")
    def _one_test(self) -> FitRule:
        bounded = self.at_least is not None or self.at_most is not None
        if (self.one_of is not None) == bounded:
            raise ValueError("give either one_of or at_least/at_most (not both, not neither)")
        return self


class FitSpec(_Score):
    score: Literal["fit"]
    rules: Annotated[list[FitRule], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_ids(self) -> FitSpec:
        _unique([r.id for r in self.rules], "rules")
        return self


# --- engagement ----------------------------------------------------------------------------


class Touch(EventFilter):
    """Events that count as a touch and the points each is worth; the first match wins."""

    points: Weight


class EngagementSpec(_Score):
    score: Literal["engagement"]
    half_life: Duration
    lookback: Duration
    saturation: Annotated[float, Field(gt=0)]  # decayed points that give a score of 50
    teams: list[Team] = Field(default_factory=lambda: list(ALL_TEAMS))
    touches: Annotated[list[Touch], Field(min_length=1)]


# --- intent --------------------------------------------------------------------------------


class Part(Spec):
    weight: Weight


class VolumePart(Part):
    saturation: Annotated[float, Field(gt=0)] = 10.0  # decayed events that give half points


class SurgePart(Part):
    full_at: Annotated[float, Field(gt=1)] = 3.0  # recent / baseline ratio for full points
    min_baseline: Annotated[float, Field(gt=0)] = 1.0  # weekly events assumed at least


class BreadthPart(Part):
    full_at: Annotated[int, Field(ge=1)] = 5  # distinct topics for full points


class SignalsPart(Part):
    types: Annotated[list[Slug], Field(min_length=1)]
    within: Duration
    full_at: Annotated[float, Field(gt=0)] = 1.0  # summed signal strength for full points


class IntentSpec(_Score):
    score: Literal["intent"]
    event: EventFilter
    topic_properties: Annotated[list[PropertyName], Field(min_length=1)] = ["topic"]
    window: Duration
    surge_window: Duration
    baseline: Duration
    half_life: Duration
    volume: VolumePart
    surge: SurgePart
    breadth: BreadthPart
    recency: Part
    signals: SignalsPart


# --- health --------------------------------------------------------------------------------


class UsagePart(Part):
    event: EventFilter
    window: Duration  # this window against the one before it
    measure: Literal["active_users", "events"] = "active_users"
    zero_at: Annotated[float, Field(gt=0, le=1)] = 0.5  # a drop this large gives no points


class SupportPart(Part):
    open_case_cost: Annotated[float, Field(ge=0, le=1)] = 0.1
    p1_cost: Annotated[float, Field(ge=0, le=1)] = 0.3
    p1_priorities: list[str] = Field(default_factory=lambda: ["P1", "High", "Urgent"])
    closed_statuses: list[str] = Field(default_factory=lambda: ["Closed", "Solved", "Resolved"])


class ArrPart(Part):
    lookback: Duration
    full_at: Annotated[float, Field(gt=0)] = 0.2  # ARR growth for full points; flat is half


class RenewalPart(Part):
    window: Duration  # a renewal closer than this costs points, unless already won


class HealthSpec(_Score):
    score: Literal["health"]
    applies_to: Annotated[list[str], Field(min_length=1)] = ["customer"]
    usage: UsagePart
    support: SupportPart
    engagement: Part
    arr: ArrPart
    renewal: RenewalPart


# --- buying stage --------------------------------------------------------------------------


class LifecycleCondition(Spec):
    kind: Literal["lifecycle"]
    one_of: Annotated[list[str], Field(min_length=1)]


class OpportunityCondition(Spec):
    """An opportunity of the account that is open (or won within `won_within`)."""

    kind: Literal["opportunity"]
    stages: list[str] | None = None  # case-insensitive, `*` globs allowed
    types: list[str] | None = None
    min_probability: float | None = None
    won_within: Duration | None = None  # match won opportunities closed this recently instead


class SignalCondition(Spec):
    kind: Literal["signal"]
    types: Annotated[list[Slug], Field(min_length=1)]
    within: Duration


class ScoreCondition(Spec):
    kind: Literal["score"]
    score: NumericScore
    at_least: float


class AnyCondition(Spec):
    kind: Literal["any"]
    of: Annotated[list[Condition], Field(min_length=1)]


class AllCondition(Spec):
    kind: Literal["all"]
    of: Annotated[list[Condition], Field(min_length=1)]


Condition = Annotated[
    LifecycleCondition
    | OpportunityCondition
    | SignalCondition
    | ScoreCondition
    | AnyCondition
    | AllCondition,
    Field(discriminator="kind"),
]
AnyCondition.model_rebuild()
AllCondition.model_rebuild()


class StageRule(Spec):
    stage: Stage
    when: Condition
    says: str | None = None  # the reason shown; default: the condition, spelled out


class StageSpec(_Score):
    """Rules from the top; the first whose condition holds gives the stage."""

    score: Literal["stage"]
    rules: Annotated[list[StageRule], Field(min_length=1)]
    default: Stage = "unaware"


ScoreSpec = FitSpec | EngagementSpec | IntentSpec | HealthSpec | StageSpec
MODELS: dict[str, type[ScoreSpec]] = {
    "fit": FitSpec,
    "engagement": EngagementSpec,
    "intent": IntentSpec,
    "health": HealthSpec,
    "stage": StageSpec,
}
ORDER: tuple[ScoreName, ...] = ("fit", "engagement", "intent", "health", "stage")


def _unique(ids: list[str], where: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"{where}: duplicate id '{i}'; rename one of them")
        seen.add(i)


def spec_from_json(doc: dict[str, object]) -> ScoreSpec:
    """A stored definition (`model_dump(mode="json")`) back as its model."""
    return MODELS[str(doc["score"])].model_validate(doc)


__all__ = [
    "MODELS",
    "ORDER",
    "STAGES",
    "Condition",
    "EngagementSpec",
    "FitSpec",
    "HealthSpec",
    "IntentSpec",
    "ScoreSpec",
    "StageSpec",
    "spec_from_json",
]
