"""Shared CLI plumbing: the global workspace option and the stderr console."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

from accord.workspace import Workspace, open_workspace

err = Console(stderr=True)


@dataclass
class CliState:
    workspace: Path | None = None


def workspace(ctx: typer.Context, *, migrate: bool = True) -> Workspace:
    """Open the workspace the global `--workspace` option (or ACCORD_WORKSPACE) names."""
    state: CliState = ctx.find_root().obj
    return open_workspace(state.workspace, migrate=migrate)
