"""Building accounts, events, cases, opportunities and signals for the scoring tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any

import yaml
from sqlalchemy import Engine

from accord.scoring.library import LoadedScore
from accord.scoring.parts import Scored
from accord.scoring.specs import MODELS
from accord.store.schema import accounts, cases, events, opportunities, signals

NOW = datetime(2025, 6, 1, tzinfo=UTC)
_ids = count(1)


def spec(doc: dict[str, Any] | str, source: str = "test.yaml:1") -> LoadedScore:
    """A definition from a dict or YAML text."""
    data = yaml.safe_load(doc) if isinstance(doc, str) else doc
    return LoadedScore(spec=MODELS[data["score"]].model_validate(data), source=source)


def account(acc_id: str, **fields: Any) -> dict[str, Any]:
    row = {"id": acc_id, "name": acc_id, "domains": [], "source": "test", "attributes": {},
           "created_at": NOW, "updated_at": NOW, "lifecycle_stage": "prospect",
           "industry": None, "employees": None, "annual_revenue": None, "country": None,
           "region": None, "tier": None, "arr": None, "renewal_date": None}  # fmt: skip
    return {**row, **fields}


def insert_accounts(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(accounts.insert(), list(rows))


def event(
    acc: str,
    age: timedelta,
    *,
    kind: str = "usage",
    name: str | None = "Signed In",
    team: str | None = "product",
    contact: str | None = None,
    props: dict[str, Any] | None = None,
    now: datetime = NOW,
) -> dict[str, Any]:
    """One event row `age` before `now`."""
    n = next(_ids)
    return {"message_id": f"m{n}", "source": "test", "occurred_at": now - age,
            "received_at": now - age, "kind": kind, "name": name, "team": team,
            "account_id": acc, "contact_id": contact, "properties": props or {}}  # fmt: skip


def insert_events(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        conn.execute(events.insert(), list(rows))


def insert_cases(engine: Engine, acc: str, priorities: Sequence[str], status: str = "New") -> None:
    rows = [
        {"id": f"case{next(_ids)}", "account_id": acc, "status": status, "priority": p,
         "opened_at": NOW - timedelta(days=2), "source": "test", "attributes": {},
         "created_at": NOW, "updated_at": NOW}
        for p in priorities
    ]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(cases.insert(), rows)


def insert_opportunity(engine: Engine, acc: str, **fields: Any) -> None:
    row = {"id": f"opp{next(_ids)}", "account_id": acc, "name": "Deal", "type": "new_business",
           "stage": "Qualification", "source": "test", "attributes": {}, "created_at": NOW,
           "updated_at": NOW, "is_closed": False, "is_won": False,
           "close_date": date(2025, 7, 1)}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(opportunities.insert(), [{**row, **fields}])


def insert_signal(engine: Engine, acc: str, type_: str, age: timedelta, strength: float) -> None:
    n = next(_ids)
    with engine.begin() as conn:
        conn.execute(
            signals.insert(),
            [{"id": f"sig{n}", "account_id": acc, "type": type_, "fired_at": NOW - age,
              "observed_at": NOW - age, "strength": strength, "evidence": {},
              "dedupe_key": f"k{n}", "definition": "test.yaml:1", "created_at": NOW}],
        )  # fmt: skip


def assert_parts_add_up(s: Scored) -> None:
    """The value is exactly the sum of the parts' points (one decimal)."""
    assert round(sum(p["points"] for p in s.parts), 1) == s.value
    for p in s.parts:
        assert 0 <= p["points"] <= p["max"] + 0.1  # max is shown rounded
        assert p["says"]
