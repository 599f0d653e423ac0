"""The batch engine reads each property path once per event; the text it reads is the text
`json_extract_string` gives (and the incremental engine compares) for every kind of value."""

from __future__ import annotations

import duckdb
import pytest

from accord.signals.batch_cols import filter_atoms, parse_sql, path_columns
from accord.signals.filters import compile_sql, json_path, lit
from accord.signals.specs import EventFilter

DOCS = [
    '{"a": "text", "b": {"c": "x\\"y\\u00e9"}}',
    '{"a": 16, "b": {"c": 1.50}}',
    '{"a": true, "b": {"c": false}}',
    '{"a": null, "b": null}',
    '{"a": {"z": 1}, "b": [1, 2]}',
    '{"a": [1, "two"], "b": "flat"}',
    '{"A": 1, "b": {"C": 2}}',
    '{"a": 1e3, "b": {"c": 12345678901234567890}}',
    '{"a": "first", "a": "second"}',
    "{}",
    "[1, 2]",
    "null",
]


@pytest.mark.parametrize("paths", [["a", "b.c"], ["a", "a.z"], ["a", "A"], ["b.c", "b.d", "a"]])
def test_batch_cols_property_text_matches_json_extract_string(paths: list[str]) -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE ev (properties VARCHAR)")
    con.executemany("INSERT INTO ev VALUES (?)", [[d] for d in DOCS])
    columns = path_columns(paths)
    ours = ", ".join(columns[p] for p in paths)
    theirs = ", ".join(f"json_extract_string(properties, {lit(json_path(p))})" for p in paths)
    got = con.execute(f"SELECT {ours} FROM (SELECT *, {parse_sql(paths)} AS j FROM ev)").fetchall()
    want = con.execute(f"SELECT {theirs} FROM ev").fetchall()
    assert got == want


def test_batch_cols_filter_atoms_split_the_filter_by_where_it_is_evaluated() -> None:
    f = EventFilter(
        kind=["track"],
        name="Seats*",
        properties={"seats": {"at_least": 3}},
        contact_seniority=["vp"],
    )
    atoms = dict(filter_atoms(f))
    assert set(atoms) == {"combo", "row", "dims"}
    assert "kind IN ('track')" in atoms["combo"]
    assert "seats" not in atoms["combo"]
    assert "seats" in atoms["row"]
    assert "kind" not in atoms["row"]
    assert atoms["dims"] == compile_sql(EventFilter(contact_seniority=["vp"]))
    assert filter_atoms(EventFilter()) == []
