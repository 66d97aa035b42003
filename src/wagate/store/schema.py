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
    text,
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
    # The `cloud` upstream's credential for this account (Meta's system-user token).
    Column("access_token", Text),
    Column("app_secret", Text),  # sealed, as the token; never returned
    Column("meta_app_id", String),
    Column("subscribed_at", Float),  # when the Meta app was subscribed to the account's webhooks
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
    # As last read from Meta (or the simulator): `numbers refresh`.
    Column("messaging_tier", String(20)),
    Column("quality_rating", String(10)),
    Column("name_status", String(30)),
    Column("code_verification_status", String(30)),
    Column("registered_at", Float),
    Column("platform_type", String(20)),
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
    Column("scopes", Text),  # JSON list: send | read | manage; NULL for tokens older than scopes (all)
    Column("expires_at", Float),
    Column("last_used_at", Float),
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
    Column("quality_score", String(10), nullable=False, server_default="UNKNOWN"),
    Column("pause_count", SmallInteger, nullable=False, server_default="0"),
    Column("paused_until", Float),  # a PAUSED template is approved again at this time
    Column("deleted_at", Float),  # when it went PENDING_DELETION; its name is held 30 days from then
    Column("approved_edits", Text, nullable=False, server_default="[]"),  # JSON: times of recent edits
    UniqueConstraint("waba_id", "name", "language"),
)

# When templates were created, per business account, for Meta's hourly creation limit.
template_creations = Table(
    "template_creations",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("waba_id", BigInteger, nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_template_creations_waba", "waba_id", "at"),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("org_id", ForeignKey("organizations.id"), nullable=False),
    Column("wa_id", String(32), nullable=False),
    Column("profile_name", Text),  # sealed (encryption at rest), so longer than the name
    Column("user_id", String(140)),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("attributes", Text, nullable=False, server_default="{}"),  # JSON object of scalars
    Column("tags", Text, nullable=False, server_default="[]"),  # JSON list of strings
    # The blind index of the name, wa_id and attribute values (wagate.crypto.blind_index): keyed
    # hashes of their words and word starts. NULL for contacts only ingest has written.
    Column("search_text", Text),
    # The blind index of the profile name alone, as ingest writes it with the name.
    Column("name_index", Text),
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
    # The blind index of the message's words (content is sealed): see wagate.crypto.blind_index.
    Column("search_index", Text),
    Index("ix_messages_upstream", "phone_number_id", "upstream_id", unique=True),
    Index("ix_messages_org_created", "org_id", "created_at"),
    # A conversation's messages: one contact with one business number.
    Index("ix_messages_thread", "phone_number_id", "wa_id", "created_at"),
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
    # The few rows in flight, for finding those whose lease ran out without scanning the queue.
    Index(
        "ix_outbox_in_flight",
        "lease_until",
        sqlite_where=text("in_flight_since IS NOT NULL"),
        postgresql_where=text("in_flight_since IS NOT NULL"),
    ),
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

# One thread per contact and business number. `waiting_since` is set while it waits for a person.
conversations = Table(
    "conversations",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("org_id", BigInteger, nullable=False),
    Column("phone_number_id", BigInteger, nullable=False),
    Column("wa_id", String(32), nullable=False),
    Column("state", String(10), nullable=False),  # open | pending | resolved
    Column("assignee", String(200)),
    Column("waiting_since", Float),
    Column("last_message_at", Float, nullable=False),
    Column("last_inbound_at", Float),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("phone_number_id", "wa_id"),
    Index("ix_conversations_org_updated", "org_id", "last_message_at"),
)

# Events for the business (the catalogue is in docs/events.md), written in the commit that decided
# them. `meta_value` is the Meta `changes[].value` for subscribers of Meta's format, with wagate's ids.
events = Table(
    "events",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False, unique=True),
    Column("org_id", BigInteger, nullable=False),
    Column("type", String(60), nullable=False),
    Column("phone_number_id", BigInteger),
    Column("waba_id", BigInteger),
    Column("field", String(60)),
    Column("payload", Text, nullable=False),
    Column("meta_value", Text),
    Column("created_at", Float, nullable=False),
    Index("ix_events_org_created", "org_id", "created_at"),
)

# Each consumer of the event stream (the webhook fan-out first; rules, dialogs, live views later) keeps
# its own place in it: `position` is the highest event id it has handled, and every event before it is
# handled or waits in `event_retries`. A worker holds the consumer until `lease_until`
# (workers/consumer.py).
event_consumers = Table(
    "event_consumers",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("claimed_by", String(40)),
    Column("lease_until", Float),
    Column("updated_at", Float, nullable=False),
)

# An event a consumer failed on: tried again with backoff while the consumer goes on with the others;
# `next_attempt_at` NULL once it is given up (kept to be seen, counted in /metrics).
event_retries = Table(
    "event_retries",
    metadata,
    Column("consumer", String(80), primary_key=True),
    Column("event_id", BigInteger, primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float),
    Column("last_error", Text),
    Column("updated_at", Float, nullable=False),
    Index("ix_event_retries_due", "consumer", "next_attempt_at"),
)

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("org_id", BigInteger, nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("format", String(10), nullable=False),  # meta | wagate
    Column("secret", Text, nullable=False),
    Column("verify_token", Text),
    Column("phone_number_ids", Text),  # JSON list, or NULL for every number
    Column("event_types", Text),  # JSON list, or NULL for every event
    Column("max_concurrency", Integer, nullable=False, server_default="4"),
    # Meta's format only: how many events one POST may carry (Meta batches; 1 suits most receivers).
    Column("batch_size", Integer, nullable=False, server_default="1"),
    Column("active", SmallInteger, nullable=False, server_default="1"),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("org_id", BigInteger, nullable=False),
    Column("subscription_id", BigInteger, nullable=False),
    Column("event_id", BigInteger, nullable=False),  # events.id
    Column("state", String(10), nullable=False),  # pending | delivered | dead
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Float, nullable=False),
    Column("lease_until", Float),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", Float, nullable=False),
    Column("delivered_at", Float),
    UniqueConstraint("subscription_id", "event_id"),
    Index("ix_deliveries_due", "state", "next_attempt_at"),
    Index("ix_deliveries_subscription", "subscription_id", "state", "next_attempt_at"),
    # An event's deliveries, for retention and erasure (which delete events with their deliveries).
    Index("ix_deliveries_event", "event_id"),
)

