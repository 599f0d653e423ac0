# ruff: noqa: E501
"""Event to durably stored signal at half the maximum ingest rate (`python -m bench.realtime_latency`).

On SQLite and PostgreSQL in turn, `accord serve --workers N` (ACCORD_BENCH_WORKERS, default 2,
as the ingest bench; its signal consumer on, the shipped library loaded plus one bench
definition) is driven twice:

1. maximum `/v1/track` rate with Debian's `wrk` (closed loop, 64 connections) posting the
   background mix: product events of known accounts that the shipped definitions evaluate
   but that fire nothing;
2. half that rate offered at a fixed rate: background events of BACKGROUND_STREAMS known
   accounts from Debian's `h2load` (`bench.paced_load`, one process per account), and every TOUCH_EVERY-th call a "Bench Touch" of a
   fresh account from a small asyncio client, each sent when its slot is due whatever the
   answers still awaited (open loop, over a pool of keep-alive connections that grows when
   every one is busy); the second touch of an account crosses `bench_touch`.

Latency runs from the scheduled send time of each crossing event to its signal's
`created_at`, which the consumer stamps inside the transaction that stores the signal, the
window state and its cursor (the commit follows at once). Every expected signal must be
found, exactly once, and every acknowledged call stored. The server's longest garbage-collector pause comes from `/healthz` of
each worker, for the worker and its signal consumer process; the server's CPU time (its
processes and their children) and the load average are reported with the figures.
`ACCORD_BENCH_QUICK=1` shortens every phase.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select
from tests.pg_server import create_database, postgres_server

from accord.store.schema import account_domains, accounts, consumer_cursors, events, signals
from accord.workspace import open_workspace
from bench import figure, number, paced_load, quick
from bench.ingest_speed import SETUP_LUA, cpu_seconds, served, wrk
from bench.paced_load import Offered, request, status

BACKGROUND = 500  # accounts the background events belong to
USERS = 40  # people per background account
TOUCH_EVERY = 20  # one call in TOUCH_EVERY is a Bench Touch; half of those fire a signal
TOUCH_CONNECTIONS = 32  # opened beforehand; more are opened when every one awaits an answer
DEFINITION = """
id: bench_touch
description: Two Bench Touch events at one account within an hour.
when:
  kind: count
  event: { name: "Bench Touch" }
  window: 1h
  at_least: 2
strength: 0.5
cooldown: 1d
"""
MIX_LUA = (
    SETUP_LUA % "w"
    + f"""
local n = 0
request = function()
  n = n + 1
  local a = n % {BACKGROUND}
  local body = '{{"userId":"w' .. a .. '-' .. (n % {USERS}) .. '","event":"Report Created",'
    .. '"messageId":"' .. tid .. '-' .. n .. '","context":{{"traits":{{"email":"p'
    .. (n % {USERS}) .. '@bg' .. a .. '-accord.com"}}}},"properties":{{"rows":' .. (n % 97) .. '}}}}'
  return wrk.format("POST", "/v1/track", nil, body)
