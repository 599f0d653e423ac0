"""The column map: a YAML file saying which CSV column feeds which field of a kind.

    kind: accounts            # optional; must match --kind when given
    source: acme_crm          # names the source: external ids live under `csv:acme_crm`
    key: [id]                 # the field(s) whose values identify a record
    date_format: "%d/%m/%Y"   # optional strptime format; ISO 8601 otherwise
    keep_unmapped: true       # unmapped columns go to `attributes`
    columns:
      id: Account ID          # field: CSV column (header matched case-insensitively)
      name: Company

Unknown keys anywhere are errors reported as `FILE:LINE:COL: field.path: message`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from accord.errors import DefinitionError
from accord.ingest.kinds import KINDS, Kind
from accord.yamlspec import load_file, read_yaml

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=30)]


class _MapBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str | None = None
    source: Slug = "csv"
    key: list[str] | None = None
    date_format: str | None = None
    keep_unmapped: bool = True


class ColumnMap(BaseModel):
    """A validated map for one kind: field -> CSV column, plus the key fields."""

    model_config = ConfigDict(frozen=True)

    kind: str
    source: str
    key: tuple[str, ...]
    date_format: str | None
    keep_unmapped: bool
    columns: dict[str, str]

    @property
    def system(self) -> str:
        return f"csv:{self.source}"


def _model_for(kind: Kind) -> type[BaseModel]:
    fields: dict[str, Any] = dict.fromkeys(kind.fields, (str | None, None))
    columns = create_model(
        f"{kind.name.title()}Columns",
        __config__=ConfigDict(extra="forbid", frozen=True),
        **fields,
    )
    return create_model(f"{kind.name.title()}Map", __base__=_MapBase, columns=(columns, ...))


def load_column_map(path: Path, kind_name: str) -> ColumnMap:
    """Load and check the map at `path` for `kind_name`; every problem is reported at once."""
    kind = KINDS[kind_name]
    if not path.is_file():
        raise DefinitionError(f"{path}: column map not found")
    data, positions, _ = read_yaml(path)
    stated = data.get("kind") if isinstance(data, dict) else None
    if isinstance(stated, str) and stated != kind.name:
        line, col = positions.values.get(("kind",), (1, 1))
        raise _problems(
            path, [f"{path}:{line}:{col}: kind: the map is for {stated!r}, not {kind.name!r}"]
        )
    loaded, errors = load_file(path, _model_for(kind))
    if errors or not loaded:
        raise _problems(path, errors or [f"{path}:1:1: (top): expected a mapping"])
    spec: Any = loaded[0].spec
    columns = {k: v for k, v in spec.columns.model_dump().items() if v}
    problems = _semantic_problems(path, kind, spec, columns, positions.values)
    if problems:
        raise _problems(path, problems)
    key = tuple(spec.key) if spec.key else _default_key(kind, columns)
    return ColumnMap(
        kind=kind.name,
        source=spec.source,
        key=key,
        date_format=spec.date_format,
        keep_unmapped=spec.keep_unmapped,
        columns=columns,
    )


def _default_key(kind: Kind, columns: dict[str, str]) -> tuple[str, ...]:
    for candidate in kind.default_keys:
        if all(f in columns for f in candidate):
            return candidate
    return ()


def _semantic_problems(
    path: Path, kind: Kind, spec: Any, columns: dict[str, str], values: dict[Any, Any]
) -> list[str]:
    def at(*loc: Any) -> str:
        for end in range(len(loc), -1, -1):
            if loc[:end] in values:
                line, col = values[loc[:end]]
                return f"{path}:{line}:{col}"
        return f"{path}:1:1"

    problems = [
        f"{at('columns')}: columns.{f}: required for kind {kind.name}; map it to a CSV column"
        for f in kind.required
        if f not in columns
    ]
    if kind.any_of and not any(f in columns for f in kind.any_of):
        names = " or ".join(kind.any_of)
        problems.append(f"{at('columns')}: columns: kind {kind.name} needs {names}")
    for index, field in enumerate(spec.key or []):
        if field not in columns:
            problems.append(f"{at('key', index)}: key[{index}]: {field!r} is not a mapped field")
    if kind.table is not None and not spec.key and not _default_key(kind, columns):
        options = " or ".join("+".join(k) for k in kind.default_keys)
        problems.append(f"{at('columns')}: key: map {options}, or name the key fields")
    return problems


def _problems(path: Path, errors: list[str]) -> DefinitionError:
    n = len(errors)
    return DefinitionError(
        f"{path}: {n} problem{'s' * (n != 1)} in the column map; nothing was imported",
        errors=errors,
    )
