"""Garbage-collector pauses of this process, timed through `gc.callbacks`.

With `freeze_survivors` every full collection ends with `gc.freeze()`: what survived it is
alive (the collection has just removed every unreachable cycle) and moves out of the
collector's way, so the next full collection walks only what was created since, not the
whole long-lived state of the process (the signal consumer's window state grows with every
new account). A frozen object is still freed when its last reference goes; only a cycle
among frozen objects that dies later is kept, so use it where long-lived objects form no
cycles that die (the consumer's state is lists, sets and tuples of plain values).
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

FULL_EVERY_SECONDS = 0.25


def freeze_alive() -> None:
    """Collect, then freeze what survived (the process's long-lived start-up state).

    Then collect again, over the now empty oldest generation: CPython starts a full
    collection only once the objects promoted since the last one exceed a quarter of what
    that one left, and the frozen state must not count there. Without the second collect
    the first full collection after start-up waits for a quarter of the whole start-up heap
    to be promoted and then walks all of it (measured under the real-time latency
    bench on PostgreSQL: the consumer's longest collection 18-19 ms of CPU, 9 ms with this)."""
    gc.collect()
    gc.freeze()
    gc.collect()


class GcWatch:
    """The longest pause, the count and total time of collections since `install()`; the
    longest also in the collecting thread's CPU time (wall minus CPU is time descheduled)."""

    def __init__(self, *, freeze_survivors: bool = False) -> None:
        self.freeze_survivors = freeze_survivors
        self.freezes = 0  # full collections whose survivors were frozen
        self.max_ms = 0.0
        self.max_cpu_ms = 0.0
        self.total_ms = 0.0
        self.collections = 0
        self.worst_generation: int | None = None
        self._started = 0.0
        self._started_cpu = 0.0

    def install(self) -> GcWatch:
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)
        return self

    def uninstall(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            self._started_cpu = time.thread_time()
            return
        ms = (time.perf_counter() - self._started) * 1000.0
        self.max_cpu_ms = max(self.max_cpu_ms, (time.thread_time() - self._started_cpu) * 1000.0)
        self.collections += 1
        self.total_ms += ms
        if ms > self.max_ms:
            self.max_ms = ms
            self.worst_generation = info.get("generation")
        if self.freeze_survivors and info.get("generation") == 2:
            gc.freeze()
            self.freezes += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "max_pause_ms": round(self.max_ms, 3),
            "max_cpu_ms": round(self.max_cpu_ms, 3),
            "total_ms": round(self.total_ms, 3),
            "collections": self.collections,
            "worst_generation": self.worst_generation,
            "freezes": self.freezes,
        }


class PacedFullCollections:
    """A full collection every `interval` seconds, from a daemon thread.

    By itself CPython starts a full collection once the objects promoted since the last one
    exceed a quarter of what that one left, and then walks all of them at once: in a served
    worker that was every open connection's objects, 16,000 containers, 5-12 ms of CPU and
    up to 67 ms of wall time on a loaded machine. Collected every quarter second, with the
    survivors frozen after each (`GcWatch(freeze_survivors=True)`), a full collection
    walks only what the last interval promoted (the longest took 1-6 ms of CPU in the same
    bench)."""

    def __init__(self, interval: float = FULL_EVERY_SECONDS) -> None:
        self.interval = interval
        self.collections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gc-full", daemon=True)

    def start(self) -> PacedFullCollections:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            gc.collect()
            self.collections += 1
