"""DuckDB SQL for one event-driven definition over the `ev` relation (whole history).

Window measures are running sums over a per-account stream of deltas: +v when an event
arrives at t, -v when it leaves the window at t + window (and +v/-v into and out of the
baseline window). Leaving deltas sort before arrivals at the same instant, arrivals by
(t, ord), so each event sees exactly the events of (t - window, t] that came before it,
as the incremental engine does. Cooldown is a recursive CTE over the candidate crossings.
"""

from __future__ import annotations

from accord.signals.filters import compile_sql, json_path, lit, sql_prop_number, sql_prop_text
from accord.signals.measures import Compiled, baseline_factor
from accord.signals.specs import BaselineCondition, ChangeCondition

RUN = "OVER (PARTITION BY a ORDER BY t, p, ord ROWS UNBOUNDED PRECEDING)"


def _key_sql(key: str) -> str:
    if key == "contact":
        return "contact_id"
    if key == "name":
        return "name"
    if key == "contact.seniority":
        return "c_seniority"
    if key == "contact.department":
        return "c_department"
    return sql_prop_text(key.removeprefix("properties."))


def _in(column: str, values: frozenset[str] | None) -> str:
    if values is None:
        return "TRUE"
    return f"{column} IN ({', '.join(lit(v) for v in sorted(values))})" if values else "FALSE"


def property_paths(compiled: list[Compiled]) -> list[str]:
    """Every property path the definitions read, in first-use order."""
    paths: dict[str, None] = {}
    for c in compiled:
        w = c.spec.when
        f = w.event  # type: ignore[union-attr]
        if f.path_glob is not None:
            paths["path"] = None
        paths.update(dict.fromkeys(f.properties))
        if f.ratio is not None:
            paths.update(dict.fromkeys([f.ratio.numerator, f.ratio.denominator]))
        for extra in (c.value_path, c.distinct_path):
            if extra is not None:
                paths[extra] = None
        key = getattr(w, "key", "")
        if key.startswith("properties."):
            paths[key.removeprefix("properties.")] = None
    return list(paths)


def extract(relation: str, paths: list[str], target: str = "evx") -> tuple[str, dict[str, str]]:
    """One pass over `relation` that parses each event's properties once into columns.

    Returns the statement creating `target` and the property path -> column map.
    """
    columns = {p: f"p_{i}" for i, p in enumerate(paths)}
    if not paths:
        body = f"SELECT * EXCLUDE (properties) FROM {relation} WHERE account_id IS NOT NULL"
    else:
        lst = "[" + ", ".join(lit(json_path(p)) for p in paths) + "]"
        picks = ", ".join(f"j[{i + 1}] AS p_{i}" for i in range(len(paths)))
        body = (
            f"SELECT * EXCLUDE (properties, j), {picks} FROM ("
            f"SELECT *, json_extract_string(properties, {lst}) AS j FROM {relation} "
            f"WHERE account_id IS NOT NULL)"
        )
    return f"CREATE OR REPLACE TEMP TABLE {target} AS {body}", columns


def matching(c: Compiled, n: str, relation: str | None = None) -> str:
    """The definition's matching events as temp table m_n (a, c, t, ord, msg, rt, v, k)."""
    w = c.spec.when
    value = "1.0::DOUBLE"
    if c.value_path is not None and c.mode != "state_change":
        value = f"COALESCE({sql_prop_number(c.value_path)}, 0.0)"
    key = "NULL::VARCHAR"
    contact = "contact_id"
    if c.distinct_path is not None:
        contact = sql_prop_text(c.distinct_path)
    if c.mode == "first_seen":
        key = _key_sql(w.key)  # type: ignore[union-attr]
    elif c.mode == "state_change":
        key = sql_prop_text(c.value_path or "")
    return (
        f"CREATE OR REPLACE TEMP TABLE m_{n} AS SELECT account_id AS a, {contact} AS c, t, ord, "
        f"msg, rt, {value} AS v, {key} AS k "
        f"FROM {relation or ('ev_dims' if c.needs_dims else 'ev')} "
        f"WHERE account_id IS NOT NULL AND {compile_sql(w.event)}"  # type: ignore[union-attr]
    )


