"""Conversations: reads of threads and their messages, and changes of state or assignee."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from wagate.domain.conversations import State, set_by_person
from wagate.store import sealed
from wagate.store.db import Job
from wagate.store.schema import conversations, messages


def list_conversations(
    conn: Connection, org_id: int, *, state: State | None, number_id: int | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = select(conversations).where(conversations.c.org_id == org_id)
    if state is not None:
        query = query.where(conversations.c.state == state.value)
    if number_id is not None:
        query = query.where(conversations.c.phone_number_id == number_id)
    if state == State.PENDING:
        # The queue: who has waited longest comes first.
        query = query.order_by(conversations.c.waiting_since, conversations.c.id)
    else:
        query = query.order_by(conversations.c.last_message_at.desc(), conversations.c.id.desc())
    return [dict(row) for row in conn.execute(query.limit(limit).offset(offset)).mappings()]


def load_conversation(conn: Connection, org_id: int, conversation_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(conversations).where(
                conversations.c.org_id == org_id, conversations.c.id == conversation_id
            )
        )
        .mappings()
        .first()
    )
    return None if row is None else dict(row)


def thread_messages(
    conn: Connection, org_id: int, number_id: int, wa_id: str, *, limit: int, before: float | None
) -> list[dict[str, Any]]:
    query = select(
        messages.c.wamid,
        messages.c.direction,
        messages.c.type,
        messages.c.content,
        messages.c.status,
        messages.c.created_at,
        messages.c.context_wamid,
        messages.c.error_code,
    ).where(messages.c.org_id == org_id, messages.c.phone_number_id == number_id, messages.c.wa_id == wa_id)
    if before is not None:
        query = query.where(messages.c.created_at < before)
    rows = conn.execute(
        query.order_by(messages.c.created_at.desc(), messages.c.id.desc()).limit(limit)
    ).mappings()
    return [{**row, "content": sealed.open_(conn, messages.c.content, row["content"])} for row in rows]


@dataclass(slots=True)
class ChangeConversation(Job[bool]):
    org_id: int
    conversation_id: int
    now: float
    state: State | None = None
    assignee: str | None = None
    set_assignee: bool = False

    def run(self, conn: Connection) -> bool:
        values: dict[str, Any] = {"updated_at": self.now}
        if self.state is not None:
            thread = set_by_person(self.state, self.now)
            values["state"] = thread.state.value
            values["waiting_since"] = thread.waiting_since
        if self.set_assignee:
            values["assignee"] = self.assignee
        result = conn.execute(
            update(conversations)
            .where(conversations.c.org_id == self.org_id, conversations.c.id == self.conversation_id)
            .values(**values)
        )
        return bool(result.rowcount)
