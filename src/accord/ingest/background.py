"""Work a bulk load hands to a thread while its own thread goes on."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Background:
    """`work` run in a daemon thread: `result()` waits for it and raises what it raised
    (in the waiting thread); `thread.join()` waits without raising."""

    def __init__(self, work: Callable[[], None]) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self.thread.start()

    def _run(self, work: Callable[[], None]) -> None:
        try:
            work()
        except BaseException as e:  # noqa: BLE001 - raised again by `result` in the waiter
            self.error = e

    def result(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise self.error
