"""Event ingest speed (`python -m bench.ingest_speed`), on SQLite and on PostgreSQL.

Figures and targets (each says which store it used):

- `/v1/track`, one event per request, acknowledged after a durable group commit: events/s
  with Debian's `wrk` (closed loop, one thread, 64 connections) — target >= 5,000/s;
- `/v1/batch`, 100 events per request: events/s with `wrk` — target >= 100,000/s;
- `/v1/track` p50/p99 latency at 70% of the measured maximum, offered at a fixed rate by
  Debian's `h2load` over enough keep-alive connections that none has a request in flight
  when its next one is due (`bench.paced_load`), with the client's CPU per request
  — target p99 <= 20 ms;

Every request carries a unique messageId (wrk's in its body; h2load posts one body without
one, and the server gives each call its own), so the dedupe path is exercised, and the stored
event count is checked against what was acknowledged. The server is `accord serve --workers
N` (ACCORD_BENCH_WORKERS, default 2) with its real-time signal consumer, in its own processes
on 127.0.0.1; PostgreSQL runs with fsync on. Each measured run follows a short warm-up, and
each HTTP figure names the server's CPU time per event (on PostgreSQL also that of the
database server's processes) and the load average after the run (the machine may be
shared: compare CPU time when the load is above the CPU count).
`--quick` (or ACCORD_BENCH_QUICK=1) shortens every run about 10x.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from accord.store.keys import create_key
from accord.store.schema import events
from accord.workspace import open_workspace
from bench import figure, paced_load, quick
from bench.paced_load import Offered

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.pg_server import postgres_server  # noqa: E402

SETUP_LUA = """
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("tid", "%s" .. threads .. "-" .. os.time())
end
"""

TRACK_LUA = (
    SETUP_LUA % "t"
    + """
local n = 0
request = function()
  n = n + 1
  local body = '{"userId":"u' .. (n % 5000) .. '","event":"Report Created","messageId":"'
    .. tid .. '-' .. n .. '","context":{"groupId":"g' .. (n % 2000) .. '"},'
    .. '"properties":{"report":"weekly","rows":' .. (n % 97) .. '}}'
  return wrk.format("POST", "/v1/track", nil, body)
end
"""
)

BATCH_LUA = (
    SETUP_LUA % "b"
    + """
local n = 0
request = function()
  local parts = {}
  for i = 1, 100 do
    n = n + 1
    parts[i] = '{"type":"track","userId":"u' .. (n % 5000) .. '","event":"Report Created",'
      .. '"messageId":"' .. tid .. '-' .. n .. '","context":{"groupId":"g' .. (n % 2000)
      .. '"},"properties":{"report":"weekly","rows":' .. (n % 97) .. '}}'
  end
  return wrk.format("POST", "/v1/batch", nil, '{"batch":[' .. table.concat(parts, ",") .. ']}')
end
"""
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _count(url: str) -> int:
    ws = open_workspace(Path(tempfile.gettempdir()), database_url=url, migrate=False)
    with ws.engine.connect() as conn:
        n = int(conn.execute(select(func.count()).select_from(events)).scalar_one())
    ws.close()
    return n


TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (Linux /proc), in seconds."""
    total, seen, todo = 0, set(), [pid]
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        todo.extend(children.get(current, []))
    return total / TICK


def postgres_pid(db_url: str) -> int | None:
    """The postmaster serving `db_url` (its port on this machine's command lines), if local."""
    port = re.search(r":(\d+)/", db_url)
    if port is None:
        return None
    flags = (f"-p\x00{port.group(1)}\x00".encode(), f"-p {port.group(1)} ".encode())
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"postgres" in cmdline and any(flag in cmdline for flag in flags):
                return int(entry.name)
    return None


@contextmanager
def served(db_url: str, workdir: Path, workers: int) -> Iterator[tuple[str, str, int]]:
    """`accord serve` on a free port; yields (base URL, write key, server pid)."""
    ws = open_workspace(workdir / "ws", database_url=db_url)
    _, key = create_key(ws.engine, "write", "bench")
    ws.close()
    port = _free_port()
    env = {**os.environ, "ACCORD_DATABASE_URL": db_url}
    cmd = [sys.executable, "-m", "accord", "--workspace", str(workdir / "ws"), "serve"]
    cmd += ["--port", str(port), "--workers", str(workers)]
    log_path = workdir / "serve.log"  # a file, not a pipe: nobody reads while it runs
    with log_path.open("ab") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
                    raise RuntimeError(f"accord serve did not start:\n{tail}") from None
                time.sleep(0.2)
        yield url, key, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)


WRK_THREADS = 1  # one wrk thread drives 50k+ requests/s; a second would only take a core
TRACK_CONNECTIONS = 64  # enough in-flight requests per server worker to fill each group commit
BATCH_CONNECTIONS = 16


