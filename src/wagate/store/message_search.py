"""Search over message text, which is sealed: each message keeps a blind index of its words
(`messages.search_index`, see wagate.crypto.blind_index), written with the message and rebuilt when
its content is re-sealed under a new key; a query is turned into the same tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import Connection, and_, or_, select

from wagate.crypto import blind_index
from wagate.domain.message_text import searchable_texts
from wagate.store import sealed
from wagate.store.schema import messages

_decoder = msgspec.json.Decoder()


def index_of_message(
    conn: Connection, direction: str, kind: str, content: str | dict[str, Any], category: str | None
) -> str | None:
    """The blind index of a message's words; None when it has none. `content` as stored (JSON text) or
    decoded: an outbound message's is its type's object (`{"body": ...}` for text), an inbound one's
    the whole message as Meta's webhook has it."""
    decoded = _decoder.decode(content) if isinstance(content, str) else content
    if direction == "out":
        decoded = {kind: decoded}
    texts = searchable_texts(kind, decoded, category) if isinstance(decoded, dict) else []
    if not texts:
        return None
    return blind_index.index_of(sealed.keys_of(conn), texts)


@dataclass(frozen=True, slots=True)
class MessageQuery:
    org_id: int
    text: str
    phone_number_id: int | None = None
    wa_id: str | None = None
    before: float | None = None  # created before this time (paging, newest first)
    limit: int = 50


def search_messages(conn: Connection, q: MessageQuery) -> list[dict[str, Any]]:
    """The organization's messages holding every word of the query (a word or the start of one),
    newest first, their content opened."""
    words = blind_index.query_tokens(sealed.keys_of(conn), q.text)
    if not words:
        return []
    m = messages.c
    where = [
        m.org_id == q.org_id,
        *(or_(*(m.search_index.contains(token) for token in tokens)) for tokens in words),
    ]
    if q.phone_number_id is not None:
        where.append(m.phone_number_id == q.phone_number_id)
    if q.wa_id is not None:
        where.append(m.wa_id == q.wa_id)
    if q.before is not None:
        where.append(m.created_at < q.before)
    rows = conn.execute(
        select(m.wamid, m.direction, m.phone_number_id, m.wa_id, m.type, m.status, m.content, m.created_at)
        .where(and_(*where))
        .order_by(m.created_at.desc(), m.id.desc())
        .limit(q.limit)
    ).all()
    return [
        {
            "id": r.wamid,
            "direction": "outbound" if r.direction == "out" else "inbound",
            "phone_number_id": str(r.phone_number_id),
            "wa_id": r.wa_id,
            "type": r.type,
            "status": r.status,
            "content": _decoder.decode(sealed.open_(conn, m.content, r.content)),
            "created_at": r.created_at,
        }
        for r in rows
    ]
