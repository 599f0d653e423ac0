"""The batch hands the coded events over in pieces of whole accounts, in account-hash
order, the first and the last piece half the size of the others."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from accord.signals import batch
from tests.unit.signals.helpers import by_ord, event_table, one_definition


@pytest.mark.parametrize("count", [2, 3, 10])
def test_piece_bounds_halve_the_first_and_last_piece(count: int) -> None:
    lows = batch.piece_bounds(count)
    assert len(lows) == count + 1
    assert lows[0] == 0
    sizes = np.diff([*lows, 2**64]).astype(float)
    assert np.all(sizes > 0)
    middle = sizes[1:-1]
    assert np.allclose(middle, 2**64 / count, rtol=1e-9)
    assert np.allclose(sizes[[0, -1]], 2**64 / count / 2, rtol=1e-9)


def test_partitions_hand_over_every_event_once_in_account_order() -> None:
    when = {"kind": "count", "event": {"kind": ["track"]}, "window": "1h", "at_least": 1}
    con = duckdb.connect()
    event_table(con, 5000, t="(i % 50) * 1000", accounts=97, properties="'{}'")
    coded = one_definition(when)
    pieces = list(batch.partitions(con, coded, rows_per_part=1000))
    assert len(pieces) == 6  # 5 pieces' worth: the two ends halved
    sizes = [len(p["ord"]) for p in pieces]
    assert sizes[0] < max(sizes)
    assert sizes[-1] < max(sizes)
    ords = np.concatenate([p["ord"] for p in pieces])
    assert sorted(ords.tolist()) == list(range(5000))
    keys = [(int(a), int(t), int(o)) for p in pieces
            for a, t, o in zip(p["a"], p["t"], p["ord"], strict=True)]  # fmt: skip
    assert keys == sorted(keys)


@pytest.mark.parametrize("kinds", [["track"], ["track", "page"]])
def test_properties_are_parsed_without_a_guard_when_every_combination_needs_them(
    kinds: list[str],
) -> None:
    wanted = {"kind": ["track"], "properties": {"v": {"at_least": 2}}}
    when = {"kind": "count", "event": wanted, "window": "1h", "at_least": 1}
    con = duckdb.connect()
    event_table(con, 300, kind="$kinds[1 + i % len($kinds)]", params={"kinds": kinds})
    coded = one_definition(when)
    coded.prepare(con)
    guarded = "hk IN" in coded.unsorted_sql()
    assert guarded == (len(kinds) > 1)
    got = by_ord(con, coded, 100, coded.specs[0].match)
    want = con.execute("SELECT ord, kind = 'track' AND i_v >= 2 FROM "
                       "(SELECT *, (properties->>'v')::INT AS i_v FROM ev)").fetchall()  # fmt: skip
    assert got == dict(want)
