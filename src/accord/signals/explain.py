"""Why a signal fired: its definition, the numbers that crossed, the events behind them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from accord.signals.specs import LoadedSignal
from accord.signals.store import get_signal
from accord.store.schema import events

_MAX_EVENTS = 100


def _events(engine: Engine, account: str, ids: Sequence[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    q = (
        select(
            events.c.message_id,
            events.c.occurred_at,
            events.c.kind,
            events.c.name,
            events.c.contact_id,
        )
        .where(events.c.account_id == account, events.c.message_id.in_(list(ids)[:_MAX_EVENTS]))
        .order_by(events.c.occurred_at, events.c.id)
    )
    with engine.connect() as conn:
        return [
            {
                "message_id": r.message_id,
                "occurred_at": r.occurred_at.isoformat(),
                "kind": r.kind,
                "name": r.name,
                "contact_id": r.contact_id,
            }
            for r in conn.execute(q)
        ]


def explanation(
    engine: Engine, signal_id: str, specs: Sequence[LoadedSignal], *, now: datetime | None = None
) -> dict[str, Any]:
    """A JSON-ready explanation of one stored signal."""
    sig = get_signal(engine, signal_id)
    now = now or datetime.now(UTC)
    spec = next((s for s in specs if s.id == sig.type), None)
    return {
        "signal": sig.to_json(),
        "definition": {
            "source": sig.source,
            "description": spec.spec.description if spec else None,
            "when": spec.spec.when.model_dump(mode="json", exclude_defaults=True) if spec else None,
            "current_source": spec.source if spec else None,
        },
        "freshness": {
            "age_s": round(sig.age(now).total_seconds(), 3),
            "source_lag_s": sig.source_lag_s,
            "half_life_s": sig.half_life_s,
            "strength_now": round(sig.decayed_strength(now), 4),
        },
        "events": _events(engine, sig.account_id, sig.evidence.get("events", [])),
    }


def render(doc: dict[str, Any]) -> str:
    """The explanation as a few lines of plain text."""
    sig: dict[str, Any] = doc["signal"]
    d, f = doc["definition"], doc["freshness"]
    lines = [
        f"{sig['type']} on account {sig['account_id']} ({sig['id']})",
        f"  {d['description'] or '(definition no longer loaded)'}",
        f"  defined at {d['source']}",
        f"  observed {sig['observed_at']}, fired {sig['fired_at']}, "
        f"source lag {sig['source_lag_s']:.0f}s",
        f"  strength {sig['strength']} -> {f['strength_now']} now "
        f"(half-life {f['half_life_s']:.0f}s)",
    ]
    if sig["cooldown_until"]:
        lines.append(f"  cooldown until {sig['cooldown_until']}")
    numbers = {k: v for k, v in sig["evidence"].items() if k != "events"}
    lines.append("  evidence: " + ", ".join(f"{k}={v}" for k, v in numbers.items()))
    for e in doc["events"]:
        who = f" contact {e['contact_id']}" if e["contact_id"] else ""
        lines.append(
            f"    {e['occurred_at']}  {e['kind']}  {e['name'] or ''}{who}  [{e['message_id']}]"
        )
    return "\n".join(lines)
