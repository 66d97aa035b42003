"""The confirmation of a consent keyword, sent after the commit that recorded the consent.

The ingest commit records the customer's opt-out or opt-in (`store/ingest_consent.py`) and its
`contact.consent` event; this use case answers it through the one send call, as a rule or a dialog
would, so the writer's transaction never waits on sending (docs/decisions/0009-inbound-processing.md).
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import Connection

from wagate.domain.sending import REPLY_TTL, OutgoingMessage, Sender, SendOptions
from wagate.domain.tenancy import Organization, PhoneNumber
from wagate.errors import GraphError
from wagate.services.runtime import Runtime
from wagate.services.sending import send_message
from wagate.store import tenancy as tenancy_sql
from wagate.store.ingest_consent import Confirmation, keyword_confirmation

log = logging.getLogger(__name__)

KEYWORD_SOURCES = frozenset({"keyword", "button"})
SENDER = Sender.system("consent-keywords")


async def confirm_keyword(rt: Runtime, org_id: int, event_id: str, record: dict[str, object]) -> str | None:
    """Send the confirmation of the keyword behind the consent `record` (a `contact.consent` event's
    payload); returns the confirmation's wamid, None when there is none to send. The idempotency key is
    the event's id: the same event handled twice sends one confirmation."""
    wamid = record.get("message_id")
    if record.get("source") not in KEYWORD_SOURCES or not isinstance(wamid, str):
        return None
    found = await rt.db.read(lambda conn: _confirmation(conn, org_id, wamid))
    if found is None:
        return None  # no reply is set, or the organization or its number is gone
    org, number, confirmation = found
    key = f"consent-confirmation:{event_id}"
    options = SendOptions(
        idempotency_key=key, fingerprint=hashlib.sha256(key.encode()).hexdigest(), ttl=REPLY_TTL
    )
    try:
        accepted = await send_message(
            rt, org, number, OutgoingMessage.text(confirmation.wa_id, confirmation.text), SENDER, options
        )
    except GraphError as exc:
        # Refused by policy (the number was disconnected, say): retrying would be refused the same way.
        log.warning("the confirmation of %s's keyword was not sent: %s", confirmation.wa_id, exc)
        return None
    return accepted.wamid


def _confirmation(
    conn: Connection, org_id: int, wamid: str
) -> tuple[Organization, PhoneNumber, Confirmation] | None:
    confirmation = keyword_confirmation(conn, org_id, wamid)
    if confirmation is None:
        return None
    org = tenancy_sql.org_by_id(conn, org_id)
    number = tenancy_sql.number_by_id(conn, confirmation.number_id)
    if org is None or number is None or number.org_id != org_id:
        return None
    return org, number, confirmation
