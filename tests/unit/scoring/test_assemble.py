"""Parts built in DuckDB round and add up exactly as `parts.scored` does; stored runs append
history only for accounts whose value moved (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import timedelta

import duckdb
import orjson
from sqlalchemy import func, select

from accord.scoring.assemble import PartSQL, assemble_sql, json_obj, num
from accord.scoring.compute import compute_and_store
from accord.scoring.parts import part, scored
from accord.store.schema import score_history, scores_current
from tests.unit.scoring.helpers import NOW, account, event, insert_accounts, insert_events

MAXIMA = [40.0, 100.0 / 3, 100.0 / 6, 10.0]


def _raws(seed: int, n: int) -> list[list[float]]:
    rng = random.Random(seed)
    # Mostly awkward fractions (ties and carries), some exact tenths, quarters and zeros.
    return [
        [rng.choice([0.0, rng.random() * m, round(rng.random() * m, 1), m * rng.randint(0, 4) / 4])
         for m in MAXIMA]
        for _ in range(n)
    ]  # fmt: skip


def test_assemble_rounds_parts_like_scored():
    rows = _raws(20250301, 3000)
    con = duckdb.connect()
    con.execute("CREATE TABLE src (account_id VARCHAR, r0 DOUBLE, r1 DOUBLE, r2 DOUBLE, r3 DOUBLE)")
    con.executemany("INSERT INTO src VALUES (?, ?, ?, ?, ?)",
                    [(f"a{i}", *r) for i, r in enumerate(rows)])  # fmt: skip
    parts = [
        PartSQL(f"p{i}", f"r{i}", round(m, 1), f"'part {i}'", json_obj(raw=f"r{i}", one=num(1)))
        for i, m in enumerate(MAXIMA)
    ]
    sql = assemble_sql("SELECT * FROM src", parts)
    got = {a: (v, orjson.loads(p)) for a, v, _, p in con.execute(sql).fetchall()}
    for i, raw in enumerate(rows):
        want = scored([part(f"p{j}", x, m, f"part {j}", raw=x, one=1)
                       for j, (x, m) in enumerate(zip(raw, MAXIMA, strict=True))])  # fmt: skip
        value, doc = got[f"a{i}"]
        assert value == want.value, raw
        assert doc == want.parts, raw


def test_assemble_escapes_text_in_json():
    con = duckdb.connect()
    says = "'say \"hi\" \\ é' || chr(10)"
    sql = assemble_sql("SELECT 'a' AS account_id", [PartSQL("n'x", "1.0", 100.0, says, "'{}'")])
    _, value, _, doc = con.execute(sql).fetchone()
    assert value == 1.0
    assert orjson.loads(doc) == [
        {"name": "n'x", "points": 1.0, "max": 100.0, "says": 'say "hi" \\ é\n', "measures": {}}
    ]


def _history(engine, account_id: str) -> int:
    q = select(func.count()).select_from(score_history)
    with engine.connect() as conn:
        return conn.execute(q.where(score_history.c.account_id == account_id)).scalar_one()


def test_store_appends_history_only_for_moved_values(workspace):
    e = workspace.engine
    insert_accounts(e, [account("acc_a", industry="Software"), account("acc_b")])
    first = compute_and_store(e, None, NOW)
    assert first.history_rows == 8  # fit, engagement, intent, stage (health: customers only)
    assert _history(e, "acc_a") == _history(e, "acc_b") == 4
    assert compute_and_store(e, None, NOW).history_rows == 0
    insert_events(e, [event("acc_b", timedelta(0), kind="meeting", team="sales")])
    moved = compute_and_store(e, None, NOW)
    assert moved.history_rows == _history(e, "acc_b") - 4 >= 1  # engagement, and what follows
    assert _history(e, "acc_a") == 4
    with e.connect() as conn:
        parts = conn.execute(select(scores_current.c.parts).where(
            scores_current.c.account_id == "acc_b", scores_current.c.score == "engagement")
        ).scalar_one()  # fmt: skip
    assert [p["name"] for p in parts] == ["marketing", "sales", "cs", "product"]
    assert parts[1]["measures"]["touches"] == 1
    assert parts[1]["says"] == "sales: 1 touch (10.0 decayed points)"
