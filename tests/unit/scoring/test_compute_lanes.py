"""compute_tables runs fit and intent on a second cursor beside engagement and health when
that cursor can read their inputs; the scores are the same either way."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pytest

from accord.scoring.compute import compute_tables
from accord.scoring.library import load_library

NOW = datetime(2026, 1, 1, tzinfo=UTC)
_DAY_US = 86_400_000_000
_NOW_US = int(NOW.timestamp() * 1e6)

_RELATIONS = {
    "ev": f"""
      SELECT i AS ord, 'm' || i AS msg, {_NOW_US} - (i % 120) * {_DAY_US} - i AS t,
             {_NOW_US} - (i % 120) * {_DAY_US} - i AS rt,
             ['page', 'usage', 'intent', 'email', 'meeting', 'cs'][1 + i % 6] AS kind,
             ['Signed In', 'Review Site Activity', 'Email Replied', NULL][1 + i % 4] AS name,
             ['marketing', 'product', 'sales', 'cs'][1 + i % 4] AS team,
             'acc_' || (i % 40) AS account_id,
             CASE WHEN i % 3 > 0 THEN 'con_' || (i % 40) || '_' || (i % 5) END AS contact_id,
             CASE WHEN i % 6 = 0 THEN '{{"path":"/pricing"}}'
                  ELSE '{{"topic":"t' || (i % 7) || '"}}' END AS properties
      FROM range(4000) r(i)""",
    "ev_dims": "SELECT *, NULL AS c_seniority, NULL AS c_department FROM ev",
    "acc": """
      SELECT 'acc_' || i AS id, ['Software', 'Retail'][1 + i % 2] AS industry,
             (50 + i * 700)::BIGINT AS employees, (1e6 + i * 1e6)::DOUBLE AS annual_revenue,
             ['US', 'BR'][1 + i % 2] AS country, NULL::VARCHAR AS region,
             (1 + i % 4)::BIGINT AS tier, i % 3 = 0 AS is_target,
             ['customer', 'prospect', 'opportunity'][1 + i % 3] AS lifecycle_stage,
             (10000 + i * 100)::DOUBLE AS arr, DATE '2026-01-01' + (i * 9)::INT AS renewal_date,
             '{}' AS attributes
      FROM range(40) r(i)""",
    "cases_r": f"""
      SELECT 'acc_' || (i % 40) AS account_id, ['New', 'Closed'][1 + i % 2] AS status,
             ['High', 'Low'][1 + i % 2] AS priority, {_NOW_US} - i * {_DAY_US} AS opened_us,
             NULL::BIGINT AS closed_us
      FROM range(30) r(i)""",
    "opps": """
      SELECT 'acc_' || (i % 40) AS account_id, ['expansion', 'renewal'][1 + i % 2] AS type,
             ['Negotiation/Review', 'Closed Won'][1 + i % 2] AS stage,
             (1000 + i)::DOUBLE AS amount, 0.5 AS probability, i % 2 = 1 AS is_closed,
             i % 2 = 1 AS is_won, DATE '2025-10-01' + i::INT AS close_date
      FROM range(20) r(i)""",
    "sigs": f"""
      SELECT 'acc_' || (i % 40) AS account_id, ['research_surge', 'competitor_intent'][1 + i % 2]
             AS type, {_NOW_US} - i * {_DAY_US} AS t, 0.5 AS strength
      FROM range(25) r(i)""",
}


def _connection(kind: str) -> duckdb.DuckDBPyConnection:
    """Inputs as plain views (a second cursor reads them) or as temporary ones (it cannot)."""
    con = duckdb.connect()
    for name, sql in _RELATIONS.items():
        con.execute(f"CREATE {'TEMP ' if kind == 'temp' else ''}VIEW {name} AS {sql}")
    return con


def _rows(con: duckdb.DuckDBPyConnection, tables: dict[str, str]) -> dict[str, list[tuple]]:
    return {k: con.execute(f"SELECT * FROM {t} ORDER BY account_id").fetchall()
            for k, t in tables.items()}  # fmt: skip


@pytest.fixture(scope="module")
def specs():
    return {k: v.spec for k, v in load_library().items()}


def test_scores_are_the_same_whether_or_not_a_second_cursor_reads_the_inputs(specs):
    aside, alone = _connection("plain"), _connection("temp")
    try:
        got_aside = compute_tables(aside, specs, NOW)
        got_alone = compute_tables(alone, specs, NOW)
        assert list(got_aside) == list(got_alone)
        assert set(got_aside) == set(specs)
        rows = _rows(aside, got_aside)
        assert rows == _rows(alone, got_alone)
        assert all(len(rows[k]) == 40 for k in ("fit", "engagement", "intent", "stage"))
        assert any(r[1] > 0 for r in rows["intent"])
        assert any(r[1] > 0 for r in rows["health"])
    finally:
        aside.close()
        alone.close()


def test_score_tables_are_readable_from_another_cursor(specs):
    con = _connection("plain")
    try:
        tables = compute_tables(con, specs, NOW)
        other = con.cursor()
        for table in tables.values():
            assert other.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
        other.close()
    finally:
        con.close()
