"""A realistic Segment-format JSONL file for the bulk-load benchmark, and its seeded graph.

Per account: contacts that `identify` (traits with e-mail and company), a `group` call with
the company's name and website, then page views and product/sales tracks carrying
`context.groupId`, plus anonymous page views. Accounts and contacts are seeded in the store
so that stitching has e-mails and company traits to resolve.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import orjson
from sqlalchemy import Engine

from accord.store.schema import account_domains, accounts, contacts

PAGES = (
    ("Pricing", "/pricing"), ("Product", "/product"), ("Home", "/"),
    ("Request a demo", "/demo"), ("What is ABX?", "/blog/what-is-abx"),
    ("Getting started", "/docs/getting-started"), ("Lead routing", "/features/routing"),
)  # fmt: skip
TRACKS = (
    ("Signed In", {"method": "sso"}), ("Dashboard Viewed", {"dashboard": "pipeline"}),
    ("Report Created", {"rows": 42, "format": "table"}),
    ("Ad Impression", {"campaign": "abx-q3", "network": "linkedin"}),
    ("Email Sent", {"owner_id": "005A70000CaYy03IQC", "channel": "outreach"}),
)  # fmt: skip


SEED_BLOCK = 5_000  # accounts per insert


def _domain(a: int) -> str:
    return f"company{a}.example"


def seed_graph(engine: Engine, n_accounts: int, per_account: int = 5) -> None:
    """Accounts `acc_{a}` on `company{a}.example` with `per_account` contacts each, inserted
    a block at a time (the seeding should not leave its rows' memory in the measured
    process)."""
    now = datetime.now(UTC)
    base = {"source": "bench", "created_at": now, "updated_at": now}
    with engine.begin() as conn:
        for first in range(0, n_accounts, SEED_BLOCK):
            block = range(first, min(first + SEED_BLOCK, n_accounts))
            rows = [
                {"id": f"acc_{a}", "name": f"Company {a} Ltd", "domain": _domain(a),
                 "domains": [_domain(a)], **base}
                for a in block
            ]  # fmt: skip
            doms = [{"account_id": f"acc_{a}", "domain": _domain(a), "is_primary": True}
                    for a in block]  # fmt: skip
            people = [
                {"id": f"con_{a}_{c}", "account_id": f"acc_{a}", "email": f"p{c}@{_domain(a)}",
                 **base}
                for a in block
                for c in range(per_account)
            ]  # fmt: skip
            conn.execute(accounts.insert(), rows)
            conn.execute(account_domains.insert(), doms)
            conn.execute(contacts.insert(), people)


def _stamp(i: int, n: int) -> str:
    second = 31_536_000 * i // max(n, 1)
    day, rest = divmod(second, 86_400)
    month, mday = 1 + day // 31 % 12, 1 + day % 28
    clock = f"{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}.{i % 1000:03d}"
    return f"2025-{month:02d}-{mday:02d}T{clock}Z"


def _call(rng: random.Random, i: int, n: int, n_accounts: int, per_account: int) -> bytes:
    a, c = rng.randrange(n_accounts), rng.randrange(per_account + 2)
    call: dict[str, object] = {"messageId": f"m{i:09d}", "timestamp": _stamp(i, n)}
    group = f"ws_{a}"
    if c >= per_account:  # an anonymous visitor
        call["anonymousId"] = f"anon-{a}-{c}-{i % 7}"
    else:
        call["userId"] = f"u_{a}_{c}"
    roll = rng.random()
    if roll < 0.04 and "userId" in call:
        traits = {"email": f"p{c}@{_domain(a)}", "firstName": "Pat", "title": "VP Sales",
                  "company": {"name": f"Company {a} Ltd"}}  # fmt: skip
        call.update(type="identify", traits=traits)
    elif roll < 0.07:
        traits = {"name": f"Company {a} Ltd", "website": _domain(a), "employees": 200 + a % 900,
                  "industry": "Software", "plan": "business"}  # fmt: skip
        call.update(type="group", groupId=group, traits=traits)
    elif roll < 0.5:
        name, path = PAGES[rng.randrange(len(PAGES))]
        url = f"https://www.example.com{path}"
        page = {"path": path, "url": url, "title": name}
        context = {"ip": f"20.0.{a % 250}.{c}", "page": page, "userAgent": "Mozilla/5.0"}
        if "userId" in call:
            context["groupId"] = group
        props = {**page, "referrer": "https://www.linkedin.com/"}
        call.update(type="page", name=name, context=context, properties=props)
    else:
        event, props = TRACKS[rng.randrange(len(TRACKS))]
        call.update(type="track", event=event, context={"groupId": group}, properties=props)
    return orjson.dumps(call)


def write_events(path: Path, n: int, n_accounts: int, per_account: int = 5, seed: int = 7) -> int:
    """Write `n` calls to `path`; return its size in bytes."""
    rng = random.Random(seed)
    with path.open("wb") as fh:
        block: list[bytes] = []
        for i in range(n):
            block.append(_call(rng, i, n, n_accounts, per_account))
            if len(block) == 10_000:
                fh.write(b"\n".join(block) + b"\n")
                block = []
        if block:
            fh.write(b"\n".join(block) + b"\n")
    return path.stat().st_size
