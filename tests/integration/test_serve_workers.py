"""`accord serve --workers 2`: one listening socket per worker on the shared port, so that
new connections are spread evenly over the workers (Linux /proc tells which process holds
which connection)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.integration.segment_server import free_port

LISTEN, ESTABLISHED = "0A", "01"


def sockets_on(port: int, state: str) -> set[int]:
    """Inodes of the local TCP sockets on `port` in `state` (/proc/net/tcp)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == state:
            inodes.add(int(fields[9]))
    return inodes


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def holders(pids: list[int], inodes: set[int]) -> Counter[int]:
    """How many of the sockets `inodes` each process holds."""
    held: Counter[int] = Counter()
    for pid in pids:
        try:
            links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        for link in links:
            if link.startswith("socket:[") and int(link[8:-1]) in inodes:
                held[pid] += 1
    return held


@contextmanager
def serving(tmp_path: Path, workers: int) -> Iterator[tuple[int, int]]:
    """`accord serve` on a free port; yields (port, supervisor pid)."""
    port = free_port()
    cmd = [sys.executable, "-m", "accord", "--workspace", str(tmp_path / "ws"), "serve"]
    cmd += ["--port", str(port), "--workers", str(workers), "--no-consumer"]
    env = {k: v for k, v in os.environ.items() if k != "ACCORD_DATABASE_URL"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while len(sockets_on(port, LISTEN)) < workers:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the workers did not all listen"
            time.sleep(0.2)
        yield port, proc.pid
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_serve_spreads_new_connections_over_its_workers(tmp_path: Path) -> None:
    with serving(tmp_path, workers=2) as (port, pid), ExitStack() as stack:
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        for _ in range(400):  # a burst of connections, all open at once
            client = stack.enter_context(socket.socket())
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", port))
        deadline = time.monotonic() + 30
        while True:
            held = holders(descendants(pid), sockets_on(port, ESTABLISHED))
            if sum(held.values()) == 400:
                break
            assert time.monotonic() < deadline, f"accepted only {held}"
            time.sleep(0.2)
    assert len(held) == 2
    assert min(held.values()) >= 140  # an even split is 200 each