end
"""
)


BACKGROUND_STREAMS = 8  # h2load posts one body per process: one process per account


def _background(a: int) -> bytes:
    """The background call h2load repeats for account `a` (the server gives each its own
    messageId)."""
    return (
        b'{"userId":"f%d-1","event":"Report Created","context":{"traits":'
        b'{"email":"p1@bg%d-accord.com"}},"properties":{"rows":12}}' % (a, a)
    )


def _touch(k: int) -> tuple[bytes, str]:
    """The `k`-th Bench Touch call and its messageId (touches 2a and 2a+1 share an account)."""
    acc = k // 2
    mid = f"touch-{k}"
    body = (
        b'{"userId":"t%d-%d","event":"Bench Touch","messageId":"%s",'
        b'"context":{"traits":{"email":"t%d@bt%d-accord.com"}}}' % (acc, k, mid.encode(), k, acc)
    )
    return body, mid


def _prepare(root: Path, url: str, touch_accounts: int) -> None:
    folder = root / "definitions" / "signals"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bench_touch.yaml").write_text(DEFINITION.lstrip(), encoding="utf-8")
    ws = open_workspace(root, database_url=url)
    now = datetime.now(UTC)
    base = {"source": "bench", "created_at": now, "updated_at": now}
    domains = [(f"acc_bg{i}", f"bg{i}-accord.com") for i in range(BACKGROUND)]
    domains += [(f"acc_bt{i}", f"bt{i}-accord.com") for i in range(touch_accounts)]
    with ws.engine.begin() as conn:
        conn.execute(accounts.insert(), [{"id": a, "name": a, "domain": d, "domains": [d], **base}
                                         for a, d in domains])  # fmt: skip
        conn.execute(account_domains.insert(), [{"account_id": a, "domain": d, "is_primary": True}
                                                for a, d in domains])  # fmt: skip
    ws.close()


@dataclass
class Paced:
    """A fixed-rate run: the background load h2load offered, and the scheduled and
    acknowledged wall time of each Bench Touch with its ack latency (ms)."""

    rate: float
    background: Offered | None = None
    sent: int = 0
    failed: int = 0
    late: int = 0
    client_cpu: float = 0.0
    touches: dict[str, float] = field(default_factory=dict)
    acked: dict[str, float] = field(default_factory=dict)
    acks: list[float] = field(default_factory=list)


async def _touch_client(url: str, key: str, out: Paced, seconds: float, connections: int) -> None:
    """Send one Bench Touch every TOUCH_EVERY / rate seconds, each when its slot is due
    whatever the answers still awaited (open loop): on an idle keep-alive connection of a
    pool of `connections` opened beforehand, or on a new one when all are busy. Latency
    counts from the slot."""
    host, port = url.removeprefix("http://").split(":")
    loop = asyncio.get_running_loop()
    every = TOUCH_EVERY / out.rate
    total = int(seconds / every)
    idle = deque([await asyncio.open_connection(host, int(port)) for _ in range(connections)])
    begin = loop.time() + 0.3  # h2load's connections are up and staggered by then
    wall = time.time() - loop.time()  # loop clock -> epoch seconds

    async def send(k: int, at: float) -> None:
        # the longest idle first: every pooled connection stays within the keep-alive timeout
        reader, writer = idle.popleft() if idle else await asyncio.open_connection(host, int(port))
        body, touch = _touch(k)
        writer.write(request(host, key, body))
        code = await asyncio.wait_for(status(reader), 10)
        done = loop.time()
        idle.append((reader, writer))
        out.sent += 1
        out.acks.append((done - at) * 1000)
        if code != 200:
            out.failed += 1
        else:
            out.touches[touch] = wall + at
            out.acked[touch] = wall + done

    pending = []
    for k in range(total):
        at = begin + k * every
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        elif -delay > 0.005:
            out.late += 1  # sent late: the latency still counts from `at`
        pending.append(asyncio.create_task(send(k, at)))
    await asyncio.gather(*pending)
    for _, writer in idle:
        writer.close()


def _run_paced(url: str, key: str, rate: float, seconds: float) -> Paced:
    """`rate` calls/s for `seconds`: the background from h2load (in a thread), one call in
    TOUCH_EVERY a Bench Touch from the asyncio client (in this one)."""
    out = Paced(rate)
    background = rate * (TOUCH_EVERY - 1) / TOUCH_EVERY

    def load() -> None:
        bodies = [_background(a) for a in range(BACKGROUND_STREAMS)]
        out.background = paced_load.h2load(url, key, background, seconds, *bodies)

    thread = threading.Thread(target=load, name="h2load")
    thread.start()
    cpu0 = time.process_time()
    try:
        import uvloop

        uvloop.run(_touch_client(url, key, out, seconds, TOUCH_CONNECTIONS))
    except ImportError:
        asyncio.run(_touch_client(url, key, out, seconds, TOUCH_CONNECTIONS))
    out.client_cpu = time.process_time() - cpu0
    thread.join()
    return out


def _caught_up(engine: Engine, timeout: float, at: Callable[[], int | None]) -> float:
    """Wait until the consumer's position `at()` covers every stored event; seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with engine.connect() as conn:
            top = conn.execute(select(func.coalesce(func.max(events.c.id), 0))).scalar_one()
        done = at()
        if done is not None and done >= top:
            break
        time.sleep(0.05)
    return time.perf_counter() - started


def _stored_at(engine: Engine) -> int | None:
    """The furthest of the consumer's stored cursors (signals, or window state)."""
    with engine.connect() as conn:
        done = conn.execute(select(func.max(consumer_cursors.c.last_id))).scalar_one()
    return None if done is None else int(done)


def _leader_at(url: str) -> int | None:
    """The last event id the leading consumer has processed (fresh connections reach each
    worker in turn; None when no answer came from the leader's worker)."""
    for _ in range(8):
        body = httpx.get(f"{url}/healthz", headers={"Connection": "close"}).json()
        consumer = body.get("consumer") or {}
        if consumer.get("leader"):
            return int(consumer["last_id"])
    return None


