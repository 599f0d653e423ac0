"""`accord import ...` (placeholder: filled by the importing work)."""

from __future__ import annotations

import typer

app = typer.Typer(help="importing", no_args_is_help=True)
