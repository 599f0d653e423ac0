"""One compiled definition for the incremental engine: filter, measure step and firing.

The window of an event at time t is (t - window, t]; a baseline or previous window is
(t - window - baseline, t - window]. Both engines share these definitions (see batch_np).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from accord.signals.filters import (
    Dims,
    Predicate,
    as_list,
    as_number,
    as_text,
    compile_python,
    name_matcher,
    needs_dims,
    needs_properties,
    prop_getter,
)
from accord.signals.signal import Signal, build_signal, to_us
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
    """A definition ready for the per-event path, with its per-account state and dirty set."""

    idx: int
    loaded: LoadedSignal
    mode: str
    kinds: list[str] | None
    pred: Predicate | None
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
    value_of: Callable[[Mapping[str, Any]], Any] | None = field(default=None, repr=False)
    distinct_of: Callable[[Mapping[str, Any]], Any] | None = field(default=None, repr=False)
    fn: Callable[..., Any] = field(default=lambda *a: None, repr=False)
    pos: int = 0  # position among the engine's event-driven definitions

    @property
    def spec(self) -> SignalSpec:
        return self.loaded.spec

    def new_state(self) -> AccountState:
        st = AccountState()
        if self.mode == "distinct":
            st.counts = {}
        elif self.mode in ("new_contact", "first_seen"):
            st.seen = set()
        elif self.mode == "state_change":
            st.last = {}
        return st

    def step(
        self, st: AccountState, account: str, t: int, row: Mapping[str, Any],
        props: Mapping[str, Any], dims: Dims,
    ) -> Signal | None:  # fmt: skip
        """Add one matching event; return the signal when the threshold is crossed outside
        the cooldown (evidence is built only then)."""
        evidence = self.fn(self, st, t, row, props, dims, row.get("contact_id") or None)
        if evidence is None:
            return None
        return self.fire(st, account, t, row, evidence)

    def fire(
        self, st: AccountState, account: str, t: int, row: Mapping[str, Any],
        evidence: dict[str, Any] | bool,
    ) -> Signal:  # fmt: skip
        """The signal of a crossing; starts the cooldown."""
        if self.cooldown_us:
            st.cool = t + self.cooldown_us
        if evidence is True:
            evidence = window_evidence(self, st)
        received = row.get("received_at")
        return build_signal(
            self.loaded,
            account_id=account,
            key=row["message_id"],
            observed_us=t,
            received_us=to_us(received) if received is not None else None,
            evidence=evidence,  # type: ignore[arg-type]
        )


def _value(c: Compiled, props: Mapping[str, Any]) -> float:
    if c.value_of is None:
        return 1.0
    n = as_number(c.value_of(props))
    return 0.0 if n is None else n


def _cooling(st: AccountState, t: int) -> bool:
    return st.cool is not None and t < st.cool


# Step functions add one matching event to the state and return None (no crossing, or a
# crossing inside the cooldown), True (a crossing whose evidence `window_evidence` reads
# from the state) or the evidence itself when the state no longer holds it.


def _step_count(
    c: Compiled, st: AccountState, t: int, row: Any, props: Any, dims: Dims, contact: Any
) -> Any:
    rec = st.recent
    if rec and rec[0][0] <= t - c.window_us:
        st.evict(t - c.window_us)
    rec.append((t, row["message_id"], contact, 1.0))
    st.rsum += 1.0
    if len(rec) < c.at_least or (st.cool is not None and t < st.cool):
        return None
    return True


def _step_distinct(
    c: Compiled, st: AccountState, t: int, row: Any, props: Any, dims: Dims, contact: Any
) -> Any:
    rec = st.recent
    if rec and rec[0][0] <= t - c.window_us:
        st.evict(t - c.window_us)
    if c.distinct_of is not None:
        contact = as_text(c.distinct_of(props))
    counts: dict[str, int] = st.counts  # type: ignore[assignment]
    if contact is not None:
        rec.append((t, row["message_id"], contact, 0.0))
        counts[contact] = counts.get(contact, 0) + 1
    if len(counts) < c.at_least or (st.cool is not None and t < st.cool):
        return None
    return True


def _step_new(
    c: Compiled, st: AccountState, t: int, row: Any, props: Any, dims: Dims, contact: Any
) -> Any:
    rec = st.recent
    if rec and rec[0][0] <= t - c.window_us:
        st.evict(t - c.window_us)
    if c.distinct_of is not None:
        contact = as_text(c.distinct_of(props))
    seen: set[str] = st.seen  # type: ignore[assignment]
    if contact is not None and contact not in seen:
        seen.add(contact)
        rec.append((t, row["message_id"], contact, 0.0))
    if len(rec) < c.at_least or (st.cool is not None and t < st.cool):
        return None
    return True


def _step_sum(
    c: Compiled, st: AccountState, t: int, row: Any, props: Any, dims: Dims, contact: Any
) -> Any:
    if st.recent and st.recent[0][0] <= t - c.window_us:
        st.evict(t - c.window_us)
    st.add((t, row["message_id"], contact, _value(c, props)))
    if st.rsum < c.at_least or _cooling(st, t):
        return None
    return True


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


def _step_relative(
    c: Compiled, st: AccountState, t: int, row: Any, props: Any, dims: Dims, contact: Any
) -> Any:
    limit = t - c.window_us
    rec = st.recent
    if (rec and rec[0][0] <= limit) or (st.older and st.older[0][0] <= limit - c.older_us):
        st.shift(limit, limit - c.older_us)
    value = 1.0 if c.value_of is None else _value(c, props)
    rec.append((t, row["message_id"], contact, value))
    st.rsum += value
    recent, older = st.rsum, st.osum
    x = c.extra
    if c.mode == "baseline":
        if recent < x["min_count"]:
            return None
        if recent / max(older * x["factor"], x["min_baseline"]) < x["at_least"]:
            return None
    else:
        if older < x["min_previous"]:
            return None
        change = (recent - older) / older
        if (x["at_least"] is not None and change < x["at_least"]) or (
            x["at_most"] is not None and change > x["at_most"]
        ):
            return None
    return None if _cooling(st, t) else True


def _step_first(
    c: Compiled, st: AccountState, t: int, row: Any, props: Any, dims: Dims, contact: Any
) -> Any:
    k = c.key_from
    key = contact if k == 0 else dims[k - 1] if k < 3 else c.key_of(row, props, dims)  # type: ignore[misc]
    seen: set[str] = st.seen  # type: ignore[assignment]
    if key is None or key in seen or (c.allowed is not None and key not in c.allowed):
        return None
    seen.add(key)
    if st.cool is not None and t < st.cool:
        return None
    return {"key": key, "events": [row["message_id"]] if c.keep else []}


def _step_state(
    c: Compiled, st: AccountState, t: int, row: Any, props: Any, dims: Dims, contact: Any
) -> Any:
    value = as_text(c.value_of(props)) if c.value_of is not None else None
    if not contact or value is None:
        return None
    last = st.last.get(contact)  # type: ignore[union-attr]
    if last == value:
        return None
    st.last[contact] = value  # type: ignore[index]
    if last is None and not c.extra["fire_on_first"]:
        return None
    if c.allowed is not None and value not in c.allowed:
        return None
    if st.cool is not None and t < st.cool:
        return None
    ev = {"contact_id": contact, "property": c.value_path, "from": last, "to": value}
    return {**ev, "events": [row["message_id"]] if c.keep else []}


_STEPS: dict[str, Callable[..., Any]] = {
    "count": _step_count,
    "distinct": _step_distinct,
    "new_contact": _step_new,
    "sum": _step_sum,
    "baseline": _step_relative,
    "change": _step_relative,
    "first_seen": _step_first,
    "state_change": _step_state,
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
        pred=compile_python(f, routed_by_name=True),
        name_ok=name_matcher(f),
        needs_dims=needs_dims(f) or getattr(w, "key", "").startswith("contact."),
        fingerprint=spec.fingerprint(),
        cooldown_us=_us(spec.cooldown),
        keep=spec.evidence.keep_events,
    )
    _fill(c, w)
    c.fn = _STEPS[c.mode]
    if c.value_path is not None:
        c.value_of = prop_getter(c.value_path)
    if c.distinct_path is not None:
        c.distinct_of = prop_getter(c.distinct_path)
    if c.mode == "state_change":
        c.pred = _with_value(c.pred, c.value_path or "")
    c.needs_props = (
        needs_properties(f)
        or c.value_path is not None
        or c.distinct_path is not None
        or getattr(w, "key", "").startswith("properties.")
    )
    return c


def _with_value(pred: Predicate | None, path: str) -> Predicate:
    """A state-change filter that also asks for a value and a contact: other events leave
    the state as it is, so they need not touch it."""
    if "." in path:
        get = prop_getter(path)
        has: Predicate = lambda r, p, d: get(p) is not None and bool(r.get("contact_id"))  # noqa: E731
    else:
        has = lambda r, p, d: p.get(path) is not None and bool(r.get("contact_id"))  # noqa: E731
    if pred is None:
        return has
    return lambda r, p, d: has(r, p, d) and pred(r, p, d)


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
