"""Versioned definitions and stored parts, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from accord.errors import Conflict, NotFound
from accord.scoring.compute import compute_and_store
from accord.scoring.history import history
from accord.scoring.library import SHIPPED
from accord.scoring.store import current_for
from accord.scoring.versions import apply, load_definition, preview, rollback
from accord.store.schema import score_definitions, score_history, scores_current
from tests.unit.scoring.helpers import (
    NOW,
    account,
    event,
    insert_accounts,
    insert_cases,
    insert_events,
)

DAY = timedelta(days=1)


def _seed(engine):
    insert_accounts(
        engine,
        [account("acc_a", industry="Software", employees=500, annual_revenue=5e7, country="US",
                 tier=1),
         account("acc_b", industry="Retail", employees=50, country="BR", tier=3),
         account("acc_c", industry="Software", lifecycle_stage="customer", arr=50_000.0)],
    )  # fmt: skip


def _fit_v2(tmp_path: Path, version: int = 2) -> Path:
    text = (SHIPPED / "fit.yaml").read_text()
    text = text.replace("version: 1", f"version: {version}").replace(
        "    weight: 30\n    label: industry", "    weight: 90\n    label: industry"
    )
    path = tmp_path / f"fit_v{version}.yaml"
    path.write_text(text)
    return path


def _counts(engine):
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (score_definitions, scores_current, score_history)
        )


def _fit_rows(engine):
    with engine.connect() as conn:
        q = select(scores_current.c.account_id, scores_current.c.version, scores_current.c.value)
        return {a: (v, x) for a, v, x in conn.execute(q.where(scores_current.c.score == "fit"))}


def test_scores_store_parts_that_add_up(workspace):
    e = workspace.engine
    _seed(e)
    summary = compute_and_store(e, workspace.settings.definitions_dir, NOW)
    assert summary.scores == {"fit": 3, "engagement": 3, "intent": 3, "health": 1, "stage": 3}
    assert summary.versions == dict.fromkeys(summary.scores, 1)
    rows = {r["score"]: r for r in current_for(e, "acc_a")}
    assert rows["fit"]["value"] == 100.0
    assert rows["stage"]["label"] == "unaware"
    for r in rows.values():
        assert round(sum(p["points"] for p in r["parts"]), 1) == r["value"]
        assert r["version"] == 1
    assert {r["score"] for r in current_for(e, "acc_c")} == set(summary.scores)


def test_versions_preview_stores_nothing_apply_and_rollback(workspace, tmp_path):
    e, defs = workspace.engine, workspace.settings.definitions_dir
    _seed(e)
    compute_and_store(e, defs, NOW)
    before = _counts(e)
    v1 = _fit_rows(e)

    p = preview(e, load_definition(_fit_v2(tmp_path)), defs, now=NOW)
    assert (p.from_version, p.to_version, p.accounts) == (1, 2, 3)
    assert (p.changed, p.up, p.down) == (1, 1, 0)  # only acc_c passes industry alone
    assert _counts(e) == before  # nothing stored
    assert _fit_rows(e) == v1

    apply(e, load_definition(_fit_v2(tmp_path)), defs, now=NOW + DAY)
    v2 = _fit_rows(e)
    assert {v for v, _ in v2.values()} == {2}
    assert v2["acc_a"][1] == 100.0
    assert v2["acc_c"][1] != v1["acc_c"][1]
    with e.connect() as conn:
        active = conn.execute(
            select(score_definitions.c.version).where(
                score_definitions.c.score == "fit", score_definitions.c.active.is_(True)
            )
        ).scalar_one()
    assert active == 2

    rollback(e, "fit", 1, defs, now=NOW + 2 * DAY)
    assert _fit_rows(e) == v1  # same values, made by version 1 again
    moves = history(e, "acc_c", "fit")
    assert [m["version"] for m in moves] == [1, 2, 1]
    assert "(definition v2 -> v1)" in moves[-1]["explanation"]

    # the shipped version 1 on disk does not undo the rollback on the next compute
    compute_and_store(e, defs, NOW + 3 * DAY)
    assert {v for v, _ in _fit_rows(e).values()} == {1}


def test_versions_reject_a_changed_definition_under_a_stored_version(workspace, tmp_path):
    e, defs = workspace.engine, workspace.settings.definitions_dir
    _seed(e)
    compute_and_store(e, defs, NOW)
    before = _counts(e)
    with pytest.raises(Conflict, match="already stored with a different definition; give this"):
        apply(e, load_definition(_fit_v2(tmp_path, version=1)), defs, now=NOW)
    with pytest.raises(NotFound, match="fit version 7: not stored; stored versions: 1"):
        rollback(e, "fit", 7, defs, now=NOW)
    assert _counts(e) == before


def test_history_explains_health_movement(workspace):
    e, defs = workspace.engine, workspace.settings.definitions_dir
    insert_accounts(e, [account("acc_c", lifecycle_stage="customer", arr=80_000.0)])
    later = NOW + 28 * DAY
    rows = [event("acc_c", DAY * (7 * w + 3.5), contact=f"u{u}", now=later)
            for w in range(4, 12) for u in range(10)]  # fmt: skip
    rows += [event("acc_c", DAY * (7 * w + 3.5), contact=f"u{u}", now=later)
             for w in range(4) for u in range(6)]  # fmt: skip
    insert_events(e, rows)
    compute_and_store(e, defs, NOW)
    insert_cases(e, "acc_c", ["High", "High", "High"])
    compute_and_store(e, defs, later)
    moves = history(e, "acc_c", "health")
    assert len(moves) == 2
    first, second = moves
    assert first["explanation"].startswith(f"health new -> {first['value']:g}")
    text = second["explanation"]
    assert text.startswith(f"health {first['value']:g} -> {second['value']:g}: ")
    assert "weekly active users -40% (10 -> 6)" in text
    assert "3 P1 tickets" in text
    assert text.index("weekly active users") < text.index("3 P1 tickets")  # bigger move first
