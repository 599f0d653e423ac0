"""The GC watch: pauses counted, and survivors of full collections frozen when asked."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from accord.realtime.gcwatch import GcWatch


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_full_collection_freezes_its_survivors_when_asked(unfrozen: None) -> None:
    watch = GcWatch(freeze_survivors=True).install()
    try:
        state = [[i] for i in range(1000)]  # long-lived containers, as window state is
        gc.collect()
        frozen = gc.get_freeze_count()
        assert frozen >= len(state)
        walked = {id(o) for g in range(3) for o in gc.get_objects(g)}
        assert not walked & {id(s) for s in state}  # no collection walks them any more
        gc.collect(1)  # a young collection freezes nothing
        assert gc.get_freeze_count() == frozen
    finally:
        watch.uninstall()
    assert watch.freezes >= 1
    assert watch.to_json()["freezes"] == watch.freezes


def test_watch_alone_freezes_nothing(unfrozen: None) -> None:
    watch = GcWatch().install()
    try:
        gc.collect()
    finally:
        watch.uninstall()
    assert gc.get_freeze_count() == 0
    assert watch.freezes == 0
    assert watch.max_ms > 0
