"""Building events and definitions for the signal tests."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from sqlalchemy import Engine

from accord.signals.batch_cols import Coded
from accord.signals.specs import LoadedSignal, SignalSpec
from accord.store.schema import contacts, events

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def spec(doc: dict[str, Any] | str, source: str = "test.yaml:1") -> LoadedSignal:
    """A definition from a dict or YAML text."""
    data = yaml.safe_load(doc) if isinstance(doc, str) else doc
    return LoadedSignal(spec=SignalSpec.model_validate(data), source=source)


def event(
    n: int,
    *,
    at: datetime | timedelta,
    kind: str = "track",
    name: str | None = "Signed In",
    account: str | None = "acc_1",
    contact: str | None = None,
    team: str | None = None,
    props: dict[str, Any] | None = None,
    lag: timedelta = timedelta(0),
) -> dict[str, Any]:
    """One event row shaped like the `events` table (message id `m<n>`)."""
    occurred = T0 + at if isinstance(at, timedelta) else at
    return {
        "id": n,
        "message_id": f"m{n}",
        "source": "test",
        "occurred_at": occurred,
        "received_at": occurred + lag,
        "kind": kind,
        "name": name,
        "team": team,
        "account_id": account,
        "contact_id": contact,
        "properties": props or {},
    }


def ordered(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in evaluation order: occurred_at, then id."""
    return sorted(rows, key=lambda r: (r["occurred_at"], r["id"]))


def insert_events(engine: Engine, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        with engine.begin() as conn:
            conn.execute(events.insert(), list(rows))


def insert_contacts(
    engine: Engine, people: dict[str, tuple[str, str]], account: str | None = None
) -> None:
    """Contacts by id with (seniority, department)."""
    now = datetime.now(UTC)
    rows = [
        {
            "id": cid,
            "account_id": account,
            "email": f"{cid}@example.com",
            "seniority": sen,
            "department": dep,
            "source": "test",
            "attributes": {},
            "created_at": now,
            "updated_at": now,
        }
        for cid, (sen, dep) in people.items()
    ]
    with engine.begin() as conn:
        conn.execute(contacts.insert(), rows)


def dense_events(seed: int, n: int) -> list[dict[str, Any]]:
    """`n` random events over 90 days for three accounts and five contacts, in the drawn
    shape `test_equivalence._rows` takes."""
    rng = random.Random(seed)
    names = ["Signed In", "Dashboard Viewed", "Topic Researched", "Ticket Created", "Email Sent"]
    return [
        {"minute": rng.randrange(0, 90 * 24 * 60, 10),
         "kind": rng.choice(["track", "page", "identify"]),
         "name": rng.choice(names), "account": rng.choice(["acc_1", "acc_2", "acc_3"]),
         "contact": rng.choice(["c0", "c1", "c2", "c3", "c9", None]),
         "props": {"topic": rng.choice("xyzw"), "path": rng.choice(["/pricing", "/blog"]),
                   "priority": rng.choice(["High", "Low"]), "activity": "compare",
                   "seats_used": rng.randrange(10, 21), "seats_limit": 20,
                   "status": rng.choice(["active", "left"]), "title": rng.choice(["CTO", "CEO"])},
         "lag_s": 0}
        for _ in range(n)
    ]  # fmt: skip


def one_definition(when: dict[str, Any], id: str = "busy") -> Coded:
    """The batch's coded form of one definition with this `when`."""
    from accord.signals import batch
    from accord.signals.measures import compile_spec

    loaded = spec({"id": id, "description": "x", "strength": 0.5, "when": when})
    return batch.coded_for([compile_spec(0, loaded)])


def by_ord(con: Any, coded: Coded, rows_per_part: int, *columns: str) -> dict[int, Any]:
    """Each event's values of `columns` (one column: the value itself) over every piece the
    batch hands over."""
    from accord.signals import batch

    got: dict[int, Any] = {}
    for arrays in batch.partitions(con, coded, rows_per_part=rows_per_part):
        values = [arrays[c].tolist() for c in columns]
        rows = values[0] if len(values) == 1 else zip(*values, strict=True)
        got.update(zip(arrays["ord"].tolist(), rows, strict=True))
    return got


def event_table(
    con: Any,
    n: int,
    *,
    table: str = "ev",
    kind: str = "'track'",
    name: str = "'n'",
    accounts: int = 7,
    t: str = "i * 1000",
    contact: str = "NULL",
    properties: str = "'{\"v\": ' || (i % 4) || '}'",
    params: dict[str, Any] | None = None,
) -> None:
    """DuckDB table `table` of `n` events in the columns the batch reads, each given as a SQL
    expression over the event's number `i` (`params` bound by name)."""
    con.execute(
        f"CREATE TABLE {table} AS SELECT i AS ord, 'm' || i AS msg, {t} AS t, i * 1000 AS rt, "
        f"{kind} AS kind, {name} AS name, NULL AS team, "
        f"'acc_' || (i % {accounts}) AS account_id, {contact} AS contact_id, "
        f"{properties} AS properties FROM range({n}) t(i)",
        params or {},
    )
