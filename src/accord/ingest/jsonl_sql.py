"""DuckDB SQL that validates Segment calls set-based, the way `parse_call` does one by one.

A line takes the fast path only when SQL can prove that `parse_call` accepts it and can
compute the same row: every field has the JSON type the call needs, ids are plain strings or
small integers, timestamps have a plain ISO-8601 shape, and nothing in the line is read
differently by DuckDB's JSON parser and orjson (NaN, Infinity, trailing commas). Every other
line (bad ones included) goes to `parse_call` itself, so acceptance and messages are its own.
"""

from __future__ import annotations

from accord.ingest.event_catalogue import KIND_NAMES

PATHS = (
    "type", "userId", "anonymousId", "context", "properties", "traits", "event", "name",
    "groupId", "previousId", "messageId", "timestamp", "originalTimestamp", "sentAt",
    "context.groupId", "traits.email", "context.traits.email", "traits.name", "traits.company",
    "traits.company.name", "traits.website", "traits.domain", "properties.team",
    "context.team", "properties.path", "context.page.path", "properties.kind",
    "context.page", "context.campaign", "context.traits", "context.referrer", "context.ip",
    "context.locale", "context.timezone",
    "properties.traits", "properties.context", "properties.groupId", "properties.previousId",
)  # fmt: skip
CONTEXT_KEEP = ("page", "campaign", "traits", "referrer", "ip", "locale", "timezone", "team")


def _v(path: str) -> str:
    return f"f{PATHS.index(path) + 1}"


MACROS = r"""
CREATE OR REPLACE TEMP MACRO j_str(v) AS CASE WHEN starts_with(v, '"') THEN
    CASE WHEN contains(v, '\') THEN json_extract_string(v, '$') ELSE replace(v, '"', '') END
    END;
CREATE OR REPLACE TEMP MACRO j_text(v) AS nullif(j_str(v), '');
CREATE OR REPLACE TEMP MACRO j_obj_ok(v) AS v IS NULL OR v = 'null' OR starts_with(v, '{');
CREATE OR REPLACE TEMP MACRO j_obj_full(v) AS starts_with(v, '{') AND v <> '{}';
CREATE OR REPLACE TEMP MACRO j_id_ok(v) AS CASE
    WHEN v IS NULL OR v = 'null' OR v = '""' THEN true
    WHEN starts_with(v, '"') THEN strlen(v) <= 257 AND NOT contains(v, '\')
    ELSE regexp_full_match(v, '-?[1-9][0-9]{0,17}|0') END;
CREATE OR REPLACE TEMP MACRO j_id(v) AS
    CASE WHEN starts_with(v, '"') THEN nullif(j_str(v), '') WHEN v <> 'null' THEN v END;
CREATE OR REPLACE TEMP MACRO ts_us(v) AS CASE WHEN regexp_full_match(v,
    '"[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{3}|\.[0-9]{6})?Z?"')
    AND NOT starts_with(v, '"0000')
    THEN epoch_us(try_cast(replace(replace(v, '"', ''), 'Z', '') AS TIMESTAMP)) END;
"""

_KINDS = ", ".join(f"'\"{k}\"'" for k in ("track", "identify", "page", "screen", "group", "alias"))
_KIND_NAMES = ", ".join(f"'{k}'" for k in sorted(KIND_NAMES))
_SUSPECT = (
    "contains(text, 'NaN') OR contains(text, 'Infinity') OR contains(text, ',}') "
    "OR contains(text, ',]') OR (regexp_matches(text, ',\\s') "
    "AND regexp_matches(text, ',\\s*[\\]}]'))"
)


def _context_member() -> str:
    parts = ", ".join(
        f"CASE WHEN {_v('context.' + k)} IS NOT NULL THEN '\"{k}\":' || {_v('context.' + k)} END"
        for k in CONTEXT_KEEP
    )
    return f"nullif(concat_ws(',', {parts}), '')"


