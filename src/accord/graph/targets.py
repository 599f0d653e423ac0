"""Target account lists and tiers (1 = one-to-one, 2 = one-to-few, 3 = one-to-many).

`import_targets` reads a CSV with `list`, `tier` and one of `account_id`, `domain`, `name`;
rows are resolved through the same matcher as leads. Every import of a list makes a new
version and keeps the earlier ones; accounts' `is_target` and `tier` follow the current
versions of all lists (the lowest tier wins when an account is on several).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, exists, func, or_, select, update

from accord.errors import InputError, NotFound
from accord.graph.match import LeadRecord
from accord.graph.resolve import matcher_for
from accord.graph.review import merged_roots, utcnow
from accord.ingest.options import ImportOptions
from accord.ingest.reader import CsvFile, RowErrors
from accord.model.ids import new_id
from accord.store.schema import accounts, target_list_members, target_list_versions, target_lists

KEYS = ("account_id", "domain", "name")
TIERS = {"": None, "1": 1, "2": 2, "3": 3}
MAX_GIVEN = 400


@dataclass(frozen=True)
class Unresolved:
    list: str
    line: int
    given: str
    rule: str


@dataclass
class TargetsReport:
    source: str
    lists: dict[str, int] = field(default_factory=dict)  # list name -> the version just made
    rows: int = 0
    resolved: int = 0
    unresolved: list[Unresolved] = field(default_factory=list)
    skipped: int = 0
    rejects_path: Path | None = None


@dataclass(frozen=True)
class _Row:
    line: int
    list_name: str
    tier: int | None
    account_id: str | None
    domain: str | None
    name: str | None
    fields: list[str] = field(default_factory=list, compare=False)

    @property
    def given(self) -> str:
        return self.account_id or self.domain or self.name or ""


def import_targets(engine: Engine, path: Path, options: ImportOptions) -> TargetsReport:
    """Import one targets CSV; each list it names gets a new version. All or nothing."""
    source = CsvFile(path, options)
    errors = RowErrors(options)
    with engine.begin() as conn:
        rows = _read_rows(conn, source, errors)
        members = _resolve_rows(conn, rows)
        report = TargetsReport(source=source.name, skipped=errors.skipped)
        for name in dict.fromkeys(r.list_name for r in rows):
            listed = [m for m in members if m["_list"] == name]
            report.lists[name] = _new_version(conn, name, path.name, listed)
        refresh_target_flags(conn)
    report.rejects_path = errors.write()
    report.rows = len(members)
    report.resolved = sum(1 for m in members if m["account_id"] is not None)
    report.unresolved = [
        Unresolved(m["_list"], m["line"], m["given"], m["rule"])
        for m in members
        if m["account_id"] is None
    ]
    return report


def _read_rows(conn: Connection, source: CsvFile, errors: RowErrors) -> list[_Row]:
    """Parse and check every row; bad ones stop the import (or are skipped and recorded)."""
    list_col = source.require("list")
    tier_col = source.column("tier")
    key_cols = {k: i for k in KEYS if (i := source.column(k)) is not None}
    if not key_cols:
        raise InputError(
            f"{source.name}: needs a column 'account_id', 'domain' or 'name'; the header has "
            + ", ".join(repr(h) for h in source.header)
        )
    rows = []
    for line, fields in source.rows(errors):
        given = {k: _cell(fields, i) for k, i in key_cols.items()}
        list_name, tier = _cell(fields, list_col), _cell(fields, tier_col)
        problem = _row_problem(list_name, tier, given)
        if problem is not None:
            errors.bad_row(source, line, problem[0], problem[1], fields)
            continue
        keys = {k: given.get(k) or None for k in KEYS}
        rows.append(_Row(line, list_name, TIERS[tier], **keys, fields=fields))
    bad = _check_account_ids(conn, source, errors, rows)
    return [r for r in rows if r.line not in bad]


def _cell(fields: list[str], index: int | None) -> str:
    return fields[index].strip() if index is not None else ""


def _row_problem(list_name: str, tier: str, keys: dict[str, str]) -> tuple[str, str] | None:
    if not list_name:
        return "list", "empty; give the target list's name"
    if len(list_name) > 200:
        return "list", f"a list name of {len(list_name)} characters is over the 200 limit"
    if tier not in TIERS:
        return "tier", f"{tier!r} is not a tier; use 1, 2, 3 or leave it empty"
    if not any(keys.values()):
        return next(iter(keys)), "no account_id, domain or name; give one of them"
    for key, value in keys.items():
        if len(value) > MAX_GIVEN:
            return key, f"a value of {len(value)} characters is over the {MAX_GIVEN} limit"
    return None


def _check_account_ids(
    conn: Connection, source: CsvFile, errors: RowErrors, rows: list[_Row]
) -> set[int]:
    """Lines whose account_id names no account (each reported through `errors`)."""
    wanted = sorted({r.account_id for r in rows if r.account_id})
    if not wanted:
        return set()
    known = set(conn.execute(select(accounts.c.id).where(accounts.c.id.in_(wanted))).scalars())
    bad = set()
    for row in rows:
        if row.account_id and row.account_id not in known:
            message = f"account {row.account_id!r} does not exist; use the id of a stored account"
            errors.bad_row(source, row.line, "account_id", message, row.fields)
            bad.add(row.line)
    return bad


def _resolve_rows(conn: Connection, rows: list[_Row]) -> list[dict[str, Any]]:
    """Members for `rows`: ids as given (merged ones followed), domains and names matched."""
    roots = merged_roots(conn)
    to_match = [r for r in rows if not r.account_id]
    results = (
        matcher_for(conn).match_many(
            [LeadRecord(id=str(r.line), company=r.name, website=r.domain) for r in to_match]
        )
        if to_match
        else []
    )
    matched = {r.line: res for r, res in zip(to_match, results, strict=True)}
    members = []
    for row in rows:
        account: str | None
        if row.account_id:
            account, rule, confidence = roots.get(row.account_id, row.account_id), "account_id", 1.0
        else:
            res = matched[row.line]
            account, rule, confidence = res.account_id, res.rule, res.confidence
        members.append(
            {
                "_list": row.list_name,
                "line": row.line,
                "account_id": account,
                "tier": row.tier,
                "given": row.given,
                "rule": rule,
                "confidence": confidence,
            }
        )
    return members


def _new_version(
    conn: Connection, name: str, source_file: str, members: list[dict[str, Any]]
) -> int:
    """Store `members` as the next version of list `name`; the version number."""
    tl = target_lists
    now = utcnow()
    row = conn.execute(select(tl.c.id, tl.c.current_version).where(tl.c.name == name)).first()
    if row is None:
        list_id, version = new_id("target_list"), 1
        conn.execute(
            tl.insert(), [{"id": list_id, "name": name, "current_version": 1, "created_at": now}]
        )
    else:
        list_id, version = row.id, row.current_version + 1
        conn.execute(update(tl).where(tl.c.id == list_id).values(current_version=version))
    unresolved = sum(1 for m in members if m["account_id"] is None)
    conn.execute(
        target_list_versions.insert(),
        [
            {
                "list_id": list_id,
                "version": version,
                "source_file": source_file,
                "rows": len(members),
                "unresolved": unresolved,
                "created_at": now,
            }
        ],
    )
    if members:
        conn.execute(
            target_list_members.insert(),
            [
                {
                    **{k: v for k, v in m.items() if k != "_list"},
                    "list_id": list_id,
                    "version": version,
                }
                for m in members
            ],
        )
    return version


def refresh_target_flags(conn: Connection) -> int:
    """Set `is_target` and `tier` from the current versions of all lists (set-based)."""
    if conn.execute(select(func.count()).select_from(target_lists)).scalar() == 0:
        return 0
    tl, m, a = target_lists, target_list_members, accounts
    current = and_(
        m.c.list_id == tl.c.id, m.c.version == tl.c.current_version, m.c.account_id == a.c.id
    )
    on_a_list = exists().where(current)
    best_tier = select(func.min(m.c.tier)).where(current).scalar_subquery()
    stale = or_(a.c.is_target != on_a_list, a.c.tier.is_distinct_from(best_tier))
    result = conn.execute(update(a).where(stale).values(is_target=on_a_list, tier=best_tier))
    return result.rowcount


@dataclass(frozen=True)
class ListSummary:
    name: str
    current_version: int
    rows: int
    unresolved: int
    versions: int
    updated_at: Any


def list_summaries(engine: Engine) -> list[ListSummary]:
    """Every target list with its current version's size."""
    tl, v = target_lists, target_list_versions
    every = target_list_versions.alias("every")
    count = select(func.count()).where(every.c.list_id == tl.c.id).scalar_subquery()
    query = (
        select(tl.c.name, tl.c.current_version, v.c.rows, v.c.unresolved, count, v.c.created_at)
        .join(v, and_(v.c.list_id == tl.c.id, v.c.version == tl.c.current_version))
        .order_by(tl.c.name)
    )
    with engine.connect() as conn:
        return [ListSummary(*r) for r in conn.execute(query)]


def list_members(engine: Engine, name: str, version: int | None = None) -> tuple[int, list[Any]]:
    """The members of one version (default: current) of list `name`, with account names."""
    tl, m = target_lists, target_list_members
    with engine.connect() as conn:
        row = conn.execute(select(tl.c.id, tl.c.current_version).where(tl.c.name == name)).first()
        if row is None:
            raise NotFound(f"target list {name!r} does not exist; `accord targets list` shows them")
        wanted = version if version is not None else row.current_version
        if not 1 <= wanted <= row.current_version:
            raise NotFound(
                f"target list {name!r} has versions 1 to {row.current_version}, not {wanted}"
            )
        query = (
            select(
                m.c.line,
                m.c.account_id,
                accounts.c.name,
                m.c.tier,
                m.c.given,
                m.c.rule,
                m.c.confidence,
            )
            .outerjoin(accounts, accounts.c.id == m.c.account_id)
            .where(m.c.list_id == row.id, m.c.version == wanted)
            .order_by(m.c.line)
        )
        return wanted, list(conn.execute(query))
