"""The batch engine's cooldown resolution and distinct values, against plain definitions."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.signals import batch_np


def _walk(keys: list[int], cd: int) -> list[int]:
    """Candidates that fire, one at a time: each fired one mutes the next `cd`."""
    out: list[int] = []
    for j, k in enumerate(keys):
        if not out or k >= keys[out[-1]] + cd:
            out.append(j)
    return out


@settings(max_examples=300, deadline=None)
@given(
    gaps=st.lists(st.integers(0, 12), max_size=200),
    cd=st.integers(0, 40),
    start=st.integers(-(10**6), 10**6),
)
def test_cooldown_fires_what_a_walk_over_the_candidates_fires(
    gaps: list[int], cd: int, start: int
) -> None:
    keys = (start + np.cumsum(np.asarray(gaps, np.int64))).astype(np.int64)
    assert batch_np._cooldown(keys, cd).tolist() == _walk(keys.tolist(), cd)


def test_cooldown_follows_long_chains_and_many_accounts() -> None:
    rng = np.random.default_rng(11)
    span = 10_000_000
    acc = np.sort(rng.integers(0, 300, 50_000))
    keys = np.sort(acc * span + rng.integers(0, 1_000_000, 50_000)).astype(np.int64)
    for cd in (1, 17, 5_000, 400_000, 2_000_000):
        assert batch_np._cooldown(keys, cd).tolist() == _walk(keys.tolist(), cd)


@given(st.lists(st.integers(-(2**62), 2**62), max_size=300))
def test_unique_is_the_sorted_distinct_values(values: list[int]) -> None:
    got = batch_np.unique(np.asarray(values, np.int64))
    assert got.tolist() == sorted(set(values))
    assert got.dtype == np.int64