def _expected(touches: dict[str, float]) -> int:
    """Accounts whose two touches were both stored: each must fire once."""
    ks = {int(m.removeprefix("touch-")) for m in touches}
    return sum(1 for k in ks if k % 2 and k - 1 in ks)


def _found(engine: Engine) -> dict[str, list[tuple[float, str]]]:
    """Account -> created_at (epoch s) and the crossing event of each bench_touch signal."""
    q = select(signals.c.account_id, signals.c.dedupe_key, signals.c.created_at)
    out: dict[str, list[tuple[float, str]]] = {}
    with engine.connect() as conn:
        for account, dedupe_key, created in conn.execute(q.where(signals.c.type == "bench_touch")):
            created = created if created.tzinfo else created.replace(tzinfo=UTC)
            out.setdefault(account, []).append((created.timestamp(), dedupe_key.split(":", 2)[2]))
    return out


def _stored(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events)).scalar_one())


def _settled(engine: Engine, quiet: float = 0.5, timeout: float = 30.0) -> int:
    """The stored event count once it has not moved for `quiet` seconds (wrk stops with
    requests in flight, and the server still commits them)."""
    count, deadline = _stored(engine), time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = _stored(engine)
        if now == count:
            break
        count = now
    return count


def _other_signals(engine: Engine) -> int:
    """Signals of the shipped library that the background events fired."""
    q = select(func.count()).select_from(signals).where(signals.c.type != "bench_touch")
    with engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


def _gc_max(url: str) -> tuple[float, float]:
    """The longest GC pause any worker or its consumer process reports (fresh connections
    reach each worker in turn) in wall time, and the most CPU time any one collection took
    in its thread (not always the same collection)."""
    seen: dict[Any, tuple[float, float]] = {}
    for _ in range(40):
        body = httpx.get(f"{url}/healthz", headers={"Connection": "close"}).json()
        consumer = body.get("consumer") or {}
        who = consumer.get("leader"), body.get("commits")
        for gc in (body["gc"], consumer.get("gc") or body["gc"]):
            pause = (gc["max_pause_ms"], gc.get("max_cpu_ms", float("nan")))
            seen[who] = max(seen.get(who, pause), pause)
    return max(v[0] for v in seen.values()), max(v[1] for v in seen.values())