def _deltas_simple(c: Compiled, n: str) -> tuple[str, str, str]:
    """(source table, deltas, evidence source) SQL for count, distinct, new_contact, sum."""
    wu = c.window_us
    if c.mode == "distinct":
        src = (
            f"SELECT *, lag(t) OVER w AS pt, lead(t) OVER w AS nt FROM m_{n} "
            "WINDOW w AS (PARTITION BY a, c ORDER BY t, ord)"
        )
        arrive = f"(c IS NOT NULL AND (pt IS NULL OR t >= pt + {wu}))::INT"
        leave = f"c IS NOT NULL AND (nt IS NULL OR nt >= t + {wu})"
        ev_src = f"SELECT * FROM m_{n} WHERE c IS NOT NULL"
    elif c.mode == "new_contact":
        src = f"SELECT *, row_number() OVER (PARTITION BY a, c ORDER BY t, ord) AS rn FROM m_{n}"
        arrive = "(c IS NOT NULL AND rn = 1)::INT"
        leave = "c IS NOT NULL AND rn = 1"
        ev_src = f"SELECT * FROM s_{n} WHERE c IS NOT NULL AND rn = 1"
    else:
        src = f"SELECT * FROM m_{n}"
        arrive, leave, ev_src = "v", "TRUE", f"SELECT * FROM m_{n}"
    leave_v = "-1" if c.mode in ("distinct", "new_contact") else "-v"
    deltas = (
        f"SELECT a, t, 1 AS p, ord, msg, rt, {arrive} AS dr, 0.0 AS dold FROM s_{n} "
        f"UNION ALL SELECT a, t + {wu}, 0, ord, NULL, NULL, {leave_v}, 0.0 FROM s_{n} "
        f"WHERE {leave} AND t + {wu} <= (SELECT max(t) FROM s_{n})"
    )
    return f"CREATE OR REPLACE TEMP TABLE s_{n} AS {src}", deltas, ev_src


def candidates(c: Compiled, n: str) -> list[str]:
    """Statements that leave the threshold crossings in temp table cand_n."""
    if c.mode == "first_seen":
        allowed = _in("k", c.allowed)
        return [
            f"CREATE OR REPLACE TEMP TABLE cand_{n} AS SELECT a, t, ord, msg, rt, k FROM ("
            f"SELECT *, row_number() OVER (PARTITION BY a, k ORDER BY t, ord) AS rn FROM m_{n} "
            f"WHERE k IS NOT NULL) WHERE rn = 1 AND {allowed}"
        ]
    if c.mode == "state_change":
        first = "TRUE" if c.extra["fire_on_first"] else "FALSE"
        return [
            f"CREATE OR REPLACE TEMP TABLE cand_{n} AS SELECT a, t, ord, msg, rt, k, c, pk FROM ("
            f"SELECT *, lag(k) OVER (PARTITION BY a, c ORDER BY t, ord) AS pk FROM m_{n} "
            f"WHERE c IS NOT NULL AND k IS NOT NULL) "
            f"WHERE ((pk IS NULL AND {first}) OR pk <> k) AND {_in('k', c.allowed)}"
        ]
    if c.mode in ("baseline", "change"):
        return _relative(c, n)
    make_src, deltas, _ = _deltas_simple(c, n)
    return [
        make_src,
        f"CREATE OR REPLACE TEMP TABLE cand_{n} AS SELECT a, t, ord, msg, rt, val FROM ("
        f"SELECT a, t, p, ord, msg, rt, sum(dr) {RUN} AS val FROM ({deltas})) "
        f"WHERE p = 1 AND val >= {lit(float(c.extra['at_least']))}",
    ]


