"""Real time through a real server: committed events become stored signals within seconds,
a restarted consumer resumes exactly, and the consumer agrees with JSONL + batch."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy import text as sql

from accord.graph.stitch import IdentityStitcher
from accord.ingest.jsonl_bulk import bulk_load
from accord.realtime import Consumer, load_cursor
from accord.realtime.consumer import _GAPS, Usable, read_batch
from accord.realtime.cursor import Cursor
from accord.signals import Signal, load_library, run_batch
from accord.signals.store import list_signals
from accord.store.schema import account_domains, accounts, contacts, events
from accord.workspace import Workspace, open_workspace
from tests.integration.segment_server import running_server
from tests.pg_server import create_database

START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
DEFINITIONS = {
    "rt_demo_requests": """
id: rt_demo_requests
description: Two people at one account asked for a demo within a day.
when:
  kind: count
  event: { name: "Demo Requested" }
  distinct: contact
  window: 1d
  at_least: 2
strength: 0.9
cooldown: 7d
""",
    "rt_busy_day": """
id: rt_busy_day
description: Three or more product actions at one account within an hour.
when:
  kind: count
  event: { name: ["Report Created", "Demo Requested"] }
  window: 1h
  at_least: 3
strength: 0.4
""",
}
PEOPLE = {
    "acc_initech": ("initech.com", ["peter", "milton", "joanna"]),
    "acc_globex": ("globex.com", ["hank", "frank"]),
}


def seed(ws: Workspace) -> None:
    """Two accounts with contacts, and the test's signal definitions in the workspace."""
    folder = ws.path / "definitions" / "signals"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in DEFINITIONS.items():
        (folder / f"{name}.yaml").write_text(text.lstrip(), encoding="utf-8")
    base = {"source": "test", "created_at": START, "updated_at": START}
    with ws.engine.begin() as conn:
        for acc, (domain, people) in PEOPLE.items():
            conn.execute(accounts.insert(), [{"id": acc, "name": acc, "domain": domain,
                                              "domains": [domain], **base}])  # fmt: skip
            conn.execute(account_domains.insert(), [{"account_id": acc, "domain": domain,
                                                     "is_primary": True}])  # fmt: skip
            conn.execute(contacts.insert(), [{"id": f"con_{p}", "account_id": acc,
                                              "email": f"{p}@{domain}", **base}
                                             for p in people])  # fmt: skip


