# ruff: noqa: E501
"""Event to durably stored signal (`python -m bench.realtime_latency`), SQLite and PostgreSQL.

Starts `accord serve` on 127.0.0.1 (its consumer thread on), finds the maximum `/v1/track`
rate with a closed-loop burst, then sends at half that rate on a fixed schedule (asyncio,
fixed connection pool) events that cross a signal threshold. Latency runs from each event's
scheduled send time to its signal's `created_at`, stamped inside the transaction that stores
the signal, its window state and the consumer cursor (the commit follows at once). The
server's longest garbage-collector pause comes from its `gc.callbacks` (`/healthz`).
`ACCORD_BENCH_QUICK=1` shortens every phase.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select
from tests.pg_server import create_database, postgres_server

from accord.store.schema import account_domains, accounts, signals
from accord.workspace import open_workspace
from bench import figure, quick

ACCOUNTS = 20  # few accounts, so most events cross the threshold of their account
DEFINITION = """
id: bench_touch
description: Two product actions at one account within an hour.
when:
  kind: count
  event: { name: "Bench Touch" }
  window: 1h
  at_least: 2
strength: 0.5
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(root: Path, url: str) -> None:
    folder = root / "definitions" / "signals"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench_touch.yaml").write_text(DEFINITION.lstrip(), encoding="utf-8")
    ws = open_workspace(root, database_url=url)
    now = datetime.now(UTC)
    base = {"source": "bench", "created_at": now, "updated_at": now}
    with ws.engine.begin() as conn:
        conn.execute(accounts.insert(), [{"id": f"acc_{i}", "name": f"Bench {i}",
                                          "domain": f"bench{i}-accord.com",
                                          "domains": [f"bench{i}-accord.com"], **base}
                                         for i in range(ACCOUNTS)])  # fmt: skip
        conn.execute(account_domains.insert(), [{"account_id": f"acc_{i}", "is_primary": True,
                                                 "domain": f"bench{i}-accord.com"}
                                                for i in range(ACCOUNTS)])  # fmt: skip
    ws.close()


def _accord(root: Path, url: str, *args: str, **kw: Any) -> Any:
    env = {**os.environ, "ACCORD_DATABASE_URL": url, "ACCORD_WORKSPACE": str(root)}
    cmd = [sys.executable, "-m", "accord", *args]
    if kw.pop("background", False):
        return subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL, **kw)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)


@contextmanager
def _server(root: Path, url: str) -> Iterator[tuple[str, str]]:
    key = _accord(root, url, "keys", "create", "--kind", "write").stdout.strip().splitlines()[-1]
    port = _port()
    proc = _accord(root, url, "serve", "--port", str(port), background=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("accord serve did not start")
        time.sleep(0.1)
    try:
        yield base, key
    finally:
        proc.terminate()
        proc.wait(30)


def _call(n: int, tag: str) -> dict[str, Any]:
    acc = n % ACCOUNTS
    return {"type": "track", "userId": f"u{acc}", "event": "Bench Touch",
            "messageId": f"{tag}-{n}", "timestamp": datetime.now(UTC).isoformat(),
            "context": {"traits": {"email": f"u{acc}@bench{acc}-accord.com"}}}  # fmt: skip


async def _burst(base: str, key: str, seconds: float, conc: int = 32) -> float:
    """Closed-loop: `conc` clients posting one event each as fast as acknowledged."""
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    done = 0
    async with httpx.AsyncClient(base_url=base, auth=(key, ""), limits=limits) as client:
        stop = time.perf_counter() + seconds

        async def worker(w: int) -> None:
            nonlocal done
            i = 0
            while time.perf_counter() < stop:
                await client.post("/v1/track", json=_call(w * 1_000_000 + i, "burst"))
                i += 1
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(conc)))
        return done / (time.perf_counter() - started)


async def _paced(base: str, key: str, rate: float, seconds: float) -> dict[str, float]:
    """Send at a fixed rate; return messageId -> scheduled send time (epoch seconds)."""
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    scheduled: dict[str, float] = {}
    total = int(rate * seconds)
    async with httpx.AsyncClient(base_url=base, auth=(key, ""), limits=limits) as client:
        t0_wall, t0 = time.time() + 0.2, time.perf_counter() + 0.2
        tasks = []
        for n in range(total):
            at = n / rate
            delay = t0 + at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            call = _call(n, "paced")
            scheduled[call["messageId"]] = t0_wall + at
            tasks.append(asyncio.create_task(client.post("/v1/track", json=call)))
        await asyncio.gather(*tasks)
    return scheduled


def _latencies(url: str, root: Path, scheduled: dict[str, float]) -> list[float]:
    ws = open_workspace(root, database_url=url, migrate=False)
    try:
        q = select(signals.c.dedupe_key, signals.c.created_at).where(
            signals.c.type == "bench_touch"
        )
        with ws.engine.connect() as conn:
            rows = conn.execute(q).all()
    finally:
        ws.close()
    out = []
    for key, created in rows:
        msg = key.split(":", 2)[2]
        if msg in scheduled:
            created = created if created.tzinfo else created.replace(tzinfo=UTC)
            out.append((created.timestamp() - scheduled[msg]) * 1000.0)
    return sorted(out)


def _p(values: list[float], q: float) -> float | None:
    return values[min(len(values) - 1, int(q * len(values)))] if values else None


def measure(url: str, root: Path) -> dict[str, Any]:
    _prepare(root, url)
    burst_s, paced_s = (1.5, 3.0) if quick() else (4.0, 10.0)
    with _server(root, url) as (base, key):
        max_rate = asyncio.run(_burst(base, key, burst_s))
        time.sleep(1.0)
        scheduled = asyncio.run(_paced(base, key, max_rate / 2, paced_s))
        time.sleep(1.5)
        health = httpx.get(f"{base}/healthz").json()
    lat = _latencies(url, root, scheduled)
    return {"max_rate": max_rate, "rate": max_rate / 2, "signals": len(lat), "sent": len(scheduled),
            "p50": _p(lat, 0.5), "p99": _p(lat, 0.99), "gc_ms": health["gc"]["max_pause_ms"]}  # fmt: skip


def _figures(store: str, m: dict[str, Any]) -> list[dict[str, Any]]:
    rate = f"{m['rate']:,.0f}/s"
    return [
        figure(f"{store}: /v1/track max rate (closed loop, 32 clients)", m["max_rate"], unit="events/s"),
        figure(f"{store}: event -> stored signal p50 at {rate}", m["p50"], unit="ms"),
        figure(f"{store}: event -> stored signal p99 at {rate}", m["p99"], unit="ms", target=25, op="<="),
        figure(f"{store}: signals measured / events sent", m["signals"], unit=f"of {m['sent']}"),
        figure(f"{store}: largest GC pause in the server", m["gc_ms"], unit="ms", target=20, op="<="),
    ]  # fmt: skip


def run() -> dict[str, Any]:
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        m = measure(f"sqlite:///{root / 'sq' / 'accord.db'}", root / "sq")
        figures += _figures("SQLite", m)
        with postgres_server() as base:
            figures += _figures("PostgreSQL", measure(create_database(base), root / "pg"))
    return {"name": "realtime_latency", "figures": figures,
            "notes": ["latency from scheduled send time to the signal row's created_at "
                      "(stamped in the committing transaction); half the closed-loop max rate"]}  # fmt: skip


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
