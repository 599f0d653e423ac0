"""A small demo world written once per test module."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from accord.demo.model import DemoConfig, World
from accord.demo.run import DemoRun, write_demo_files

SMALL = DemoConfig(seed=11, accounts=300, events_per_account=60)


@dataclass
class Written:
    world: World
    run: DemoRun

    @property
    def out(self) -> Path:
        return self.run.out


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Written:
    world, run = write_demo_files(SMALL, tmp_path_factory.mktemp("demo"))
    return Written(world, run)
