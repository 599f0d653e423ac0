"""Signals: YAML definitions evaluated incrementally per event and in batch over history.

specs = load_library(ws.settings.definitions_dir)
engine = SignalEngine(ws.engine, specs)      # ingest path: engine.on_event(row)
fired = run_batch(ws.engine, specs, "30d")   # whole history, set-based in DuckDB
"""

from __future__ import annotations

from accord.signals.batch import run_batch
from accord.signals.incremental import SignalEngine
from accord.signals.library import load_library
from accord.signals.signal import Signal
from accord.signals.specs import LoadedSignal, SignalSpec

__all__ = ["LoadedSignal", "Signal", "SignalEngine", "SignalSpec", "load_library", "run_batch"]
