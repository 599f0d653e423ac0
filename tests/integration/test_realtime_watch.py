"""Commits by other processes wake the consumer, and the consumer runs as a child process
of the server worker, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from accord.api.app import WakingWriter
from accord.realtime import Consumer, load_cursor
from accord.realtime.leader import Leadership
from accord.realtime.process import ConsumerProcess
from accord.realtime.watch import CommitNotifier, CommitWatch
from accord.signals import load_library
from accord.signals.store import list_signals
from accord.store.events import EventRow, utc_text
from accord.store.group_commit import WriteRequest
from accord.workspace import Workspace, open_workspace
from tests.integration.segment_server import running_server
from tests.integration.test_realtime import PEOPLE, post, seed, stream, wait_for

QUIET = 30.0  # a poll interval longer than any wait below: only a wake-up can be in time


def demo_requests(n: int, offset: int = 0) -> list[EventRow]:
    """`n` Demo Requested events by different people of one account: the second fires
    `rt_demo_requests`."""
    at = utc_text(datetime.now(UTC) - timedelta(minutes=5))
    people = PEOPLE["acc_initech"][1]
    return [
        EventRow(f"demo-{offset + i}", "test", at, at, "track", "Demo Requested", None,
                 "acc_initech", f"con_{people[i % len(people)]}", None, None, "{}")
        for i in range(n)
    ]  # fmt: skip


def write_elsewhere(ws: Workspace, rows: list[EventRow]) -> None:
    """Commit `rows` as another server process would: its own engine and writer (which
    notifies on PostgreSQL; nothing in this process wakes the consumer)."""
    other = open_workspace(ws.path, database_url=ws.settings.database_url, migrate=False)
    writer = WakingWriter(other.engine, threading.Event())
    writer.start()
    try:
        request = WriteRequest(rows)
        writer.submit(request)
        assert request.future is not None
        assert request.future.result(timeout=30) == len(rows)
    finally:
        writer.stop()
        other.close()


def fired(ws: Workspace) -> int:
    return len(list_signals(ws.engine, type="rt_demo_requests"))


def test_consumer_wakes_when_another_process_commits(workspace: Workspace) -> None:
    seed(workspace)
    specs = load_library(workspace.settings.definitions_dir)
    consumer = Consumer(workspace.engine, specs, poll_seconds=QUIET)
    consumer.start()
    try:
        wait_for(lambda: consumer.watch is not None and consumer.watch.is_alive(), 10.0)
        write_elsewhere(workspace, demo_requests(2))
        wait_for(lambda: fired(workspace) == 1, 5.0)
        assert consumer.watch is not None
        assert consumer.watch.wakes >= 1
    finally:
        consumer.stop()


def test_commit_watch_stays_quiet_without_commits(workspace: Workspace) -> None:
    wake = threading.Event()
    watch = CommitWatch(workspace.engine, wake)
    watch.start()
    try:
        time.sleep(0.3)
        assert not wake.is_set()
        write_elsewhere(workspace, demo_requests(1))
        assert wake.wait(5.0)
    finally:
        watch.stop()
    assert not watch.is_alive()


def test_notifier_sends_one_notify_per_gap_for_a_run_of_commits(workspace: Workspace) -> None:
    if workspace.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's watchers read data_version; nothing is sent")
    wake = threading.Event()
    watch = CommitWatch(workspace.engine, wake)
    watch.start()
    notifier = CommitNotifier(workspace.engine, gap=0.05)
    try:
        assert watch.is_alive()  # and it LISTENs: start() waited for that
        started = time.monotonic()
        for _ in range(100):
            notifier.notify()
            time.sleep(0.002)
        elapsed = time.monotonic() - started
        time.sleep(0.2)  # the commits of the last gap get their NOTIFY too
        assert 1 < notifier.sent <= elapsed / 0.05 + 2
        wake.clear()
        notifier.notify()  # a lone commit after a quiet gap: sent at once
        assert wake.wait(2.0)
    finally:
        notifier.close()
        watch.stop()


def test_consumer_process_leads_stores_signals_and_saves_on_stop(workspace: Workspace) -> None:
    seed(workspace)
    child = ConsumerProcess(workspace.path, workspace.settings.database_url, poll_seconds=QUIET)
    child.start()
    try:
        health = child.health()
        assert health["alive"]
        assert health["leader"]
        assert not Leadership(workspace.engine, "signals").acquire()  # the child holds it
        write_elsewhere(workspace, demo_requests(3))
        wait_for(lambda: fired(workspace) == 1, 10.0)
        wait_for(lambda: child.health()["processed"] == 3, 5.0)
    finally:
        child.stop()
    assert not child.is_alive()
    with workspace.engine.connect() as conn:
        assert load_cursor(conn, "signals").last_id == 3
    assert child.health()["gc"]["collections"] >= 0
    takeover = Leadership(workspace.engine, "signals")
    assert takeover.acquire()  # let go on stop
    takeover.release()


PARENT = """
import sys, time
from accord.realtime.process import ConsumerProcess
child = ConsumerProcess(sys.argv[1], sys.argv[2], poll_seconds=30)
child.start()
print(child.pid, flush=True)
time.sleep(60)
"""


def test_consumer_process_exits_when_its_parent_is_gone(workspace: Workspace) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(workspace.path), workspace.settings.database_url],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
    finally:
        parent.kill()
        parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()
    assert pid > 0

    def gone() -> bool:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
        except FileNotFoundError:
            return True

    wait_for(gone, 10.0)
    takeover = Leadership(workspace.engine, "signals")
    wait_for(takeover.acquire, 5.0)
    takeover.release()


@pytest.fixture
def seeded(workspace: Workspace) -> Workspace:
    seed(workspace)
    return workspace


def test_server_with_consumer_process_stores_signals_and_reports_it(
    seeded: Workspace, tmp_path: Path
) -> None:
    calls = [c for c in stream() if c["event"] == "Demo Requested"][:4]
    with running_server(seeded, consumer_process=True) as srv:
        assert srv.app.state.consumer is None
        post(srv.url, srv.key, calls)
        wait_for(lambda: fired(seeded) == 1, 5.0)
        health = httpx.get(f"{srv.url}/healthz").json()
        child = srv.app.state.consumer_process
    assert health["consumer"]["alive"]
    assert health["consumer"]["leader"]
    assert isinstance(health["consumer"]["gc"]["max_pause_ms"], float)
    assert not child.is_alive()  # the server's shutdown stopped it
