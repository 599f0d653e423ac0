"""CRM re-imports that change who a contact is become events the signals can see.

A contact's title or status changing in the CRM (a promotion, a champion who left) is the
kind of fact `title_changed` and `champion_left` watch for, but an import only updates
the row. For every stored contact whose title or status an import changes, two `identify`
events are appended: the state the row held until now (at its last update) and the new
state (now). Signals that compare a contact's successive values then see the change the
same way in real time and in batch. The first import of a contact emits nothing: a CRM's
history is not news.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from accord.ingest.event_rows import append_events

WATCHED = ("title", "status")
NAME = "CRM Contact Updated"


def _message_id(contact_id: str, state: dict[str, Any], at: datetime) -> str:
    basis = "\x1f".join([contact_id, at.isoformat(), *(str(state.get(k)) for k in WATCHED)])
    return "crm_" + hashlib.sha256(basis.encode()).hexdigest()[:32]


def _event(
    contact_id: str, account_id: str | None, at: datetime, state: dict[str, Any], label: str
) -> dict[str, Any]:
    properties = {k: state[k] for k in WATCHED if state.get(k) is not None}
    return {
        "message_id": _message_id(contact_id, state, at),
        "occurred_at": at,
        "kind": "identify",
        "name": NAME,
        "team": "sales",
        "account_id": account_id,
        "contact_id": contact_id,
        "properties": {**properties, "crm_state": label},
    }


def contact_change_events(
    old: dict[str, dict[str, Any]], changes: dict[str, dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """The before/after event pairs of the contacts whose watched fields changed."""
    out: list[dict[str, Any]] = []
    for contact_id, changed in changes.items():
        if not any(k in changed for k in WATCHED):
            continue
        before = old[contact_id]
        after = {**before, **changed}
        account = after.get("account_id")
        out.append(_event(contact_id, account, before["updated_at"], before, "before"))
        out.append(_event(contact_id, account, now, after, "after"))
    return out


def record_contact_changes(
    conn: Connection,
    source: str,
    old: dict[str, dict[str, Any]],
    changes: dict[str, dict[str, Any]],
    now: datetime,
) -> int:
    """Append the change events of an import's contact updates; returns how many were new."""
    rows = contact_change_events(old, changes, now)
    return append_events(conn, f"crm:{source}", rows) if rows else 0
