"""Set-based identity stitching over the DuckDB view `calls`, with the stream stitcher's answers.

The stream stitcher walks the file in order. Its state per identity key (a userId, or an
anonymousId) only ever takes the last non-empty answer of the calls on that key, so for keys
that never meet another key the state after each call is a window over that key's calls:

- contact = the last e-mail contact of an `identify`, else the stored contact, else the
  first e-mail contact of any other call;
- account = the last "reset" (the group's account, or the e-mail's account on an identify or
  while no contact is known yet), else the stored account, else the first company-trait
  account of an identify.

A group's account at a line is the last account its `group` calls resolved to. Keys that
meet another key (a call with both userId and anonymousId, an alias, an anonymousId stored
as joined to a user) form small components whose calls go through the stream stitcher
itself, in file order, with the group accounts set-based. E-mails and company traits are
resolved once per distinct value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

import duckdb
import pyarrow as pa  # type: ignore[import-untyped]

from accord.ingest.segment_jsonl import Call

Known = tuple[str | None, str | None, str | None]  # (user_id, contact_id, account_id)


class Lookup(Protocol):
    def by_email(self, email: str) -> tuple[str | None, str | None]: ...

    def by_company(self, name: str | None, website: str | None) -> str | None: ...


class BulkStitcher(Protocol):
    """The stream stitcher as the bulk loader uses it: its lookups, stored state and steps."""

    @property
    def index(self) -> Lookup: ...

    @property
    def known(self) -> dict[tuple[str, str], Known]: ...

    @property
    def groups(self) -> dict[str, str | None]: ...

    def stitch(self, call: Call) -> tuple[str | None, str | None]: ...

    def take_updates(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]: ...


def _strings(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, list[Any]],
             add: bool = False) -> None:  # fmt: skip
    """Table `name` from string columns (with `add`, appended to it)."""
    schema = pa.schema([(c, pa.string()) for c in columns])
    con.register(f"{name}_arrow", pa.table(columns, schema=schema))
    into = f"INSERT INTO {name}" if add else f"CREATE OR REPLACE TABLE {name} AS"
    con.execute(f"{into} SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")


LOOKUP_BATCH = 50_000  # distinct values resolved at a time (what Python holds of them)


def _lookups(con: duckdb.DuckDBPyConnection, index: Lookup) -> None:
    """Tables `email_hits` and `company_hits`: each distinct e-mail and company resolved."""
    cur = con.cursor()
    _strings(con, "email_hits", {"email": [], "e_con": [], "e_acc": []})
    cur.execute("SELECT DISTINCT email FROM calls WHERE email NOT NULL")
    while emails := [e for (e,) in cur.fetchmany(LOOKUP_BATCH)]:
        found = [index.by_email(e) for e in emails]
        _strings(con, "email_hits", {"email": emails, "e_con": [f[0] for f in found],
                                     "e_acc": [f[1] for f in found]}, add=True)  # fmt: skip
    _strings(con, "company_hits", {"company": [], "website": [], "c_acc": []})
    cur.execute(
        "SELECT DISTINCT company, website FROM calls WHERE kind IN ('identify', 'group') "
        "AND (company NOT NULL OR website NOT NULL)"
    )
    while pairs := cur.fetchmany(LOOKUP_BATCH):
        _strings(con, "company_hits", {"company": [p[0] for p in pairs],
                 "website": [p[1] for p in pairs],
                 "c_acc": [index.by_company(p[0], p[1]) for p in pairs]}, add=True)  # fmt: skip
    cur.close()


def _stored(con: duckdb.DuckDBPyConnection, stitcher: BulkStitcher) -> None:
    """Tables `known_ids` and `known_groups`: the identities and groups stored before."""
    known = stitcher.known
    _strings(con, "known_ids", {
        "id_type": [k[0] for k in known], "id_value": [k[1] for k in known],
        "k_user": [v[0] for v in known.values()], "k_con": [v[1] for v in known.values()],
        "k_acc": [v[2] for v in known.values()],
    })  # fmt: skip
    groups = stitcher.groups
    _strings(con, "known_groups", {"group_id": list(groups), "g_acc": list(groups.values())})


BASE = """
CREATE TABLE st AS
SELECT c.line, c.kind, c.user_id, c.anonymous_id, c.group_id, c.previous_id, c.email,
    c.company, c.website, e.e_con, e.e_acc,
    CASE WHEN c.kind = 'identify' THEN h.c_acc END AS c_fill,
    CASE WHEN c.kind = 'group' THEN h.c_acc END AS g_new,
    CASE WHEN c.kind = 'group' THEN c.properties END AS properties
