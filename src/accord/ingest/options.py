"""Options every import takes and the report every import returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ImportOptions:
    """How to treat bad rows, where to write rejects, how to decode, whether to show progress."""

    skip_bad_rows: bool = False
    rejects_path: Path | None = None
    encoding: str | None = None
    progress: bool = True


@dataclass
class ImportReport:
    """What an import read and upserted, per object (e.g. {"account": 50, "contact": 150})."""

    source: str
    counts: dict[str, int]
    skipped: int = 0
    rejects_path: Path | None = None
    notes: list[str] = field(default_factory=list)  # files or objects ignored, and why
