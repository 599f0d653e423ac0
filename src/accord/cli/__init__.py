"""The `accord` command: thin Typer commands over the library, one module per noun."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from accord.cli import db
from accord.cli.context import CliState, err
from accord.errors import AccordError

app = typer.Typer(
    name="accord",
    help="Accord: account-based experience engine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    *,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            envvar="ACCORD_WORKSPACE",
            help="Workspace folder (database and definitions). Default ./accord-data.",
        ),
    ] = None,
) -> None:
    ctx.obj = CliState(workspace=workspace)


app.add_typer(db.app, name="db")


def _register_optional() -> None:
    """Noun modules register themselves here; each owns its own sub-commands."""
    from accord.cli import (
        demo,
        events,
        graph,
        importing,
        keys,
        match,
        scores,
        serve,
        signals,
        stats,
        targets,
        worker,
    )

    app.add_typer(importing.app, name="import")
    app.add_typer(targets.app, name="targets")
    app.add_typer(graph.app, name="graph")
    app.add_typer(keys.app, name="keys")
    app.add_typer(events.app, name="events")
    app.add_typer(signals.app, name="signals")
    app.add_typer(scores.app, name="scores")
    match.register(app)
    demo.register(app)
    serve.register(app)
    stats.register(app)
    worker.register(app)


_register_optional()


def main() -> None:
    """Run the CLI; AccordError becomes `error: ...` on stderr and exit 2 (input) or 1."""
    try:
        app()
    except AccordError as e:
        err.print(f"[red]error:[/red] {e.message}", highlight=False, soft_wrap=True)
        for line in e.errors:
            err.print(f"  {line}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
