"""Batch fired rows stored column-wise read back as the very `Signal`s batch returns."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from accord.signals import run_batch
from accord.signals.store import list_signals
from accord.store.schema import contacts, events
from accord.workspace import Workspace
from tests.unit.signals.helpers import event, insert_contacts, insert_events, ordered
from tests.unit.signals.test_equivalence import PEOPLE, SPECS


def _stream(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = [
        event(i + 1, at=timedelta(minutes=rng.randrange(0, 3 * 24 * 60, 10)),
              kind=rng.choice(["track", "page", "identify"]),
              name=rng.choice(["a1", "a2", "b", "c"]),
              account=rng.choice(["acc_1", "acc_2", "acc_3"]),
              contact=rng.choice(["c0", "c1", "c2", "c3", "c9", None]),
              props={"topic": rng.choice(["x", "y", "z", 'w"\n\u00e9']),
                     "value": rng.randrange(-2, 8) / 4,
                     "status": rng.choice(["active", "left"]), "title": rng.choice(["CTO", "CEO"])},
              lag=timedelta(seconds=rng.choice([0, 0, 90])))
        for i in range(n)
    ]  # fmt: skip
    return ordered(rows)


def test_batch_table_stores_what_batch_returns(workspace: Workspace) -> None:
    with workspace.engine.begin() as conn:
        conn.execute(delete(events))
        conn.execute(delete(contacts))
    insert_contacts(workspace.engine, PEOPLE)
    insert_events(workspace.engine, _stream(1200, 11))
    fired = run_batch(workspace.engine, SPECS, save=True)
    assert {s.type for s in fired} == {s.id for s in SPECS}
    stored = list_signals(workspace.engine)
    assert sorted(stored, key=lambda s: s.id) == sorted(fired, key=lambda s: s.id)
