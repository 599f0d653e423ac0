"""Write-key authentication as Segment accepts it: HTTP Basic user name, or `writeKey` in the body.

Keys are verified by their sha256 against a cached copy of the active key hashes, refreshed
every few seconds (so a revoked key stops working within that time); an unknown key is looked
up once in the database (a key created a moment ago works at once), then refused for a second.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import time

from sqlalchemy import Engine

from accord.errors import AuthError
from accord.store.keys import active_key_hashes, key_id_for_hash

REFRESH_SECONDS = 5.0
REFUSED_SECONDS = 1.0  # an unknown key is looked up again after this


@functools.lru_cache(maxsize=4096)
def basic_user(header: str | None) -> str | None:
    """The user name of an HTTP Basic `Authorization` header (the write key), if any."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None


class WriteKeys:
    """Verifies write keys against cached hashes; the answer is the key's id (the source)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._hashes: dict[str, str] = {}
        self._seen: dict[str, str] = {}
        self._refused: dict[str, float] = {}
        self._loaded = 0.0

    def refresh(self) -> None:
        """Reload the active key hashes from the database."""
        self._hashes = active_key_hashes(self.engine, "write")
        self._seen = {}
        self._loaded = time.monotonic()

    def source_of(self, key: str | None) -> str:
        """The id of the active write key `key`; AuthError when missing or unknown."""
        if not key:
            raise AuthError(
                "writeKey: missing; send the write key as the HTTP Basic user name "
                "or as writeKey in the body"
            )
        if time.monotonic() - self._loaded > REFRESH_SECONDS:
            self.refresh()
        found = self._seen.get(key)
        if found is not None:
            return found
        digest = hashlib.sha256(key.encode()).hexdigest()
        found = self._hashes.get(digest)
        if found is None and self._refused.get(digest, 0.0) < time.monotonic():
            found = key_id_for_hash(self.engine, digest, "write")  # a key created just now
            if found is None:
                if len(self._refused) > 10_000:
                    self._refused.clear()
                self._refused[digest] = time.monotonic() + REFUSED_SECONDS
        if found is None:
            raise AuthError("writeKey: not a valid write key; create one with `accord keys create`")
        self._hashes[digest] = found
        self._seen[key] = found
        return found