def _relative(c: Compiled, n: str) -> list[str]:
    w = c.spec.when
    assert isinstance(w, BaselineCondition | ChangeCondition)
    wu, ou = c.window_us, c.older_us
    x = c.extra
    if isinstance(w, BaselineCondition):
        cond = (
            f"rec >= {lit(float(x['min_count']))} "
            f"AND rec / greatest(old * {lit(baseline_factor(w))}, "
            f"{lit(float(x['min_baseline']))}) >= {lit(float(x['at_least']))}"
        )
    else:
        bound = (
            f">= {lit(float(x['at_least']))}" if x["at_least"] is not None
            else f"<= {lit(float(x['at_most']))}"
        )  # fmt: skip
        cond = f"old >= {lit(float(x['min_previous']))} AND (rec - old) / old {bound}"
    deltas = (
        f"SELECT a, t, 1 AS p, ord, msg, rt, v AS dr, 0.0 AS dold FROM m_{n} "
        f"UNION ALL SELECT a, t + {wu}, 0, ord, NULL, NULL, -v, v FROM m_{n} "
        f"UNION ALL SELECT a, t + {wu + ou}, 0, ord, NULL, NULL, 0.0, -v FROM m_{n}"
    )
    return [
        f"CREATE OR REPLACE TEMP TABLE s_{n} AS SELECT * FROM m_{n}",
        f"CREATE OR REPLACE TEMP TABLE cand_{n} AS SELECT a, t, ord, msg, rt, rec, old FROM ("
        f"SELECT a, t, p, ord, msg, rt, sum(dr) {RUN} AS rec, sum(dold) {RUN} AS old "
        f"FROM ({deltas})) WHERE p = 1 AND {cond}",
    ]


def fired(c: Compiled, n: str) -> str:
    """Temp table f_n: the crossings that survive the cooldown."""
    cd = c.cooldown_us
    if not cd:
        return f"CREATE OR REPLACE TEMP TABLE f_{n} AS SELECT a, t, ord FROM cand_{n}"
    return (
        f"CREATE OR REPLACE TEMP TABLE f_{n} AS WITH RECURSIVE r(a, k) AS ("
        f"SELECT a, min({{'t': t, 'o': ord}}) FROM cand_{n} GROUP BY a "
        f"UNION ALL SELECT x.a, min({{'t': x.t, 'o': x.ord}}) FROM r JOIN cand_{n} x "
        f"ON x.a = r.a AND x.t >= r.k.t + {cd} GROUP BY x.a) "
        f"SELECT a, k.t AS t, k.o AS ord FROM r"
    )


def evidence_events(c: Compiled, n: str) -> str:
    """Temp table e_n: per fired crossing, the latest kept event ids of its window."""
    if c.mode in ("first_seen", "state_change") or c.keep == 0:
        lst = f"CASE WHEN {c.keep} > 0 THEN [msg] ELSE []::VARCHAR[] END"
        return (
            f"CREATE OR REPLACE TEMP TABLE e_{n} AS SELECT f.ord, {lst} AS events "
            f"FROM f_{n} f JOIN cand_{n} USING (ord)"
        )
    src = (
        _deltas_simple(c, n)[2] if c.mode in ("distinct", "new_contact") else f"SELECT * FROM m_{n}"
    )
    return (
        f"CREATE OR REPLACE TEMP TABLE e_{n} AS SELECT ford AS ord, "
        f"list(msg ORDER BY t, xord) AS events FROM ("
        f"SELECT f.ord AS ford, x.msg, x.t, x.ord AS xord, row_number() OVER "
        f"(PARTITION BY f.ord ORDER BY x.t DESC, x.ord DESC) AS rn FROM f_{n} f "
        f"JOIN ({src}) x ON x.a = f.a AND x.t > f.t - {c.window_us} "
        f"AND (x.t < f.t OR (x.t = f.t AND x.ord <= f.ord))) WHERE rn <= {c.keep} GROUP BY ford"
    )


def result(c: Compiled, n: str, since_us: int | None) -> str:
    """The fired crossings with their measure columns and evidence events."""
    cols = {
        "first_seen": "x.k",
        "state_change": "x.k, x.c, x.pk",
        "baseline": "x.rec, x.old",
        "change": "x.rec, x.old",
    }.get(c.mode, "x.val")
    where = f"WHERE f.t >= {since_us}" if since_us is not None else ""
    return (
        f"SELECT f.a, f.t, x.msg, x.rt, {cols}, COALESCE(e.events, []::VARCHAR[]) AS events "
        f"FROM f_{n} f JOIN cand_{n} x ON x.ord = f.ord LEFT JOIN e_{n} e ON e.ord = f.ord "
        f"{where} ORDER BY f.t, f.ord"
    )


def statements(c: Compiled, n: str, relation: str | None = None) -> list[str]:
    return [matching(c, n, relation), *candidates(c, n), fired(c, n), evidence_events(c, n)]


def cleanup(n: str) -> list[str]:
    return [f"DROP TABLE IF EXISTS {t}_{n}" for t in ("m", "s", "cand", "f", "e")]
