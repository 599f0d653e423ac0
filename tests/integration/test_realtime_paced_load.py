"""The fixed-rate load client of the latency benchmarks (h2load) against a real server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from bench.ingest_speed import served
from bench.paced_load import h2load, plan
from sqlalchemy import func, select

from accord.store.schema import events
from accord.workspace import open_workspace

pytestmark = pytest.mark.skipif(shutil.which("h2load") is None, reason="h2load not installed")

BODY = b'{"userId":"u1","event":"Report Created","properties":{"rows":1}}'


def test_plan_spreads_connections_so_each_waits_a_quarter_second() -> None:
    connections, per_connection, started, every_ms = plan(4000)
    assert connections == 1000
    assert per_connection == pytest.approx(4.0)
    assert (started, every_ms) == (4, 1)  # started over 250 ms, one slot gap
    connections, per_connection, started, every_ms = plan(40)
    assert connections == 32
    assert started == 1
    assert every_ms == round(1000 / per_connection / connections)


def test_h2load_offers_the_rate_and_every_answer_is_a_stored_event(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'accord.db'}"
    with served(url, tmp_path, 1) as (base, key, _pid):
        offered = h2load(base, key, 200, 1.0, BODY, BODY.replace(b"u1", b"u2"))
    assert offered.failed == 0
    assert offered.unsent == 0
    assert len(offered.latencies) == 2 * 100
    assert offered.client_cpu > 0
    assert offered.connections == 2 * 25  # a quarter second between two calls on one
    ws = open_workspace(tmp_path / "ws", database_url=url, migrate=False)
    with ws.engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(events)).scalar_one()
    ws.close()
    assert stored == 200  # no messageId in the body: the server gives each call its own
