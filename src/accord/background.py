"""Work handed to a thread while the handing thread goes on (a bulk load's writer, the
signal consumer's window-state saves)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    """`work` run in a daemon thread: `result()` waits for it and returns what it returned or
    raises what it raised (in the waiting thread); `thread.join()` waits without raising."""

    def __init__(self, work: Callable[[], T]) -> None:
        self.error: BaseException | None = None
        self._value: T | None = None
        self.thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self.thread.start()

    def _run(self, work: Callable[[], T]) -> None:
        try:
            self._value = work()
        except BaseException as e:  # noqa: BLE001 - raised again by `result` in the waiter
            self.error = e

    def done(self) -> bool:
        return not self.thread.is_alive()

    def result(self) -> T:
        self.thread.join()
        if self.error is not None:
            raise self.error
        return self._value  # type: ignore[return-value]
