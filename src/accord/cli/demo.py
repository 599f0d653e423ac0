"""`accord demo`: generate a B2B SaaS company, import it, resolve it, print a summary."""

from __future__ import annotations

import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console

from accord.cli.context import err, workspace
from accord.demo.model import DEFAULT_AS_OF, DemoConfig
from accord.demo.run import run_demo, write_demo_files
from accord.demo.summary import build_summary
from accord.demo.summary_view import render
from accord.errors import InputError


def register(app: typer.Typer) -> None:
    """Add the `demo` command to the root app."""
    app.command("demo")(demo)


def demo(
    ctx: typer.Context,
    *,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed writes the same files.")
    ] = 7,
    accounts: Annotated[int, typer.Option(min=20, help="Number of accounts.")] = 2000,
    months: Annotated[int, typer.Option(min=1, max=60, help="Months of events.")] = 12,
    events_per_account: Annotated[
        int, typer.Option(min=0, help="Average Segment calls per account over the window.")
    ] = 100,
    as_of: Annotated[
        str, typer.Option(help="Last day of the generated history (YYYY-MM-DD).")
    ] = DEFAULT_AS_OF.isoformat(),
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for the generated files. Default WORKSPACE/demo-input."),
    ] = None,
    files_only: Annotated[
        bool, typer.Option("--files-only", help="Write the files; do not import them.")
    ] = False,
    json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON document.")
    ] = False,
) -> None:
    """Generate a realistic B2B SaaS company, import it and print what the account graph holds."""
    config = DemoConfig(
        seed=seed,
        accounts=accounts,
        months=months,
        events_per_account=events_per_account,
        as_of=_day(as_of),
    )
    ws = workspace(ctx, migrate=not files_only)
    try:
        target = out if out is not None else ws.path / "demo-input"
        if not json:
            err.print(
                f"Generating {accounts:,} accounts (seed {seed}) into {target}"
                + ("" if files_only else ", then importing")
                + " ..."
            )
        if files_only:
            _, run = write_demo_files(config, target)
            summary: dict[str, Any] = {}
        else:
            run = run_demo(ws.engine, config, target)
            summary = build_summary(ws.engine)
    finally:
        ws.close()
    if json:
        document = {"out": str(run.out), "files": run.files, "imported": run.imported,
                    "resolve": run.resolve, "seconds": run.seconds, **summary}  # fmt: skip
        sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    elif summary:
        render(Console(), run, summary)
    else:
        render_files_only(run.out, run.files, run.seconds)


def render_files_only(out: Path, files: dict[str, int], seconds: dict[str, float]) -> None:
    console = Console()
    console.print(f"Demo files written to {out}:")
    for name, n in files.items():
        console.print(f"  {name}: {n:,} rows")
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in seconds.items())
    console.print(f"Done in {sum(seconds.values()):.1f}s ({steps}).")


def _day(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as e:
        raise InputError(f"--as-of: {text!r} is not a date; write YYYY-MM-DD") from e
