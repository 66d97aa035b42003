"""Search over message text, which is stored sealed: `GET /api/v1/messages?q=` finds messages by their
words (whole words or their starts) through the blind index, within one organization; the index holds
no word in clear, and one-time codes are never findable."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.conftest import Wagate
from tests.factories import make_organization
from wagate.store.schema import messages

CUSTOMER = "+79161110001"


async def search(w: Wagate, token: str | None = None, **params: Any) -> list[dict[str, Any]]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = await w.client.get("/api/v1/messages", params=params, headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found


async def reply(w: Wagate, text: str) -> str:
    response = await w.send(
        {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": {"body": text}}
    )
    assert response.status_code == 200, response.text
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


async def test_words_and_their_starts_find_messages_both_ways_newest_first(wagate: Wagate) -> None:
    await wagate.customer_writes(CUSTOMER, "Where is my order 4471? Grüße")
    answered = await reply(wagate, "Your order ships tomorrow morning")
    await reply(wagate, "Thank you for waiting")

    both = await search(wagate, q="ORDER")
    assert [m["direction"] for m in both] == ["outbound", "inbound"] and both[0]["id"] == answered
    assert both[0]["content"] == {"body": "Your order ships tomorrow morning"}
    assert both[1]["content"]["text"]["body"] == "Where is my order 4471? Grüße"
    asked = both[1]["id"]
    assert [m["id"] for m in await search(wagate, q="ord ship")] == [answered]  # every word must match
    assert [m["id"] for m in await search(wagate, q="GRÜSSE")] == [asked]  # casefolded: ß is ss
    assert await search(wagate, q="grusse") == []  # but not transliterated
    assert [m["id"] for m in await search(wagate, q="grüße 4471")] == [asked]
    assert await search(wagate, q="rder") == []  # inside a word: not indexed
    assert [m["id"] for m in await search(wagate, q="order", limit=1)] == [answered]
    older = await search(wagate, q="order", before=str(both[0]["created_at"]))
    assert [m["id"] for m in older] == [asked]
    assert [m["id"] for m in await search(wagate, q="order", wa_id="79161110001")] == [answered, asked]
    assert await search(wagate, q="order", phone_number_id="1") == []


async def test_the_index_holds_no_word_in_clear(wagate: Wagate) -> None:
    await wagate.customer_writes(CUSTOMER, "Pomegranate delivery please")
    indexes = wagate.rt.db.read_now(
        lambda conn: conn.execute(sa.select(messages.c.search_index)).scalars().all()
    )
    stored = " ".join(i for i in indexes if i is not None)
    assert stored and "pomegranate" not in stored.casefold() and "delivery" not in stored.casefold()
    assert len(await search(wagate, q="pomegranate")) == 1


async def test_one_time_codes_are_not_findable(wagate: Wagate) -> None:
    code = "482913"
    body = {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "template",
        "template": {
            "name": "verification_code",
            "language": {"code": "en_US"},
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": code}]},
                {
                    "type": "button",
                    "sub_type": "url",
                    "index": "0",
                    "parameters": [{"type": "text", "text": code}],
                },
            ],
        },
    }
    assert (await wagate.send(body)).status_code == 200
    assert await search(wagate, q=code) == []


async def test_another_organization_finds_none_of_them(wagate: Wagate) -> None:
    await wagate.customer_writes(CUSTOMER, "Confidential invoice attached")
    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    assert len(await search(wagate, q="invoice")) == 1
    assert await search(wagate, token=other.token, q="invoice") == []


async def test_a_query_without_words_is_refused(wagate: Wagate) -> None:
    for params in ({}, {"q": "  "}, {"q": "x", "limit": "0"}, {"q": "x", "before": "yesterday"}):
        response = await wagate.client.get("/api/v1/messages", params=params)
        assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_request", params
    assert await search(wagate, q="!!!") == []  # no word in it: nothing, not everything
