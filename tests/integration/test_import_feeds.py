"""Event feeds through `accord import csv`: ads, product usage and customer success rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from accord.graph.event_links import attach_events
from accord.graph.resolve import resolve_all
from accord.ingest.csv_import import import_csv
from accord.ingest.options import ImportOptions
from accord.model.ids import stable_id
from accord.signals import load_library
from accord.signals.batch import run_batch
from accord.store.events import EventRow, write_events
from accord.store.schema import contacts, events
from accord.workspace import Workspace
from tests.integration.import_support import DATA, dump, run_cli

CSV = DATA / "csv"
QUIET = ImportOptions(progress=False)
A1, A2, A3 = (stable_id("account", "csv:acme_crm", "account", k) for k in ("A-1", "A-2", "A-3"))


def _load(ws: Workspace, kind: str, folder: Path = CSV) -> None:
    """What `accord import csv` does: import, resolve the graph, attach waiting events."""
    cmap = folder / f"{kind}.map.yaml"
    import_csv(ws.engine, folder / f"{kind}.csv", kind=kind, column_map=cmap, options=QUIET)
    resolve_all(ws.engine)
    attach_events(ws.engine)


def _cli_load(ws: Workspace, kind: str) -> None:
    result = run_cli(
        ws, "import", "csv", "--kind", kind, str(CSV / f"{kind}.csv"),
        "--map", str(CSV / f"{kind}.map.yaml"), "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def _crm(ws: Workspace) -> None:
    _load(ws, "accounts")
    _load(ws, "contacts")


def _events(ws: Workspace, kind: str) -> list[Any]:
    with ws.engine.connect() as conn:
        query = select(events).where(events.c.kind == kind).order_by(events.c.occurred_at)
        return list(conn.execute(query))


def test_feed_ads_attach_by_domain_and_company_once(workspace: Workspace) -> None:
    _crm(workspace)
    _cli_load(workspace, "ads")
    rows = _events(workspace, "ad")
    by_company = {r.properties["company"]: r for r in rows}
    assert by_company["Initech"].account_id == A1  # its domain
    assert by_company["Globex Corporation"].account_id == A2  # its name, through the matcher
    assert by_company["Umbrella Corp"].account_id == A3
    assert by_company["Nobody Ltd"].account_id is None
    assert by_company["Initech"].name == "Ad Clicked"
    assert by_company["Globex Corporation"].name == "Ad Impression"
    assert by_company["Initech"].properties["impressions"] == 1250
    assert by_company["Initech"].properties["spend"] == 84.2
    assert {r.team for r in rows} == {"marketing"}
    before = dump(workspace.engine)
    _cli_load(workspace, "ads")
    assert dump(workspace.engine) == before


def test_feed_usage_links_contacts_and_fires_expansion(workspace: Workspace) -> None:
    _crm(workspace)
    _load(workspace, "usage")
    rows = _events(workspace, "usage")
    assert len(rows) == 4
    with workspace.engine.connect() as conn:
        peter = conn.scalar(
            select(contacts.c.id).where(contacts.c.email == "peter@initech.example")
        )
    by_name = {r.name: r for r in rows}
    assert (by_name["Signed In"].contact_id, by_name["Signed In"].account_id) == (peter, A1)
    # a new user at initech.example: `.example` is not a registrable domain, so only a stored
    # e-mail or a name would attach it
    assert by_name["Feature Used"].account_id is None
    seats = by_name["Seats Synced"]
    assert (seats.account_id, seats.properties["seats_used"], seats.team) == (A2, 46, "product")
    fired = run_batch(workspace.engine, load_library(), datetime(2024, 1, 1, tzinfo=UTC))
    assert {(s.type, s.account_id) for s in fired} >= {("expansion_readiness", A2)}


def test_feed_cs_tickets_fire_support_escalation(workspace: Workspace) -> None:
    _crm(workspace)
    _load(workspace, "cs")
    rows = _events(workspace, "cs")
    assert [(r.name, r.account_id, r.properties["priority"]) for r in rows] == [
        ("Ticket Created", A2, "Urgent"),
        ("Ticket Created", A2, "High"),
        ("Ticket Created", None, "Low"),  # the requester's contact has no account
    ]
    fired = run_batch(workspace.engine, load_library(), datetime(2024, 1, 1, tzinfo=UTC))
    escalations = [s for s in fired if s.type == "support_escalation"]
    assert [s.account_id for s in escalations] == [A2]


def test_feed_rejects_bad_count(workspace: Workspace, tmp_path: Any) -> None:
    bad = tmp_path / "usage.csv"
    lines = (CSV / "usage.csv").read_text().splitlines()
    lines[2] = lines[2].replace(",2,", ",two,")
    bad.write_text("\n".join(lines) + "\n")
    before = dump(workspace.engine)
    result = run_cli(
        workspace, "import", "csv", "--kind", "usage", str(bad),
        "--map", str(CSV / "usage.map.yaml"), "--no-progress",
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "usage.csv line 3, column 'events'" in result.stderr
    assert dump(workspace.engine) == before


def test_feed_map_rejects_missing_subject(workspace: Workspace, tmp_path: Any) -> None:
    cmap = tmp_path / "cs.map.yaml"
    cmap.write_text("kind: cs\ncolumns:\n  date: Created at\n  subject: Subject\n")
    result = run_cli(
        workspace, "import", "csv", "--kind", "cs", str(CSV / "cs.csv"), "--map", str(cmap)
    )
    assert result.returncode == 2, result.stderr
    assert "columns: kind cs needs email or domain or company" in result.stderr


def test_attach_events_after_the_contact_arrives(workspace: Workspace) -> None:
    now = "2024-05-06 10:00:00.000000"
    row = EventRow("m-1", "web", now, now, "identify", None, None, None, None, "u-1", None,
                   '{"traits": {"email": "Bill@Initech.example"}}')  # fmt: skip
    with workspace.engine.begin() as conn:
        write_events(conn, [row])
    assert attach_events(workspace.engine) == 0  # no account knows it yet
    _crm(workspace)  # the import attaches what now resolves
    with workspace.engine.connect() as conn:
        bill = conn.scalar(select(contacts.c.id).where(contacts.c.email == "bill@initech.example"))
        stored = conn.execute(select(events.c.account_id, events.c.contact_id)).one()
    assert tuple(stored) == (A1, bill)


def test_feed_usage_attaches_new_users_by_email_domain(workspace: Workspace, tmp_path: Any) -> None:
    (tmp_path / "accounts.csv").write_text("Account ID,Company,Domain\nI-1,Initrode,initrode.io\n")
    (tmp_path / "accounts.map.yaml").write_text(
        "kind: accounts\nsource: acme_crm\ncolumns: {id: Account ID, name: Company, "
        "domain: Domain}\n"
    )
    (tmp_path / "usage.csv").write_text("day,user_email\n2024-05-06,ops@initrode.io\n")
    (tmp_path / "usage.map.yaml").write_text(
        "kind: usage\ncolumns: {date: day, email: user_email}\n"
    )
    for kind in ("accounts", "usage"):
        _load(workspace, kind, tmp_path)
    (row,) = _events(workspace, "usage")
    assert row.account_id == stable_id("account", "csv:acme_crm", "account", "I-1")
    assert (row.contact_id, row.name) == (None, "Feature Used")
