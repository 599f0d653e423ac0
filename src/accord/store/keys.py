"""API keys: created as URL-safe tokens, stored only as their sha256, verified by hash."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update

from accord.errors import InputError, NotFound
from accord.model.ids import new_id
from accord.store.schema import api_keys

KINDS = ("write",)


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    kind: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


def hash_key(key: str) -> str:
    """The stored form of a key: its sha256 as hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(engine: Engine, kind: str = "write", label: str | None = None) -> tuple[str, str]:
    """Store a new key of `kind`; return (key id, the key itself, shown only this once)."""
    if kind not in KINDS:
        raise InputError(f"--kind: '{kind}' is not a key kind; use one of {', '.join(KINDS)}")
    key = secrets.token_urlsafe(32)
    key_id = new_id("key")
    row = {
        "id": key_id,
        "kind": kind,
        "hash": hash_key(key),
        "label": label,
        "created_at": datetime.now(UTC),
    }
    with engine.begin() as conn:
        conn.execute(api_keys.insert(), row)
    return key_id, key


def list_keys(engine: Engine) -> list[ApiKey]:
    """Every key, oldest first (hashes are not returned)."""
    c = api_keys.c
    query = select(c.id, c.kind, c.label, c.created_at, c.revoked_at)
    with engine.connect() as conn:
        rows = conn.execute(query.order_by(c.created_at, c.id))
        return [ApiKey(*row) for row in rows]


def revoke_key(engine: Engine, key_id: str) -> None:
    """Mark a key revoked; it stops authenticating (servers notice within seconds)."""
    with engine.begin() as conn:
        done = conn.execute(
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        if done.rowcount == 0:
            found = conn.execute(select(api_keys.c.id).where(api_keys.c.id == key_id)).first()
            if found is None:
                raise NotFound(f"key '{key_id}': no such key; `accord keys list` shows them")


def active_key_hashes(engine: Engine, kind: str = "write") -> dict[str, str]:
    """hash -> key id for every unrevoked key of `kind`."""
    query = select(api_keys.c.hash, api_keys.c.id).where(
        api_keys.c.kind == kind, api_keys.c.revoked_at.is_(None)
    )
    with engine.connect() as conn:
        return {str(h): str(key_id) for h, key_id in conn.execute(query)}


def key_id_for_hash(engine: Engine, digest: str, kind: str = "write") -> str | None:
    """The id of the active key of `kind` whose hash is `digest`, or None."""
    query = select(api_keys.c.id).where(
        api_keys.c.hash == digest, api_keys.c.kind == kind, api_keys.c.revoked_at.is_(None)
    )
    with engine.connect() as conn:
        found = conn.execute(query).scalar_one_or_none()
    return str(found) if found is not None else None


def verify_key(engine: Engine, key: str, kind: str = "write") -> str | None:
    """The id of the active key `key`, or None."""
    return key_id_for_hash(engine, hash_key(key), kind)