def wrk(
    url: str, key: str, lua: str, seconds: float, connections: int = TRACK_CONNECTIONS
) -> dict[str, float]:
    """Run wrk; requests/s and the count of non-2xx answers."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(lua)
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{connections}", f"-d{seconds}s", "-s", fh.name]
    cmd += ["-H", f"Authorization: {auth}", "-H", "Content-Type: application/json", url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    os.unlink(fh.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "requests": total, "non_2xx": int(bad.group(1)) if bad else 0}


LATENCY_BODY = (
    b'{"userId":"u1","event":"Report Created","context":{"groupId":"g1"},'
    b'"properties":{"report":"weekly","rows":12}}'
)


def run_fixed_rate(url: str, key: str, rate: float, seconds: float) -> Offered:
    """`rate` /v1/track calls per second from h2load (each stored as a new event)."""
    return paced_load.h2load(url, key, rate, seconds, LATENCY_BODY)


def _per_thousand(cpu: float, events: float) -> str:
    return f"{1000 * cpu / events:.2f} CPU-s per 1,000 events" if events else "no events"


@dataclass
class Timed:
    """What a run cost the server (and PostgreSQL's processes, when known): CPU seconds, and
    the 1-minute load average after it."""

    result: Any
    cpu: float
    load: float
    db_cpu: float | None = None

    def per_event(self, events: float) -> str:
        if not events:
            return "no events"
        db = "" if self.db_cpu is None else f" + postgres {1e6 * self.db_cpu / events:.0f} us"
        return f"server {1e6 * self.cpu / events:.0f} us{db} CPU/event, load {self.load:.1f}"


def timed(pid: int, run: Any, db_pid: int | None = None) -> Timed:
    """Call `run()` and measure the server's CPU time over it (and the database's)."""
    cpu0 = cpu_seconds(pid)
    db0 = cpu_seconds(db_pid) if db_pid else 0.0
    result = run()
    db = cpu_seconds(db_pid) - db0 if db_pid else None
    return Timed(result, cpu_seconds(pid) - cpu0, os.getloadavg()[0], db)


def measure_http(store: str, db_url: str, workdir: Path, workers: int) -> list[dict[str, Any]]:
    """Throughput with wrk, then latency at 70% of the measured maximum, on one store.

    Each measured run follows a short warm-up of the same kind."""
    seconds, warm = (3, 1) if quick() else (10, 2)
    db_pid = postgres_pid(db_url) if store == "postgres" else None
    with served(db_url, workdir, workers) as (url, key, pid):
        wrk(url, key, TRACK_LUA, warm)
        t = timed(pid, lambda: wrk(url, key, TRACK_LUA, seconds), db_pid)
        wrk(url, key, BATCH_LUA, warm, BATCH_CONNECTIONS)
        b = timed(pid, lambda: wrk(url, key, BATCH_LUA, seconds, BATCH_CONNECTIONS), db_pid)
        track, batch = t.result, b.result
        rate = 0.7 * track["rps"]
        run_fixed_rate(url, key, rate, warm)
        stored_before = _count(db_url)
        lat = timed(pid, lambda: run_fixed_rate(url, key, rate, seconds), db_pid)
        offered: Offered = lat.result
        stored = _count(db_url) - stored_before
    n_lat = len(offered.latencies)
    tag = f"{store}, {workers} worker(s)"
    return [
        figure(f"{tag}: /v1/track 1 event/request (wrk; {t.per_event(track['requests'])})",
               track["rps"], unit="events/s", target=5000),
        figure(f"{tag}: /v1/batch 100 events/request (wrk; "
               f"{b.per_event(100 * batch['requests'])})",
               100 * batch["rps"], unit="events/s", target=100_000),
        figure(f"{tag}: /v1/track p50 at 70% of max ({rate:,.0f}/s offered, {n_lat:,} acked)",
               offered.quantile(0.5), unit="ms"),
        figure(f"{tag}: /v1/track p99 at 70% of max ({rate:,.0f}/s offered; "
               f"{lat.per_event(n_lat)})",
               offered.quantile(0.99), unit="ms", target=20, op="<="),
        figure(f"{tag}: latency client (h2load, {offered.connections} connections) CPU per "
               f"request; {offered.slow} answers slower than the per-connection gap",
               offered.client_us, unit="us"),
        figure(f"{tag}: latency run achieved rate", n_lat / offered.seconds, unit="events/s"),
        figure(f"{tag}: refused or unsent requests",
               track["non_2xx"] + batch["non_2xx"] + offered.failed + offered.unsent,
               target=0, op="=="),
        figure(f"{tag}: latency run stored - acknowledged", stored - n_lat, unit="events",
               target=0, op="=="),
    ]  # fmt: skip


def run() -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk not found; run scripts/ensure-system-deps.sh (apt-get install wrk)")
    paced_load.require_h2load()
    workers = int(os.environ.get("ACCORD_BENCH_WORKERS", "2"))
    figures: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="accord-ingest-") as tmp:
        workdir = Path(tmp)
        sqlite_dir = workdir / "sqlite"
        sqlite_url = f"sqlite:///{sqlite_dir / 'accord.db'}"
        figures += measure_http("sqlite", sqlite_url, sqlite_dir, workers)
        with postgres_server(durable=True) as base:
            from tests.pg_server import create_database

            figures += measure_http("postgres", create_database(base), workdir / "pg", workers)
    load_after = os.getloadavg()
    return {
        "name": "ingest_speed",
        "figures": figures,
        "notes": [
            f"{os.cpu_count()} CPUs; server: accord serve --workers {workers}, uvloop + "
            "httptools; wrk (one thread) and h2load (the latency client) on the same machine",
            f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f} "
            "(1 min); above the CPU count, wall-clock rates understate the code: "
            "compare the CPU-s per 1,000 events",
        ],
    }


if __name__ == "__main__":
    for f in run()["figures"]:
        print(f)
