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


@pytest.mark.parametrize("names", [6, 300], ids=["byte-code", "hash"])
def test_batch_cols_flags_match_the_filter_with_few_or_many_combinations(names: int) -> None:
    from tests.unit.signals.helpers import by_ord, event_table, one_definition

    wanted = {"kind": ["track"], "name": ["n1*", "n2"], "properties": {"v": {"at_least": 2}}}
    when = {"kind": "count", "event": wanted, "window": "1h", "at_least": 1}
    con = duckdb.connect()
    event_table(con, 3000, kind="['track', 'page'][1 + i % 2]", name="'n' || (i % $names)",
                params={"names": names})  # fmt: skip
    coded = one_definition(when)
    got = by_ord(con, coded, 700, coded.specs[0].match)
    sql = compile_sql(EventFilter.model_validate(wanted))
    want = dict(con.execute(f"SELECT ord, COALESCE({sql}, FALSE) FROM ev").fetchall())
    assert got == want
    assert 0 < sum(want.values()) < len(want)
    assert (len(coded.combos) < 255) == (names < 255)


def test_batch_cols_contact_dims_match_the_join_for_known_unknown_and_no_contacts() -> None:
    from accord.signals.batch import EV_VIEW
    from tests.unit.signals.helpers import by_ord, event_table, one_definition

    when = {"kind": "first_seen", "event": {"contact_seniority": ["vp", "director"]},
            "key": "contact.seniority"}  # fmt: skip
    con = duckdb.connect()
    # contacts c0..c11 of events; c0..c7 have dims (c6, c7 without a seniority), c20 none
    event_table(con, 2000, table="raw", kind="'page'", name="NULL", accounts=5,
                contact="CASE WHEN i % 13 = 12 THEN NULL ELSE 'c' || (i % 13) END",
                properties="'{}'")  # fmt: skip
    con.execute(
        "CREATE TABLE people AS SELECT 'c' || i AS id, "
        "CASE WHEN i < 6 THEN ['vp', 'director', 'manager'][1 + i % 3] END AS seniority, "
        "'sales' AS department FROM range(8) t(i) UNION ALL SELECT 'c20', 'vp', 'sales'"
    )
    con.execute(EV_VIEW.format(raw="raw", dims="people"))
    coded = one_definition(when, id="senior")
    sc = coded.specs[0]
    assert sc.key is not None
    got = by_ord(con, coded, 300, sc.match, sc.key)
    want = {
        o: (bool(m), int(k))
        for o, m, k in con.execute(
            "SELECT ord, COALESCE(c_seniority IN ('vp', 'director'), FALSE), "
            "CASE WHEN c_seniority IS NULL THEN 0 ELSE hash(c_seniority) END FROM ev_dims"
        ).fetchall()
    }
    assert got == want
    assert 0 < sum(m for m, _ in want.values()) < len(want)
