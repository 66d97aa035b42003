"""Conversations: one thread per contact and business number, and the queue of those waiting for a person."""

from __future__ import annotations

from typing import Any

import msgspec

from wagate.domain.conversations import STATES, State, parse_state
from wagate.domain.tenancy import Organization
from wagate.errors import ApiError, not_found
from wagate.ids import parse_id
from wagate.services.runtime import Runtime
from wagate.store import conversations as store

_decoder = msgspec.json.Decoder(dict[str, Any])
MAX_PAGE = 200


class ConversationChange(msgspec.Struct, forbid_unknown_fields=True):
    state: str | None = None
    assignee: str | msgspec.UnsetType | None = msgspec.UNSET


def check_page(limit: str | None, offset: str | None) -> tuple[int, int]:
    try:
        size = int(limit) if limit is not None else 50
        start = int(offset) if offset is not None else 0
    except ValueError:
        raise ApiError("invalid_request", "limit and offset must be whole numbers") from None
    if not 1 <= size <= MAX_PAGE or start < 0:
        raise ApiError("invalid_request", f"limit must be 1 to {MAX_PAGE}, offset 0 or more")
    return size, start


async def list_conversations(
    rt: Runtime, org: Organization, state: str | None, number_id: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    wanted = None if state is None else _state(state)
    number = None
    if number_id is not None:
        number = parse_id(number_id)
        if number is None:
            raise ApiError("invalid_request", "phone_number_id must be a number", field="phone_number_id")
    rows = await rt.db.read(
        lambda conn: store.list_conversations(
            conn, org.id, state=wanted, number_id=number, limit=limit, offset=offset
        )
    )
    return [present(row) for row in rows]


async def access_conversation(rt: Runtime, org: Organization, raw_id: str) -> dict[str, Any]:
    conversation_id = parse_id(raw_id)
    if conversation_id is None:
        raise not_found(f"conversation {raw_id}")
    row = await rt.db.read(lambda conn: store.load_conversation(conn, org.id, conversation_id))
    if row is None:
        raise not_found(f"conversation {raw_id}")
    return row


async def conversation_messages(
    rt: Runtime, org: Organization, raw_id: str, limit: int, before: str | None
) -> list[dict[str, Any]]:
    row = await access_conversation(rt, org, raw_id)
    try:
        until = float(before) if before is not None else None
    except ValueError:
        raise ApiError("invalid_request", "before must be a Unix time", field="before") from None
    found = await rt.db.read(
        lambda conn: store.thread_messages(
            conn, org.id, row["phone_number_id"], row["wa_id"], limit=limit, before=until
        )
    )
    return [
        {
            "id": m["wamid"],
            "direction": "outbound" if m["direction"] == "out" else "inbound",
            "type": m["type"],
            "status": m["status"],
            "created_at": m["created_at"],
            "context_message_id": m["context_wamid"],
            "error_code": m["error_code"],
            "content": _decoder.decode(m["content"]),
        }
        for m in found
    ]


async def do_change_conversation(rt: Runtime, org: Organization, raw_id: str, body: bytes) -> dict[str, Any]:
    row = await access_conversation(rt, org, raw_id)
    try:
        change = msgspec.json.decode(body, type=ConversationChange)
    except msgspec.DecodeError as exc:
        raise ApiError("invalid_request", str(exc)) from exc
    new_state = None if change.state is None else _state(change.state)
    assignee = None if isinstance(change.assignee, msgspec.UnsetType) else change.assignee
    await rt.db.write(
        store.ChangeConversation(
            org.id,
            row["id"],
            rt.clock.now(),
            new_state,
            assignee,
            set_assignee=not isinstance(change.assignee, msgspec.UnsetType),
        )
    )
    return present(await access_conversation(rt, org, raw_id))


def _state(raw: str) -> State:
    state = parse_state(raw)
    if state is None:
        raise ApiError("invalid_request", f"state must be one of {', '.join(STATES)}", field="state")
    return state


def present(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "phone_number_id": str(row["phone_number_id"]),
        "wa_id": row["wa_id"],
        "state": row["state"],
        "assignee": row["assignee"],
        "waiting_since": row["waiting_since"],
        "last_message_at": row["last_message_at"],
        "last_inbound_at": row["last_inbound_at"],
        "created_at": row["created_at"],
    }
