# ruff: noqa: E501
"""Signal engine speed (`python -m bench.signals_speed`), shipped library, synthetic events.

Figures and targets:

- incremental engine alone (no store): events per CPU second of one process, over a
  realistic mix of page views, research, product usage, tickets and identify calls, at the
  batch data's 100,000 accounts (state replayed over the first 200 days, the next 4% of the
  stream processed and timed) (target >= 100,000 events/s per core);
- batch over 100,000 accounts / 10,000,000 events read from Parquet with DuckDB: wall time
  (target <= 10 s), CPU time and peak memory of the process that ran it (target <= 2 GB);
- rebuilding incremental window state by replaying every event in order, accounts split over
  two processes (target <= 90 s for 10,000,000 events).

Events are generated, seeded, by DuckDB straight into Parquet (generation is not timed).
`ACCORD_BENCH_QUICK=1` divides every size by 10 (the targets stay).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any

import duckdb

from accord.signals import batch_table
from accord.signals.batch import EV_VIEW, evaluate_fired
from accord.signals.incremental import SignalEngine
from accord.signals.library import load_library
from accord.signals.rebuild import rebuild_states
from bench import figure, print_result, quick

ACCOUNTS = 100_000
EVENTS = 10_000_000
DAYS = 365
SEED = 20250101

# One synthetic event per row number `i`: every column is a seeded hash of `i`. The mix:
# 30% page views, 35% product usage, 15% research (intent), 10% sales e-mail, 5% tickets,
# 5% identify calls whose title rarely changes and whose status is rarely `left`. As in a
# real book of business, few accounts (1 in 50) run near their seat limit and few research
# events (1 in 25) are competitor comparisons, an account researches two topics of its own
# (rarely a third) and 3 of 16 page paths are high-intent, so signals are rare once history
# builds up.
_GEN = """
WITH r AS (
  SELECT i, (hash(i + {seed}) % 1000000007)::BIGINT AS h1,
         (hash(i * 7 + {seed}) % 1000000007)::BIGINT AS h2 FROM range({n}) t(i)
), b AS (SELECT *, h1 % 100 AS b, (h1 // 100) % {accounts} AS acc, (h2 // 11) % 12 AS person FROM r)
SELECT i AS ord, 'm' || i AS msg,
       {start} + (i * ({span} // {n})) AS t,
       {start} + (i * ({span} // {n})) + (h2 % 600) * 1000000 AS rt,
       CASE WHEN b < 30 THEN 'page' WHEN b < 95 THEN 'track' ELSE 'identify' END AS kind,
       CASE WHEN b < 30 THEN NULL
            WHEN b < 65 THEN ['Signed In', 'Dashboard Viewed', 'Report Created', 'Seats Updated'][1 + h2 % 4]
            WHEN b < 80 THEN ['Review Site Activity', 'Topic Researched'][1 + h2 % 2]
            WHEN b < 90 THEN 'Email Sent'
            WHEN b < 95 THEN 'Ticket Created' END AS name,
       CASE WHEN b < 30 THEN 'marketing' WHEN b < 65 THEN 'product' WHEN b < 80 THEN 'marketing'
            WHEN b < 90 THEN 'sales' WHEN b < 95 THEN 'cs' END AS team,
       'acc_' || acc AS account_id,
       CASE WHEN h2 % 10 < 8 OR b >= 95 THEN 'con_' || acc || '_' || person END AS contact_id,
       CASE WHEN b < 30 THEN '{{"path":"' || ['/pricing', '/demo', '/blog/x', '/docs', '/', '/blog/y', '/careers', '/compare/y', '/blog/z', '/docs/api', '/about', '/customers', '/blog/w', '/docs/start', '/events', '/partners'][1 + h2 % 16] || '"}}'
            WHEN b < 65 THEN '{{"seats_used":' || CASE WHEN acc % 50 = 0 THEN 16 + (h2 // 3) % 5 ELSE 4 + acc % 9 + (h2 // 3) % 4 END || ',"seats_limit":20}}'
            WHEN b < 80 THEN '{{"topic":"t' || (acc + CASE WHEN (h2 // 3) % 30 = 0 THEN 2 + (h2 // 7) % 15 ELSE (h2 // 3) % 2 END) % 20 || '","activity":"' || CASE WHEN (h2 // 5) % 25 = 0 THEN 'compare' ELSE ['category', 'pricing', 'product_profile'][1 + (h2 // 5) % 3] END || '"}}'
            WHEN b < 90 THEN '{{}}'
            WHEN b < 95 THEN '{{"priority":"' || ['Low', 'Medium', 'Medium', 'High'][1 + (h2 // 3) % 4] || '"}}'
            ELSE '{{"title":"' || CASE WHEN h2 % 500 = 0 THEN 'Chief Revenue Officer' ELSE 'Head of ' || person END
                 || '","status":"' || CASE WHEN h2 % 200 = 0 THEN 'left' ELSE 'active' END || '"}}'
       END AS properties
FROM b
"""
_START_US = 1_735_689_600_000_000  # 2025-01-01


def _generate(path: Path, n: int, accounts: int) -> None:
    sql = _GEN.format(
        seed=SEED, n=n, start=_START_US, span=DAYS * 86_400_000_000, accounts=accounts
    )
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"COPY ({sql}) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 500000)")
    con.close()


def _dims(folder: Path) -> None:
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT DISTINCT contact_id AS id, "
        f"['vp', 'individual', 'director', 'manager', 'c_level'][1 + (hash(contact_id) % 5)::BIGINT] AS seniority, "
        f"'sales' AS department FROM read_parquet('{folder}/events.parquet') "
        f"WHERE contact_id IS NOT NULL) TO '{folder}/dims.parquet' (FORMAT parquet)"
    )
    con.close()


THREADS = 2  # the machine's cores
REPLAY_SAMPLE = 10  # per-event replay is timed on one account partition in this many


def _parquet_con(folder: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection whose `ev` / `ev_dims` read the generated Parquet files."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET threads = {THREADS}")
    events, dims = f"{folder}/events.parquet", f"{folder}/dims.parquet"
    con.execute(f"CREATE VIEW ev_raw AS SELECT * FROM read_parquet('{events}')")
    con.execute(f"CREATE VIEW dims AS SELECT * FROM read_parquet('{dims}')")
    con.execute(EV_VIEW.format(raw="ev_raw", dims="dims"))
    return con


def _batch_child(folder: str, queue: Any) -> None:
    """Run the batch in a fresh process so its peak memory is its own: every definition
    to fired rows (event ords, measures, evidence), then those rows as columns of the
    `signals` table with evidence JSON, ready for a set-based insert."""
    specs = load_library()
    con = _parquet_con(folder)
    start, start_cpu = time.perf_counter(), time.process_time()
    found = evaluate_fired(con, specs)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    rows = batch_table.table(found)
    total, total_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put({"seconds": elapsed, "cpu": cpu, "total": total, "total_cpu": total_cpu,
               "peak_mb": peak_kb / 1024, "fired": rows.num_rows,
               "per_def": found.per_definition()})  # fmt: skip


def _rebuild_child(folder: str, queue: Any) -> None:
    """Rebuild every `signal_state` row set-based from the history (no per-event steps)."""
    con = _parquet_con(folder)
    start, start_cpu = time.perf_counter(), time.process_time()
    rows = rebuild_states(con, load_library())
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put({"seconds": elapsed, "cpu": cpu, "states": rows.num_rows, "peak_mb": peak_kb / 1024})


_REPLAY = """
SELECT msg AS message_id, t AS occurred_at, rt AS received_at, kind, name, team, account_id,
       contact_id, properties
FROM read_parquet('{events}') WHERE hash(account_id) % {parts} = {part} ORDER BY t, ord
"""


def _replay_child(folder: str, part: int, parts: int, queue: Any) -> None:
    """Rebuild the window state of one account partition by replaying its events in order
    through the incremental engine, then serialise every state row as `flush` would."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET threads = 1")
    dims = {
        r[0]: (r[1], r[2])
        for r in con.execute(f"SELECT * FROM read_parquet('{folder}/dims.parquet')").fetchall()
    }
    start, start_cpu = time.perf_counter(), time.process_time()
    engine = SignalEngine(None, load_library(), contact_dims=dims)
    reader = con.sql(
        _REPLAY.format(events=f"{folder}/events.parquet", parts=parts, part=part)
    ).to_arrow_reader(50_000)
    n = fired = 0
    for batch in reader:
        rows = _dict_rows(batch)
        n += len(rows)
        fired += engine.replay(rows)
    states = len(engine.dirty_rows())
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    queue.put({"seconds": elapsed, "cpu": cpu, "events": n, "states": states, "fired": fired})


def _result(queue: Any, children: list[Any]) -> dict[str, Any]:
    """The next child's result; fails instead of waiting forever when a child died."""
    while True:
        try:
            return queue.get(timeout=1.0)  # type: ignore[no-any-return]
        except Empty:
            dead = [c.exitcode for c in children if c.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a benchmark process failed (exit code {dead[0]})") from None


def _child(target: Any, *args: Any) -> dict[str, Any]:
    """Run `target(*args, queue)` in a fresh process (its own peak memory) and return its result."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=target, args=(*args, queue))
    child.start()
    result = _result(queue, [child])
    child.join()
    return result


def _replay_sample(folder: Path) -> dict[str, float]:
    """Per-event replay of one account partition in REPLAY_SAMPLE (one process), scaled to
    every event by the events it covered."""
    r = _child(_replay_child, str(folder), 0, REPLAY_SAMPLE)
    return {**r, "cpu_per_event_us": 1e6 * r["cpu"] / max(1, r["events"])}


_STREAM = """
SELECT msg AS message_id, t AS occurred_at, rt AS received_at, kind, name, team, account_id,
       contact_id, properties
FROM read_parquet('{events}') WHERE t >= {lo} AND t < {hi} ORDER BY t, ord
"""
WARM_DAYS = 200  # the incremental engine's state is built by replaying these days first
TIMED_SHARE = 0.04  # then this share of the stream is processed, timed (400,000 of 10M)


def _stream(con: duckdb.DuckDBPyConnection, folder: str, lo: int, hi: int) -> Any:
    """Event rows with occurred_at in [lo, hi) in order, as lists of row dicts."""
    sql = _STREAM.format(events=f"{folder}/events.parquet", lo=lo, hi=hi)
    for batch in con.sql(sql).to_arrow_reader(50_000):
        yield _dict_rows(batch)


def _dict_rows(batch: Any) -> list[dict[str, Any]]:
    """A batch of `_REPLAY` / `_STREAM` columns as row dicts (column lists zipped: cheaper
    than `to_pylist`)."""
    return [
        {"message_id": m, "occurred_at": t, "received_at": rt, "kind": k, "name": n,
         "team": team, "account_id": a, "contact_id": c, "properties": p}
        for m, t, rt, k, n, team, a, c, p in zip(*(c.to_pylist() for c in batch.columns), strict=True)
    ]  # fmt: skip


def _incremental_child(folder: str, queue: Any) -> None:
    """The incremental engine at the batch data's account count: state replayed over the
    first WARM_DAYS, then the next events processed one by one (only `process` is timed)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET threads = 1")
    dims = {
        r[0]: (r[1], r[2])
        for r in con.execute(f"SELECT * FROM read_parquet('{folder}/dims.parquet')").fetchall()
    }
    engine = SignalEngine(None, load_library(), contact_dims=dims)
    day = 86_400_000_000
    warm_end = _START_US + WARM_DAYS * day
    for rows in _stream(con, folder, _START_US, warm_end):
        engine.replay(rows)
    span = int(DAYS * day * TIMED_SHARE)
    cpu = wall = 0.0
    timed = fired = 0
    for rows in _stream(con, folder, warm_end, warm_end + span):
        process = engine.process
        start_cpu, start = time.process_time(), time.perf_counter()
        for row in rows:
            fired += len(process(row))
        cpu += time.process_time() - start_cpu
        wall += time.perf_counter() - start
        timed += len(rows)
    queue.put({"per_cpu_s": timed / cpu, "per_wall_s": timed / wall, "fired": fired,
               "timed": timed})  # fmt: skip


def _scores_seconds(n_events: int) -> float | None:
    """The scores bench's compute time at this size, from its last result in bench/out."""
    path = Path(__file__).resolve().parent / "out" / "scoring_speed.json"
    if not path.exists():
        return None
    result = json.loads(path.read_text(encoding="utf-8"))
    for f in result.get("figures", []):
        if f["name"].startswith("all shipped scores") and f"{n_events:,} events" in f["name"]:
            return float(f["value"])
    return None


def run() -> dict[str, Any]:
    scale = 10 if quick() else 1
    n_events, n_accounts = EVENTS // scale, ACCOUNTS // scale
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _generate(folder / "events.parquet", n_events, n_accounts)
        _dims(folder)
        inc = _child(_incremental_child, str(folder))
        batch = _child(_batch_child, str(folder))
        rebuild = _child(_rebuild_child, str(folder))
        replay = _replay_sample(folder)
    load = os.getloadavg()
    scores = _scores_seconds(n_events)
    total = None if scores is None else batch["total"] + scores
    size = f"{n_accounts:,} accounts / {n_events:,} events"
    replay_s = replay["cpu_per_event_us"] * n_events / 1e6 / 2  # two processes, both cores
    return {
        "name": "signals_speed",
        "figures": [
            figure(
                f"incremental engine alone, {n_accounts:,} accounts",
                inc["per_cpu_s"],
                unit="events/s per core",
                target=100_000,
            ),
            figure("incremental engine, wall clock", inc["per_wall_s"], unit="events/s"),
            figure(
                f"batch signals to fired rows (ords, measures, evidence), {size}",
                batch["seconds"],
                unit="s",
            ),
            figure(
                "batch signals to fired rows, CPU time (2 DuckDB threads)", batch["cpu"], unit="s"
            ),
            figure(
                f"batch signals only, {batch['fired']:,} rows as `signals` columns, {size}",
                batch["total"],
                unit="s",
                target=10,
                op="<=",
            ),
            figure("batch signals only, CPU time", batch["total_cpu"], unit="s"),
            figure(
                "batch signals + scores (scoring_speed's figure)",
                total,
                unit="s",
                target=10,
                op="<=",
            ),
            figure("batch peak memory", batch["peak_mb"], unit="MB", target=2048, op="<="),
            figure(
                f"rebuild state set-based ({rebuild['states']:,} state rows), {size}",
                rebuild["seconds"],
                unit="s",
                target=90 * n_events / EVENTS,
                op="<=",
            ),
            figure("rebuild set-based, CPU time", rebuild["cpu"], unit="s"),
            figure(
                "rebuild set-based, peak memory",
                rebuild["peak_mb"],
                unit="MB",
                target=2048,
                op="<=",
            ),
            figure(
                f"replay per event through the engine, projected to {n_events:,} events "
                "in 2 processes",
                replay_s,
                unit="s",
                target=90 * n_events / EVENTS,
                op="<=",
            ),
            figure("replay per event, CPU per event", replay["cpu_per_event_us"], unit="us"),
        ],
        "notes": [
            f"{len(load_library())} shipped definitions; incremental fired {inc['fired']:,} signals "
            f"over {inc['timed']:,} steady-state events "
            f"({1000 * inc['fired'] / max(1, inc['timed']):.1f} per 1,000), "
            f"batch fired {batch['fired']:,}",
            "batch reads Parquet through DuckDB (2 threads): one coded pass into a DuckDB "
            "table (kind/name/team tested per combination, contact dims per contact, "
            "properties parsed once into a struct), sorted in pieces of whole accounts "
            "(account-hash ranges), the next piece sorted in a background thread while NumPy "
            "evaluates the current one, texts read for fired rows only, `signals` columns "
            "built one definition per thread (evidence JSON in DuckDB); generation not timed",
            "fired per definition: " + ", ".join(f"{k} {v:,}" for k, v in batch["per_def"].items()),
            "signals + scores: "
            + (
                "run scoring_speed first (its figure is read from bench/out)"
                if scores is None
                else f"{batch['total']:.2f} s signals + {scores:.2f} s scores"
            ),
            f"replay: {replay['events']:,} events of 1 account partition in {REPLAY_SAMPLE} "
            f"replayed in one process ({replay['seconds']:.1f} s wall, {replay['cpu']:.1f} s CPU, "
            f"{replay['states']:,} state rows), projected over both cores; "
            "targets scaled to the event count (90 s for 10,000,000)",
            f"load average during the run: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
            f"on {os.cpu_count()} CPUs; compare CPU times when the machine is shared",
        ],
    }


def main() -> None:
    print_result(run())


if __name__ == "__main__":
    main()
