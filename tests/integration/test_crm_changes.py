"""A CRM re-import that changes a contact's title or status becomes events signals see."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from accord.ingest.crm_changes import NAME
from accord.ingest.csv_import import import_csv
from accord.ingest.options import ImportOptions
from accord.model.ids import stable_id
from accord.signals import load_library
from accord.signals.batch import run_batch
from accord.store.schema import contacts, events
from accord.workspace import Workspace
from tests.integration.import_support import DATA

CSV = DATA / "csv"
QUIET = ImportOptions(progress=False)
A1 = stable_id("account", "csv:acme_crm", "account", "A-1")
MAP = """kind: contacts
source: acme_crm
columns: {email: email, first_name: first, last_name: last, title: title,
          account_id: account, status: status}
"""


def _contacts(ws: Workspace, folder: Path, edits: dict[str, tuple[str, str]]) -> None:
    """Import contacts.csv with a status column; `edits`: e-mail -> (title, status)."""
    lines = ["email,first,last,title,account,status"]
    for line in (CSV / "contacts.csv").read_text().splitlines()[1:]:
        email, first, last, title, account = line.split(",")
        title, status = edits.get(email, (title, ""))
        lines.append(",".join([email, first, last, title, account, status]))
    (folder / "contacts.csv").write_text("\n".join(lines) + "\n")
    (folder / "contacts.map.yaml").write_text(MAP)
    import_csv(ws.engine, folder / "contacts.csv", kind="contacts",
               column_map=folder / "contacts.map.yaml", options=QUIET)  # fmt: skip


def _change_events(ws: Workspace) -> list[dict[str, object]]:
    with ws.engine.connect() as conn:
        query = select(events).where(events.c.name == NAME).order_by(events.c.id)
        return [dict(r._mapping) for r in conn.execute(query)]


def test_crm_changes_fire_title_and_champion_signals(workspace: Workspace, tmp_path: Path) -> None:
    import_csv(workspace.engine, CSV / "accounts.csv", kind="accounts",
               column_map=CSV / "accounts.map.yaml", options=QUIET)  # fmt: skip
    _contacts(workspace, tmp_path, {})
    assert _change_events(workspace) == []  # a first import is history, not news
    edits = {"bill@initech.example": ("SVP Engineering", ""),
             "peter@initech.example": ("Software Engineer", "Left")}  # fmt: skip
    _contacts(workspace, tmp_path, edits)
    rows = _change_events(workspace)
    with workspace.engine.connect() as conn:
        ids = dict(conn.execute(select(contacts.c.email, contacts.c.id)).all())
        status = conn.scalar(
            select(contacts.c.status).where(contacts.c.id == ids["peter@initech.example"])
        )
    assert status == "left"
    pairs = {(r["contact_id"], r["properties"]["crm_state"]): r["properties"] for r in rows}
    bill, peter = ids["bill@initech.example"], ids["peter@initech.example"]
    assert pairs[bill, "before"]["title"] == "VP Engineering"
    assert pairs[bill, "after"]["title"] == "SVP Engineering"
    assert (pairs[peter, "before"]["status"], pairs[peter, "after"]["status"]) == ("active", "left")
    assert {r["account_id"] for r in rows} == {A1}
    assert {r["kind"] for r in rows} == {"identify"}
    fired = run_batch(workspace.engine, load_library(), datetime(2000, 1, 1, tzinfo=UTC))
    by_type = {(s.type, s.account_id) for s in fired}
    assert ("title_changed", A1) in by_type
    assert ("champion_left", A1) in by_type
    _contacts(workspace, tmp_path, edits)  # the same file again: nothing new
    assert len(_change_events(workspace)) == 4
