"""A fired signal: account, type, times, strength, evidence, freshness and its definition."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from accord.signals.specs import LoadedSignal

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)


def to_us(value: datetime | str | int | float) -> int:
    """Microseconds since the epoch (UTC); naive datetimes and strings are taken as UTC."""
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return round(value * 1_000_000)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // US


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def signal_id(dedupe_key: str) -> str:
    """The same id for the same dedupe key, so batch and incremental runs agree on ids:
    "sig_" and the first 26 hex digits of the key's MD5, which the batch computes in DuckDB
    (`batch_table.ID_SQL`). An id, not a secret; (account, dedupe key) is what keeps a
    signal from being stored twice, so ids made by another scheme stay valid."""
    return "sig_" + hashlib.md5(dedupe_key.encode(), usedforsecurity=False).hexdigest()[:26]


def clean_number(x: Any) -> Any:
    """Ints stay ints, whole floats become ints, other floats keep 6 decimals."""
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    f = float(x)
    return int(f) if f.is_integer() else round(f, 6)


@dataclass(slots=True)
class Signal:
    """One firing. `observed_at` is when the activity happened; `fired_at` when it was known.

    Treat it as a value: nothing changes a signal once built (not frozen only because a
    frozen dataclass is built several times slower, and the engine builds one per firing).
    """

    id: str
    account_id: str
    type: str
    fired_at: datetime
    observed_at: datetime
    strength: float
    evidence: dict[str, Any] = field(compare=True)
    dedupe_key: str
    cooldown_until: datetime | None
    source_lag_s: float
    half_life_s: float
    source: str

    def age(self, now: datetime) -> timedelta:
        return now - self.observed_at

    def decayed_strength(self, now: datetime) -> float:
        """strength x 0.5 ^ (age / half-life); full strength while the half-life is zero."""
        if self.half_life_s <= 0:
            return self.strength
        age_s = max(0.0, self.age(now).total_seconds())
        return float(self.strength * 0.5 ** (age_s / self.half_life_s))

    def is_fresh(self, now: datetime, within: timedelta) -> bool:
        """True when the activity behind the signal happened no longer than `within` ago."""
        return self.age(now) <= within

    def key(self) -> tuple[str, str, str]:
        """What must agree between batch and incremental evaluation."""
        return (self.type, self.account_id, self.dedupe_key)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "account_id": self.account_id,
            "type": self.type,
            "fired_at": self.fired_at.isoformat(),
            "observed_at": self.observed_at.isoformat(),
            "strength": self.strength,
            "evidence": self.evidence,
            "dedupe_key": self.dedupe_key,
            "cooldown_until": self.cooldown_until.isoformat() if self.cooldown_until else None,
            "source_lag_s": self.source_lag_s,
            "half_life_s": self.half_life_s,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class SignalKind:
    """What every firing of one definition shares (read once from the definition)."""

    type: str
    strength: float
    cooldown: timedelta | None
    source_lag_s: float
    half_life_s: float
    source: str


def signal_kind(loaded: LoadedSignal) -> SignalKind:
    spec = loaded.spec
    return SignalKind(
        type=spec.id,
        strength=spec.strength,
        cooldown=spec.cooldown or None,
        source_lag_s=spec.freshness.source_lag.total_seconds(),
        half_life_s=spec.freshness.half_life.total_seconds(),
        source=loaded.source,
    )


def make_signal(
    kind: SignalKind,
    *,
    account_id: str,
    key: str,
    observed_us: int,
    received_us: int | None,
    evidence: dict[str, Any],
) -> Signal:
    """The one constructor every evaluator uses, so their signals compare equal.

    `kind` is what every firing of the definition shares (`signal_kind`); `key` tells one
    crossing of the definition at the account from another (the message id of the event that
    crossed, or the state that changed).
    """
    dedupe_key = f"{kind.type}:{account_id}:{key}"
    observed = EPOCH + timedelta(0, 0, observed_us)  # positional: faster than keywords
    if not received_us or received_us <= observed_us:
        fired, lag_s = observed, kind.source_lag_s
    else:
        fired = EPOCH + timedelta(0, 0, received_us)
        lag_s = max(kind.source_lag_s, (received_us - observed_us) / 1_000_000)
    return Signal(  # fields in order (positional: faster than keywords)
        signal_id(dedupe_key),
        account_id,
        kind.type,
        fired,
        observed,
        kind.strength,
        {k: v if type(v) in _KEPT else _clean(v) for k, v in evidence.items()},
        dedupe_key,
        observed + kind.cooldown if kind.cooldown else None,
        lag_s,
        kind.half_life_s,
        kind.source,
    )


# evidence values kept as they are, by type (others go through `_clean`)
_KEPT = frozenset({list, dict, str, type(None)})


def _clean(v: Any) -> Any:
    return v if isinstance(v, list | dict) else clean_number(v)
