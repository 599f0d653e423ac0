"""Garbage-collector pauses of this process, timed through `gc.callbacks`."""

from __future__ import annotations

import gc
import time
from typing import Any


class GcWatch:
    """The longest pause, the count and total time of collections since `install()`; the
    longest also in the collecting thread's CPU time (wall minus CPU is time descheduled)."""

    def __init__(self) -> None:
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

    def to_json(self) -> dict[str, Any]:
        return {
            "max_pause_ms": round(self.max_ms, 3),
            "max_cpu_ms": round(self.max_cpu_ms, 3),
            "total_ms": round(self.total_ms, 3),
            "collections": self.collections,
            "worst_generation": self.worst_generation,
        }
