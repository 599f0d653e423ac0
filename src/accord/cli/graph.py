"""`accord graph ...` (placeholder: filled by the graph work)."""

from __future__ import annotations

import typer

app = typer.Typer(help="graph", no_args_is_help=True)
