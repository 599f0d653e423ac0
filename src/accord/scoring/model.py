"""An optional learned score: calibrated win probability from the account's own outcomes.

Point in time, so the model never sees the future: the features are the rule scores' parts
(fit, engagement, intent) as they stood at a cutoff `horizon` before now, computed from
events up to the cutoff only; the labels are the outcomes decided after the cutoff. An
account with a won opportunity closed in (cutoff, now] is a positive; one whose renewal was
lost, or whose every opportunity closed in that span was lost, is a negative. Accounts
decided before the cutoff (already customers or lost then) and accounts with no dated
outcome stay out of training. Health is not a feature: it applies to customers only, so its
presence would give the label away. A logistic regression, calibrated with
`CalibratedClassifierCV`, is judged on a stratified holdout (AUC and a calibration table);
it then scores every account on today's features, stored as score `model_win` next to the
rule scores, which it never replaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import numpy as np
import orjson
import pyarrow as pa  # type: ignore[import-untyped]
from sklearn.calibration import CalibratedClassifierCV  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]
from sklearn.pipeline import make_pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]
from sqlalchemy import Engine

from accord.errors import InputError
from accord.scoring.compute import active_definitions, compute_tables
from accord.scoring.inputs import connect, load_from_store
from accord.scoring.store import save_tables

SCORE = "model_win"
VERSION = 1
MIN_PER_CLASS = 10
FEATURE_SCORES = ("fit", "engagement", "intent")
HORIZON = timedelta(days=180)
BINS = 5
SEED = 20250301

_OUTCOMES = """
SELECT acc.id AS account_id,
  CASE WHEN o.decided_before THEN NULL WHEN o.churned THEN 0 WHEN o.won THEN 1
       WHEN o.lost THEN 0 END AS y
FROM acc LEFT JOIN (
  SELECT account_id,
         bool_or(close_date <= $cutoff) AS decided_before,
         bool_or(COALESCE(is_won, FALSE)) AS won,
         bool_or(type = 'renewal' AND NOT COALESCE(is_won, FALSE)) AS churned,
         bool_and(NOT COALESCE(is_won, FALSE)) AS lost
  FROM opps WHERE is_closed AND close_date <= $today GROUP BY account_id) o
  ON o.account_id = acc.id
ORDER BY acc.id
"""


@dataclass(frozen=True)
class TrainReport:
    """How the model did on the holdout, and what was stored."""

    won: int
    lost: int
    holdout: int
    auc: float
    calibration: list[dict[str, Any]]
    features: list[str]
    scored: int
    trained_at: datetime
    cutoff: datetime
    history_rows: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "score": SCORE,
            "won": self.won,
            "lost_or_churned": self.lost,
            "holdout": self.holdout,
            "auc": self.auc,
            "calibration": self.calibration,
            "features": self.features,
            "scored": self.scored,
            "history_rows": self.history_rows,
            "trained_at": self.trained_at.isoformat(),
            "features_as_of": self.cutoff.isoformat(),
        }


def features(
    con: duckdb.DuckDBPyConnection, tables: dict[str, str]
) -> tuple[list[str], np.ndarray, list[str]]:
    """(account ids, one row of part points per account, feature names), ids sorted."""
    ids = [r[0] for r in con.execute("SELECT id FROM acc ORDER BY id").fetchall()]
    index = {a: i for i, a in enumerate(ids)}
    names: list[str] = []
    columns: list[np.ndarray] = []
    for score in FEATURE_SCORES:
        if score not in tables:
            continue
        rows = con.execute(f"SELECT account_id, parts FROM {tables[score]}").fetchall()
        first = orjson.loads(rows[0][1]) if rows else []
        block = np.zeros((len(ids), len(first) + 1))
        for acc, doc in rows:
            block[index[acc], :-1] = [p["points"] for p in orjson.loads(doc)]
            block[index[acc], -1] = 1.0  # the score applies to this account
        names += [f"{score}.{p['name']}" for p in first] + [f"{score}.present"]
        columns.append(block)
    matrix = np.hstack(columns) if columns else np.zeros((len(ids), 0))
    return ids, matrix, names


def calibration_table(y: np.ndarray, p: np.ndarray, bins: int = BINS) -> list[dict[str, Any]]:
    """Per probability bin: accounts, mean predicted probability, observed win rate."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        n = int(mask.sum())
        out.append({
            "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
            "accounts": n,
            "predicted": round(float(p[mask].mean()), 3) if n else None,
            "observed": round(float(y[mask].mean()), 3) if n else None,
        })  # fmt: skip
    return out


