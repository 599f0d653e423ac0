"""Render the demo summary as Rich tables."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from accord.demo.run import DemoRun


def render(console: Console, run: DemoRun, summary: dict[str, Any]) -> None:
    """Print the files written, the database counts and the graph's answers."""
    console.print(f"[bold]Demo company written to[/bold] {run.out}")
    console.print(_files(run))
    console.print(_pairs("Rows in the database", summary["counts"].items(), "rows"))
    console.print(_match_rules(summary))
    console.print(_unresolved(summary["unresolved_leads"]))
    console.print(_top("Top accounts by contacts", summary["top_accounts_by_contacts"], "contacts"))
    console.print(
        _top("Top accounts by open pipeline", summary["top_accounts_by_open_pipeline"], "money")
    )
    console.print(_tiers(summary["target_tiers"]))
    console.print(_signals(summary.get("signal_counts", {}), summary.get("top_signals", [])))
    for name, rows in summary.get("top_accounts_by_score", {}).items():
        console.print(_scores(name, rows))
    if run.signals:
        console.print(f"Real-time consumer starts after event id "
                      f"{run.signals['consumer_from_event_id']:,}.")  # fmt: skip
    steps = {k: v for k, v in run.seconds.items() if k != "total"}
    total = run.seconds.get("total", sum(steps.values()))
    steps_text = ", ".join(f"{k} {v:.1f}s" for k, v in steps.items())
    console.print(f"Done in {total:.1f}s ({steps_text}).")


def _files(run: DemoRun) -> Table:
    table = Table(title="Files written", title_justify="left")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, n in run.files.items():
        table.add_row(name, f"{n:,}")
    return table


def _pairs(title: str, items: Any, label: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("table")
    table.add_column(label, justify="right")
    for name, n in items:
        table.add_row(name, f"{n:,}")
    return table


def _match_rules(summary: dict[str, Any]) -> Table:
    rates = ", ".join(f"{k} {v:.1%}" for k, v in summary["match_rate"].items())
    table = Table(title=f"Links by rule (linked: {rates})", title_justify="left")
    for col in ("subject", "rule", "count", "share", "avg confidence"):
        table.add_column(col, justify="right" if col not in ("subject", "rule") else "left")
    for r in summary["match_rules"]:
        share, conf = f"{r['share']:.1%}", f"{r['avg_confidence']:.2f}"
        table.add_row(r["subject"], r["rule"], f"{r['count']:,}", share, conf)
    return table


def _unresolved(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Unresolved leads (top 10) and their candidates", title_justify="left")
    for col in ("email", "company", "rule", "candidates"):
        table.add_column(col)
    for r in rows:
        candidates = "; ".join(
            f"{c['name'] or c['account_id']} ({c['score']:.2f})" for c in r["candidates"]
        )
        table.add_row(r["email"] or "", r["company"] or "", r["rule"], candidates or "none")
    return table


def _top(title: str, rows: list[dict[str, Any]], kind: str) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("account")
    table.add_column("domain")
    table.add_column("open pipeline" if kind == "money" else "contacts", justify="right")
    for r in rows:
        value = f"{r['open_pipeline']:,.0f}" if kind == "money" else f"{r['contacts']:,}"
        table.add_row(r["name"], r["domain"] or "", value)
    return table


def _tiers(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Target lists (current versions)", title_justify="left")
    for col in ("list", "version", "tier", "members", "resolved"):
        table.add_column(col, justify="left" if col == "list" else "right")
    for r in rows:
        tier = str(r["tier"]) if r["tier"] is not None else "-"
        table.add_row(r["list"], str(r["version"]), tier, f"{r['members']:,}", f"{r['resolved']:,}")
    return table


def _evidence(ev: dict[str, Any]) -> str:
    numbers = ", ".join(f"{k}={v}" for k, v in ev.items() if k != "events")
    events = ev.get("events") or []
    return numbers + (f"; {len(events)} events e.g. {events[-1]}" if events else "")


def _signals(counts: dict[str, int], rows: list[dict[str, Any]]) -> Table:
    total = sum(counts.values())
    table = Table(title=f"Signals that fired ({total:,}; strongest of each type)",
                  title_justify="left")  # fmt: skip
    for col in ("signal", "fired", "account", "strength", "observed", "evidence"):
        table.add_column(col, justify="right" if col in ("fired", "strength") else "left")
    for r in rows:
        fired, strength = f"{counts.get(r['type'], 0):,}", f"{r['strength']:.2f}"
        table.add_row(r["type"], fired, r["account"], strength, r["observed_at"][:16],
                      _evidence(r["evidence"]))  # fmt: skip
    return table


def _scores(name: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"Top accounts by {name}", title_justify="left")
    for col in ("account", name, "stage", "parts"):
        table.add_column(col, justify="right" if col == name else "left")
    for r in rows:
        parts = "; ".join(f"{p['name']} {p['points']:g}/{p['max']:g}: {p['says']}"
                          for p in r["parts"] or [])  # fmt: skip
        table.add_row(r["name"], f"{r['value']:.1f}", r["stage"] or "-", parts)
    return table
