"""The incremental engine's generated per-route code: one meaning with the filters and step
functions it replaces, readable source, compiled once per spec set."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from accord.signals import SignalEngine, load_library
from accord.signals.filters import as_text, compile_python, python_test
from accord.signals.routes import _code, route_source
from accord.signals.specs import EventFilter
from tests.unit.signals.helpers import event, spec

FILTERS = [
    EventFilter(team=["sales", "cs"]),
    EventFilter(path_glob=["/pricing*", "*-vs-*", "/demo"]),
    EventFilter(properties={"priority": {"one_of": ["High", "P1", 1, True]}}),
    EventFilter(properties={"plan.tier": {"equals": "pro"}, "seats": {"at_least": 3}}),
    EventFilter(properties={"seats": {"exists": False}, "score": {"at_most": 2.5}}),
    EventFilter(ratio={"numerator": "used", "denominator": "limit", "at_least": 0.9}),
    EventFilter(ratio={"numerator": "u.n", "denominator": "limit", "at_least": 0.5}),
    EventFilter(contact_seniority=["vp", "c_level"], contact_department=["sales"]),
]
_values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 30), st.floats(-3, 30, allow_nan=False),
    st.sampled_from(["High", "P1", "1", "true", "pro", "3", "x", "/pricing", "/a-vs-b", "/demo"]),
)  # fmt: skip
_props = st.dictionaries(
    st.sampled_from(["priority", "seats", "score", "used", "limit", "path", "plan", "u"]),
    st.one_of(_values, st.dictionaries(st.sampled_from(["tier", "n"]), _values, max_size=2)),
    max_size=6,
)
_dims = st.tuples(
    st.sampled_from([None, "vp", "c_level", "individual"]), st.sampled_from([None, "sales", "it"])
)


@settings(max_examples=400, deadline=None)
@given(props=_props, dims=_dims, team=st.sampled_from([None, "sales", "cs", "product"]))
def test_engine_filter_source_agrees_with_predicate(
    props: dict[str, Any], dims: tuple[str | None, str | None], team: str | None
) -> None:
    row = {"team": team}
    for f in FILTERS:
        env: dict[str, Any] = {"as_text": as_text}
        parts = python_test(f, env, "f_")
        scope = {"row": row, "props": props, "dims": dims}
        generated = all(eval(p, env, scope) for p in parts)
        pred = compile_python(f, routed_by_name=True)
        assert generated == (pred is None or pred(row, props, dims)), f


def _cands(engine: SignalEngine, kind: str, name: str | None) -> list[Any]:
    return [c for c in engine.compiled if (c.kinds is None or kind in c.kinds) and c.name_ok(name)]


def test_engine_route_source_names_each_definition() -> None:
    engine = SignalEngine(None, load_library())
    cands = _cands(engine, "track", "Signed In")
    source, env = route_source(cands, fire=True)
    for c in cands:
        assert f"# {c.spec.id}: {c.mode}" in source
    assert source.startswith("def route(row):")
    assert all(name.startswith("d") for name in env)
    compile(source, "<route>", "exec")


def test_engine_routes_compile_once_per_spec_set() -> None:
    _code.cache_clear()
    rows = [event(i, at=timedelta(hours=i), contact=f"c{i}") for i in range(3)]
    for _ in range(3):
        SignalEngine(None, load_library()).process_many(rows)
    info = _code.cache_info()
    assert (info.misses, info.hits) == (1, 2)


def test_engine_replay_leaves_the_state_process_leaves() -> None:
    busy = spec(
        {"id": "busy", "description": "x", "strength": 0.5, "cooldown": "2h",
         "when": {"kind": "count", "event": {"kind": "track"}, "window": "3h", "at_least": 2}}
    )  # fmt: skip
    hours = timedelta(hours=1)
    rows = [event(i + 1, at=i * hours, account=f"a{i % 2}") for i in range(20)]
    processed, replayed = SignalEngine(None, [busy]), SignalEngine(None, [busy])
    fired = processed.process_many(rows)
    assert replayed.replay(rows) == len(fired) > 0
    assert processed.dirty_rows() == replayed.dirty_rows()


def test_engine_routes_take_rows_without_optional_columns() -> None:
    """Rows lacking `name`, `contact_id` or `properties` (or with empty properties text)
    fire what rows holding None / an empty object there fire."""
    engine_specs = [
        spec({"id": "busy", "description": "x", "strength": 0.5,
              "when": {"kind": "count", "event": {"kind": "track"}, "window": "3h",
                       "at_least": 2}}),
        spec({"id": "people", "description": "x", "strength": 0.5,
              "when": {"kind": "count", "event": {"kind": "track"}, "distinct": "contact",
                       "window": "3h", "at_least": 1}}),
        spec({"id": "left", "description": "x", "strength": 0.5,
              "when": {"kind": "state_change", "event": {"kind": "track"}, "property": "status",
                       "fire_on_first": True}}),
    ]  # fmt: skip
    full = [event(i + 1, at=timedelta(minutes=i), name=None, contact="c1") for i in range(4)]
    for r in full:
        r["properties"] = {}
    full[3]["properties"] = {"status": "left"}
    sparse = [dict(r) for r in full]
    del sparse[0]["name"], sparse[1]["properties"], sparse[2]["contact_id"]
    full[2]["contact_id"] = None
    sparse[0]["properties"] = "{}"
    sparse[3]["properties"] = '{"status": "left"}'
    want = SignalEngine(None, engine_specs).process_many(full)
    assert {s.type for s in want} == {"busy", "people", "left"}
    got = SignalEngine(None, engine_specs).process_many(sparse)
    assert got == want
    one = SignalEngine(None, engine_specs)
    assert [s for r in sparse for s in one.process(r)] == want


def test_engine_path_glob_lookup_agrees_with_the_matcher() -> None:
    from accord.signals.filters import GlobMemo, _matcher

    patterns = ["/pricing*", "*-vs-*", "/demo", "/a?c"]
    memo, match = GlobMemo(patterns), _matcher(patterns)
    values = [None, "/pricing", "/pricing/x", "/x-vs-y", "/demo", "/demo/", "/abc", "/ac", ""]
    for _ in range(2):  # computed, then remembered
        assert [memo[v] for v in values] == [match(v) for v in values]
