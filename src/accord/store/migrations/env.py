"""Alembic environment: runs against the engine the caller passes in `config.attributes`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from accord.store.schema import metadata

config = context.config


def run() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("alembic: pass an engine in config.attributes or sqlalchemy.url")
        engine = create_engine(url)
    with engine.begin() as conn:
        context.configure(
            connection=conn,
            target_metadata=metadata,
            render_as_batch=conn.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run()
