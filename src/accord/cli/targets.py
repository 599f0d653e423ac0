"""`accord targets ...`: import target account lists and tiers, list and show them."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from accord.cli.context import err, workspace
from accord.errors import InputError
from accord.graph.targets import import_targets, list_members, list_summaries
from accord.ingest.options import ImportOptions

app = typer.Typer(help="Target account lists and tiers (1, 2, 3).", no_args_is_help=True)
out = Console(highlight=False, soft_wrap=True)
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV: list, tier, and account_id, domain or name.")],
    *,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Skip bad rows and count them.")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="With --skip-bad-rows, write the bad rows here.")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="The file's encoding.")] = None,
    as_json: AsJson = False,
) -> None:
    """Import target lists; each list in FILE gets a new version, earlier ones are kept."""
    if not file.is_file():
        raise InputError(f"{file}: no such file; give the path of a targets CSV")
    options = ImportOptions(skip_bad_rows=skip_bad_rows, rejects_path=rejects, encoding=encoding)
    report = import_targets(workspace(ctx).engine, file, options)
    if as_json:
        typer.echo(json.dumps(dataclasses.asdict(report), default=str, indent=2))
        return
    for name, version in report.lists.items():
        out.print(f"{name}\tversion {version}")
    for u in report.unresolved:
        err.print(f"unresolved: {report.source} line {u.line} ({u.list}): {u.given!r} [{u.rule}]")
    err.print(
        f"{report.rows} rows: {report.resolved} resolved, {len(report.unresolved)} unresolved"
        + (f", {report.skipped} skipped" if report.skipped else "")
    )


@app.command("list")
def list_cmd(ctx: typer.Context, *, as_json: AsJson = False) -> None:
    """Every target list with its current version."""
    lists = list_summaries(workspace(ctx).engine)
    if as_json:
        typer.echo(json.dumps([dataclasses.asdict(s) for s in lists], default=str, indent=2))
        return
    table = Table("list", "version", "rows", "unresolved", "versions", "imported")
    for s in lists:
        table.add_row(
            s.name,
            str(s.current_version),
            str(s.rows),
            str(s.unresolved),
            str(s.versions),
            str(s.updated_at),
        )
    out.print(table)


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="LIST", help="The list's name.")],
    *,
    version: Annotated[int | None, typer.Option(help="A version (default: current).")] = None,
    as_json: AsJson = False,
) -> None:
    """The members of one version of a list, with how each row was resolved."""
    shown, rows = list_members(workspace(ctx).engine, name, version)
    if as_json:
        members = [dict(r._mapping) for r in rows]
        typer.echo(json.dumps({"list": name, "version": shown, "members": members}, indent=2))
        return
    table = Table(
        "line",
        "account",
        "name",
        "tier",
        "given",
        "rule",
        "confidence",
        title=f"{name} version {shown}",
    )
    for r in rows:
        table.add_row(
            str(r.line),
            r.account_id or "-",
            r.name or "-",
            str(r.tier or "-"),
            r.given,
            r.rule,
            f"{r.confidence:.2f}",
        )
    out.print(table)
