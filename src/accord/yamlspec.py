"""Position-tracking YAML → Pydantic loader for declarative definitions.

Every problem in every file is reported at once as `FILE:LINE:COL: field.path: message`;
nothing is loaded while any remains. Durations (`7d`, `24h`, `30m`) become `timedelta`.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar, Union

import yaml
from pydantic import BaseModel, BeforeValidator, PlainSerializer, ValidationError
from pydantic_core import PydanticCustomError

from accord.errors import DefinitionError

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """`7d`, `24h`, `30m`, `45s`, `2w` → timedelta; anything else is an error."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str) and (m := _DURATION.match(value)):
        return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    raise PydanticCustomError(
        "duration", "'{value}' is not a duration; write 3d or 72h", {"value": value}
    )


def format_duration(td: timedelta) -> str:
    """The shortest `Nu` spelling of `td` (the inverse of `parse_duration`)."""
    secs = int(td.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if secs and secs % _UNITS[unit] == 0:
            return f"{secs // _UNITS[unit]}{unit}"
    return f"{secs}s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]


# --- YAML with positions -------------------------------------------------------------------


@dataclass
class Positions:
    """1-based (line, column) of every value and every mapping key, by path."""

    values: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Loc, tuple[int, int]] = field(default_factory=dict)


class _Loader(yaml.SafeLoader):
    """A SafeLoader whose documents are converted with positions recorded (see `_convert`)."""


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _convert(loader: _Loader, node: yaml.Node, loc: Loc, pos: Positions, errs: list[str]) -> Any:
    pos.values[loc] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in out:
                line, col = _mark(key_node)
                errs.append(f"{line}:{col}\t{_dotted((*loc, key))}\tduplicate key '{key}'")
            pos.keys[(*loc, key)] = _mark(key_node)
            out[key] = _convert(loader, value_node, (*loc, key), pos, errs)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(loader, n, (*loc, i), pos, errs) for i, n in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def read_yaml(path: Path) -> tuple[Any, Positions, list[str]]:
    """Parse one YAML file; errors come back as `LINE:COL\\tpath\\tmessage` strings."""
    pos, errs = Positions(), list[str]()
    text = path.read_text(encoding="utf-8")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = _convert(loader, node, (), pos, errs) if node is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, pos, [f"{line}:{col}\t\tnot valid YAML: {e.problem or e}"]
    finally:
        loader.dispose()
    return data, pos, errs


# --- Pydantic errors → FILE:LINE:COL: path: message ---------------------------------------


