"""`accord events load FILE.jsonl`: bulk-load Segment-format event files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn

from accord.cli.context import err, workspace
from accord.ingest.event_catalogue import load_catalogue
from accord.ingest.jsonl_bulk import bulk_load

app = typer.Typer(help="Events: bulk-load Segment-format JSONL files.", no_args_is_help=True)


class _Bar:
    """A load's phases as one Rich progress bar on stderr (events stored, once known)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: TaskID = progress.add_task("reading", total=None)

    def phase(self, name: str, total: int | None = None) -> None:
        self.progress.update(self.task, description=name, total=total, completed=0)

    def advance(self, rows: int) -> None:
        self.progress.advance(self.task, rows)


@app.command("load")
def events_load(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A JSONL file, one Segment call per line.")],
    *,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Skip and count invalid lines.")
    ] = False,
    source: Annotated[
        str, typer.Option(help="Source name; messageId dedupes within one source.")
    ] = "jsonl",
    workers: Annotated[
        int | None,
        typer.Option(help="Threads that read and validate the file (default: one per CPU).", min=1),
    ] = None,
    no_progress: Annotated[
        bool, typer.Option("--no-progress", help="Hide the progress bar.")
    ] = False,
) -> None:
    """Load events, each attached to its account; a re-load stores no duplicates.

    Each event's kind and team come from the event catalogue (shipped, overridden by the
    workspace's definitions/events/*.yaml).
    """
    from accord.graph.stitch import IdentityStitcher  # heavy: the graph's matcher

    ws = workspace(ctx)
    catalogue = load_catalogue(ws.settings.definitions_dir)
    stitcher = IdentityStitcher.load(ws.engine)
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, console=err, transient=True, disable=no_progress) as progress:
        report = bulk_load(
            ws.engine, path, source=source, stitcher=stitcher, skip_bad_rows=skip_bad_rows,
            catalogue=catalogue, threads=workers, progress=_Bar(progress),
        )  # fmt: skip
    err.print(
        f"{path.name}: {report.lines:,} lines, {report.stored:,} stored, "
        f"{report.duplicates:,} duplicates, {report.skipped:,} skipped "
        f"in {report.seconds:.2f} s ({report.rate:,.0f} events/s)"
    )
