"""Reading messages: one by its id, and search over their text. Sending is `services/sending.py`."""

from __future__ import annotations

from typing import Any

from wagate.domain.tenancy import Organization
from wagate.errors import ApiError, not_found
from wagate.services.runtime import Runtime
from wagate.store import message_search as search_sql
from wagate.store import messages as store


async def access_message(rt: Runtime, org: Organization, wamid: str) -> dict[str, Any]:
    found = await rt.db.read(lambda conn: store.load_message(conn, org.id, wamid))
    if found is None:
        raise not_found(f"message {wamid}")
    return found


async def search_messages(
    rt: Runtime,
    org: Organization,
    text: str | None,
    phone_number_id: str | None,
    wa_id: str | None,
    before: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """The organization's messages holding every word of `text` (whole words or their starts), newest
    first; over the blind index, since message text is sealed (docs/security.md)."""
    if text is None or not text.strip():
        raise ApiError("invalid_request", "q (the words to look for) is required", field="q")
    try:
        number = None if phone_number_id is None else int(phone_number_id)
        until = None if before is None else float(before)
    except ValueError:
        raise ApiError("invalid_request", "phone_number_id and before must be numbers") from None
    query = search_sql.MessageQuery(org.id, text, number, wa_id, until, limit)
    return await rt.db.read(lambda conn: search_sql.search_messages(conn, query))
