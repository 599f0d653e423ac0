"""The tests of test_segment_api, through the ingest path `accord serve` runs: `/v1/*`
answered inside the HTTP protocol (`accord.api.protocol`), everything else as before."""

from __future__ import annotations

import pytest

from tests.integration import segment_server
from tests.integration.test_segment_api import *  # noqa: F403


@pytest.fixture(autouse=True)
def _served_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segment_server, "FAST_PATH", True)
