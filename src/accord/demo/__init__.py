"""A seeded B2B SaaS company for the demo, the tests and the benchmarks.

`generate(DemoConfig(seed=7))` builds the world in memory; `accord.demo.run` writes it as a
Salesforce export, a target list, an intent feed and Segment events, and imports it.
"""

from __future__ import annotations

from accord.demo.generator import generate
from accord.demo.model import DemoConfig, World

__all__ = ["DemoConfig", "World", "generate"]
