"""Rate-limited load for the latency benchmarks: Debian's `h2load` offers `/v1/track` calls
at a fixed rate, and a small asyncio client sends the few calls whose scheduled time matters.

`h2load` (package nghttp2-client) costs about half the client CPU per request of an asyncio
client, and the client shares the machine's cores with the server. It keeps one request in
flight per HTTP/1.1 connection and sends each connection's next request when its slot comes
round; a request still in flight at that point would hold the next one back and hide the
queueing (coordinated omission). So the rate is spread over enough connections that each
one's slots are `SLOT_GAP` apart, the connections start staggered over one gap (the calls
are then spread evenly, not sent in bursts), and `slow` counts the answers slower than the
gap: only those could have delayed a later request.

Every call posts the same body without a messageId: the server gives each a fresh one, so
every call is a new stored event.
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SLOT_GAP = 0.25  # seconds between two requests on one connection
MIN_CONNECTIONS = 32
MAX_CONNECTIONS = 2048


def require_h2load() -> None:
    """Fail with what to do when h2load is missing."""
    if shutil.which("h2load") is None:
        raise RuntimeError(
            "h2load not found; run scripts/ensure-system-deps.sh (apt-get install nghttp2-client)"
        )


def children_cpu() -> float:
    """User + system CPU seconds of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Offered:
    """What a fixed-rate run offered and got back: latency of each 2xx answer (ms), the
    failed and never-answered calls, the answers slower than the per-connection gap, the
    run's wall time and the client's CPU seconds."""

    rate: float
    latencies: list[float]
    failed: int
    unsent: int
    seconds: float
    client_cpu: float = 0.0
    slow: int = 0
    connections: int = 0

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    @property
    def client_us(self) -> float:
        """Client CPU microseconds per request sent."""
        sent = len(self.latencies) + self.failed
        return 1e6 * self.client_cpu / sent if sent else float("nan")


def plan(rate: float, least: int = MIN_CONNECTIONS) -> tuple[int, float, int, int]:
    """Connections, requests/s per connection, and the stagger of their starts: so many
    connections every so many milliseconds, spread over about one gap."""
    connections = min(MAX_CONNECTIONS, max(least, math.ceil(rate * SLOT_GAP)))
    per_connection = rate / connections
    gap_ms = 1000 / per_connection
    if connections <= gap_ms:
        return connections, per_connection, 1, max(1, round(gap_ms / connections))
    return connections, per_connection, round(connections / gap_ms), 1


def auth_header(key: str) -> str:
    return "Authorization: Basic " + base64.b64encode(f"{key}:".encode()).decode()


def h2load(url: str, key: str, rate: float, seconds: float, *bodies: bytes) -> Offered:
    """Offer `rate` POST /v1/track calls per second for about `seconds`: one h2load process
    per body (h2load posts one body), each at an equal share of the rate."""
    require_h2load()
    share = rate / len(bodies)
    least = max(4, MIN_CONNECTIONS // len(bodies))
    connections, per_connection, started, every_ms = plan(share, least)
    total = max(connections, int(share * seconds))
    with tempfile.TemporaryDirectory(prefix="accord-h2load-") as tmp:
        runs = []
        cpu0, t0 = children_cpu(), time.perf_counter()
        for i, body in enumerate(bodies):
            data, log = Path(tmp) / f"body{i}.json", Path(tmp) / f"requests{i}.tsv"
            data.write_bytes(body)
            cmd = ["h2load", "--h1", "-n", str(total), "-c", str(connections)]
            cmd += ["--rps", f"{per_connection:.6f}", "-r", str(started)]
            cmd += ["--rate-period", f"{every_ms}ms", "-d", str(data), "-H", auth_header(key)]
            cmd += ["-H", "Content-Type: application/json", "--log-file", str(log), "-N", "10s"]
            proc = subprocess.Popen([*cmd, f"{url}/v1/track"], stdout=subprocess.PIPE, text=True)
            runs.append((proc, log))
        outs = [proc.communicate()[0] for proc, _ in runs]
        cpu, wall = children_cpu() - cpu0, time.perf_counter() - t0
        if any(proc.returncode for proc, _ in runs):
            raise RuntimeError(f"h2load failed: {outs}")
        rows = [ln.split("\t") for _, log in runs for ln in log.read_text().splitlines() if ln]
    took = [float(m.group(1)) for out in outs if (m := re.search(r"finished in ([\d.]+)s", out))]
    ok = [int(r[2]) / 1000 for r in rows if r[1] == "200"]
    gap_ms = 1000 / per_connection
    return Offered(
        rate,
        ok,
        failed=len(rows) - len(ok),
        unsent=total * len(bodies) - len(rows),
        seconds=max(took) if took else wall,
        client_cpu=cpu,
        slow=sum(1 for v in ok if v > gap_ms),
        connections=connections * len(bodies),
    )


def request(host: str, key: str, body: bytes) -> bytes:
    """One POST /v1/track on a keep-alive HTTP/1.1 connection."""
    head = (
        f"POST /v1/track HTTP/1.1\r\nHost: {host}\r\n{auth_header(key)}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def status(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response with a Content-Length body; its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(head[9:12])
