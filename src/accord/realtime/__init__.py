"""Real time: committed events flow, in order and exactly once, into stored signals.

consumer = Consumer(ws.engine, load_library(ws.settings.definitions_dir))
consumer.start()        # a thread: polls every few ms, wakes on the writer's commits
consumer.drain()        # or step by hand: everything committed so far
"""

from __future__ import annotations

from accord.realtime.consumer import Consumer, read_batch
from accord.realtime.cursor import Cursor, load_cursor, save_cursor

__all__ = ["Consumer", "Cursor", "load_cursor", "read_batch", "save_cursor"]
