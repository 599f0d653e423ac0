"""Parsers for cell values: numbers, dates, timestamps and booleans, strict and explained."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime

_NUMBER_JUNK = re.compile(r"[,\s]")


class BadValue(ValueError):
    """A cell that cannot be read as its column's type; `column` names the source column."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


def text(raw: str | None) -> str | None:
    """A stripped string, or None for an empty cell."""
    if raw is None:
        return None
    value = raw.strip()
    return value or None


def to_float(raw: str | float | int | None) -> float | None:
    """A finite number; thousands separators are accepted, anything else is an error."""
    if raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        return float(raw)
    value = _NUMBER_JUNK.sub("", raw)
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{raw!r} is not a finite number")
    return number


def to_int(raw: str | float | int | None) -> int | None:
    """A whole number (`12.0` is accepted, `12.5` is not)."""
    number = to_float(raw)
    if number is None:
        return None
    if not number.is_integer():
        raise ValueError(f"{raw!r} is not a whole number")
    return int(number)


def to_datetime(raw: str | None, fmt: str | None = None) -> datetime | None:
    """An aware UTC timestamp from ISO 8601 (`Z`, offsets, a trailing ` UTC`) or `fmt`."""
    value = text(raw)
    if value is None:
        return None
    if value.endswith(" UTC"):
        value = value[:-4]
    try:
        parsed = datetime.strptime(value, fmt) if fmt else datetime.fromisoformat(value)
    except ValueError:
        want = fmt or "an ISO 8601 date or timestamp (2024-01-31 or 2024-01-31T09:30:00Z)"
        raise ValueError(f"{raw!r} is not a date; expected {want}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def to_date(raw: str | None, fmt: str | None = None) -> date | None:
    """A calendar date; a timestamp keeps its (UTC) date."""
    stamp = to_datetime(raw, fmt)
    return None if stamp is None else stamp.date()


_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def to_bool(raw: str | bool | None) -> bool | None:
    """true/false, yes/no, 1/0 (any case)."""
    if raw is None or isinstance(raw, bool):
        return raw
    value = raw.strip().lower()
    if not value:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{raw!r} is not true or false")
