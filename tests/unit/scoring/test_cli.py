"""`accord scores ...` through the real CLI: definitions errors, compute, show, history."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from accord.store.schema import score_definitions, score_history, scores_current
from accord.workspace import open_workspace
from tests.unit.scoring.helpers import account, insert_accounts

BAD_FIT = """\
score: fit
version: 0
rules:
  - id: industry
    field: industri
    one_of: [Software]
    weight: 30
  - id: size
    field: employees
    weight: 10
"""
BAD_ENGAGEMENT = """\
score: engagement
version: 1
half_life: 2 weeks
lookback: 90d
saturation: 10
touches:
  - { kind: meeting, pointz: 10 }
"""
UNKNOWN = "score: happiness\nversion: 1\n"


def _accord(ws: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "accord", "--workspace", str(ws), "scores", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def _score_rows(ws: Path) -> tuple[int, int, int]:
    w = open_workspace(ws)
    try:
        with w.engine.connect() as conn:
            return tuple(
                conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (score_definitions, scores_current, score_history)
            )  # type: ignore[return-value]
    finally:
        w.close()


def test_scores_check_rejects_bad_definitions_all_at_once(tmp_path):
    ws = tmp_path / "ws"
    folder = ws / "definitions" / "scores"
    folder.mkdir(parents=True)
    (folder / "fit.yaml").write_text(BAD_FIT)
    (folder / "engagement.yaml").write_text(BAD_ENGAGEMENT)
    (folder / "happiness.yaml").write_text(UNKNOWN)
    done = _accord(ws, "check")
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    fit, eng, unk = folder / "fit.yaml", folder / "engagement.yaml", folder / "happiness.yaml"
    expected = [
        f"{fit}:2:10: version: Input should be greater than or equal to 1",
        f"{fit}:5:12: rules[0].field: 'industri' is not an account field; use one of industry,",
        f"{fit}:8:5: rules[1]: give either one_of or at_least/at_most",
        f"{eng}:3:12: half_life: '2 weeks' is not a duration; write 3d or 72h",
        f"{eng}:7:22: touches[0].pointz: unknown field (did you mean 'points'?)",
        f"{eng}:7:5: touches[0].points: field required",
        f"{unk}:1:8: score: 'happiness' is not a known score; use one of fit, engagement",
    ]
    for want in expected:
        assert any(line.startswith(want) for line in lines), (want, done.stderr)
    assert "(did you mean 'industry'?)" in done.stderr
    assert "7 errors in 3 files; nothing was loaded." in done.stderr


def test_scores_check_accepts_the_shipped_definitions(tmp_path):
    done = _accord(tmp_path / "ws", "check")
    assert done.returncode == 0, done.stderr
    assert "5 score definitions OK (0 from the workspace)." in done.stderr


def test_scores_apply_rejects_bad_file_and_stores_nothing(tmp_path):
    ws = tmp_path / "ws"
    w = open_workspace(ws)
    insert_accounts(w.engine, [account("acc_a")])
    w.close()
    assert _accord(ws, "compute").returncode == 0
    before = _score_rows(ws)
    bad = tmp_path / "fit_v2.yaml"
    bad.write_text(BAD_FIT)
    done = _accord(ws, "apply", str(bad))
    assert done.returncode == 2
    assert f"{bad}:5:12: rules[0].field" in done.stderr
    assert "nothing was applied" in done.stderr
    assert _score_rows(ws) == before


def test_scores_compute_show_history_and_rollback(tmp_path):
    ws = tmp_path / "ws"
    w = open_workspace(ws)
    insert_accounts(w.engine, [account("acc_a", industry="Software", employees=300)])
    w.close()
    done = _accord(ws, "compute", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["scores"]["fit"] == 1

    shown = json.loads(_accord(ws, "show", "acc_a", "--json").stdout)
    fit = next(s for s in shown["scores"] if s["score"] == "fit")
    assert fit["value"] == 55.0
    assert fit["version"] == 1
    assert [p["name"] for p in fit["parts"]] == ["industry", "employees", "revenue", "region",
                                                  "tier"]  # fmt: skip
    text = _accord(ws, "show", "acc_a").stdout
    assert "fit 55 (v1," in text
    assert "industry in the ICP list (Software)" in text

    hist = _accord(ws, "history", "acc_a", "--score", "fit")
    assert "fit new -> 55: industry in the ICP list (Software)" in hist.stdout

    missing = _accord(ws, "rollback", "fit", "--to-version", "3")
    assert missing.returncode == 1
    assert "fit version 3: not stored; stored versions: 1" in missing.stderr

    unknown = _accord(ws, "show", "acc_nope")
    assert unknown.returncode == 1
    assert "account 'acc_nope': not found" in unknown.stderr