def _q(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else None


def measure(url: str, workdir: Path, workers: int) -> dict[str, Any]:
    """Max rate with wrk, then half of it offered at a fixed rate; latencies and counts."""
    wrk_s, paced_s = (3, 5.0) if quick() else (10, 20.0)
    _prepare(workdir / "ws", url, 4000 if quick() else 12_000)
    ws = open_workspace(workdir / "ws", database_url=url, migrate=False)
    load0 = os.getloadavg()[0]
    with served(url, workdir, workers) as (base, key, pid):
        cpu0 = cpu_seconds(pid)
        burst = wrk(base, key, MIX_LUA, wrk_s)
        # processed, not stored: the window state is saved seconds later by design
        catch_up = _caught_up(ws.engine, 120, lambda: _leader_at(base))
        cpu1, t1 = cpu_seconds(pid), time.perf_counter()
        wrk_cpu_per_k = 1000 * (cpu1 - cpu0) / max(burst["requests"], 1)
        stored0 = _settled(ws.engine)
        paced = _run_paced(base, key, burst["rps"] / 2, paced_s)
        cpu2, t2 = cpu_seconds(pid), time.perf_counter()
        _caught_up(ws.engine, 60, lambda: _stored_at(ws.engine))
        stored = _stored(ws.engine) - stored0
        gc_ms = _gc_max(base)
    found = _found(ws.engine)
    others = _other_signals(ws.engine)
    ws.close()
    firsts = [v[0] for v in found.values()]  # the crossing event is the later of the two touches
    lat = [(created - paced.touches[m]) * 1000 for created, m in firsts if m in paced.touches]
    after_ack = [(created - paced.acked[m]) * 1000 for created, m in firsts if m in paced.acked]
    bg = paced.background
    assert bg is not None
    sent = paced.sent + len(bg.latencies) + bg.failed
    acked = paced.sent - paced.failed + len(bg.latencies)
    client_cpu = paced.client_cpu + bg.client_cpu
    return {"stored_minus_acked": stored - acked, "unsent": bg.unsent, "connections": bg.connections,
            "client_us": 1e6 * client_cpu / max(sent, 1), "slow": bg.slow,
            "bg_p99": bg.quantile(0.99), "max_rate": burst["rps"], "wrk_cpu_per_k": wrk_cpu_per_k, "wrk_non_2xx": burst["non_2xx"], "catch_up_s": catch_up,
            "rate": paced.rate, "sent": sent, "failed": paced.failed + bg.failed, "late": paced.late,
            "achieved": sent / (t2 - t1), "cpu_per_s": (cpu2 - cpu1) / (t2 - t1),
            "cpu_per_k": 1000 * (cpu2 - cpu1) / max(sent, 1),
            "expected": _expected(paced.touches), "found": len(lat),
            "duplicates": sum(len(v) - 1 for v in found.values()), "others": others,
            "p50": _q(lat, 0.5), "p95": _q(lat, 0.95), "p99": _q(lat, 0.99),
            "ack_p99": _q(paced.acks, 0.99), "gc_ms": gc_ms[0], "gc_cpu_ms": gc_ms[1],
            "after_ack_p50": _q(after_ack, 0.5), "after_ack_p99": _q(after_ack, 0.99),
            "load": (load0, os.getloadavg()[0])}  # fmt: skip


def _figures(store: str, workers: int, m: dict[str, Any]) -> list[dict[str, Any]]:
    tag = f"{store}, {workers} worker(s), consumer on"
    at = f"at {m['rate']:,.0f}/s offered"
    return [
        figure(f"{tag}: /v1/track max (wrk, 64 connections; {m['wrk_cpu_per_k']:.2f} CPU-s per 1,000 events; consumer caught up {m['catch_up_s']:.1f} s later)", m["max_rate"], unit="events/s"),
        figure(f"{tag}: event -> stored signal p50 {at}", m["p50"], unit="ms"),
        figure(f"{tag}: event -> stored signal p95 {at}", m["p95"], unit="ms"),
        figure(f"{tag}: event -> stored signal p99 {at}", m["p99"], unit="ms", target=25, op="<="),
        figure(f"{tag}: /v1/track ack p99 {at}: Bench Touch (from its slot) / background (h2load, from its send)", m["ack_p99"], unit=f"ms; {number(m['bg_p99'])} ms"),
        figure(f"{tag}: event acknowledged -> stored signal p50 / p99 {at}", m["after_ack_p99"], unit=f"ms p99; p50 {number(m['after_ack_p50'])} ms"),
        figure(f"{tag}: achieved rate ({m['late']:,} touches sent > 5 ms late; background over {m['connections']:,} connections, {m['slow']:,} answers slower than their gap)", m["achieved"], unit="events/s"),
        figure(f"{tag}: load clients' CPU per request (h2load + touch client)", m["client_us"], unit="us"),
        figure(f"{tag}: signals found of {m['expected']:,} expected ({m['others']:,} other signals from the shipped library)", m["found"], target=m["expected"], op="=="),
        figure(f"{tag}: duplicate signals + refused or unsent calls", m["duplicates"] + m["failed"] + m["wrk_non_2xx"] + m["unsent"], target=0, op="=="),
        figure(f"{tag}: paced run stored - acknowledged", m["stored_minus_acked"], unit="events", target=0, op="=="),
        figure(f"{tag}: largest GC pause in any worker or consumer process (the most CPU any collection took: {m['gc_cpu_ms']:.1f} ms)", m["gc_ms"], unit="ms", target=20, op="<="),
        figure(f"{tag}: server CPU during the paced run ({m['cpu_per_k']:.2f} CPU-s per 1,000 events)", m["cpu_per_s"], unit="cores"),
        figure(f"{tag}: load average (1 min) before / after", m["load"][1], unit=f"after; {m['load'][0]:.1f} before"),
    ]  # fmt: skip


def run() -> dict[str, Any]:
    workers = int(os.environ.get("ACCORD_BENCH_WORKERS", "2"))
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="accord-realtime-") as d:
        root = Path(d)
        sq = root / "sq"
        figures += _figures(
            "SQLite", workers, measure(f"sqlite:///{sq / 'accord.db'}", sq, workers)
        )
        with postgres_server(durable=True) as base:
            m = measure(create_database(base), root / "pg", workers)
            figures += _figures("PostgreSQL", workers, m)
    return {"name": "realtime_latency", "figures": figures,
            "notes": [f"{os.cpu_count()} CPUs; wrk, h2load, the touch client and the server share them",
                      "latency from the scheduled send time of the event that crossed the "
                      "threshold to its signal's created_at, stamped in the committing transaction"]}  # fmt: skip


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
