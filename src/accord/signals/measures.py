"""One compiled definition: measure, window, threshold and firing, read by the batch engine
and by the incremental engine's generated per-route code (`routes`).

The window of an event at time t is (t - window, t]; a baseline or previous window is
(t - window - baseline, t - window]. Both engines share these definitions (see batch_np).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from accord.signals.filters import (
    Dims,
    as_list,
    as_text,
    name_matcher,
    needs_dims,
    needs_properties,
    prop_getter,
)
from accord.signals.signal import Signal, SignalKind, make_signal, signal_kind, to_us
from accord.signals.specs import (
    BaselineCondition,
    ChangeCondition,
    CountCondition,
    FirstSeenCondition,
    LoadedSignal,
    SignalSpec,
    StateChangeCondition,
    SumCondition,
)
from accord.signals.windows import AccountState
from accord.yamlspec import format_duration

US_PER_S = 1_000_000


def _us(td: Any) -> int:
    return int(td.total_seconds()) * US_PER_S


def measure_mode(spec: SignalSpec) -> str:
    """count | distinct | new_contact | sum | baseline | change | first_seen | state_change."""
    w = spec.when
    if isinstance(w, CountCondition):
        modes = {"event": "count", "contact": "distinct", "property": "distinct"}
        return modes.get(w.distinct, "new_contact")
    return {
        SumCondition: "sum",
        BaselineCondition: "baseline",
        ChangeCondition: "change",
        FirstSeenCondition: "first_seen",
        StateChangeCondition: "state_change",
    }[type(w)]


def baseline_factor(w: BaselineCondition | ChangeCondition) -> float:
    """Scale from the baseline total to one window's worth (e.g. 7d / 56d)."""
    base = w.baseline if isinstance(w, BaselineCondition) else w.window
    return w.window.total_seconds() / base.total_seconds()


def key_getter(key: str) -> Callable[[Mapping[str, Any], Mapping[str, Any], Dims], str | None]:
    """The first_seen key of an event, as text."""
    if key == "contact":
        return lambda r, p, d: r.get("contact_id") or None
    if key == "name":
        return lambda r, p, d: r.get("name")
    if key == "contact.seniority":
        return lambda r, p, d: d[0]
    if key == "contact.department":
        return lambda r, p, d: d[1]
    get = prop_getter(key.removeprefix("properties."))
    return lambda r, p, d: as_text(get(p))


@dataclass(eq=False)
class Compiled:
    """A definition ready for evaluation: its measure's parameters and its window state."""

    idx: int
    loaded: LoadedSignal
    mode: str
    kinds: list[str] | None
    needs_dims: bool
    name_ok: Callable[[Any], bool] = field(default=lambda v: True, repr=False)
    needs_props: bool = False
    window_us: int = 0
    older_us: int = 0
    value_path: str | None = None
    fingerprint: str = ""
    cooldown_us: int = 0
    keep: int = 10
    key_from: int = 3  # first_seen key: 0 contact, 1 seniority, 2 department, 3 `key_of`
    key_of: Callable[..., str | None] | None = None
    distinct_path: str | None = None
    allowed: frozenset[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    at_least: float = 0.0
    pos: int = 0  # position among the engine's event-driven definitions
    slot: int = 0  # first slot of its state in an account's slots (`layout`)
    kind: SignalKind | None = field(default=None, repr=False)  # read on the first firing

    @property
    def spec(self) -> SignalSpec:
        return self.loaded.spec

    def signal(
        self, account: str, t: int, row: Mapping[str, Any], evidence: dict[str, Any]
    ) -> Signal:
        """The signal of a crossing at time `t` with its evidence."""
        received = row.get("received_at")
        if self.kind is None:
            self.kind = signal_kind(self.loaded)
        return make_signal(
            self.kind,
            account_id=account,
            key=row["message_id"],
            observed_us=t,
            received_us=to_us(received) if received is not None else None,
            evidence=evidence,
        )


def window_value(c: Compiled, st: AccountState) -> float:
    """The measured value of a count, distinct, new-contact or sum window."""
    if c.mode == "distinct":
        return float(len(st.counts))  # type: ignore[arg-type]
    if c.mode == "sum":
        return st.rsum
    return float(len(st.recent))


def window_evidence(c: Compiled, st: AccountState) -> dict[str, Any]:
    """The evidence of a crossing, read from the state the crossing event left."""
    x = c.extra
    if c.mode in ("baseline", "change"):
        recent, older = st.rsum, st.osum
        if c.mode == "baseline":
            ratio = recent / max(older * x["factor"], x["min_baseline"])
            ev = {"recent": recent, "baseline": older, "ratio": ratio, "threshold": x["at_least"]}
        else:
            ev = {"recent": recent, "previous": older, "change": (recent - older) / older}
            ev["threshold"] = x["at_least"] if x["at_least"] is not None else x["at_most"]
        return {**ev, **x["ev"], "events": st.latest(c.keep)}
    return {
        "value": window_value(c, st),
        "threshold": x["at_least"],
        **x["ev"],
        "events": st.latest(c.keep),
    }


def compile_spec(idx: int, loaded: LoadedSignal) -> Compiled:
    """Compile one event-driven definition for the incremental engine."""
    spec = loaded.spec
    w = spec.when
    f = w.event  # type: ignore[union-attr]
    c = Compiled(
        idx=idx,
        loaded=loaded,
        mode=measure_mode(spec),
        kinds=as_list(f.kind) or None,
        name_ok=name_matcher(f),
        needs_dims=needs_dims(f) or getattr(w, "key", "").startswith("contact."),
        fingerprint=spec.fingerprint(),
        cooldown_us=_us(spec.cooldown),
        keep=spec.evidence.keep_events,
    )
    _fill(c, w)
    c.needs_props = (
        needs_properties(f)
        or c.value_path is not None
        or c.distinct_path is not None
        or getattr(w, "key", "").startswith("properties.")
    )
    return c


def _fill(c: Compiled, w: Any) -> None:
    if isinstance(w, CountCondition | SumCondition):
        c.window_us = _us(w.window)
        c.value_path = w.property if isinstance(w, SumCondition) else None
        if isinstance(w, CountCondition) and w.distinct == "property":
            c.distinct_path = w.property
        c.at_least = float(w.at_least)
        c.extra = {"at_least": w.at_least, "ev": {"window": format_duration(w.window)}}
    elif isinstance(w, BaselineCondition | ChangeCondition):
        c.window_us = _us(w.window)
        c.older_us = _us(w.baseline if isinstance(w, BaselineCondition) else w.window)
        c.value_path = w.property
        c.extra = {"factor": baseline_factor(w), "ev": {"window": format_duration(w.window)}}
        c.extra.update(
            w.model_dump(
                include={"at_least", "at_most", "min_count", "min_baseline", "min_previous"}
            )
        )
    elif isinstance(w, FirstSeenCondition):
        c.key_of = key_getter(w.key)
        c.key_from = {"contact": 0, "contact.seniority": 1, "contact.department": 2}.get(w.key, 3)
        c.allowed = frozenset(filter(None, map(as_text, w.values))) if w.values else None
    elif isinstance(w, StateChangeCondition):
        c.value_path = w.property
        c.allowed = frozenset(filter(None, map(as_text, w.to))) if w.to else None
        c.extra = {"fire_on_first": w.fire_on_first}
