"""`accord events load FILE.jsonl`: bulk-load Segment-format event files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from accord.cli.context import err, workspace
from accord.ingest.event_catalogue import load_catalogue
from accord.ingest.segment_jsonl import load_jsonl

app = typer.Typer(help="Events: bulk-load Segment-format JSONL files.", no_args_is_help=True)


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
        typer.Option(help="Parser processes for big files (default: one per spare CPU).", min=1),
    ] = None,
) -> None:
    """Load events, each attached to its account; a re-load stores no duplicates.

    Each event's kind and team come from the event catalogue (shipped, overridden by the
    workspace's definitions/events/*.yaml).
    """
    from accord.graph.stitch import IdentityStitcher  # heavy: the graph's matcher

    ws = workspace(ctx)
    catalogue = load_catalogue(ws.settings.definitions_dir)
    stitcher = IdentityStitcher.load(ws.engine)
    report = load_jsonl(
        ws.engine,
        path,
        source=source,
        stitcher=stitcher,
        skip_bad_rows=skip_bad_rows,
        catalogue=catalogue,
        workers=workers,
    )
    err.print(
        f"{path.name}: {report.lines:,} lines, {report.stored:,} stored, "
        f"{report.duplicates:,} duplicates, {report.skipped:,} skipped "
        f"in {report.seconds:.2f} s ({report.rate:,.0f} events/s)"
    )
