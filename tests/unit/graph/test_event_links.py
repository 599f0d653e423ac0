"""Events that arrived before their account was known are attached afterwards."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from accord.graph.event_links import attach_events
from accord.store.events import EventRow, write_events, write_learnt
from accord.store.schema import accounts, events
from accord.workspace import Workspace

T = "2025-05-01 09:00:00.000000"


def _page(mid: str, anonymous: str | None, user: str | None = None) -> EventRow:
    return EventRow(mid, "web", T, T, "page", "Pricing", "marketing", None, None, user,
                    anonymous, '{"path": "/pricing"}')  # fmt: skip


def _accounts(ws: Workspace) -> None:
    now = datetime.now(UTC)
    with ws.engine.begin() as conn:
        conn.execute(accounts.insert(), [{"id": "acc_1", "name": "Initech", "source": "test",
                                          "created_at": now, "updated_at": now}])  # fmt: skip


def _stored(ws: Workspace) -> dict[str, tuple[str | None, str | None]]:
    e = events.c
    with ws.engine.connect() as conn:
        rows = conn.execute(select(e.message_id, e.account_id, e.contact_id))
        return {m: (a, c) for m, a, c in rows}


def test_attach_events_of_a_visitor_identified_later(workspace: Workspace) -> None:
    _accounts(workspace)
    with workspace.engine.begin() as conn:
        write_events(conn, [_page("p1", "anon-1"), _page("p2", "anon-1"),
                            _page("p3", None, "user-9"), _page("p4", "anon-2")])  # fmt: skip
    assert attach_events(workspace.engine) == 0  # nobody is known yet
    now = datetime.now(UTC)
    known = [
        {"id_type": "anonymous", "id_value": "anon-1", "user_id": "user-9",
         "contact_id": "con_1", "account_id": "acc_1", "updated_at": now},
        {"id_type": "user", "id_value": "user-9", "user_id": "user-9",
         "contact_id": "con_1", "account_id": "acc_1", "updated_at": now},
        {"id_type": "anonymous", "id_value": "anon-2", "user_id": None,
         "contact_id": None, "account_id": None, "updated_at": now},
    ]  # fmt: skip
    with workspace.engine.begin() as conn:
        write_learnt(conn, known)
    assert attach_events(workspace.engine) == 3
    assert _stored(workspace) == {"p1": ("acc_1", "con_1"), "p2": ("acc_1", "con_1"),
                                  "p3": ("acc_1", "con_1"), "p4": (None, None)}  # fmt: skip
    assert attach_events(workspace.engine) == 0  # attached events are never moved again
