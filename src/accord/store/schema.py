"""SQLAlchemy Core schema for the account graph. Alembic migrations mirror this file.

Every high-volume table carries `account_id` so the schema shards by account (Citus).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

Id = String(40)
TS = DateTime(timezone=True)

accounts = Table(
    "accounts",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(400), nullable=False),
    Column("domain", String(255), index=True),  # primary domain, normalized
    Column("domains", JSON, nullable=False, default=list),  # every normalized domain
    Column("website", Text),
    Column("industry", String(200)),
    Column("employees", Integer),
    Column("annual_revenue", Float),
    Column("country", String(100)),
    Column("region", String(100)),
    Column("parent_id", Id, ForeignKey("accounts.id"), index=True),
    Column("tier", Integer),
    Column("is_target", Boolean, nullable=False, default=False),
    Column("lifecycle_stage", String(40), nullable=False, default="prospect"),
    Column("owner_sdr", String(200)),
    Column("owner_ae", String(200)),
    Column("owner_csm", String(200)),
    Column("owner_marketer", String(200)),
    Column("arr", Float),
    Column("renewal_date", Date),
    Column("merged_into", Id, ForeignKey("accounts.id"), index=True),
    Column("source", String(40), nullable=False),  # sfdc, hubspot, csv, manual
    Column("attributes", JSON, nullable=False, default=dict),  # unmapped source fields
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

# One row per (account, normalized domain): the matcher's exact-domain index.
account_domains = Table(
    "account_domains",
    metadata,
    Column("account_id", Id, ForeignKey("accounts.id"), primary_key=True),
    Column("domain", String(255), primary_key=True),
    Column("is_primary", Boolean, nullable=False, default=False),
    Index("ix_account_domains_domain", "domain"),
)

# (system, object, external id) -> our id; the key of every idempotent upsert.
external_ids = Table(
    "external_ids",
    metadata,
    Column("system", String(40), primary_key=True),  # sfdc, sfdc_ref, hubspot, csv:<name>
    Column("object", String(40), primary_key=True),  # account, contact, lead, opportunity, ...
    Column("external_id", String(255), primary_key=True),
    Column("entity_id", Id, nullable=False, index=True),
)


def _person_table(name: str, *extra: Column) -> Table:  # type: ignore[type-arg]
    return Table(
        name,
        metadata,
        Column("id", Id, primary_key=True),
        Column("account_id", Id, ForeignKey("accounts.id"), index=True),
        Column("email", String(320), index=True),
        Column("first_name", String(200)),
        Column("last_name", String(200)),
        Column("title", String(400)),
        Column("phone", String(100)),
        Column("country", String(100)),
        Column("status", String(40), nullable=False, default="active"),
        Column("seniority", String(20), nullable=False, default="unknown"),
        Column("department", String(30), nullable=False, default="other"),
        Column("buying_role", String(30), nullable=False, default="unknown"),
        Column("lifecycle_stage", String(60)),
        Column("owner", String(200)),
        Column("source", String(40), nullable=False),
        Column("attributes", JSON, nullable=False, default=dict),
        Column("created_at", TS, nullable=False),
        Column("updated_at", TS, nullable=False),
        *extra,
    )


contacts = _person_table("contacts")
leads = _person_table(
    "leads",
    Column("company", String(400)),
    Column("website", Text),
    Column("converted_contact_id", Id, ForeignKey("contacts.id")),
)

# The current account link of every contact, lead and visitor, with its explanation.
identity_links = Table(
    "identity_links",
    metadata,
    Column("subject_type", String(20), primary_key=True),  # contact, lead, visitor
    Column("subject_id", String(255), primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), index=True),  # null: unresolved
    Column("rule", String(40), nullable=False),  # crm_link, email_domain, name_exact, ...
    Column("confidence", Float, nullable=False),
    Column("candidates", JSON, nullable=False, default=list),
    Column("origin", String(20), nullable=False),  # crm, matcher, manual, review
    Column("updated_at", TS, nullable=False),
)

review_items = Table(
    "review_items",
    metadata,
    Column("id", Id, primary_key=True),
    Column("subject_type", String(20), nullable=False),
    Column("subject_id", String(255), nullable=False),
    Column("reason", String(40), nullable=False),  # ambiguous, crm_disagreement
    Column("candidates", JSON, nullable=False, default=list),
    Column("status", String(20), nullable=False, default="open"),  # open, decided
    Column("decision_account_id", Id, ForeignKey("accounts.id")),
    Column("decided_by", String(200)),
    Column("decided_at", TS),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("subject_type", "subject_id", "reason"),
    Index("ix_review_items_status", "status"),
)

merges = Table(
    "merges",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kept_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("merged_id", Id, ForeignKey("accounts.id"), nullable=False, index=True),
    Column("moved", JSON, nullable=False),  # the rows re-pointed, so unmerge can restore them
    Column("actor", String(200), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("undone_at", TS),
)

opportunities = Table(
    "opportunities",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), index=True),
    Column("contact_id", Id, ForeignKey("contacts.id")),
    Column("name", String(400), nullable=False),
    Column("type", String(40), nullable=False, default="new_business"),
    Column("stage", String(100), nullable=False),
    Column("amount", Float),
    Column("currency", String(3)),
    Column("probability", Float),
    Column("created_date", Date),
    Column("close_date", Date),
    Column("is_closed", Boolean, nullable=False, default=False),
    Column("is_won", Boolean, nullable=False, default=False),
    Column("owner", String(200)),
    Column("source", String(40), nullable=False),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

opportunity_stages = Table(
    "opportunity_stages",
    metadata,
    Column("opportunity_id", Id, ForeignKey("opportunities.id"), primary_key=True),
    Column("stage", String(100), primary_key=True),
    Column("entered_at", TS, primary_key=True),
    Column("account_id", Id, index=True),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(400), nullable=False),
    Column("type", String(100)),
    Column("status", String(100)),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("budget", Float),
    Column("source", String(40), nullable=False),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", Id, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), index=True),
    Column("contact_id", Id, ForeignKey("contacts.id")),
    Column("subject", Text),
    Column("status", String(60)),
    Column("priority", String(40)),
    Column("origin", String(60)),
    Column("opened_at", TS),
    Column("closed_at", TS),
    Column("source", String(40), nullable=False),
    Column("attributes", JSON, nullable=False, default=dict),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

target_lists = Table(
    "target_lists",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("current_version", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
)

target_list_versions = Table(
    "target_list_versions",
    metadata,
    Column("list_id", Id, ForeignKey("target_lists.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("source_file", Text, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("unresolved", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
)

target_list_members = Table(
    "target_list_members",
    metadata,
    Column("list_id", Id, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("line", Integer, primary_key=True),
    Column("account_id", Id, ForeignKey("accounts.id"), index=True),  # null: unresolved
    Column("tier", Integer),
    Column("given", String(400), nullable=False),  # the id, domain or name the file gave
    Column("rule", String(40), nullable=False),
    Column("confidence", Float, nullable=False),
)

# Append-only fact table; partitioned by month on PostgreSQL (signal layer).
events = Table(
    "events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("message_id", String(255), nullable=False),
    Column("source", String(100), nullable=False),
    Column("occurred_at", TS, nullable=False),
    Column("received_at", TS, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("name", String(255)),
    Column("team", String(20)),
    Column("account_id", Id, index=False),
    Column("contact_id", Id),
    Column("user_id", String(255)),
    Column("anonymous_id", String(255)),
    Column("properties", JSON, nullable=False, default=dict),
    Index("ix_events_account_id_occurred_at", "account_id", "occurred_at"),
    # Unattached events of an anonymous visitor, attached when the visitor identifies.
    Index(
        "ix_events_unattached_anonymous_id",
        "anonymous_id",
        sqlite_where=text("anonymous_id IS NOT NULL AND account_id IS NULL"),
        postgresql_where=text("anonymous_id IS NOT NULL AND account_id IS NULL"),
    ),
)


def _byte_order(length: int) -> String:
    """A key column compared byte by byte on PostgreSQL (SQLite's default already is): a
    locale's collation costs several times more per comparison, and a key needs no locale."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


# Idempotency: (source, message_id) seen within the dedupe window. Every stored event adds
# a key, so the table is clustered on it (SQLite: WITHOUT ROWID, one B-tree, not a table and
# its key's index). `received_at` serves only the pruning of old keys, which arrive in time
# order: PostgreSQL indexes it with BRIN (a summary per block range, next to nothing to
# maintain per row) instead of a B-tree.
event_dedupe = Table(
    "event_dedupe",
    metadata,
    Column("source", _byte_order(100), primary_key=True),
    Column("message_id", _byte_order(255), primary_key=True),
    Column("received_at", TS, nullable=False),
    Index("ix_event_dedupe_received_at", "received_at", postgresql_using="brin"),
    sqlite_with_rowid=False,
)

audit_entries = Table(
    "audit_entries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("at", TS, nullable=False, index=True),
    Column("actor", String(200), nullable=False),
    Column("action", String(60), nullable=False),  # link, unlink, merge, unmerge, review, ...
    Column("subject_type", String(20), nullable=False),
    Column("subject_id", String(255), nullable=False),
    Column("account_id", Id, index=True),
    Column("details", JSON, nullable=False, default=dict),
    Index("ix_audit_entries_subject", "subject_type", "subject_id"),
)

import_runs = Table(
    "import_runs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(60), nullable=False),
    Column("path", Text, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("created_at", TS, nullable=False),
)

# Hashed API credentials: sha256 of the key, never the key itself.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(20), nullable=False),  # write
    Column("hash", String(64), nullable=False, unique=True),
    Column("label", String(200)),
    Column("created_at", TS, nullable=False),
    Column("revoked_at", TS),
)

# Event identities (Segment userId / anonymousId) stitched to a contact and an account.
identities = Table(
    "identities",
    metadata,
    Column("id_type", String(10), primary_key=True),  # user, anonymous
    Column("id_value", String(255), primary_key=True),
    Column("user_id", String(255)),  # the userId an anonymousId or alias joined
    Column("contact_id", Id),
    Column("account_id", Id, index=True),
    # Each server worker reads the identities other workers updated since its last look.
    Column("updated_at", TS, nullable=False, index=True),
)

# Segment groups (the B2B account of `group` calls and `context.groupId`) and their account.
groups = Table(
    "groups",
    metadata,
    Column("group_id", String(255), primary_key=True),
    Column("account_id", Id, index=True),
    Column("name", String(400)),
    Column("website", Text),
    Column("traits", JSON, nullable=False, default=dict),
    Column("updated_at", TS, nullable=False, index=True),  # as for identities
)

# Fired signals (signal layer): one row per firing; (account_id, dedupe_key) makes re-runs
# idempotent; `definition` is the YAML file:line that fired it.
signals = Table(
    "signals",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", Id, nullable=False),
    Column("type", String(100), nullable=False),
    Column("fired_at", TS, nullable=False),
    Column("observed_at", TS, nullable=False),
    Column("strength", Float, nullable=False),
    Column("evidence", JSON, nullable=False, default=dict),
    Column("dedupe_key", String(500), nullable=False),
    Column("cooldown_until", TS),
    Column("source_lag_s", Float, nullable=False, default=0.0),
    Column("half_life_s", Float, nullable=False, default=0.0),
    Column("definition", Text, nullable=False),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("account_id", "dedupe_key"),
    Index("ix_signals_account_id_fired_at", "account_id", "fired_at"),
    Index("ix_signals_type_fired_at", "type", "fired_at"),
)

# Durable incremental window state, one row per (signal definition, account).
signal_state = Table(
    "signal_state",
    metadata,
    Column("signal_id", String(100), primary_key=True),
    Column("account_id", Id, primary_key=True),
    Column("fingerprint", String(32), nullable=False),
    Column("state", Text, nullable=False),
    Column("updated_at", TS, nullable=False),
)

# Score definitions (scoring layer): every version ever applied; `active` marks the one in use.
score_definitions = Table(
    "score_definitions",
    metadata,
    Column("score", String(40), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("spec", JSON, nullable=False),
    Column("source", Text, nullable=False),
    Column("created_at", TS, nullable=False),
    Column("active", Boolean, nullable=False, default=False),
)

# The latest value of every (account, score), with the parts that made it and its version.
scores_current = Table(
    "scores_current",
    metadata,
    Column("account_id", Id, primary_key=True),
    Column("score", String(40), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("value", Float, nullable=False),
    Column("label", String(40)),
    Column("parts", JSON, nullable=False, default=list),
    Column("computed_at", TS, nullable=False),
    Index("ix_scores_current_score_value", "score", "value"),
)

# Appended whenever an account's score value, label or version changes.
score_history = Table(
    "score_history",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("account_id", Id, nullable=False),
    Column("score", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("value", Float, nullable=False),
    Column("label", String(40)),
    Column("parts", JSON, nullable=False, default=list),
    Column("computed_at", TS, nullable=False),
    Index("ix_score_history_account_id_score_computed_at", "account_id", "score", "computed_at"),
)

# Durable consumers of the events table: everything up to `last_id` is processed; between
# `last_id` and `high_id` only the id ranges in `gaps` ([lo, hi] pairs) are still unseen.
consumer_cursors = Table(
    "consumer_cursors",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("last_id", BigInteger, nullable=False, default=0),
    Column("high_id", BigInteger, nullable=False, default=0),
    Column("gaps", JSON, nullable=False, default=list),
    Column("updated_at", TS, nullable=False),
)
