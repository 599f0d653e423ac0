"""Cell parsers: strict, with messages a user can act on."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from accord.ingest import values


def test_to_float_accepts_numbers_and_separators() -> None:
    assert values.to_float("1,234.5") == 1234.5
    assert values.to_float(" ") is None
    assert values.to_float(7) == 7.0


@pytest.mark.parametrize("raw", ["12k", "nan", "inf", "1.2.3"])
def test_to_float_rejects_non_numbers(raw: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        values.to_float(raw)


def test_to_int_rejects_fractions() -> None:
    assert values.to_int("12.0") == 12
    with pytest.raises(ValueError, match="not a whole number"):
        values.to_int("12.5")


def test_to_datetime_reads_iso_and_utc_suffixes() -> None:
    expected = datetime(2020, 12, 22, 21, 16, 1, tzinfo=UTC)
    assert values.to_datetime("2020-12-22T21:16:01Z") == expected
    assert values.to_datetime("2020-12-22 21:16:01 UTC") == expected
    assert values.to_date("2025-06-30") == date(2025, 6, 30)
    assert values.to_date("31/01/2025", "%d/%m/%Y") == date(2025, 1, 31)


def test_to_datetime_rejects_prose() -> None:
    with pytest.raises(ValueError, match="'June 30th' is not a date"):
        values.to_datetime("June 30th")


def test_to_bool_reads_common_spellings() -> None:
    assert [values.to_bool(v) for v in ("TRUE", "no", "1", "")] == [True, False, True, None]
    with pytest.raises(ValueError, match="not true or false"):
        values.to_bool("maybe")
