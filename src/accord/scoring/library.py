"""Score definitions on disk: shipped defaults plus the workspace's own, which win by score."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from accord import yamlspec
from accord.errors import DefinitionError
from accord.scoring.specs import MODELS, FitSpec, ScoreSpec
from accord.yamlspec import read_yaml

SHIPPED = Path(__file__).resolve().parents[1] / "definitions" / "scores"


@dataclass(frozen=True)
class LoadedScore:
    """One validated definition and where it came from (`file:line`)."""

    spec: ScoreSpec
    source: str
    shipped: bool = False

    @property
    def score(self) -> str:
        return self.spec.score

    @property
    def version(self) -> int:
        return self.spec.version


def _peek(path: Path, shown: str) -> tuple[type[ScoreSpec] | None, list[str]]:
    """The model the file's `score:` key names, or the positioned reason there is none."""
    data, pos, raw = read_yaml(path)
    if raw:
        return None, []  # load_file reports YAML errors itself
    names = ", ".join(MODELS)
    if not isinstance(data, dict):
        return None, [f"{shown}:1:1: (top): expected a mapping with score: one of {names}"]
    if "score" not in data:
        line, col = pos.values.get((), (1, 1))
        return None, [f"{shown}:{line}:{col}: score: field required (one of {names})"]
    model = MODELS.get(str(data["score"]))
    if model is None:
        line, col = pos.values.get(("score",), (1, 1))
        msg = f"'{data['score']}' is not a known score; use one of {names}"
        return None, [f"{shown}:{line}:{col}: score: {msg}"]
    return model, []


def load_file(path: Path, *, shown: str | None = None) -> tuple[LoadedScore | None, list[str]]:
    """One definition file, validated; errors as `FILE:LINE:COL: field.path: message`."""
    name = shown or str(path)
    model, errors = _peek(path, name)
    if errors:
        return None, errors
    items, errors = _load(path, model, name)
    if errors:
        return None, errors
    if len(items) != 1:
        return None, [f"{name}:1:1: (top): a score file holds exactly one definition"]
    spec, line = items[0]
    return LoadedScore(spec=spec, source=f"{name}:{line}"), []


def _load(
    path: Path, model: type[ScoreSpec] | None, name: str
) -> tuple[list[tuple[ScoreSpec, int]], list[str]]:
    # Without a known model (the file is not valid YAML) any model words the YAML error.
    items, errors = yamlspec.load_file(path, model or FitSpec, shown=name)
    return [(i.spec, i.line) for i in items], errors


def load_files(paths: Iterable[Path], shown: dict[Path, str], shipped: bool) -> list[LoadedScore]:
    """Every file, or one DefinitionError listing every problem in every file."""
    loaded: list[LoadedScore] = []
    errors: list[str] = []
    bad: set[Path] = set()
    first: dict[str, LoadedScore] = {}
    for path in paths:
        item, errs = load_file(path, shown=shown.get(path))
        if errs:
            errors += errs
            bad.add(path)
            continue
        assert item is not None
        item = LoadedScore(spec=item.spec, source=item.source, shipped=shipped)
        if item.score in first:
            prev = first[item.score]
            errors.append(
                f"{item.source.rsplit(':', 1)[0]}:1:1: score: '{item.score}' is also defined "
                f"in {prev.source}; keep one definition per score in a folder"
            )
            bad.add(path)
            continue
        first[item.score] = item
        loaded.append(item)
    if errors:
        raise yamlspec.definition_error(errors, len(bad))
    return loaded


def load_folder(
    folder: Path, *, label: str | None = None, shipped: bool = False
) -> list[LoadedScore]:
    files = yamlspec.yaml_files(folder)
    shown = {p: f"{label}/{p.name}" if label else str(p) for p in files}
    return load_files(files, shown, shipped)


def load_library(workspace_definitions: Path | None = None) -> dict[str, LoadedScore]:
    """Shipped definitions overridden by score name by the workspace's `definitions/scores`."""
    failures: list[DefinitionError] = []
    merged: dict[str, LoadedScore] = {}
    sources: list[tuple[Path, str | None, bool]] = [(SHIPPED, "accord/definitions/scores", True)]
    if workspace_definitions is not None:
        sources.append((workspace_definitions / "scores", None, False))
    for folder, label, shipped in sources:
        try:
            merged.update({s.score: s for s in load_folder(folder, label=label, shipped=shipped)})
        except DefinitionError as e:
            failures.append(e)
    yamlspec.raise_failures(failures)
    return merged
