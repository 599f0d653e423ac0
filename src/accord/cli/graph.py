"""`accord graph ...`: resolve people to accounts, review, link by hand, merge and explain."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from accord.cli.context import err, workspace
from accord.errors import InputError
from accord.graph.merge import audit_history, link_subject, merge_accounts, unlink_subject, unmerge
from accord.graph.resolve import current_link, resolve_all
from accord.graph.review import account_names, decide, list_open, subject_type_checked

app = typer.Typer(
    help="Identity resolution: links of contacts and leads to accounts.", no_args_is_help=True
)
out = Console(highlight=False, soft_wrap=True)

Actor = Annotated[
    str,
    typer.Option(
        "--actor", envvar="USER", help="Who makes the change (default: $USER, else `cli`)."
    ),
]
Reason = Annotated[str | None, typer.Option("--reason", help="Why, for the audit trail.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
SubjectType = Annotated[str, typer.Argument(help="contact or lead.")]
SubjectId = Annotated[str, typer.Argument(help="The contact's or lead's id.")]


def _json(value: Any) -> None:
    typer.echo(json.dumps(value, default=str, indent=2, sort_keys=True))


@app.command("resolve")
def resolve_cmd(
    ctx: typer.Context,
    *,
    full: Annotated[bool, typer.Option("--full", help="Re-evaluate every link.")] = False,
    as_json: AsJson = False,
) -> None:
    """Link new and stale contacts and leads to accounts (all of them with --full)."""
    report = resolve_all(workspace(ctx).engine, full=full)
    if as_json:
        _json(dataclasses.asdict(report))
        return
    table = Table("rule", "links", title="links by rule")
    for rule, n in report.by_rule.items():
        table.add_row(rule, str(n))
    out.print(table)
    err.print(
        f"{report.evaluated} evaluated, {report.changed} links changed; "
        f"{report.crm_links} CRM links, {report.resolved} resolved, {report.unresolved} "
        f"unresolved; review queue: {report.ambiguous} ambiguous, "
        f"{report.disagreements} CRM disagreements"
    )


def _candidates_text(candidates: list[dict[str, Any]], names: dict[str, str]) -> str:
    return "\n".join(
        f"{c['account_id']} {names.get(c['account_id'], '?')} ({c['score']:.2f}, {c['reason']})"
        for c in candidates
    )


def _details_text(details: dict[str, Any]) -> str:
    """The audit details worth reading in a table: scalars, non-zero counts, the previous link."""
    parts = []
    for key, value in details.items():
        if isinstance(value, dict):
            shown = ", ".join(f"{k}={v}" for k, v in value.items() if v)
            parts.append(f"{key}: {shown or '-'}")
        elif not isinstance(value, list) and value is not None:
            parts.append(f"{key}={value}")
    return "\n".join(parts)


@app.command("review")
def review_cmd(
    ctx: typer.Context,
    *,
    limit: Annotated[int | None, typer.Option(help="Show at most this many items.")] = None,
    as_json: AsJson = False,
) -> None:
    """List open review items with their candidate accounts."""
    engine = workspace(ctx).engine
    items = list_open(engine, limit=limit)
    names = account_names(engine, (c["account_id"] for i in items for c in i.candidates))
    if as_json:
        rows = [dataclasses.asdict(i) for i in items]
        for row in rows:
            for c in row["candidates"]:
                c["name"] = names.get(c["account_id"])
        _json(rows)
        return
    table = Table("subject", "reason", "candidates")
    table.add_column("item", no_wrap=True, min_width=30)
    for i in items:
        subject = f"{i.subject_type} {i.subject_id}"
        table.add_row(subject, i.reason, _candidates_text(i.candidates, names), i.id)
    out.print(table)
    err.print(f"{len(items)} open review items")


@app.command("decide")
def decide_cmd(
    ctx: typer.Context,
    item_id: Annotated[str, typer.Argument(help="The review item's id.")],
    *,
    account: Annotated[str | None, typer.Option(help="Link the subject to this account.")] = None,
    none: Annotated[bool, typer.Option("--none", help="Link the subject to no account.")] = False,
    actor: Actor = "cli",
) -> None:
    """Decide a review item; the decision sticks across later resolution runs."""
    if (account is None) == (not none):
        raise InputError("decide: give exactly one of --account ID or --none")
    item = decide(workspace(ctx).engine, item_id, account, actor=actor)
    err.print(f"{item.subject_type} {item.subject_id} linked to {account or 'no account'}")


@app.command("link")
def link_cmd(
    ctx: typer.Context,
    subject_type: SubjectType,
    subject_id: SubjectId,
    account_id: Annotated[str, typer.Argument(help="The account to link to.")],
    *,
    actor: Actor = "cli",
    reason: Reason = None,
) -> None:
    """Link a contact or lead to an account by hand; resolution keeps it."""
    subject_type_checked(subject_type)
    link_subject(
        workspace(ctx).engine, subject_type, subject_id, account_id, actor=actor, reason=reason
    )
    err.print(f"{subject_type} {subject_id} linked to {account_id}")


@app.command("unlink")
def unlink_cmd(
    ctx: typer.Context,
    subject_type: SubjectType,
    subject_id: SubjectId,
    *,
    actor: Actor = "cli",
    reason: Reason = None,
) -> None:
    """Leave a contact or lead linked to no account; resolution keeps it unlinked."""
    subject_type_checked(subject_type)
    unlink_subject(workspace(ctx).engine, subject_type, subject_id, actor=actor, reason=reason)
    err.print(f"{subject_type} {subject_id} linked to no account")


@app.command("merge")
def merge_cmd(
    ctx: typer.Context,
    keep_id: Annotated[str, typer.Argument(help="The account to keep.")],
    dup_id: Annotated[str, typer.Argument(help="The duplicate, folded into KEEP_ID.")],
    *,
    actor: Actor = "cli",
    reason: Reason = None,
) -> None:
    """Merge duplicate account DUP_ID into KEEP_ID; prints the merge id (for unmerge)."""
    result = merge_accounts(workspace(ctx).engine, keep_id, dup_id, actor=actor, reason=reason)
    moved = ", ".join(f"{n} {k}" for k, n in result.counts.items() if n)
    err.print(f"merged {dup_id} into {keep_id}: moved {moved or 'nothing'}")
    typer.echo(result.id)


@app.command("unmerge")
def unmerge_cmd(
    ctx: typer.Context,
    merge_id: Annotated[str, typer.Argument(help="The id `accord graph merge` printed.")],
    *,
    actor: Actor = "cli",
    reason: Reason = None,
) -> None:
    """Undo a merge: every moved row goes back to the duplicate account."""
    result = unmerge(workspace(ctx).engine, merge_id, actor=actor, reason=reason)
    err.print(f"restored {result.merged_id} (split from {result.kept_id})")


@app.command("explain")
def explain_cmd(
    ctx: typer.Context,
    subject_type: Annotated[str, typer.Argument(help="contact, lead or account.")],
    subject_id: Annotated[str, typer.Argument(help="The subject's id.")],
    *,
    as_json: AsJson = False,
) -> None:
    """Show a link: its account, rule, confidence, candidates and audit history."""
    engine = workspace(ctx).engine
    if subject_type != "account":
        subject_type_checked(subject_type)
    link = current_link(engine, subject_type, subject_id) if subject_type != "account" else None
    history = [dict(r._mapping) for r in audit_history(engine, subject_type, subject_id)]
    if as_json:
        _json({"link": dataclasses.asdict(link) if link else None, "history": history})
        return
    if link is not None:
        names = account_names(
            engine, [c["account_id"] for c in link.candidates] + [link.account_id or ""]
        )
        out.print(f"account:     {link.account_id or '-'} {names.get(link.account_id or '', '')}")
        out.print(f"rule:        {link.rule} (origin {link.origin})")
        out.print(f"confidence:  {link.confidence:.3f}")
        out.print(f"candidates:  {_candidates_text(link.candidates, names) or '-'}")
    elif subject_type != "account":
        err.print(f"{subject_type} {subject_id} has no link yet; run `accord graph resolve`")
    table = Table("at", "actor", "action", "account", title="history")
    table.add_column("details", overflow="fold")
    for h in history:
        table.add_row(
            str(h["at"]),
            h["actor"],
            h["action"],
            h["account_id"] or "-",
            _details_text(h["details"]),
        )
    out.print(table)
