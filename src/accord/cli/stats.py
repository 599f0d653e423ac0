"""`accord stats --json`: counts of the stored graph and events, as one JSON object."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from sqlalchemy import Engine, column, func, inspect, select, table

from accord.cli.context import workspace
from accord.store.schema import accounts, contacts, events, leads


def collect_stats(engine: Engine) -> dict[str, Any]:
    """accounts, contacts, leads, events, resolved_events and signals by type."""
    count = func.count()
    with engine.connect() as conn:
        stats: dict[str, Any] = {
            "accounts": conn.execute(
                select(count).select_from(accounts).where(accounts.c.merged_into.is_(None))
            ).scalar_one(),
            "contacts": conn.execute(select(count).select_from(contacts)).scalar_one(),
            "leads": conn.execute(select(count).select_from(leads)).scalar_one(),
            "events": conn.execute(select(count).select_from(events)).scalar_one(),
            "resolved_events": conn.execute(
                select(count).select_from(events).where(events.c.account_id.is_not(None))
            ).scalar_one(),
            "signals": {},
        }
        if inspect(conn).has_table("signals"):
            signals = table("signals", column("type"))
            rows = conn.execute(select(signals.c.type, count).group_by(signals.c.type))
            stats["signals"] = {str(kind): n for kind, n in rows}
    return stats


def register(app: typer.Typer) -> None:
    """Add the `stats` command to the root app."""

    @app.command("stats")
    def stats(
        ctx: typer.Context,
        *,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    ) -> None:
        """Counts: accounts, contacts, leads, events, resolved events, signals by type."""
        ws = workspace(ctx)
        data = collect_stats(ws.engine)
        if as_json:
            typer.echo(orjson.dumps(data).decode())
            return
        for key, value in data.items():
            typer.echo(f"{key}: {value}")