def stream() -> list[dict[str, Any]]:
    """Track calls over two hours that cross both definitions at both accounts."""
    calls = []
    names = ["Report Created", "Demo Requested", "Report Created"]
    n = 0
    for minute in range(0, 120, 6):
        for domain, people in PEOPLE.values():
            person = people[(minute // 6) % len(people)]
            calls.append({
                "type": "track", "userId": person, "event": names[n % len(names)],
                "messageId": f"rt-{n}", "timestamp": (START + timedelta(minutes=minute,
                                                                        seconds=n)).isoformat(),
                "context": {"traits": {"email": f"{person}@{domain}"}},
            })  # fmt: skip
            n += 1
    return calls


def post(url: str, key: str, calls: list[dict[str, Any]]) -> None:
    with httpx.Client(base_url=url, auth=(key, ""), timeout=10) as client:
        for call in calls:
            resp = client.post("/v1/track", json=call)
            assert resp.status_code == 200, resp.text


def comparable(fired: list[Signal]) -> list[tuple[Any, ...]]:
    return sorted((*s.key(), s.observed_at, orjson.dumps(s.evidence, option=orjson.OPT_SORT_KEYS))
                  for s in fired)  # fmt: skip


def ours(fired: list[Signal]) -> list[Signal]:
    return [s for s in fired if s.type in DEFINITIONS]


def wait_for(predicate: Any, seconds: float = 2.0) -> float:
    """Poll until `predicate()` is true; return how long it took (fail after `seconds`)."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < seconds, "timed out"
        time.sleep(0.005)
    return time.monotonic() - started


def event_count(ws: Workspace) -> int:
    with ws.engine.connect() as conn:
        return len(conn.execute(select(events.c.id)).all())


@pytest.fixture
def seeded(workspace: Workspace) -> Workspace:
    seed(workspace)
    return workspace


def test_realtime_signal_is_stored_within_two_seconds_with_evidence(seeded: Workspace) -> None:
    calls = [c for c in stream() if c["event"] == "Demo Requested"][:4]
    with running_server(seeded) as srv:
        post(srv.url, srv.key, calls[:1])
        time.sleep(0.2)
        assert not list_signals(seeded.engine, type="rt_demo_requests")
        post(srv.url, srv.key, calls[1:])
        took = wait_for(lambda: list_signals(seeded.engine, type="rt_demo_requests"))
        health = httpx.get(f"{srv.url}/healthz").json()
    assert took < 2.0
    (signal,) = list_signals(seeded.engine, type="rt_demo_requests")
    assert signal.account_id in PEOPLE
    assert signal.evidence["value"] == 2
    assert set(signal.evidence["events"]) <= {c["messageId"] for c in calls}
    assert len(signal.evidence["events"]) == 2
    assert health["consumer"]["alive"] is True
    assert isinstance(health["gc"]["collections"], int)  # the GC watch reports through healthz


def test_realtime_restart_resumes_without_duplicate_or_missing_signal(
    seeded: Workspace,
) -> None:
    calls = stream()
    half = len(calls) // 2
    for part in (calls[:half], calls[half:]):
        with running_server(seeded) as srv:  # a new server and consumer each time
            post(srv.url, srv.key, part)
            total = event_count(seeded)
            consumer = srv.app.state.consumer
            wait_for(lambda c=consumer, t=total: c.cursor.last_id >= t, 5.0)
    with seeded.engine.connect() as conn:
        cursor = load_cursor(conn, "signals")
    assert cursor.last_id == event_count(seeded) == len(calls)
    assert cursor.gaps == []
    stored = ours(list_signals(seeded.engine))
    batch = ours(run_batch(seeded.engine, load_library(seeded.settings.definitions_dir)))
    assert len(stored) == len({s.dedupe_key for s in stored})
    assert {s.type for s in stored} == set(DEFINITIONS)
    assert comparable(stored) == comparable(batch)


def test_realtime_consumer_agrees_with_jsonl_and_batch(
    seeded: Workspace, tmp_path: Path, db_url: str
) -> None:
    calls = stream()
    with running_server(seeded) as srv:
        post(srv.url, srv.key, calls)
        consumer = srv.app.state.consumer
        wait_for(lambda: consumer.cursor.last_id >= len(calls), 5.0)
    live = ours(list_signals(seeded.engine))
    other_url = (
        f"sqlite:///{tmp_path / 'other.db'}"
        if db_url.startswith("sqlite")
        else create_database(db_url.rsplit("/", 1)[0])
    )
    other = open_workspace(tmp_path / "other", database_url=other_url)
    try:
        seed(other)
        path = tmp_path / "events.jsonl"
        path.write_bytes(b"\n".join(orjson.dumps(c) for c in calls) + b"\n")
        bulk_load(other.engine, path, stitcher=IdentityStitcher.load(other.engine))
        batch = ours(run_batch(other.engine, load_library(other.settings.definitions_dir)))
    finally:
        other.close()
    assert len(live) >= 4
    assert comparable(live) == comparable(batch)


_DEMO_ROW = {"source": "test", "kind": "track", "name": "Demo Requested", "properties": {},
             "account_id": "acc_globex", "occurred_at": START, "received_at": START}  # fmt: skip


@pytest.fixture
def pg_consumer(pg_base_url: str, tmp_path: Path) -> Iterator[tuple[Workspace, Engine, Consumer]]:
    """A seeded PostgreSQL workspace, a second engine for writers of its own, a consumer."""
    ws = open_workspace(tmp_path / "ws", database_url=create_database(pg_base_url))
    seed(ws)
    raw = create_engine(ws.settings.database_url)
    consumer = Consumer(ws.engine, load_library(ws.settings.definitions_dir))
    try:
        yield ws, raw, consumer
    finally:
        try:
            consumer.finish_state_save()  # a step's state save writes through ws.engine
        finally:
            consumer.leader.release()
            raw.dispose()
            ws.close()


def test_consumer_waits_for_ids_committed_out_of_order(
    pg_consumer: tuple[Workspace, Engine, Consumer],
) -> None:
    ws, raw, consumer = pg_consumer
    row = _DEMO_ROW
    with raw.connect() as slow:
        slow.execute(events.insert(), {**row, "message_id": "slow", "contact_id": "con_hank"})
        with ws.engine.begin() as fast:  # drew a later id, commits first
            fast.execute(events.insert(), {**row, "message_id": "fast",
                                           "contact_id": "con_frank"})  # fmt: skip
        assert consumer.step()[0] == 1
        assert consumer.cursor.last_id == 0
        assert consumer.cursor.high_id == 2
        assert consumer.step()[0] == 0  # still in flight: nothing skipped, nothing repeated
        slow.commit()
    assert consumer.step()[0] == 1
    assert consumer.cursor.last_id == 2
    assert consumer.cursor.gaps == []
    (fired,) = ours(list_signals(ws.engine, type="rt_demo_requests"))
    assert sorted(fired.evidence["events"]) == ["fast", "slow"]
    with raw.connect() as doomed:
        doomed.execute(events.insert(), {**row, "message_id": "doomed"})
        with ws.engine.begin() as fast:
            fast.execute(events.insert(), {**row, "message_id": "after"})
        assert consumer.step()[0] == 1
        doomed.rollback()
    consumer.step()
    assert consumer.cursor.last_id == 4
    assert consumer.cursor.gaps == []
    assert consumer.processed == 3


def test_gap_of_a_writer_with_a_later_transaction_id_waits_for_it(
    pg_consumer: tuple[Workspace, Engine, Consumer],
) -> None:
    """The writer of the missing id took its transaction id after the one that committed
    the later id: it is not below that snapshot's xmax, and the range must still wait."""
    ws, raw, consumer = pg_consumer
    row = _DEMO_ROW
    with raw.connect() as fast, raw.connect() as slow:
        fast.execute(sql("SELECT pg_current_xact_id()"))  # its transaction id first
        slow.execute(events.insert(), {**row, "message_id": "slow", "contact_id": "con_hank"})
        fast.execute(events.insert(), {**row, "message_id": "fast",
                                       "contact_id": "con_frank"})  # fmt: skip
        fast.commit()
        assert consumer.step()[0] == 1
        for _ in range(3):  # later commits move xmin up to the slow writer, not past it
            with ws.engine.begin() as other:
                other.execute(sql("SELECT pg_current_xact_id()"))
            consumer.step()
            assert consumer.cursor.last_id == 0
        slow.commit()
    consumer.step()
    assert consumer.cursor.last_id == 2
    assert consumer.cursor.gaps == []
    (fired,) = ours(list_signals(ws.engine, type="rt_demo_requests"))
    assert sorted(fired.evidence["events"]) == ["fast", "slow"]


def test_gap_ranges_are_read_by_key_in_id_order(
    pg_consumer: tuple[Workspace, Engine, Consumer],
) -> None:
    """Many unseen ranges come back in id order, up to the limit, each read through the
    primary key: not by walking the key from its start and filtering every stored event (the
    plan PostgreSQL picked for one `BETWEEN ... OR ...` condition, or a join on the ranges,
    with a small limit)."""
    ws, _, _ = pg_consumer
    stored = 20_000
    with ws.engine.begin() as conn:
        rows = [{**_DEMO_ROW, "message_id": f"m{i}"} for i in range(1, stored + 1)]
        conn.execute(events.insert(), rows)
        conn.execute(sql("ANALYZE events"))
    far = 2**62  # a horizon no snapshot reaches: the ranges stay
    gaps = [(lo, lo + 2, far) for lo in range(stored - 6400, stored, 100)]  # 64 ranges
    cursor = Cursor("probe", stored, gaps)
    with ws.engine.connect() as conn:
        first = read_batch(conn, cursor, 10)
        every = read_batch(conn, cursor, 1000)
        raw: Any = conn.connection.driver_connection
        ranges = {"lo": [g[0] for g in gaps], "hi": [g[1] for g in gaps], "n": 10}
        plan = "\n".join(r[0] for r in raw.execute(f"EXPLAIN {_GAPS}", ranges))
    wanted = [i for lo, hi, _ in gaps for i in range(lo, hi + 1)]
    assert [r["id"] for r in first.rows] == wanted[:10]
    assert [r["id"] for r in every.rows] == wanted
    assert {r["message_id"] for r in every.rows} == {f"m{i}" for i in wanted}
    assert "Index Cond: ((id >= g.lo) AND (id <= g.hi))" in plan
    assert "Filter" not in plan
    assert "Seq Scan" not in plan


def test_read_past_the_cursor_gives_usable_rows_holes_and_the_count(workspace: Workspace) -> None:
    """Unusable events are counted and passed over without coming back; missing ids below
    the last one read become gaps on PostgreSQL (on SQLite no id ever appears later)."""
    rows = [{**_DEMO_ROW, "message_id": f"m{i}", "account_id": "acc_globex" if i % 3 else None}
            for i in range(1, 11)]  # fmt: skip
    with workspace.engine.begin() as conn:
        conn.execute(events.insert(), rows)
        conn.execute(events.delete().where(events.c.message_id.in_(["m1", "m4", "m5", "m7"])))
        ids = dict(conn.execute(select(events.c.message_id, events.c.id)).all())
    usable = Usable(None)  # any kind, with an account
    with workspace.engine.connect() as conn:
        every = read_batch(conn, Cursor("probe"), 100, usable)
        some = read_batch(conn, Cursor("probe"), 3, usable)
    wanted = [ids[m] for m in ("m2", "m8", "m10")]  # m3, m6 and m9 have no account
    assert [r["id"] for r in every.rows] == wanted
    assert every.rows[0]["message_id"] == "m2"
    assert (every.seen, every.more, every.cursor.high_id) == (6, False, ids["m10"])
    holes = [(lo, hi) for lo, hi, _ in every.cursor.gaps]
    pg = workspace.engine.dialect.name == "postgresql"
    assert holes == ([(1, 1), (4, 5), (7, 7)] if pg else [])
    assert (some.seen, some.more, some.cursor.high_id) == (3, True, ids["m6"])
    assert [r["id"] for r in some.rows] == [ids["m2"]]
