"""Dedupe keys of event writes inside and outside a writer's transaction, on both stores."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from accord.store.events import write_events, write_events_raw
from accord.store.schema import event_dedupe
from accord.workspace import Workspace
from tests.integration.pg_write_paths import pg_write_path  # noqa: F401 (autouse)
from tests.integration.test_segment_store import rows, stored


def keys(ws: Workspace) -> int:
    with ws.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(event_dedupe)).scalar_one())


def in_writer_transaction(ws: Workspace, batch: list[Any], *, commit: bool = True) -> int:
    """`batch` written as the group-commit writer does: on the driver's connection, inside
    one explicit transaction."""
    with ws.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        if ws.engine.dialect.name == "sqlite":
            raw.execute("BEGIN IMMEDIATE")
        n = write_events_raw(raw, ws.engine.dialect.name, batch)
        raw.commit() if commit else raw.rollback()
        return n


def test_writer_transaction_stores_new_events_and_drops_retries(workspace: Workspace) -> None:
    assert in_writer_transaction(workspace, rows(range(10))) == 10
    assert in_writer_transaction(workspace, rows(range(5, 15))) == 5  # half of them retried
    assert in_writer_transaction(workspace, rows(range(15))) == 0
    mixed = rows(range(14, 16)) + rows(range(2), source="other")  # two sources
    assert in_writer_transaction(workspace, mixed) == 3
    assert stored(workspace) == [f"m-{i}" for i in range(16)] + ["m-0", "m-1"]
    assert keys(workspace) == 18


def test_rolled_back_writer_transaction_keeps_no_key(workspace: Workspace) -> None:
    assert in_writer_transaction(workspace, rows(range(10)), commit=False) == 10
    assert stored(workspace) == []
    assert keys(workspace) == 0
    assert in_writer_transaction(workspace, rows(range(10))) == 10  # not taken for a retry


def test_write_events_leaves_the_commit_to_its_caller(workspace: Workspace) -> None:
    with workspace.engine.connect() as conn:
        transaction = conn.begin()
        assert write_events(conn, rows(range(10))) == 10
        transaction.rollback()
    assert stored(workspace) == []
    assert keys(workspace) == 0
    with workspace.engine.begin() as conn:
        assert write_events(conn, rows(range(10))) == 10
    assert keys(workspace) == 10
