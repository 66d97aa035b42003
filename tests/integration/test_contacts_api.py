"""`/api/v1/contacts`: create, search (in any script), tag, change, and erase on request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select

from tests.conftest import Wagate
from tests.factories import make_organization
from tests.helpers import eventually
from wagate.store.db import Job
from wagate.store.schema import (
    contact_preferences,
    contacts,
    conversations,
    erasures,
    media,
    message_statuses,
    messages,
    service_windows,
)

ANNA = "+7 916 111-22-33"
ANNA_WA_ID = "79161112233"


def count(w: Wagate, table: Any, *where: Any) -> int:
    return int(
        w.rt.db.read_now(
            lambda c: c.execute(select(func.count()).select_from(table).where(*where)).scalar_one()
        )
    )


async def create(w: Wagate, **body: Any) -> dict[str, Any]:
    response = await w.client.post("/api/v1/contacts", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def search(w: Wagate, **params: Any) -> list[str]:
    response = await w.client.get("/api/v1/contacts", params=params)
    assert response.status_code == 200, response.text
    return [c["wa_id"] for c in response.json()["data"]]


async def test_create_read_and_change_a_contact(wagate: Wagate) -> None:
    made = await create(
        wagate, phone=ANNA, name="Анна", attributes={"city": "Москва", "vip": True, "orders": 3}
    )
    assert made["wa_id"] == ANNA_WA_ID and made["name"] == "Анна"
    assert made["attributes"] == {"city": "Москва", "vip": True, "orders": 3} and made["tags"] == []
    read = await wagate.client.get(f"/api/v1/contacts/{made['id']}")
    assert read.status_code == 200 and read.json() == made

    changed = await wagate.client.patch(
        f"/api/v1/contacts/{made['id']}",
        json={
            "name": "Анна К.",
            "attributes": {"vip": None, "orders": 4, "plan": "gold"},
            "tags": ["b", "a"],
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["name"] == "Анна К."
    assert body["attributes"] == {"city": "Москва", "orders": 4, "plan": "gold"}
    assert body["tags"] == ["b", "a"]

    tagged = await wagate.client.patch(
        f"/api/v1/contacts/{made['id']}", json={"add_tags": ["c", "a"], "remove_tags": ["b"]}
    )
    assert tagged.json()["tags"] == ["a", "c"] and tagged.json()["name"] == "Анна К."
    assert (await search(wagate, q="gold")) == [ANNA_WA_ID]
    assert (await search(wagate, q="Москва")) == [ANNA_WA_ID]


async def test_search_folds_case_in_every_script(wagate: Wagate) -> None:
    await create(wagate, phone=ANNA, name="Анна")
    await create(wagate, phone="+7 916 111-22-44", name="Ёлка", attributes={"note": "Straße"})
    await create(wagate, phone="+1 650 555 1234", name="Bob")
    assert await search(wagate, q="анна") == [ANNA_WA_ID]
    assert await search(wagate, q="АННА") == [ANNA_WA_ID]
    assert await search(wagate, q="ёлка") == ["79161112244"]
    assert await search(wagate, q="ЁЛКА") == ["79161112244"]
    assert await search(wagate, q="STRASSE") == ["79161112244"]
    assert await search(wagate, q="bob") == ["16505551234"]
    assert await search(wagate, q="+7 916 111") == ["79161112244", ANNA_WA_ID]
    assert await search(wagate, q="%") == []
    assert len(await search(wagate)) == 3


async def test_tag_filter_and_paging(wagate: Wagate) -> None:
    for i in range(5):
        await create(wagate, phone=f"+7 916 000-00-0{i}", tags=["vip"] if i % 2 == 0 else ["VIP-ish"])
    assert await search(wagate, tag="vip") == ["79160000004", "79160000002", "79160000000"]
    assert await search(wagate, tag="VIP-ish") == ["79160000003", "79160000001"]
    assert await search(wagate, tag="VIP") == []
    first = await search(wagate, limit=2)
    second = await search(wagate, limit=2, offset=2)
    rest = await search(wagate, limit=2, offset=4)
    assert first + second + rest == [f"7916000000{i}" for i in (4, 3, 2, 1, 0)]
    bad = await wagate.client.get("/api/v1/contacts", params={"limit": "0"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"


async def test_a_duplicate_is_refused(wagate: Wagate) -> None:
    await create(wagate, phone=ANNA)
    again = await wagate.client.post("/api/v1/contacts", json={"phone": "+79161112233", "name": "Other"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "contact_exists"
    assert count(wagate, contacts) == 1


async def test_bad_input_writes_nothing(wagate: Wagate) -> None:
    cases: list[Any] = [
        {"phone": "not a number"},
        {"name": "no phone"},
        {"phone": ANNA, "attributes": {"nested": {"a": 1}}},
        {"phone": ANNA, "attributes": {"k" * 65: "v"}},
        {"phone": ANNA, "attributes": {f"k{i}": i for i in range(51)}},
        {"phone": ANNA, "tags": ["t" * 65]},
        {"phone": ANNA, "tags": [f"t{i}" for i in range(51)]},
        {"phone": ANNA, "unknown": 1},
        [1, 2],
    ]
    for body in cases:
        response = await wagate.client.post("/api/v1/contacts", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "invalid_request"
    assert count(wagate, contacts) == 0

    made = await create(wagate, phone=ANNA, attributes={f"k{i}": i for i in range(50)})
    for change in (
        {"attributes": {"one_more": 1}},
        {"tags": ["a"], "add_tags": ["b"]},
        {"add_tags": ["x" * 65]},
        {"name": 5},
    ):
        response = await wagate.client.patch(f"/api/v1/contacts/{made['id']}", json=change)
        assert response.status_code == 400, change
        assert response.json()["error"]["code"] == "invalid_request"
    assert (await wagate.client.get(f"/api/v1/contacts/{made['id']}")).json() == made


async def test_another_organization_cannot_see_change_or_erase(wagate: Wagate) -> None:
    made = await create(wagate, phone=ANNA, name="Анна")
    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    theirs = {"Authorization": f"Bearer {other.token}"}
    path = f"/api/v1/contacts/{made['id']}"
    for response in (
        await wagate.client.get(path, headers=theirs),
        await wagate.client.patch(path, json={"name": "x"}, headers=theirs),
        await wagate.client.delete(path, headers=theirs),
    ):
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert (await wagate.client.get("/api/v1/contacts", headers=theirs)).json()["data"] == []
    assert (await wagate.client.get(path)).json() == made
    missing = await wagate.client.get("/api/v1/contacts/abc")
    assert missing.status_code == 404
    # The same person may be a contact of both organizations.
    assert (
        await wagate.client.post("/api/v1/contacts", json={"phone": ANNA}, headers=theirs)
    ).status_code == 201


@dataclass
class RecordPreference(Job[None]):
    org_id: int
    wa_id: str
    now: float

    def run(self, conn: Connection) -> None:
        conn.execute(
            insert(contact_preferences).values(
                org_id=self.org_id, wa_id=self.wa_id, category="marketing_messages", value="stop", at=self.now
            )
        )


async def test_erasure_removes_what_we_hold_and_keeps_consent(wagate: Wagate) -> None:
    made = await create(wagate, phone=ANNA, name="Анна")
    await wagate.customer_writes("79161112233", text="Hi, it is Anna", name="Anna")
    sent = await wagate.send(
        {"messaging_product": "whatsapp", "to": ANNA, "type": "text", "text": {"body": "Hello"}}
    )
    assert sent.status_code == 200, sent.text
    wamid = sent.json()["messages"][0]["id"]

    async def read() -> bool:
        return (await wagate.message(wamid))["status"] == "read"

    await eventually(read)
    for action in ({"type": "image"},):
        written = await wagate.client.post(
            "/api/v1/simulator/messages",
            json={"phone_number_id": wagate.phone_number_id, "from": ANNA, "name": "Anna", **action},
        )
        assert written.status_code == 201, written.text

    async def both_in() -> bool:
        return count(wagate, messages, messages.c.wa_id == ANNA_WA_ID, messages.c.direction == "in") == 2

    await eventually(both_in)
    org_id = int(made_org_id(wagate))
    await wagate.rt.db.write(RecordPreference(org_id, ANNA_WA_ID, wagate.rt.clock.now()))
    assert count(wagate, conversations, conversations.c.wa_id == ANNA_WA_ID) == 1
    assert count(wagate, service_windows, service_windows.c.wa_id == ANNA_WA_ID) == 1
    statuses = count(wagate, message_statuses)
    assert statuses >= 3

    erased = await wagate.client.delete(f"/api/v1/contacts/{made['id']}")
    assert erased.status_code == 200, erased.text
    body = erased.json()
    assert body["erased"] is True and body["messages"] == 3 and body["conversations"] == 1
    assert body["statuses"] == statuses and body["service_windows"] == 1 and body["media"] == 1

    assert count(wagate, messages, messages.c.wa_id == ANNA_WA_ID) == 0
    assert count(wagate, message_statuses) == 0
    assert count(wagate, conversations, conversations.c.wa_id == ANNA_WA_ID) == 0
    assert count(wagate, service_windows, service_windows.c.wa_id == ANNA_WA_ID) == 0
    assert count(wagate, contacts) == 0
    assert count(wagate, media, media.c.deleted_at.is_(None)) == 0
    assert count(wagate, contact_preferences, contact_preferences.c.wa_id == ANNA_WA_ID) == 1
    assert count(wagate, erasures, erasures.c.wa_id == ANNA_WA_ID, erasures.c.org_id == org_id) == 1
    assert (await wagate.client.get(f"/api/v1/contacts/{made['id']}")).status_code == 404
    assert (await wagate.client.delete(f"/api/v1/contacts/{made['id']}")).status_code == 404


def made_org_id(w: Wagate) -> int:
    return int(
        w.rt.db.read_now(
            lambda c: c.execute(select(contacts.c.org_id).where(contacts.c.wa_id == ANNA_WA_ID)).scalar_one()
        )
    )