FROM calls c
LEFT JOIN email_hits e ON c.email = e.email
LEFT JOIN company_hits h ON c.kind IN ('identify', 'group')
    AND c.company IS NOT DISTINCT FROM h.company AND c.website IS NOT DISTINCT FROM h.website
"""

GROUPS = """
CREATE TABLE st_groups AS
SELECT line, group_id, ga_before, coalesce(g_new, ga_before) AS ga FROM (
    SELECT line, group_id, g_new,
        coalesce(last_value(g_new IGNORE NULLS) OVER (PARTITION BY group_id ORDER BY line
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), k.g_acc) AS ga_before
    FROM st LEFT JOIN known_groups k USING (group_id)
    WHERE group_id NOT NULL
)
"""

MIXED = """
CREATE TABLE mixed_keys AS
WITH file_anons AS (
    SELECT anonymous_id AS a FROM st WHERE anonymous_id NOT NULL
    UNION SELECT previous_id FROM st WHERE previous_id NOT NULL
), joined AS (
    SELECT k.id_value AS a, k.k_user AS u FROM known_ids k JOIN file_anons f ON k.id_value = f.a
    WHERE k.id_type = 'anonymous' AND k.k_user NOT NULL
)
SELECT 'user' AS id_type, user_id AS id_value FROM st
    WHERE user_id NOT NULL AND (anonymous_id NOT NULL OR kind = 'alias')
UNION SELECT 'user', u FROM joined
UNION SELECT 'anonymous', anonymous_id FROM st WHERE anonymous_id NOT NULL
    AND (user_id NOT NULL OR kind = 'alias')
UNION SELECT 'anonymous', previous_id FROM st WHERE previous_id NOT NULL
UNION SELECT 'anonymous', a FROM joined
"""

PURE = """
CREATE TABLE st_pure AS
WITH p AS (
    SELECT s.line, s.kind, s.e_con, s.e_acc, s.c_fill, g.ga,
        CASE WHEN s.user_id NOT NULL THEN 'user' ELSE 'anonymous' END AS id_type,
        coalesce(s.user_id, s.anonymous_id) AS id_value
    FROM st s LEFT JOIN st_groups g USING (line)
), q AS (
    SELECT p.*, k.k_con AS k0, k.k_acc AS a0,
        k.k_con IS NULL AND count(e_con) OVER (PARTITION BY p.id_type, p.id_value ORDER BY line
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) = 0 AS no_contact_yet
    FROM p LEFT JOIN known_ids k USING (id_type, id_value)
    WHERE NOT EXISTS (SELECT 1 FROM mixed_keys m
                      WHERE m.id_type = p.id_type AND m.id_value = p.id_value)
)
SELECT line, id_type, id_value, k0, a0,
    coalesce(last_value(CASE WHEN kind = 'identify' THEN e_con END IGNORE NULLS) OVER w, k0,
        first_value(CASE WHEN kind <> 'identify' THEN e_con END IGNORE NULLS) OVER w)
        AS contact_id,
    coalesce(last_value(coalesce(ga, CASE WHEN kind = 'identify' OR no_contact_yet
        THEN e_acc END) IGNORE NULLS) OVER w, a0, first_value(c_fill IGNORE NULLS) OVER w)
        AS account_id
