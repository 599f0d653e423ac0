"""The GC watch: pauses counted, and survivors of full collections frozen when asked."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accord.realtime.gcwatch import GcWatch, PacedFullCollections, freeze_alive


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


def _full_collections_while_growing(freeze: Callable[[], None]) -> int:
    """Automatic full collections while 150,000 new containers are kept, after `freeze`
    put away 1,000,000 start-up ones (a full collection is first considered after about
    70,000 allocations: 700 per young collection, 10 of each younger generation)."""
    full: list[int] = []

    def count(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            full.append(1)

    startup = [[i] for i in range(1_000_000)]
    freeze()
    gc.callbacks.append(count)
    try:
        kept = [[i] for i in range(150_000)]
    finally:
        gc.callbacks.remove(count)
    assert len(startup) + len(kept) == 1_150_000  # both alive through the count
    return len(full)


def test_frozen_start_up_state_does_not_delay_full_collections(unfrozen: None) -> None:
    def collect_and_freeze() -> None:
        gc.collect()
        gc.freeze()

    # counted against the start-up heap, the first full collection waits for 250,000 new
    # objects and then walks them all; counted from zero, smaller ones come early
    assert _full_collections_while_growing(collect_and_freeze) == 0
    gc.unfreeze()
    assert _full_collections_while_growing(freeze_alive) >= 1


def test_paced_full_collections_freeze_what_each_interval_promoted(unfrozen: None) -> None:
    watch = GcWatch(freeze_survivors=True).install()
    paced = PacedFullCollections(interval=0.02).start()
    try:
        state = [[i] for i in range(1000)]
        deadline = time.monotonic() + 10
        while paced.collections < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        paced.stop()
        watch.uninstall()
    assert paced.collections >= 2
    assert watch.freezes >= 2
    walked = {id(o) for g in range(3) for o in gc.get_objects(g)}
    assert not walked & {id(s) for s in state}  # frozen by a paced collection
    stopped_at = paced.collections
    time.sleep(0.1)
    assert paced.collections == stopped_at  # stop() ended the thread
