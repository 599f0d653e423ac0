"""Event ingest speed (`python -m bench.ingest_speed`), on SQLite and on PostgreSQL.

Figures and targets (each says which store it used):

- `/v1/track`, one event per request, acknowledged after a durable group commit: events/s
  with Debian's `wrk` (closed loop, 64 connections) — target >= 5,000/s;
- `/v1/batch`, 100 events per request: events/s with `wrk` — target >= 100,000/s;
- `/v1/track` p99 latency at 70% of the measured maximum, offered at a fixed rate by an
  asyncio + httpx client — target <= 20 ms;
- bulk JSONL load through `accord.ingest.segment_jsonl.load_jsonl`, stitched and stored —
  target >= 200,000 events/s.

Every request carries a unique messageId, so the dedupe path is exercised, and the stored
event count is checked against what was acknowledged. The server is `accord serve` in its own
process on 127.0.0.1. `--quick` (or ACCORD_BENCH_QUICK=1) shortens every run about 10x.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from sqlalchemy import func, select

from accord.api.stitch import IdentityStitcher
from accord.ingest.segment_jsonl import load_jsonl
from accord.store.keys import create_key
from accord.store.schema import events
from accord.workspace import open_workspace
from bench import figure, quick

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


@contextmanager
def served(db_url: str, workdir: Path, workers: int) -> Iterator[tuple[str, str]]:
    """`accord serve` on a free port; yields (base URL, write key)."""
    ws = open_workspace(workdir / "ws", database_url=db_url)
    _, key = create_key(ws.engine, "write", "bench")
    ws.close()
    port = _free_port()
    env = {**os.environ, "ACCORD_DATABASE_URL": db_url}
    cmd = [sys.executable, "-m", "accord", "--workspace", str(workdir / "ws"), "serve"]
    cmd += ["--port", str(port), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("accord serve did not start") from None
                time.sleep(0.2)
        yield url, key
    finally:
        proc.terminate()
        proc.wait(30)


def wrk(url: str, key: str, lua: str, seconds: int, connections: int = 64) -> dict[str, float]:
    """Run wrk; requests/s and the count of non-2xx answers."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(lua)
    auth = "Basic " + __import__("base64").b64encode(f"{key}:".encode()).decode()
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", fh.name]
    cmd += ["-H", f"Authorization: {auth}", "-H", "Content-Type: application/json", url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    os.unlink(fh.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "requests": total, "non_2xx": int(bad.group(1)) if bad else 0}


async def _fixed_rate(url: str, key: str, rate: float, seconds: float) -> tuple[list[float], int]:
    """Send `rate` track calls per second for `seconds`: latencies in ms, failed requests."""
    latencies: list[float] = []
    failed = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    timeout = httpx.Timeout(30.0)
    async with httpx.AsyncClient(
        base_url=url, auth=(key, ""), limits=limits, timeout=timeout
    ) as client:

        async def one(i: int) -> None:
            nonlocal failed
            body = orjson.dumps({"userId": f"u{i % 5000}", "event": "Report Created",
                                 "messageId": f"lat-{rate}-{i}"})  # fmt: skip
            start = time.perf_counter()
            try:
                resp = await client.post("/v1/track", content=body)
            except httpx.TransportError:
                failed += 1
                return
            if resp.status_code == 200:
                latencies.append((time.perf_counter() - start) * 1000)
            else:
                failed += 1

        tasks, begin, n = [], time.perf_counter(), int(rate * seconds)
        for i in range(n):
            delay = begin + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return latencies, failed


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")


def write_events_file(path: Path, n: int, seed: int = 7) -> None:
    """Segment-format JSONL like the demo's: pages and tracks with context.groupId."""
    rng = random.Random(seed)
    with path.open("wb") as fh:
        for i in range(n):
            a, u = rng.randrange(2000), rng.randrange(20)
            ts = f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00.000Z"
            who = {"userId": f"u{a}_{u}", "messageId": f"m-{seed}-{i}", "timestamp": ts}
            if i % 2:
                call = {"type": "page", "name": "Pricing", **who, "context": {"groupId": f"g{a}",
                        "page": {"path": "/pricing", "url": "https://x.example/pricing"}},
                        "properties": {"path": "/pricing", "title": "Pricing"}}  # fmt: skip
            else:
                context = {"groupId": f"g{a}"}
                call = {"type": "track", "event": "Report Created", **who, "context": context}
                call["properties"] = {"rows": i % 97}
            fh.write(orjson.dumps(call) + b"\n")


def bulk_load(db_url: str, workdir: Path, path: Path) -> float:
    ws = open_workspace(workdir / "bulk", database_url=db_url)
    report = load_jsonl(ws.engine, path, stitcher=IdentityStitcher.load(ws.engine))
    ws.close()
    return report.stored / report.seconds


def measure_store(store: str, db_url: str, workdir: Path, jsonl: Path) -> list[dict[str, Any]]:
    seconds = 3 if quick() else 10
    figures = []
    with served(db_url, workdir, workers=1) as (url, key):
        track = wrk(url, key, TRACK_LUA, seconds)
        batch = wrk(url, key, BATCH_LUA, seconds, connections=16)
        stored = _count(db_url)
        rate = 0.7 * track["rps"]
        lat, lat_failed = asyncio.run(_fixed_rate(url, key, rate, seconds / 2))
    acked = (track["requests"] - track["non_2xx"]) + 100 * (batch["requests"] - batch["non_2xx"])
    figures += [
        figure(f"{store}: /v1/track 1 event/request", track["rps"], unit="events/s",
               target=5000),
        figure(f"{store}: /v1/batch 100 events/request", 100 * batch["rps"], unit="events/s",
               target=100_000),
        figure(f"{store}: /v1/track p99 at 70% of max ({rate:,.0f}/s)", p99(lat), unit="ms",
               target=20, op="<="),
        figure(f"{store}: refused requests", track["non_2xx"] + batch["non_2xx"] + lat_failed,
               target=0, op="=="),
        figure(f"{store}: stored >= acknowledged", stored - acked, unit="events", target=0),
        figure(f"{store}: JSONL bulk load", bulk_load(db_url, workdir, jsonl), unit="events/s",
               target=200_000),
    ]  # fmt: skip
    return figures


def run() -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk not found; run scripts/ensure-system-deps.sh (apt-get install wrk)")
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="accord-ingest-") as tmp:
        workdir = Path(tmp)
        jsonl = workdir / "events.jsonl"
        write_events_file(jsonl, 100_000 if quick() else 1_000_000)
        sqlite_dir = workdir / "sqlite"
        figures += measure_store(
            "sqlite", f"sqlite:///{sqlite_dir / 'accord.db'}", sqlite_dir, jsonl
        )
        with postgres_server() as base:
            from tests.pg_server import create_database

            figures += measure_store("postgres", create_database(base), workdir / "pg", jsonl)
    return {
        "name": "ingest_speed",
        "figures": figures,
        "notes": [
            f"{os.cpu_count()} CPUs; server: accord serve, 1 worker, uvloop + httptools; "
            "wrk -t2 on the same machine"
        ],
    }


if __name__ == "__main__":
    for f in run()["figures"]:
        print(f)
