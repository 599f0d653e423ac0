"""Lookups the batch engine uses for the texts of fired rows and for first sightings."""

from __future__ import annotations

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from accord.signals import batch_np
from accord.signals.batch_out import OrdIndex


@pytest.mark.parametrize("spread", [1, 1_000_000], ids=["dense", "sparse"])
def test_ord_index_finds_rows_in_any_order(spread: int) -> None:
    rng = np.random.default_rng(3)
    ords = rng.permutation(500).astype(np.int64) * spread + 7
    texts = pa.table({"ord": ords, "msg": [f"m{o}" for o in ords.tolist()]})
    wanted = rng.choice(ords, 200)
    got = texts.column("msg").take(pa.array(OrdIndex(texts).at(wanted))).to_pylist()
    assert got == [f"m{o}" for o in wanted.tolist()]


def test_ord_index_accepts_an_empty_table() -> None:
    index = OrdIndex(pa.table({"ord": pa.array([], pa.int64())}))
    assert len(index.at(np.zeros(0, np.int64))) == 0


def test_firsts_marks_the_first_row_of_each_account_key_group() -> None:
    rng = np.random.default_rng(5)
    keys = rng.integers(1, 6, 2_000).astype(np.uint64)
    acc = np.sort(rng.integers(0, 40, 2_000)).astype(np.int64)
    order, starts = batch_np._group_sort(keys, acc)
    expected = np.zeros(len(keys), bool)
    expected[order[starts]] = True
    assert (batch_np._firsts(keys, acc) == expected).all()
    assert len(batch_np._firsts(keys[:0], acc[:0])) == 0


@pytest.mark.parametrize("spread", [1, 1_000_000], ids=["dense", "sparse"])
def test_ord_index_gives_some_row_for_an_absent_ord(spread: int) -> None:
    texts = pa.table({"ord": np.array([5, 9, 12], np.int64) * spread})
    got = OrdIndex(texts).at(np.array([0, 10 * spread, 99 * spread], np.int64))
    assert ((got >= 0) & (got < 3)).all()
