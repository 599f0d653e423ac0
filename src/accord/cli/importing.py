"""`accord import salesforce|hubspot|csv`: CRM exports and mapped CSVs into the workspace.

After a successful import, stored contacts and leads are resolved to accounts, and events
still without an account are attached where the graph now resolves them. The summary
goes to stderr as a table, or to stdout as one JSON document with `--json`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from accord.cli.context import err, workspace
from accord.graph.event_links import attach_events
from accord.graph.resolve import resolve_all
from accord.ingest.csv_import import import_csv
from accord.ingest.hubspot import import_hubspot
from accord.ingest.kinds import KINDS
from accord.ingest.options import ImportOptions, ImportReport
from accord.ingest.salesforce import import_salesforce

app = typer.Typer(help="Import CRM exports and mapped CSV files.", no_args_is_help=True)

SkipBadRows = Annotated[
    bool,
    typer.Option(
        "--skip-bad-rows", help="Skip malformed rows, count them, write them to --rejects."
    ),
]
Rejects = Annotated[
    Path | None,
    typer.Option(
        "--rejects",
        help="Where --skip-bad-rows writes the bad rows "
        "(default: WORKSPACE/rejects/<input name>.rejects.csv).",
    ),
]
Encoding = Annotated[
    str | None,
    typer.Option(
        "--encoding", help="The file's encoding when it is not UTF-8 or BOM-marked UTF-16."
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document with the counts.")]
NoProgress = Annotated[bool, typer.Option("--no-progress", help="Hide the progress bar.")]


def _options(
    ctx: typer.Context,
    path: Path,
    skip_bad_rows: bool,
    rejects: Path | None,
    encoding: str | None,
    no_progress: bool,
) -> ImportOptions:
    if skip_bad_rows and rejects is None:
        state = ctx.find_root().obj
        base = Path(state.workspace) if state and state.workspace else None
        rejects = (base or Path("accord-data")) / "rejects" / f"{path.stem}.rejects.csv"
    return ImportOptions(
        skip_bad_rows=skip_bad_rows,
        rejects_path=rejects,
        encoding=encoding,
        progress=not no_progress,
    )


@app.command("salesforce")
def salesforce_cmd(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A data plan, sObject-tree JSON, CSV or folder.")],
    *,
    skip_bad_rows: SkipBadRows = False,
    rejects: Rejects = None,
    encoding: Encoding = None,
    as_json: AsJson = False,
    no_progress: NoProgress = False,
) -> None:
    """Import a Salesforce export: data plans with @Ref links, tree JSON, CSVs, report exports."""
    options = _options(ctx, path, skip_bad_rows, rejects, encoding, no_progress)
    ws = workspace(ctx)
    _finish(ws.engine, import_salesforce(ws.engine, path, options), as_json)


@app.command("hubspot")
def hubspot_cmd(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="companies/contacts/deals CSVs, or a folder.")],
    *,
    skip_bad_rows: SkipBadRows = False,
    rejects: Rejects = None,
    encoding: Encoding = None,
    as_json: AsJson = False,
    no_progress: NoProgress = False,
) -> None:
    """Import HubSpot exports (UI export CSVs or warehouse tables)."""
    options = _options(ctx, path, skip_bad_rows, rejects, encoding, no_progress)
    ws = workspace(ctx)
    _finish(ws.engine, import_hubspot(ws.engine, path, options), as_json)


@app.command("csv")
def csv_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The CSV file.")],
    *,
    kind: Annotated[str, typer.Option("--kind", help=f"One of: {', '.join(KINDS)}.")],
    column_map: Annotated[Path, typer.Option("--map", help="The YAML column map.")],
    skip_bad_rows: SkipBadRows = False,
    rejects: Rejects = None,
    encoding: Encoding = None,
    as_json: AsJson = False,
    no_progress: NoProgress = False,
) -> None:
    """Import any CSV via a column map: accounts, contacts, leads, opportunities, or an event
    feed (intent, ads, usage, cs)."""
    options = _options(ctx, file, skip_bad_rows, rejects, encoding, no_progress)
    ws = workspace(ctx)
    report = import_csv(ws.engine, file, kind=kind, column_map=column_map, options=options)
    _finish(ws.engine, report, as_json)


def _finish(engine: Any, report: ImportReport, as_json: bool) -> None:
    resolved = resolve_all(engine)
    attached = attach_events(engine)
    if as_json:
        document = {
            "import": dataclasses.asdict(report),
            "resolve": dataclasses.asdict(resolved),
            "events_attached": attached,
        }
        typer.echo(json.dumps(document, default=str, indent=2))
        return
    err.print(f"imported {report.source}", highlight=False, soft_wrap=True)
    table = Table()
    table.add_column("object")
    table.add_column("rows", justify="right")
    for name, count in report.counts.items():
        table.add_row(name, f"{count:,}")
    if report.skipped:
        table.add_row("skipped (bad rows)", f"{report.skipped:,}")
    err.print(table)
    for note in report.notes:
        err.print(f"note: {note}", highlight=False, soft_wrap=True)
    if report.rejects_path:
        err.print(f"rejected rows written to {report.rejects_path}", highlight=False)
    err.print(
        f"resolved: {resolved.crm_links} CRM links kept, {resolved.resolved} matched, "
        f"{resolved.unresolved} unresolved; {attached:,} waiting events attached to accounts",
        highlight=False,
    )
