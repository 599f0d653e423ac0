"""Time-driven definitions checked on the current records as of a moment: deal stall
(an open opportunity's stage older than N days with no recent activity) and renewal
approaching with weak health. One set-based query each, shared by both engines.

Health is the stored health score (`scores_current`, score `health`, written by the scoring
layer) where the account has one, else the account attribute named by `health_property`
(default `health_score`, 0-100). The table is read here directly: signals and scoring are
sibling layers and do not import each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, case, false, func, or_, select

from accord.signals.filters import as_list, is_glob
from accord.signals.signal import Signal, make_signal, signal_kind, to_us
from accord.signals.specs import EventFilter, LoadedSignal, RenewalCondition, StageAgeCondition
from accord.store.schema import (
    accounts,
    events,
    opportunities,
    opportunity_stages,
    scores_current,
)


def evaluate(engine: Engine, specs: Sequence[LoadedSignal], now: datetime) -> list[Signal]:
    """Every time-driven signal that holds as of `now`."""
    out: list[Signal] = []
    for loaded in specs:
        w = loaded.spec.when
        if isinstance(w, StageAgeCondition):
            out += _stage_age(engine, loaded, w, now)
        elif isinstance(w, RenewalCondition):
            out += _renewal(engine, loaded, w, now)
    return out


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _name_test(names: list[str]) -> ColumnElement[bool]:
    tests: list[ColumnElement[bool]] = []
    exact = [n for n in names if not is_glob(n)]
    if exact:
        tests.append(events.c.name.in_(exact))
    for g in (n for n in names if is_glob(n)):
        like = g.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        tests.append(events.c.name.like(like.replace("*", "%").replace("?", "_"), escape="\\"))
    return or_(*tests) if tests else false()


def activity_filter(f: EventFilter) -> ColumnElement[bool]:
    """SQL for the kind, name and team parts of an activity filter."""
    parts: list[ColumnElement[bool]] = []
    if f.kind is not None:
        parts.append(events.c.kind.in_(as_list(f.kind)))
    if f.team is not None:
        parts.append(events.c.team.in_(as_list(f.team)))
    if f.name is not None:
        parts.append(_name_test(as_list(f.name)))
    return and_(*parts) if parts else events.c.id.is_not(None)


def _signal(
    loaded: LoadedSignal,
    account: str,
    key: str,
    observed: datetime,
    now: datetime,
    ev: dict[str, Any],
) -> Signal:
    return make_signal(
        signal_kind(loaded),
        account_id=account,
        key=key,
        observed_us=to_us(observed),
        received_us=to_us(max(now, observed)),
        evidence=ev,
    )


def stage_age_query(w: StageAgeCondition, now: datetime) -> Select[Any]:
    """The open opportunities whose stage is older than `w.older_than` as of `now`, with their
    account's last activity: (id, account_id, stage, name, since, last_at)."""
    o, s = opportunities, opportunity_stages
    entered = (
        select(s.c.opportunity_id, s.c.stage, func.max(s.c.entered_at).label("entered_at"))
        .group_by(s.c.opportunity_id, s.c.stage)
        .subquery()
    )
    since = func.coalesce(entered.c.entered_at, o.c.created_at)
    # The account's last activity, read through its (account_id, occurred_at) index for each
    # opportunity old enough (a group-by over every stored event took seconds per million).
    last_at = (
        select(func.max(events.c.occurred_at))
        .where(events.c.account_id == o.c.account_id, events.c.occurred_at <= now,
               activity_filter(w.activity))
        .scalar_subquery()
    )  # fmt: skip
    q = (
        select(o.c.id, o.c.account_id, o.c.stage, o.c.name, since.label("since"),
               last_at.label("last_at"))
        .select_from(o.outerjoin(
            entered, and_(entered.c.opportunity_id == o.c.id, entered.c.stage == o.c.stage)))
        .where(o.c.is_closed == false(), o.c.account_id.is_not(None))
        .where(since <= now - w.older_than)
    )  # fmt: skip
    return q.where(o.c.stage.in_(w.stages)) if w.stages else q


def _stage_age(
    engine: Engine, loaded: LoadedSignal, w: StageAgeCondition, now: datetime
) -> list[Signal]:
    """One signal per old stage whose account was quiet for `w.quiet_for` (filtered here, on
    the last activity the query read once per opportunity)."""
    out = []
    with engine.connect() as conn:
        for r in conn.execute(stage_age_query(w, now)):
            last_at = _utc(r.last_at) if r.last_at is not None else None
            if last_at is not None and last_at > now - w.quiet_for:
                continue
            since_at = _utc(r.since)
            observed = since_at + w.older_than
            if last_at is not None:
                observed = max(observed, last_at + w.quiet_for)
            ev = {
                "opportunity_id": r.id,
                "opportunity": r.name,
                "stage": r.stage,
                "stage_entered_at": since_at.isoformat(),
                "days_in_stage": (now - since_at).days,
                "last_activity_at": last_at.isoformat() if last_at else None,
            }
            out.append(
                _signal(
                    loaded, r.account_id, f"{r.id}:{r.stage}:{to_us(since_at)}", observed, now, ev
                )
            )
    return out


def _renewal(
    engine: Engine, loaded: LoadedSignal, w: RenewalCondition, now: datetime
) -> list[Signal]:
    a, sc = accounts, scores_current
    stored = select(sc.c.account_id, sc.c.value).where(sc.c.score == "health").subquery("stored")
    health = func.coalesce(stored.c.value, a.c.attributes[w.health_property].as_float())
    source = case((stored.c.value.is_not(None), "scores_current.health"),
                  else_=f"accounts.attributes.{w.health_property}")  # fmt: skip
    today: date = now.date()
    q = (
        select(a.c.id, a.c.renewal_date, a.c.arr, health.label("health"), source.label("src"))
        .select_from(a.outerjoin(stored, stored.c.account_id == a.c.id))
        .where(a.c.merged_into.is_(None), a.c.renewal_date.is_not(None))
        .where(a.c.renewal_date >= today, a.c.renewal_date <= (now + w.within).date())
        .where(health < w.health_below)
    )
    out = []
    with engine.connect() as conn:
        for r in conn.execute(q):
            renew = datetime.combine(r.renewal_date, time(), tzinfo=UTC)
            ev = {
                "renewal_date": r.renewal_date.isoformat(),
                "days_to_renewal": (r.renewal_date - today).days,
                "health": r.health,
                "health_below": w.health_below,
                "health_source": r.src,
                "arr": r.arr,
            }
            observed = renew - w.within
            out.append(_signal(loaded, r.id, r.renewal_date.isoformat(), observed, now, ev))
    return out
