"""Stable opaque ids: a prefix and a ULID, or a digest of a source key for imported records."""

from __future__ import annotations

import base64
import hashlib

from ulid import ULID

PREFIXES = {
    "account": "acc",
    "contact": "con",
    "lead": "lea",
    "opportunity": "opp",
    "campaign": "cmp",
    "case": "cas",
    "event": "evt",
    "audit": "aud",
    "review": "rev",
    "merge": "mrg",
    "target_list": "tgl",
    "key": "key",
    "import_run": "imp",
}


def new_id(kind: str) -> str:
    """A fresh time-ordered id, e.g. `acc_01J...`."""
    return f"{PREFIXES[kind]}_{ULID()}"


def stable_id(kind: str, *key: str) -> str:
    """The same id for the same source key, so two imports of one file agree on every id."""
    digest = hashlib.sha256("\x1f".join(key).encode()).digest()[:16]
    return f"{PREFIXES[kind]}_{base64.b32encode(digest).decode().rstrip('=')[:26]}"
