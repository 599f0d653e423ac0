"""`accord match`: link the leads of one CSV to the accounts of another (no workspace)."""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from accord.cli.context import err
from accord.errors import InputError
from accord.graph.match import AccountRecord, LeadRecord, Matcher, MatchResult

ACCOUNT_COLUMNS = ("id", "name", "domain")
LEAD_COLUMNS = ("id", "email", "company")
OUTPUT_COLUMNS = ("lead_id", "account_id", "confidence", "rule", "candidates")
PROGRESS_MIN = 50_000  # show a progress bar from this many leads on
CHUNK = 10_000


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row; InputError on a missing column or bad row."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as e:
        raise InputError(f"{path}: cannot read the file ({e.strerror}); check the path") from e
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lower() for h in next(reader, [])]
            for column in required:
                if column not in header:
                    raise InputError(
                        f"{path} line 1: missing column '{column}'; "
                        f"the file needs at least {', '.join(required)}"
                    )
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise InputError(
                        f"{path} line {reader.line_num}: {len(row)} fields where the header "
                        f"has {len(header)}; fix the row (quote values that contain commas)"
                    )
                yield reader.line_num, dict(zip(header, row, strict=True))
        except csv.Error as e:
            raise InputError(f"{path} line {reader.line_num}: {e}; fix the row") from e
        except UnicodeDecodeError as e:
            raise InputError(
                f"{path} line {reader.line_num + 1}: not UTF-8 text; save the file as UTF-8"
            ) from e


def _required(path: Path, line: int, row: dict[str, str], column: str) -> str:
    value = row[column].strip()
    if not value:
        raise InputError(f"{path} line {line}, column '{column}': empty; every row needs one")
    return value


def read_accounts(path: Path) -> list[AccountRecord]:
    """Accounts from `id,name,domain[,country,parent_id]`; ids must be unique."""
    accounts: list[AccountRecord] = []
    seen: set[str] = set()
    for line, row in _rows(path, ACCOUNT_COLUMNS):
        account_id = _required(path, line, row, "id")
        if account_id in seen:
            raise InputError(f"{path} line {line}, column 'id': '{account_id}' appears twice")
        seen.add(account_id)
        accounts.append(
            AccountRecord(
                id=account_id,
                name=row["name"].strip(),
                domains=(row["domain"],) if row["domain"].strip() else (),
                country=(row.get("country") or "").strip() or None,
                parent_id=(row.get("parent_id") or "").strip() or None,
            )
        )
    return accounts


def read_leads(path: Path) -> list[LeadRecord]:
    """Leads from `id,email,company[,country,website]`, in file order."""
    return [
        LeadRecord(
            id=_required(path, line, row, "id"),
            email=row["email"].strip() or None,
            company=row["company"].strip() or None,
            country=(row.get("country") or "").strip() or None,
            website=(row.get("website") or "").strip() or None,
        )
        for line, row in _rows(path, LEAD_COLUMNS)
    ]


def _row(lead: LeadRecord, result: MatchResult) -> list[str]:
    candidates = "|".join(f"{c.account_id}:{c.score:.4f}" for c in result.candidates)
    return [
        lead.id,
        result.account_id or "",
        f"{result.confidence:.4f}",
        result.rule,
        candidates,
    ]


def _match_all(matcher: Matcher, leads: list[LeadRecord], processes: int) -> list[MatchResult]:
    if len(leads) < PROGRESS_MIN:
        return matcher.match_many(leads, processes=processes)
    results: list[MatchResult] = []
    columns = (TextColumn("matching"), BarColumn(), TaskProgressColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("match", total=len(leads))
        for start in range(0, len(leads), CHUNK * processes):
            part = leads[start : start + CHUNK * processes]
            results.extend(matcher.match_many(part, processes=processes))
            progress.advance(task, len(part))
    return results


def match_command(
    *,
    accounts: Annotated[
        Path, typer.Option("--accounts", help="Accounts CSV: id,name,domain[,country,parent_id].")
    ],
    leads: Annotated[
        Path, typer.Option("--leads", help="Leads CSV: id,email,company[,country,website].")
    ],
    out: Annotated[Path, typer.Option("--out", help="Output CSV, one row per lead.")],
    processes: Annotated[
        int, typer.Option("--processes", min=1, help="Worker processes for big files.")
    ] = min(2, os.cpu_count() or 1),
) -> None:
    """Link each lead to at most one account, with the rule, a confidence and the candidates."""
    matcher = Matcher.build(read_accounts(accounts))
    lead_records = read_leads(leads)
    results = _match_all(matcher, lead_records, processes)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(OUTPUT_COLUMNS)
        writer.writerows(_row(lead, r) for lead, r in zip(lead_records, results, strict=True))
    by_rule = Counter(r.rule for r in results)
    linked = sum(1 for r in results if r.account_id is not None)
    err.print(f"{len(results)} leads, {linked} linked, {len(results) - linked} unlinked → {out}")
    for rule, count in by_rule.most_common():
        err.print(f"  {rule:<28} {count}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the `match` command to the root app."""
    app.command("match")(match_command)
