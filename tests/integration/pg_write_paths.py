"""A fixture that runs each test of a module through both PostgreSQL event-write paths."""

from __future__ import annotations

import pytest

from accord.store import events, group_commit


@pytest.fixture(autouse=True, params=["one statement", "COPY"])
def pg_write_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Small writes are one statement, large ones two COPYs: the threshold is moved so that
    a test's few rows take either path (import this fixture into a test module)."""
    at_least = 10**9 if request.param == "one statement" else 1
    monkeypatch.setattr(events, "COPY_AT_LEAST", at_least)
    monkeypatch.setattr(group_commit, "COPY_AT_LEAST", at_least)
    return str(request.param)
