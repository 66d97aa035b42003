"""The schema, in SQLAlchemy Core; the same tables on SQLite and PostgreSQL.

Times are Unix seconds as floats (the `Clock`'s unit). JSON documents are stored as text.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# BigInteger would not autoincrement on SQLite; this is INTEGER there and BIGINT on PostgreSQL.
RowId = BigInteger().with_variant(Integer(), "sqlite")

organizations = Table(
    "organizations",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("slug", String(100), nullable=False, unique=True),
    Column("messaging_tier", String(20), nullable=False, server_default="TIER_250"),
    Column("created_at", Float, nullable=False),
)

# One numeric id space for business accounts, phone numbers, templates and media, as on Meta.
graph_objects = Table(
    "graph_objects",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(30), nullable=False),
    Column("org_id", ForeignKey("organizations.id"), nullable=False),
)

business_accounts = Table(
    "business_accounts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("org_id", ForeignKey("organizations.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
)

phone_numbers = Table(
    "phone_numbers",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("org_id", ForeignKey("organizations.id"), nullable=False, index=True),
    Column("waba_id", ForeignKey("business_accounts.id"), nullable=False),
    Column("display_phone_number", String(32), nullable=False),
    Column("region", String(2), nullable=False),
    Column("verified_name", String(200), nullable=False),
    Column("upstream", String(20), nullable=False),
    Column("rate", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("org_id", ForeignKey("organizations.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)

templates = Table(
    "templates",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("org_id", ForeignKey("organizations.id"), nullable=False, index=True),
    Column("waba_id", ForeignKey("business_accounts.id"), nullable=False),
    Column("name", String(512), nullable=False),
    Column("language", String(16), nullable=False),
    Column("category", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("parameter_format", String(12), nullable=False, server_default="positional"),
    Column("components", Text, nullable=False),
    Column("message_send_ttl_seconds", Integer),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("waba_id", "name", "language"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("org_id", ForeignKey("organizations.id"), nullable=False),
    Column("wa_id", String(32), nullable=False),
    Column("profile_name", String(200)),
    Column("user_id", String(140)),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("org_id", "wa_id"),
)

# The 24-hour customer service window of one contact with one business number.
service_windows = Table(
    "service_windows",
    metadata,
    Column("phone_number_id", BigInteger, primary_key=True, autoincrement=False),
    Column("wa_id", String(32), primary_key=True),
    Column("last_inbound_at", Float, nullable=False),
)

messages = Table(
    "messages",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("wamid", String(80), nullable=False, unique=True),
    Column("org_id", BigInteger, nullable=False),
    Column("phone_number_id", BigInteger, nullable=False),
    Column("direction", String(3), nullable=False),  # "out" | "in"
    Column("wa_id", String(32), nullable=False),
    Column("recipient_input", String(64)),
    Column("type", String(24), nullable=False),
    Column("content", Text, nullable=False),
    Column("status", String(12), nullable=False),
    Column("priority", SmallInteger),
    Column("category", String(20)),
    Column("template_name", String(512)),
    Column("callback_data", String(512)),
    Column("context_wamid", String(80)),
    Column("upstream_id", String(128)),
    Column("error_code", Integer),
    Column("error_title", String(200)),
    Column("error_details", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_messages_upstream", "phone_number_id", "upstream_id", unique=True),
    Index("ix_messages_org_created", "org_id", "created_at"),
)

# The durable outbox: a row per outbound message not yet handed to the upstream.
outbox = Table(
    "outbox",
    metadata,
    Column("message_id", BigInteger, primary_key=True, autoincrement=False),
    Column("phone_number_id", BigInteger, nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("due_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_until", Float),
    # Set when a worker claims the row; still set after the lease ends means the send's outcome is unknown.
    Column("in_flight_since", Float),
    Column("reconciling", SmallInteger, nullable=False, server_default="0"),
    Column("last_error_code", Integer),
    Column("last_error_title", String(200)),
    Index("ix_outbox_claim", "phone_number_id", "priority", "due_at"),
)

message_statuses = Table(
    "message_statuses",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("message_id", BigInteger, nullable=False),
    Column("status", String(12), nullable=False),
    Column("at", Float, nullable=False),
    Column("error_code", Integer),
    Column("error_title", String(200)),
    Column("error_details", Text),
    UniqueConstraint("message_id", "status"),
)

# Statuses whose message is not recorded yet; applied when it is.
parked_statuses = Table(
    "parked_statuses",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("phone_number_id", BigInteger, nullable=False),
    Column("upstream_id", String(128), nullable=False, index=True),
    Column("status", Text, nullable=False),
    Column("received_at", Float, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("org_id", BigInteger, primary_key=True, autoincrement=False),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", SmallInteger, nullable=False),
    Column("response", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False, index=True),
)

# Every upstream event as received, stored before it is processed (the one ingest path).
inbound_events = Table(
    "inbound_events",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("source", String(20), nullable=False),
    Column("received_at", Float, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("processed_at", Float),
)
