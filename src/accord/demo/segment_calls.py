"""Segment-format calls (track, page, identify, group) as the demo emits them."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from accord.demo.model import Account, Contact

VENDOR_SITE = "https://www.lumenstack.example"

# Every event name the demo emits: (Accord event kind, team that caused it).
CATALOGUE: dict[str, tuple[str, str]] = {
    "Signed In": ("usage", "product"),
    "Dashboard Viewed": ("usage", "product"),
    "Report Created": ("usage", "product"),
    "Integration Connected": ("usage", "product"),
    "Invite Sent": ("usage", "product"),
    "Trial Started": ("usage", "product"),
    "Account Created": ("usage", "product"),
    "Account Deleted": ("usage", "product"),
    "Review Site Activity": ("intent", "marketing"),
    "Ad Impression": ("ad", "marketing"),
    "Ad Clicked": ("ad", "marketing"),
    "Ticket Created": ("cs", "cs"),
    "Ticket Solved": ("cs", "cs"),
    "Email Sent": ("email", "sales"),
    "Meeting Held": ("meeting", "sales"),
    "Call Logged": ("sales_activity", "sales"),
}

PAGES: tuple[tuple[str, str, int], ...] = (
    ("/", "Home", 20),
    ("/product", "Product", 10),
    ("/features/routing", "Lead routing", 5),
    ("/features/signals", "Account signals", 5),
    ("/customers", "Customers", 4),
    ("/blog/what-is-abx", "What is ABX?", 8),
    ("/blog/lead-to-account-matching", "Lead-to-account matching", 6),
    ("/docs/getting-started", "Getting started", 6),
)
HIGH_INTENT_PAGES: tuple[tuple[str, str, int], ...] = (
    ("/pricing", "Pricing", 6),
    ("/demo", "Book a demo", 3),
    ("/compare/6sense", "Lumenstack vs 6sense", 2),
    ("/compare/demandbase", "Lumenstack vs Demandbase", 2),
    ("/security", "Security & compliance", 1),
)
REFERRERS = ("https://www.google.com/", "https://www.linkedin.com/", "", "", "https://www.g2.com/")


def timestamp(epoch: float) -> str:
    """ISO 8601 in UTC with milliseconds, as Segment writes it: 2026-03-01T10:04:05.123Z."""
    day, ms = divmod(round(epoch * 1000), 86_400_000)
    prefix = _DAYS.get(day)
    if prefix is None:
        prefix = _DAYS[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%dT")
    seconds, ms = divmod(ms, 1000)
    minutes, s = divmod(seconds, 60)
    return f"{prefix}{minutes // 60:02d}:{minutes % 60:02d}:{s:02d}.{ms:03d}Z"


_DAYS: dict[int, str] = {}


def message_id(rng: random.Random) -> str:
    """A random (version 4) UUID drawn from the seeded generator."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def who(contact: Contact | None, anonymous_id: str) -> dict[str, str]:
    """The identity fields of a call: a known user, else an anonymous visitor."""
    return {"userId": contact.user_id} if contact else {"anonymousId": anonymous_id}


def track(
    rng: random.Random,
    epoch: float,
    event: str,
    ident: dict[str, str],
    group_id: str | None,
    properties: dict[str, Any],
) -> dict[str, Any]:
    call: dict[str, Any] = {"type": "track", "event": event, "messageId": message_id(rng)}
    call["timestamp"] = timestamp(epoch)
    call.update(ident)
    if group_id:
        call["context"] = {"groupId": group_id}
    call["properties"] = properties
    return call


def page(
    rng: random.Random,
    epoch: float,
    ident: dict[str, str],
    group_id: str | None,
    ip: str,
    path_title: tuple[str, str],
) -> dict[str, Any]:
    path, title = path_title
    url = VENDOR_SITE + path
    referrer = rng.choice(REFERRERS)
    context: dict[str, Any] = {"ip": ip, "page": {"path": path, "url": url, "title": title}}
    if group_id:
        context["groupId"] = group_id
    call: dict[str, Any] = {"type": "page", "name": title, "messageId": message_id(rng)}
    call["timestamp"] = timestamp(epoch)
    call.update(ident)
    call["context"] = context
    call["properties"] = {"path": path, "url": url, "title": title, "referrer": referrer}
    return call


def identify(rng: random.Random, epoch: float, contact: Contact, company: str) -> dict[str, Any]:
    traits = {
        "email": contact.email,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "title": contact.title,
        "company": {"name": company},
    }
    return {
        "type": "identify",
        "messageId": message_id(rng),
        "timestamp": timestamp(epoch),
        "userId": contact.user_id,
        "traits": traits,
    }


def group(
    rng: random.Random, epoch: float, ident: dict[str, str], account: Account
) -> dict[str, Any]:
    traits: dict[str, Any] = {
        "name": account.name,
        "website": account.domain,
        "industry": account.industry,
        "employees": account.employees,
    }
    if account.customer_since is not None:
        traits["plan"] = "enterprise" if account.employees > 1000 else "business"
    call: dict[str, Any] = {"type": "group", "messageId": message_id(rng)}
    call["timestamp"] = timestamp(epoch)
    call.update(ident)
    call["groupId"] = account.group_id
    call["traits"] = traits
    return call
