"""`accord db ...`: schema migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from accord.cli.context import err, workspace
from accord.store.engine import current_revision, head_revision, upgrade

app = typer.Typer(help="Database schema: migrate and inspect.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(
    ctx: typer.Context,
    *,
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    ws = workspace(ctx, migrate=False)
    upgrade(ws.engine, revision)
    err.print(f"database at revision {current_revision(ws.engine)}")


@app.command("current")
def db_current(ctx: typer.Context) -> None:
    """Print the database's revision and the newest one."""
    ws = workspace(ctx, migrate=False)
    typer.echo(f"{current_revision(ws.engine) or 'empty'} (head {head_revision()})")
