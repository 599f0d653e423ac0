"""The signal library: shipped definitions plus the workspace's own, which win by id."""

from __future__ import annotations

from pathlib import Path

from accord.errors import DefinitionError
from accord.signals.specs import LoadedSignal, SignalSpec
from accord.yamlspec import Loaded, load_all, raise_failures, yaml_files

SHIPPED = Path(__file__).resolve().parents[1] / "definitions" / "signals"


def _shown(path: Path, base: Path, prefix: str) -> str:
    try:
        return f"{prefix}{path.relative_to(base)}"
    except ValueError:
        return str(path)


def _wrap(
    items: list[Loaded[SignalSpec]], shown: dict[Path, str], shipped: bool
) -> list[LoadedSignal]:
    return [
        LoadedSignal(spec=i.spec, source=f"{shown.get(i.path, i.path)}:{i.line}", shipped=shipped)
        for i in items
    ]


def load_folder(
    folder: Path, *, label: str | None = None, shipped: bool = False
) -> list[LoadedSignal]:
    """Validate every definition in `folder`; raises one DefinitionError listing every problem."""
    files = yaml_files(folder)
    shown = {p: _shown(p, folder, f"{label}/") if label else str(p) for p in files}
    return _wrap(load_all(files, SignalSpec, shown=shown), shown, shipped)


def load_library(
    workspace_definitions: Path | None = None, *, shipped: bool = True
) -> list[LoadedSignal]:
    """Shipped definitions overridden by id by the workspace's `definitions/signals/*.yaml`."""
    layers: list[list[LoadedSignal]] = []
    failures: list[DefinitionError] = []
    sources: list[tuple[Path, str | None, bool]] = []
    if shipped:
        sources.append((SHIPPED, "accord/definitions/signals", True))
    if workspace_definitions is not None:
        sources.append((workspace_definitions / "signals", None, False))
    for folder, label, is_shipped in sources:
        try:
            layers.append(load_folder(folder, label=label, shipped=is_shipped))
        except DefinitionError as e:
            failures.append(e)
    raise_failures(failures)
    merged = {item.id: item for layer in layers for item in layer}
    return sorted(merged.values(), key=lambda s: s.id)
