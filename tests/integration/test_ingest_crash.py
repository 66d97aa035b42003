"""`kill -9` while Meta's webhooks arrive at full rate; the sender retries until it gets a 200, as Meta
does. Every event that got a 200 is processed, and its effects happen once; meanwhile wagate forwards
every event to the business's endpoint in Meta's format, signed, once in effect (a repeat is possible
only for a delivery in flight at the kill, and is counted)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests import databases
from tests.factories import make_sent_messages
from tests.helpers import Server, bootstrap, eventually
from tests.receiver import Receiver
from wagate.cloudapi.signatures import hub_signature, verify_hub_signature
from wagate.cloudapi.webhooks import messages_envelope, status_event
from wagate.store.db import Database
from wagate.store.migrate import upgrade
from wagate.store.tenancy import number_by_id

SECRET = "crash-test-app-secret"
BUSINESS_SECRET = "the-business-app-secret"
SENT, CUSTOMERS, DUPLICATES = 200, 300, 0.3
CLIENTS, KILL_AFTER = 32, 400


def what(body: bytes) -> str:
    """What one of Meta's envelopes forwarded to the business tells: a message, or a status of one."""
    value = json.loads(body)["entry"][0]["changes"][0]["value"]
    if "statuses" in value:
        status = value["statuses"][0]
        return f"{status['id']}:{status['status']}"
    return str(value["messages"][0]["id"])


@pytest.mark.slow
async def test_kill_9_during_ingest_loses_and_doubles_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"WAGATE_META_APP_SECRET": SECRET, "WAGATE_ALLOW_PRIVATE_TARGETS": "1"}
    ids = bootstrap(home, **env)
    db = Database(databases.database_url(home))
    upgrade(db)
    number = db.read_now(lambda c: number_by_id(c, int(ids["phone_number_id"])))
    assert number is not None
    upstream_ids = make_sent_messages(db, number.org_id, number.id, SENT, time.time())
    db.stop()

    bodies = []
    for upstream_id in upstream_ids:
        for status in ("sent", "delivered", "read"):
            event = status_event(upstream_id, status, time.time(), "79160000000")
            bodies.append(
                messages_envelope(
                    number.waba_id, number.id, number.display_phone_number, {"statuses": [event]}
                )
            )
    for i in range(CUSTOMERS):
        message = {
            "from": f"7926{i:07d}",
            "id": f"wamid.customer-{i}",
            "timestamp": str(int(time.time())),
            "type": "text",
            "text": {"body": f"question {i}"},
        }
        bodies.append(
            messages_envelope(
                number.waba_id,
                number.id,
                number.display_phone_number,
                {"contacts": [{"profile": {"name": "C"}, "wa_id": message["from"]}], "messages": [message]},
            )
        )
    rng = random.Random(7)
    requests = bodies + [rng.choice(bodies) for _ in range(int(len(bodies) * DUPLICATES / (1 - DUPLICATES)))]
    rng.shuffle(requests)

    server = Server(home, **env).start()
    business = await Receiver().start()  # the business's own endpoint, fed by wagate during all this
    async with httpx.AsyncClient() as http:
        subscribed = await http.post(
            f"{server.url}/api/v1/webhooks/subscriptions",
            json={"url": business.url("/events"), "format": "meta", "secret": BUSINESS_SECRET},
            headers={"Authorization": f"Bearer {ids['token']}"},
        )
    assert subscribed.status_code == 201, subscribed.text
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in requests:
        queue.put_nowait(body)
    acknowledged = 0
    enough, restarted = asyncio.Event(), asyncio.Event()

    async def meta_sender(http: httpx.AsyncClient) -> None:
        nonlocal acknowledged
        while not queue.empty():
            body = queue.get_nowait()
            headers = {"X-Hub-Signature-256": hub_signature(SECRET, body), "Content-Type": "application/json"}
            deadline = time.monotonic() + 60
            while True:
                try:
                    response = await http.post(f"{server.url}/webhooks/meta", content=body, headers=headers)
                    if response.status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not come back"
                await restarted.wait()  # Meta retries later; here, once the server is back
            acknowledged += 1
            if acknowledged >= KILL_AFTER:
                enough.set()

    async with httpx.AsyncClient(timeout=10) as http:
        senders = [asyncio.create_task(meta_sender(http)) for _ in range(CLIENTS)]
        await enough.wait()
        server.kill()
        await asyncio.to_thread(server.start)
        restarted.set()
        await asyncio.gather(*senders)
    assert acknowledged == len(requests)
    total_events = databases.scalar(home, "SELECT COUNT(*) FROM events")

    async def everything_forwarded() -> bool:
        return len({what(p.body) for p in business.posts("/events")}) >= total_events

    await eventually(everything_forwarded, within=60)
    assert server.terminate() == 0
    await business.stop()
    posts = business.posts("/events")
    assert all(verify_hub_signature(BUSINESS_SECRET, p.body, p.headers["x-hub-signature-256"]) for p in posts)
    forwarded = Counter(what(p.body) for p in posts)
    twice = sum(1 for n in forwarded.values() if n > 1)

    inbound = databases.scalar(home, "SELECT COUNT(*) FROM messages WHERE direction = 'in'")
    transitions = databases.scalar(home, "SELECT COUNT(*) FROM message_statuses WHERE status != 'accepted'")
    received_events = databases.scalar(home, "SELECT COUNT(*) FROM events WHERE type = 'message.received'")
    status_events = databases.scalar(home, "SELECT COUNT(*) FROM events WHERE type = 'message.status'")
    read = databases.scalar(home, "SELECT COUNT(*) FROM messages WHERE direction = 'out' AND status = 'read'")
    stored = databases.scalar(home, "SELECT COUNT(*) FROM inbound_events WHERE source = 'meta'")
    print(
        f"\ningest crash test: {len(requests)} webhooks acknowledged ({len(bodies)} distinct), "
        f"{stored} stored as received; {inbound} messages, {transitions} status transitions, "
        f"{received_events}+{status_events} events; {len(forwarded)} forwarded to the business, "
        f"{twice} of them twice (in flight at the kill)"
    )
    assert inbound == CUSTOMERS and received_events == CUSTOMERS
    assert transitions == 3 * SENT and status_events == 3 * SENT
    assert read == SENT
    assert stored >= len(requests) - CLIENTS  # every 200 was stored (a few in flight at the kill may be too)
    assert len(forwarded) == total_events == received_events + status_events
    assert twice <= 4  # at most the deliveries in flight when the process died (4 per endpoint)