def fields_sql(source: str) -> str:
    """Named, typed fields of every line of `source` (a relation of `line`, `text`)."""
    paths = ", ".join(f"'$.{p}'" for p in PATHS)
    unpack = ", ".join(f"v[{i + 1}] AS f{i + 1}" for i in range(len(PATHS)))
    return f"""
    SELECT line, text, parsed, {", ".join(_v(p) for p in PATHS)},
        CASE WHEN {_v("type")} IN ({_KINDS}) THEN j_str({_v("type")}) END AS kind,
        j_id({_v("userId")}) AS user_id, j_id({_v("anonymousId")}) AS anonymous_id,
        j_id({_v("groupId")}) AS top_group, j_id({_v("context.groupId")}) AS ctx_group,
        j_id({_v("previousId")}) AS prev_id, j_id({_v("messageId")}) AS msg_id,
        ts_us({_v("timestamp")}) AS ts, ts_us({_v("originalTimestamp")}) AS orig,
        ts_us({_v("sentAt")}) AS sent,
        j_str({_v("event")}) AS event_s, j_str({_v("name")}) AS name_s,
        coalesce(j_text({_v("traits.email")}), j_text({_v("context.traits.email")})) AS email,
        coalesce(j_text({_v("properties.team")}), j_text({_v("context.team")})) AS team0,
        coalesce(j_text({_v("properties.path")}), j_text({_v("context.page.path")})) AS path0,
        CASE WHEN j_str({_v("properties.kind")}) IN ({_KIND_NAMES})
            THEN j_str({_v("properties.kind")}) END AS xkind,
        CASE WHEN starts_with({_v("traits.company")}, '{{')
            THEN j_text({_v("traits.company.name")}) ELSE j_text({_v("traits.company")})
            END AS company0,
        j_text({_v("traits.name")}) AS group_name,
        coalesce(j_text({_v("traits.website")}), j_text({_v("traits.domain")})) AS website0,
        {_context_member()} AS ctx_kept
    FROM (
        SELECT line, text, v IS NOT NULL AS parsed, {unpack} FROM (
            SELECT line, text,
                CASE WHEN starts_with(text, '{{') AND NOT ({_SUSPECT})
                    THEN try(json_extract(text, [{paths}]))::VARCHAR[] END AS v
            FROM {source}
        )
    )
    """


def _ok_sql() -> str:
    checks = [
        "parsed",
        "kind IS NOT NULL",
        *(f"j_id_ok({_v(p)})" for p in ("userId", "anonymousId", "groupId", "messageId")),
        *(f"j_obj_ok({_v(p)})" for p in ("context", "properties", "traits")),
        *(
            f"({_v(p)} IS NULL OR {_v(p)} = 'null' OR {c} IS NOT NULL)"
            for p, c in (("timestamp", "ts"), ("originalTimestamp", "orig"), ("sentAt", "sent"))
        ),
        "(user_id IS NOT NULL OR (anonymous_id IS NOT NULL AND kind <> 'alias'))",
        "(kind <> 'track' OR regexp_matches(coalesce(event_s, ''), '[!-~]')"
        " AND strlen(event_s) <= 255)",
        f"(kind NOT IN ('page', 'screen') OR NOT starts_with({_v('name')}, '\"')"
        " OR strlen(name_s) <= 255)",
        "(kind <> 'group' OR top_group IS NOT NULL)",
        f"(kind <> 'alias' OR (j_id_ok({_v('previousId')}) AND prev_id IS NOT NULL))",
        f"(top_group IS NOT NULL OR j_id_ok({_v('context.groupId')}))",
        *(f"{_v('properties.' + k)} IS NULL" for k in ("traits", "context", "groupId")),
        f"{_v('properties.previousId')} IS NULL",
    ]
    return " AND ".join(checks)


def _properties_sql() -> str:
    props, traits = _v("properties"), _v("traits")
    members = ", ".join((
        f"CASE WHEN j_obj_full({props}) THEN substr({props}, 2, length({props}) - 2) END",
        f"CASE WHEN j_obj_full({traits}) THEN '\"traits\":' || {traits} END",
        "CASE WHEN ctx_kept IS NOT NULL THEN '\"context\":{' || ctx_kept || '}' END",
        "CASE WHEN kind = 'alias' THEN '\"previousId\":' || to_json(prev_id) END",
        "CASE WHEN group_id IS NOT NULL THEN '\"groupId\":' || to_json(group_id) END",
    ))  # fmt: skip
    return f"'{{' || concat_ws(',', {members}) || '}}'"


def staged_sql(source: str) -> str:
    """One row per line: `ok` says the fast path holds; then the call's flat fields."""
    return f"""
    SELECT line, ok,
        CASE WHEN NOT ok THEN text END AS text,
        CASE WHEN ok THEN kind END AS kind,
        CASE WHEN ok AND kind = 'track' THEN left(event_s, 255)
             WHEN ok AND kind IN ('page', 'screen') THEN left(nullif(name_s, ''), 255)
             END AS name,
        CASE WHEN kind IN ('page', 'screen') THEN path0 END AS path,
        xkind, team0 AS team,
        CASE WHEN ok THEN coalesce(msg_id, uuid()::VARCHAR) END AS message_id,
        CASE WHEN orig IS NULL AND sent IS NULL THEN coalesce(ts, $received)
             WHEN ts IS NOT NULL THEN ts
             WHEN orig IS NOT NULL AND sent IS NOT NULL THEN $received - (sent - orig)
             ELSE coalesce(orig, $received) END AS occurred_us,
        user_id, anonymous_id, group_id,
        CASE WHEN kind = 'alias' THEN prev_id END AS previous_id, email,
        CASE WHEN kind = 'group' THEN group_name ELSE company0 END AS company,
        website0 AS website,
        CASE WHEN ok THEN {_properties_sql()} END AS properties
    FROM (
        SELECT *, coalesce(top_group, ctx_group) AS group_id, coalesce({_ok_sql()}, false) AS ok
        FROM ({fields_sql(source)})
    )
    """