media = Table(
    "media",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),  # a Graph id
    Column("org_id", BigInteger, nullable=False, index=True),
    Column("phone_number_id", BigInteger, nullable=False),
    Column("mime_type", String(128), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("file_size", BigInteger, nullable=False),
    Column("filename", String(255)),
    Column("storage_key", String(255), nullable=False),
    Column("source", String(10), nullable=False),  # upload | inbound | link
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float),
    Column("deleted_at", Float),
    # The media worker's two questions: what is still to download, and what is past retention.
    Index("ix_media_pending", "source", "storage_key"),
    Index("ix_media_age", "deleted_at", "created_at"),
)

# The upstream's id for a wagate media object, per business number (uploaded lazily, or inbound).
media_upstream = Table(
    "media_upstream",
    metadata,
    Column("media_id", BigInteger, primary_key=True, autoincrement=False),
    Column("phone_number_id", BigInteger, primary_key=True, autoincrement=False),
    Column("upstream_media_id", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    Index("ix_media_upstream_id", "phone_number_id", "upstream_media_id", unique=True),
)

# What customers told Meta about marketing messages (`user_preferences` webhooks).
contact_preferences = Table(
    "contact_preferences",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("org_id", BigInteger, nullable=False),
    Column("wa_id", String(32), nullable=False),
    Column("category", String(40), nullable=False),
    Column("value", String(20), nullable=False),
    Column("detail", Text),
    Column("at", Float, nullable=False),
    UniqueConstraint("org_id", "wa_id", "category", "at", "value"),
)

# Contacts erased on request: who, when and how many rows went (the rows themselves are gone).
erasures = Table(
    "erasures",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("org_id", BigInteger, nullable=False, index=True),
    Column("wa_id", String(32), nullable=False),
    Column("erased_at", Float, nullable=False),
    Column("counts", Text, nullable=False),
)

# Per organization, how long messages and media are kept (docs/security.md): days, or NULL for the default
# (messages forever; media for the deployment's `media_retention`). No row: both defaults.
retention_policies = Table(
    "retention_policies",
    metadata,
    Column("org_id", BigInteger, primary_key=True, autoincrement=False),
    Column("message_retention_days", Integer),
    Column("media_retention_days", Integer),
    Column("updated_at", Float, nullable=False),
)

# What each run of the retention worker deleted, per organization (the rows themselves are gone).
retention_runs = Table(
    "retention_runs",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("org_id", BigInteger, nullable=False, index=True),
    Column("at", Float, nullable=False),
    Column("counts", Text, nullable=False),
)

# The consent ledger: every opt-in and opt-out of a contact, per purpose, with where it came from and its
# proof. Never erased: it is what shows that a message was wanted (or that it was not sent).
consents = Table(
    "consents",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("org_id", BigInteger, nullable=False),
    Column("wa_id", String(32), nullable=False),
    Column("purpose", String(20), nullable=False),  # marketing | utility | authentication
    Column("action", String(10), nullable=False),  # opt_in | opt_out
    # api | csv | keyword | button | user_preferences | ...
    Column("source", String(30), nullable=False),
    Column("proof", Text),  # checkbox text, order id, the keyword message, ...
    Column("message_wamid", String(80)),  # the customer's message that carried it, if any
    Column("at", Float, nullable=False),  # when the customer agreed or refused
    Column("recorded_at", Float, nullable=False),
    Index("ix_consents_contact", "org_id", "wa_id", "purpose", "at"),
)

# Per organization: policy settings (a JSON object; absent keys take the documented defaults) and the
# quality rating wagate derives from failures, blocks and opt-outs.
org_policies = Table(
    "org_policies",
    metadata,
    Column("org_id", BigInteger, primary_key=True, autoincrement=False),
    Column("settings", Text, nullable=False, server_default="{}"),
    Column("quality_rating", String(10), nullable=False, server_default="GREEN"),
    Column("quality_updated_at", Float),
    Column("updated_at", Float, nullable=False),
)

# Customers reached outside an open window, for the messaging tier: one row per accepted business-initiated
# message, so queued messages hold their place. Rows older than 24 hours no longer count.
tier_reservations = Table(
    "tier_reservations",
    metadata,
    Column("message_id", BigInteger, primary_key=True, autoincrement=False),
    Column("org_id", BigInteger, nullable=False),
    Column("wa_id", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_tier_reservations_org", "org_id", "at", "wa_id"),
)

# Marketing messages accepted per contact, for the frequency cap.
marketing_sends = Table(
    "marketing_sends",
    metadata,
    Column("message_id", BigInteger, primary_key=True, autoincrement=False),
    Column("org_id", BigInteger, nullable=False),
    Column("wa_id", String(32), nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_marketing_sends_contact", "org_id", "wa_id", "at"),
)

# Encryption at rest: per key that may have sealed values here, a known value sealed with it. Start-up
# opens each with the configured keys, so a missing or wrong key stops wagate before it writes.
key_checks = Table(
    "key_checks",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("sealed", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

# Who changed what, per organization: token issues, subscriptions, templates, policy, contacts, logins.
# `detail` is a JSON object that never holds a secret.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("org_id", BigInteger, nullable=False),
    Column("at", Float, nullable=False),
    Column("actor", String(120), nullable=False),  # token:12 | cli | operator:3 | ...
    Column("action", String(60), nullable=False),  # token.issue | template.create | login.failure | ...
    Column("target_type", String(40)),
    Column("target_id", String(120)),
    Column("detail", Text, nullable=False, server_default="{}"),
    Column("ip", String(64)),
    Index("ix_audit_log_org", "org_id", "at"),
)

# People who log in (the operator inbox): password (scrypt) and an optional TOTP second factor.
operators = Table(
    "operators",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("org_id", BigInteger, nullable=False),
    Column("email", String(254), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("totp_secret", Text),
    Column("totp_enabled", SmallInteger, nullable=False, server_default="0"),
    Column("last_totp_step", BigInteger),  # the last accepted code's time step: each code works once
    Column("locked_until", Float),  # logins refused until then, after repeated failures
    Column("created_at", Float, nullable=False),
    UniqueConstraint("org_id", "email"),
)