def _dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _data_loc(data: Any, loc: Loc) -> Loc:
    """`loc` with the parts that are not in `data` (discriminator tags) removed."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        if (isinstance(cur, dict) and part in cur) or (
            isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
        ):
            cur = cur[part]  # type: ignore[index]
        elif isinstance(cur, dict | list):
            if isinstance(part, int) or not _is_tag(cur, part):
                out.append(part)
                cur = None
            continue
        else:
            out.append(part)
            cur = None
            continue
        out.append(part)
    return tuple(out)


def _is_tag(cur: Any, part: str | int) -> bool:
    return isinstance(cur, dict) and cur.get("kind") == part


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that validates the mapping at `loc` (following `kind` tags)."""
    tp: Any = root
    for part in loc:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(str(part))
            if info is None:
                return None
            tp = info.annotation
        elif origin in (Union, types.UnionType):
            tp = _union_member(tp, part)
        elif origin in (list, tuple, Sequence) and isinstance(part, int):
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _union_member(tp: Any, tag: str | int) -> Any:
    for member in typing.get_args(tp):
        member = _unwrap(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            kind = member.model_fields.get("kind")
            if kind is not None and tag in typing.get_args(kind.annotation):
                return member
    return None


def _kinds(root: type[BaseModel], loc: Loc) -> list[str]:
    parent = _model_at(root, loc[:-1]) if loc else None
    if parent is None:
        return []
    info = parent.model_fields.get(str(loc[-1]))
    if info is None:
        return []
    tp = _unwrap(info.annotation)
    if typing.get_origin(tp) in (list, Sequence):
        tp = _unwrap(typing.get_args(tp)[0])
    out: list[str] = []
    for member in typing.get_args(tp):
        member = _unwrap(member)
        if (
            isinstance(member, type)
            and issubclass(member, BaseModel)
            and "kind" in member.model_fields
        ):
            out.extend(str(a) for a in typing.get_args(member.model_fields["kind"].annotation))
    return out


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _message(root: type[BaseModel], data: Any, err: Any) -> tuple[Loc, str, bool]:
    """(location in data, message, point at the key rather than the value)."""
    loc: Loc = tuple(err["loc"])
    etype = err["type"]
    if etype == "extra_forbidden":
        model = _model_at(root, loc[:-1])
        names = list(model.model_fields) if model else []
        return _data_loc(data, loc), f"unknown field{_suggest(str(loc[-1]), names)}", True
    if etype == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag")
        kinds = _kinds(root, loc)
        where = (*_data_loc(data, loc), "kind")
        msg = f"'{tag}' is not a known kind; use one of {', '.join(kinds)}{_suggest(tag, kinds)}"
        return where, msg, False
    if etype == "union_tag_not_found":
        return (*_data_loc(data, loc), "kind"), "field required (the kind of this entry)", False
    if etype == "missing":
        return _data_loc(data, loc), "field required", False
    msg = str(err["msg"]).removeprefix("Value error, ")
    if etype == "literal_error":
        msg = f"{err.get('input')!r} is not allowed; {msg[0].lower()}{msg[1:]}"
    return _data_loc(data, loc), msg, False


def _where(pos: Positions, loc: Loc, at_key: bool) -> tuple[int, int]:
    if at_key and loc in pos.keys:
        return pos.keys[loc]
    for n in range(len(loc), -1, -1):
        if loc[:n] in pos.values:
            return pos.values[loc[:n]]
    return 1, 1


# --- loading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """One validated definition, with the file and line it came from."""

    spec: M
    path: Path
    line: int

    @property
    def source(self) -> str:
        return f"{self.path}:{self.line}"


def _items(data: Any) -> list[tuple[Loc, Any]]:
    if isinstance(data, list):
        return [((i,), item) for i, item in enumerate(data)]
    return [((), data)]


def load_file(
    path: Path, model: type[M], *, shown: str | None = None
) -> tuple[list[Loaded[M]], list[str]]:
    """Validate every definition in one file (a mapping or a list of mappings)."""
    name = shown or str(path)
    data, pos, raw = read_yaml(path)
    errors = [_fmt(name, *r.split("\t", 2)) for r in raw]
    if raw and data is None:
        return [], errors
    loaded: list[Loaded[M]] = []
    for prefix, item in _items(data):
        if not isinstance(item, dict):
            line, col = _where(pos, prefix, False)
            errors.append(f"{name}:{line}:{col}: {_dotted(prefix) or '(top)'}: expected a mapping")
            continue
        try:
            spec = model.model_validate(item)
        except ValidationError as e:
            for err in e.errors():
                loc, msg, at_key = _message(model, item, err)
                line, col = _where(pos, (*prefix, *loc), at_key)
                errors.append(f"{name}:{line}:{col}: {_dotted((*prefix, *loc))}: {msg}")
            continue
        loaded.append(Loaded(spec=spec, path=path, line=pos.values.get(prefix, (1, 1))[0]))
    return loaded, errors


def _fmt(name: str, where: str, path: str, msg: str) -> str:
    return f"{name}:{where}: {path + ': ' if path else ''}{msg}"


def load_all(
    paths: Iterable[Path],
    model: type[M],
    *,
    id_field: str = "id",
    shown: dict[Path, str] | None = None,
) -> list[Loaded[M]]:
    """Load every file; one `DefinitionError` lists every problem, else all definitions."""
    shown = shown or {}
    loaded: list[Loaded[M]] = []
    errors: list[str] = []
    files_with_errors: set[Path] = set()
    for path in paths:
        items, errs = load_file(path, model, shown=shown.get(path))
        loaded.extend(items)
        errors.extend(errs)
        if errs:
            files_with_errors.add(path)
    dup_errors, dup_files = _duplicates(loaded, id_field, shown)
    errors.extend(dup_errors)
    files_with_errors |= dup_files
    if errors:
        raise definition_error(errors, len(files_with_errors))
    return loaded


def yaml_files(folder: Path) -> list[Path]:
    """The `*.yaml` and `*.yml` files of a folder, sorted; none when it does not exist."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def definition_error(errors: list[str], files: int | None = None) -> DefinitionError:
    """One error carrying every problem, worded `N errors in F files; nothing was loaded.`"""
    n = len(errors)
    where = f" in {files} file{'s' * (files != 1)}" if files is not None else ""
    return DefinitionError(f"{n} error{'s' * (n != 1)}{where}; nothing was loaded.", errors=errors)


def raise_failures(failures: list[DefinitionError]) -> None:
    """Raise the failures of several folders as one error (nothing is loaded while any remain)."""
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise definition_error([line for f in failures for line in f.errors])


def _duplicates(
    loaded: list[Loaded[M]], id_field: str, shown: dict[Path, str]
) -> tuple[list[str], set[Path]]:
    first: dict[Any, Loaded[M]] = {}
    errors: list[str] = []
    files: set[Path] = set()
    for item in loaded:
        key = getattr(item.spec, id_field)
        if key in first:
            prev = first[key]
            here = shown.get(item.path, str(item.path))
            there = shown.get(prev.path, str(prev.path))
            errors.append(
                f"{here}:{item.line}:1: {id_field}: duplicate id '{key}' "
                f"(also defined in {there}:{prev.line}); rename one of them"
            )
            files |= {item.path, prev.path}
        else:
            first[key] = item
    return errors, files


__all__ = [
    "Duration",
    "Loaded",
    "format_duration",
    "load_all",
    "load_file",
    "parse_duration",
    "read_yaml",
]
