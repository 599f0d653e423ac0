"""The dedupe-key migration keeps stored keys, on both databases: events stored before the
upgrade are still recognised as retries after it (and after a downgrade)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine, func, select, text

from accord.store.engine import alembic_config, current_revision, head_revision, upgrade
from accord.store.events import write_events
from accord.store.schema import event_dedupe, events
from accord.workspace import open_workspace
from tests.integration.test_segment_store import rows


def _write(engine: Engine, ids: range, source: str = "src") -> int:
    with engine.begin() as conn:
        return write_events(conn, rows(ids, source))


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _dedupe_layout(engine: Engine) -> str:
    """How the key table is stored: its SQLite DDL, or its PostgreSQL key collation and
    received_at index method."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT sql FROM sqlite_master WHERE name = 'event_dedupe'"
            return str(conn.execute(text(sql)).scalar_one())
        collations = conn.execute(text(
            "SELECT string_agg(column_name || ':' || coalesce(collation_name, ''), ',' "
            "ORDER BY column_name) FROM information_schema.columns "
            "WHERE table_name = 'event_dedupe' AND column_name IN ('source', 'message_id')"
        )).scalar_one()  # fmt: skip
        method = conn.execute(text(
            "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
            "WHERE c.relname = 'ix_event_dedupe_received_at'"
        )).scalar_one()  # fmt: skip
        return f"{collations} {method}"


def test_upgrade_keeps_stored_keys(db_url: str, tmp_path: Path) -> None:
    ws = open_workspace(tmp_path / "ws", database_url=db_url, migrate=False)
    try:
        engine = ws.engine
        upgrade(engine, "0001")
        assert _write(engine, range(50)) == 50
        assert _write(engine, range(3), source="other") == 3
        before = _dedupe_layout(engine)

        upgrade(engine)
        assert current_revision(engine) == head_revision()
        after = _dedupe_layout(engine)
        if engine.dialect.name == "sqlite":
            assert "WITHOUT ROWID" not in before
            assert "WITHOUT ROWID" in after
        else:
            assert before == "message_id:,source: btree"
            assert after == "message_id:C,source:C brin"
        assert _count(engine, event_dedupe) == 53
        assert _write(engine, range(40, 60)) == 10  # 40..49 were stored before the upgrade
        assert _write(engine, range(5), source="other") == 2
        assert _count(engine, events) == 65

        command.downgrade(alembic_config(engine), "0001")
        if engine.dialect.name == "sqlite":
            assert "WITHOUT ROWID" not in _dedupe_layout(engine)
        else:
            assert _dedupe_layout(engine) == before
        assert _write(engine, range(65)) == 5  # every key survived the downgrade too
        assert _count(engine, event_dedupe) == 70
    finally:
        ws.close()