FROM q
WINDOW w AS (PARTITION BY id_type, id_value ORDER BY line
             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
"""

MIXED_CALLS = """
SELECT s.line, s.kind, s.user_id, s.anonymous_id, s.group_id, s.previous_id, s.email,
    s.company, s.website, g.ga_before
FROM st s LEFT JOIN st_groups g USING (line)
JOIN mixed_keys m ON m.id_type = CASE WHEN s.user_id NOT NULL THEN 'user' ELSE 'anonymous' END
    AND m.id_value = coalesce(s.user_id, s.anonymous_id)
ORDER BY s.line
"""

PURE_IDENTITIES = """
CREATE TABLE ident_rows AS
SELECT id_type, id_value, CASE WHEN id_type = 'user' THEN id_value END AS user_id,
    r.contact_id, r.account_id
FROM (SELECT id_type, id_value, max_by({'contact_id': contact_id, 'account_id': account_id,
        'k0': k0, 'a0': a0}, line) AS r
      FROM st_pure GROUP BY id_type, id_value)
WHERE (r.contact_id NOT NULL OR r.account_id NOT NULL)
    AND (r.contact_id IS DISTINCT FROM r.k0 OR r.account_id IS DISTINCT FROM r.a0)
"""

GROUP_ROWS = """
CREATE TABLE group_rows AS SELECT group_id, account_id, name, website, traits FROM (
    SELECT s.group_id, g.ga AS account_id, nullif(left(s.company, 400), '') AS name, s.website,
        coalesce(json_extract(s.properties, '$.traits')::VARCHAR, '{}') AS traits,
        row_number() OVER (PARTITION BY s.group_id ORDER BY s.line DESC) AS r
    FROM st s JOIN st_groups g USING (line)
    WHERE s.kind = 'group'
) WHERE r = 1
"""


WORK_TABLES = (
    "st", "st_groups", "st_pure", "st_mixed", "mixed_keys", "mixed_idents", "email_hits",
    "company_hits", "known_ids", "known_groups",
)  # fmt: skip


def _mixed(con: duckdb.DuckDBPyConnection, stitcher: BulkStitcher) -> None:
    """Stitch the calls of keys that meet other keys with the stream stitcher, in file order."""
    cur = con.execute(MIXED_CALLS)
    lines: list[int] = []
    accounts: list[str | None] = []
    contacts: list[str | None] = []
    now = datetime.now(UTC)
    groups: dict[str, str | None] = stitcher.groups
    while rows := cur.fetchmany(10_000):
        for line, kind, user, anon, group, previous, email, company, website, before in rows:
            if group is not None:
                groups[group] = before
            call = Call("", kind, None, None, kind, now, user, anon, group, previous, email,
                        company, website, "{}")  # fmt: skip
            account, contact = stitcher.stitch(call)
            lines.append(line)
            accounts.append(account)
            contacts.append(contact)
    table = pa.table({"line": pa.array(lines, pa.int64()),
                      "account_id": pa.array(accounts, pa.string()),
                      "contact_id": pa.array(contacts, pa.string())})  # fmt: skip
    con.register("mixed_arrow", table)
    con.execute("CREATE TABLE st_mixed AS SELECT * FROM mixed_arrow")
    con.unregister("mixed_arrow")
    idents, _ = stitcher.take_updates()
    names = ("id_type", "id_value", "user_id", "contact_id", "account_id")
    _strings(con, "mixed_idents", {n: [row[n] for row in idents] for n in names})


def stitch_calls(con: duckdb.DuckDBPyConnection, stitcher: BulkStitcher) -> None:
    """Tables `stitched(line, account_id, contact_id)`, and `ident_rows` and `group_rows`:
    the identities and groups learnt, to store with the events."""
    _lookups(con, stitcher.index)
    _stored(con, stitcher)
    for sql in (BASE, GROUPS, MIXED, PURE, PURE_IDENTITIES, GROUP_ROWS):
        con.execute(sql)
    _mixed(con, stitcher)
    con.execute(
        "CREATE TABLE stitched AS SELECT line, account_id, contact_id FROM st_pure "
        "UNION ALL SELECT line, account_id, contact_id FROM st_mixed"
    )
    con.execute("INSERT INTO ident_rows SELECT * FROM mixed_idents")
    for table in WORK_TABLES:  # their memory goes to storing the events
        con.execute(f"DROP TABLE {table}")


def no_stitching(con: duckdb.DuckDBPyConnection) -> None:
    """Table `stitched` with no account or contact for any call; no identities or groups."""
    con.execute(
        "CREATE TABLE stitched AS SELECT line, NULL::VARCHAR AS account_id, "
        "NULL::VARCHAR AS contact_id FROM calls"
    )
    con.execute(
        "CREATE TABLE ident_rows (id_type VARCHAR, id_value VARCHAR, user_id VARCHAR, "
        "contact_id VARCHAR, account_id VARCHAR)"
    )
    con.execute(
        "CREATE TABLE group_rows (group_id VARCHAR, account_id VARCHAR, name VARCHAR, "
        "website VARCHAR, traits VARCHAR)"
    )
