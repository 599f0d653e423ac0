"""Shared CLI plumbing: the global workspace option and the stderr console."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console

from accord.errors import InputError
from accord.workspace import Workspace, open_workspace
from accord.yamlspec import parse_duration

err = Console(stderr=True)


@dataclass
class CliState:
    workspace: Path | None = None


def workspace(ctx: typer.Context, *, migrate: bool = True) -> Workspace:
    """Open the workspace the global `--workspace` option (or ACCORD_WORKSPACE) names."""
    state: CliState = ctx.find_root().obj
    return open_workspace(state.workspace, migrate=migrate)


def duration(option: str, value: str) -> timedelta:
    """A duration option (`30d`, `72h`, `26w`), or an InputError naming the option."""
    try:
        return parse_duration(value)
    except ValueError:
        problem = f"{option} {value!r}: not a duration; write e.g. 30d, 72h or 26w"
        raise InputError(problem) from None
