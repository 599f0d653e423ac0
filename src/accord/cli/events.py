"""`accord events load FILE.jsonl`: bulk-load Segment-format event files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from accord.cli.context import err, workspace
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
) -> None:
    """Load events, each attached to its account; a re-load stores no duplicates."""
    from accord.api.stitch import IdentityStitcher  # heavy: the graph's matcher

    ws = workspace(ctx)
    stitcher = IdentityStitcher.load(ws.engine)
    report = load_jsonl(
        ws.engine, path, source=source, stitcher=stitcher, skip_bad_rows=skip_bad_rows
    )
    err.print(
        f"{path.name}: {report.lines:,} lines, {report.stored:,} stored, "
        f"{report.duplicates:,} duplicates, {report.skipped:,} skipped "
        f"in {report.seconds:.2f} s ({report.rate:,.0f} events/s)"
    )