def _refuse(won: int, lost: int, cutoff: datetime) -> None:
    if won >= MIN_PER_CLASS and lost >= MIN_PER_CLASS:
        return
    raise InputError(
        f"scores train: {won} won and {lost} lost or churned accounts decided after "
        f"{cutoff:%Y-%m-%d}; at least {MIN_PER_CLASS} of each are needed to train and hold "
        "out; import opportunities with their outcomes (closed won / lost, close date) or "
        "pass a longer --horizon"
    )


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[Any, float, np.ndarray, np.ndarray]:
    """(calibrated model, holdout AUC, holdout labels, holdout probabilities)."""
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, stratify=y,
                                              random_state=SEED)  # fmt: skip
    base = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    folds = int(min(3, np.bincount(y_tr).min()))
    model = CalibratedClassifierCV(base, method="sigmoid", cv=folds).fit(x_tr, y_tr)
    p_te = model.predict_proba(x_te)[:, 1]
    return model, float(roc_auc_score(y_te, p_te)), y_te, p_te


def _store(
    engine: Engine,
    con: duckdb.DuckDBPyConnection,
    ids: list[str],
    probs: np.ndarray,
    auc: float,
    n: int,
    now: datetime,
) -> int:
    values = [round(float(q) * 100, 1) for q in probs]
    parts = [
        orjson.dumps([{"name": "model", "points": v, "max": 100,
                       "says": f"calibrated win probability {v:g}% (logistic regression on "
                               f"{n} outcomes, holdout AUC {auc:.2f})",
                       "measures": {"probability": round(float(q), 4), "auc": round(auc, 3)}}]
                     ).decode()
        for v, q in zip(values, probs, strict=True)
    ]  # fmt: skip
    con.register("_model_arrow", pa.table({"account_id": ids, "value": values,
                                           "label": pa.nulls(len(ids), pa.string()),
                                           "parts": parts}))  # fmt: skip
    con.execute("CREATE OR REPLACE TEMP TABLE score_model_win AS SELECT * FROM _model_arrow")
    with engine.begin() as conn:
        return save_tables(conn, con, {SCORE: "score_model_win"}, {SCORE: VERSION}, now)


def train(
    engine: Engine,
    definitions_dir: Any = None,
    now: datetime | None = None,
    horizon: timedelta = HORIZON,
) -> TrainReport:
    """Train on outcomes decided in the last `horizon` from features as they stood before,
    report the holdout, store `model_win` for every account from today's features.

    Raises InputError when there are fewer than `MIN_PER_CLASS` outcomes of either kind.
    """
    now = now or datetime.now(UTC)
    cutoff = now - horizon
    active = active_definitions(engine, definitions_dir)
    specs = {k: a.spec for k, a in active.items() if k in FEATURE_SCORES}
    con = connect()
    try:
        load_from_store(con, engine)
        params = {"cutoff": cutoff.date(), "today": now.date()}
        labels = con.execute(_OUTCOMES, params).fetchall()
        known = np.array([y for _, y in labels if y is not None], dtype=int)
        won, lost = int(known.sum()), int(len(known) - known.sum())
        _refuse(won, lost, cutoff)
        _, x_then, names = features(con, compute_tables(con, specs, cutoff))
        mask = np.array([y is not None for _, y in labels])
        model, auc, y_te, p_te = _fit(x_then[mask], known)
        ids, x_now, _ = features(con, compute_tables(con, specs, now))
        probs = model.predict_proba(x_now)[:, 1] if len(ids) else np.zeros(0)
        changed = _store(engine, con, ids, probs, auc, len(known), now)
    finally:
        con.close()
    return TrainReport(won=won, lost=lost, holdout=len(y_te), auc=round(auc, 4),
                       calibration=calibration_table(y_te, p_te), features=names,
                       scored=len(ids), trained_at=now, cutoff=cutoff,
                       history_rows=changed)  # fmt: skip


__all__ = [
    "HORIZON",
    "MIN_PER_CLASS",
    "SCORE",
    "TrainReport",
    "calibration_table",
    "features",
    "train",
]
