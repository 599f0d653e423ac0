# ruff: noqa: E501
"""Property: incremental and batch evaluation fire the same signals, with the same evidence,
for random event streams (every measure kind, with and without cooldowns), on both stores."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from accord.signals import SignalEngine, run_batch
from accord.store.schema import contacts, events
from accord.workspace import Workspace
from tests.unit.signals.helpers import event, insert_contacts, insert_events, ordered, spec

PEOPLE = {f"c{i}": (sen, "sales") for i, sen in enumerate(["vp", "individual", "director", "vp"])}
ANY = {"kind": ["track", "page", "identify"]}

SPECS = [
    spec({"id": "n_events", "description": "x", "strength": 0.5, "cooldown": "2h",
          "when": {"kind": "count", "event": {**ANY, "name": ["a*", "b"]}, "window": "3h", "at_least": 3}}),
    spec({"id": "n_contacts", "description": "x", "strength": 0.5,
          "when": {"kind": "count", "event": ANY, "distinct": "contact", "window": "5h", "at_least": 2}}),
    spec({"id": "n_new", "description": "x", "strength": 0.5, "cooldown": "1h",
          "when": {"kind": "count", "event": ANY, "distinct": "new_contact", "window": "6h", "at_least": 2}}),
    spec({"id": "n_topics", "description": "x", "strength": 0.5, "evidence": {"keep_events": 2},
          "when": {"kind": "count", "event": ANY, "distinct": "property", "property": "topic",
                   "window": "4h", "at_least": 2}}),
    spec({"id": "total", "description": "x", "strength": 0.5, "cooldown": "3h",
          "when": {"kind": "sum", "event": {"kind": "track"}, "property": "value", "window": "4h",
                   "at_least": 10}}),
    spec({"id": "surge", "description": "x", "strength": 0.5, "cooldown": "1h",
          "when": {"kind": "baseline_ratio", "event": {"properties": {"topic": {"one_of": ["x", "y"]}}},
                   "window": "2h", "baseline": "8h", "at_least": 1.5, "min_count": 2}}),
    spec({"id": "drop", "description": "x", "strength": 0.5,
          "when": {"kind": "change", "event": {"kind": "track"}, "window": "3h", "at_most": -0.5,
                   "min_previous": 2}}),
    spec({"id": "grow", "description": "x", "strength": 0.5, "cooldown": "2h",
          "when": {"kind": "change", "event": {"kind": "track"}, "property": "value", "window": "3h",
                   "at_least": 1.0, "min_previous": 1}}),
    spec({"id": "first_topic", "description": "x", "strength": 0.5,
          "when": {"kind": "first_seen", "event": ANY, "key": "properties.topic"}}),
    spec({"id": "first_senior", "description": "x", "strength": 0.5,
          "when": {"kind": "first_seen", "event": ANY, "key": "contact.seniority", "values": ["vp", "director"]}}),
    spec({"id": "exec", "description": "x", "strength": 0.5,
          "when": {"kind": "first_seen", "event": {"contact_seniority": ["vp"]}, "key": "contact"}}),
    spec({"id": "left", "description": "x", "strength": 0.5, "cooldown": "1h",
          "when": {"kind": "state_change", "event": {"kind": "identify"}, "property": "status",
                   "to": ["left"], "fire_on_first": True}}),
    spec({"id": "retitled", "description": "x", "strength": 0.5,
          "when": {"kind": "state_change", "event": ANY, "property": "title"}}),
]  # fmt: skip

_props = st.fixed_dictionaries(
    {},
    optional={
        "topic": st.sampled_from(["x", "y", "z", "w"]),
        "value": st.integers(min_value=-3, max_value=9),
        "status": st.sampled_from(["active", "left"]),
        "title": st.sampled_from(["CTO", "CEO"]),
    },
)
_event = st.fixed_dictionaries(
    {
        "minute": st.integers(min_value=0, max_value=24 * 60).map(lambda m: m - m % 20),
        "kind": st.sampled_from(["track", "page", "identify"]),
        "name": st.sampled_from(["a1", "a2", "b", "c", None]),
        "account": st.sampled_from(["acc_1", "acc_2", "acc_3", None]),
        "contact": st.sampled_from(["c0", "c1", "c2", "c3", "c9", None]),
        "props": _props,
        "lag_s": st.sampled_from([0, 0, 90]),
    }
)


def _rows(drawn: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = [
        event(i + 1, at=timedelta(minutes=d["minute"]), kind=d["kind"], name=d["name"],
              account=d["account"], contact=d["contact"], props=d["props"],
              lag=timedelta(seconds=d["lag_s"]))
        for i, d in enumerate(drawn)
    ]  # fmt: skip
    return ordered(rows)


def _check(ws: Workspace, rows: list[dict[str, Any]]) -> None:
    with ws.engine.begin() as conn:
        conn.execute(delete(events))
    insert_events(ws.engine, rows)
    incremental = SignalEngine(None, SPECS, contact_dims=PEOPLE).process_many(rows)
    batch = run_batch(ws.engine, SPECS)
    by_id = sorted(incremental, key=lambda s: s.id)
    assert by_id == sorted(batch, key=lambda s: s.id)


# Random event streams against a real store: a fixture per test, and slow examples.
STREAMS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _setup(ws: Workspace) -> None:
    with ws.engine.begin() as conn:
        conn.execute(delete(contacts))
    insert_contacts(ws.engine, PEOPLE)


@STREAMS
@given(drawn=st.lists(_event, max_size=60))
def test_incremental_equals_batch_on_random_streams(
    workspace: Workspace, drawn: list[dict[str, Any]]
) -> None:
    _setup(workspace)
    _check(workspace, _rows(drawn))


def test_incremental_equals_batch_on_a_dense_stream(workspace: Workspace) -> None:
    """A larger fixed stream where every definition fires many times."""
    import random

    rng = random.Random(7)
    drawn = [
        {"minute": rng.randrange(0, 3 * 24 * 60, 10), "kind": rng.choice(["track", "page", "identify"]),
         "name": rng.choice(["a1", "a2", "b", "c"]), "account": rng.choice(["acc_1", "acc_2"]),
         "contact": rng.choice(["c0", "c1", "c2", "c3", "c9", None]),
         "props": {"topic": rng.choice("xyzw"), "value": rng.randrange(-2, 8),
                   "status": rng.choice(["active", "left"]), "title": rng.choice(["CTO", "CEO"])},
         "lag_s": 0}
        for _ in range(1500)
    ]  # fmt: skip
    _setup(workspace)
    rows = _rows(drawn)
    fired = SignalEngine(None, SPECS, contact_dims=PEOPLE).process_many(rows)
    assert {s.type for s in fired} == {s.id for s in SPECS}
    _check(workspace, rows)


def test_batch_equals_incremental_when_accounts_span_several_key_chunks(
    sqlite_workspace: Workspace, monkeypatch: Any
) -> None:
    """Histories too long for one 62-bit key range are evaluated a few accounts at a time."""
    from accord.signals import batch_np

    monkeypatch.setattr(batch_np, "_KEY_LIMIT", 2 * 10**11)  # a day and the look-backs: one account
    rows = _rows(
        [{"minute": m * 7 % 1440, "kind": "track", "name": "a1", "account": f"acc_{m % 3}",
          "contact": f"c{m % 5}", "props": {"topic": "xyzw"[m % 4], "value": m % 6,
          "title": ["CTO", "CEO"][m % 2]}, "lag_s": 0} for m in range(300)]
    )  # fmt: skip
    _setup(sqlite_workspace)
    _check(sqlite_workspace, rows)


def test_batch_equals_incremental_when_accounts_are_split_over_partitions(
    sqlite_workspace: Workspace, monkeypatch: Any
) -> None:
    """Large histories are sorted and evaluated one account partition at a time."""
    from accord.signals import batch

    monkeypatch.setattr(batch, "ROWS_PER_PART", 40)
    rows = _rows(
        [{"minute": m * 11 % 1440, "kind": ["track", "page", "identify"][m % 3], "name": "a1",
          "account": f"acc_{m % 3}", "contact": f"c{m % 5}", "props": {"topic": "xyzw"[m % 4],
          "value": m % 6, "status": ["active", "left"][m % 2], "title": ["CTO", "CEO"][m % 3 % 2]},
          "lag_s": 0} for m in range(400)]
    )  # fmt: skip
    _setup(sqlite_workspace)
    _check(sqlite_workspace, rows)
