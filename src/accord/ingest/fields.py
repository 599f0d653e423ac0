"""Typed field specs shared by the CRM readers: source field -> column, parser, link."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accord.ingest import values

Parser = Callable[[Any], Any]


def norm(name: str) -> str:
    """Field-name key: case, spaces, dashes and underscores do not matter."""
    return re.sub(r"[\s_\-]", "", name.lower())


def as_text(raw: Any) -> str | None:
    """A string cell, or a JSON scalar written as text."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return str(raw)
    return values.text(str(raw))


def lower_text(raw: Any) -> str | None:
    value = as_text(raw)
    return value.lower() if value else value


@dataclass(frozen=True)
class FieldSpec:
    """Where a source field goes: a column, how its value is parsed, what it links to."""

    column: str
    parse: Parser = as_text
    ref: str | None = None  # the object a link field points at: account, contact, ...


def text_field(column: str) -> FieldSpec:
    return FieldSpec(column)


def int_field(column: str) -> FieldSpec:
    return FieldSpec(column, values.to_int)


def float_field(column: str) -> FieldSpec:
    return FieldSpec(column, values.to_float)


def date_field(column: str) -> FieldSpec:
    return FieldSpec(column, values.to_date)


def time_field(column: str) -> FieldSpec:
    return FieldSpec(column, values.to_datetime)


def bool_field(column: str) -> FieldSpec:
    return FieldSpec(column, values.to_bool)


def link_field(column: str, obj: str) -> FieldSpec:
    return FieldSpec(column, as_text, ref=obj)


def parse_all(
    specs: dict[str, FieldSpec], raw: dict[str, tuple[str, Any]]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Split a record's fields into (column values, unmapped attributes, raw link keys).

    `raw` maps a normalized field name to (field name as given, value). A value that does
    not parse raises `BadValue` naming the field as given.
    """
    columns: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    links: dict[str, str] = {}
    for key, (given, value) in raw.items():
        spec = specs.get(key)
        if spec is None:
            if value not in (None, ""):
                attributes[given] = value
            continue
        try:
            parsed = spec.parse(value)
        except ValueError as e:
            raise values.BadValue(given, str(e)) from None
        if spec.ref is not None and parsed is not None:
            links[spec.column] = parsed
            continue
        columns[spec.column] = parsed
    return columns, attributes, links
