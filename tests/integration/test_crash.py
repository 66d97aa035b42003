"""`kill -9` while a client sends 2,000 messages with idempotency keys; nothing acknowledged is lost.

The server runs as a user runs it (`wagate serve`, SQLite, the simulator). After the kill it is started
again; the client retries what got no answer, with the same keys. Business time is moved past the
reconciliation window through the clock's offset file, so sends in doubt are settled without waiting.
At the end the simulator's journal must hold every acknowledged message; a message may be there twice
only if it was in doubt at the crash (sent before it and again after reconciliation). The test prints
the counts.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import pytest

from tests import databases
from tests.helpers import Server, bootstrap, eventually, run_cli
from wagate.upstreams.simulator.journal import read_journal

TOTAL = 2000
KILL_AFTER = 700
CLIENTS = 32


def outbox_rows(home: Path) -> int:
    return databases.scalar(home, "SELECT COUNT(*) FROM outbox")


@pytest.mark.slow
def order_ready(i: int) -> dict[str, object]:
    """A business-initiated message to a new customer: a template, as no window is open."""
    return {
        "messaging_product": "whatsapp",
        "to": f"+7916{i:07d}",
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }


async def test_kill_9_loses_no_acknowledged_message(tmp_path: Path) -> None:
    home = tmp_path / "home"
    offset = tmp_path / "clock-offset"
    offset.write_text("0")
    env = {
        "WAGATE_CLOCK": f"offset-file:{offset}",
        "WAGATE_SIMULATOR_SENT_DELAY": "0.05",
        "WAGATE_SIMULATOR_DELIVERED_DELAY": "0.1",
        "WAGATE_SIMULATOR_READ_DELAY": "0.15",
    }
    ids = bootstrap(home, **env)
    run_cli(home, "numbers", "update", ids["phone_number_id"], "--rate", "1000", **env)
    server = Server(home, **env).start()
    acknowledged: dict[str, str] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(TOTAL):
        queue.put_nowait(i)
    killed = asyncio.Event()
    enough = asyncio.Event()
    restarted = asyncio.Event()
    errors_during_outage = 0
    headers = {"Authorization": f"Bearer {ids['token']}"}
    url = f"{server.url}/v23.0/{ids['phone_number_id']}/messages"

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors_during_outage
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            key = f"crash-{i}"
            body = order_ready(i)
            deadline = time.monotonic() + 60
            while True:
                try:
                    response = await http.post(url, json=body, headers={**headers, "Idempotency-Key": key})
                except httpx.TransportError:
                    errors_during_outage += 1
                    assert time.monotonic() < deadline, "the server did not come back"
                    await restarted.wait()
                    continue
                assert response.status_code == 200, response.text
                wamid = response.json()["messages"][0]["id"]
                assert acknowledged.setdefault(key, wamid) == wamid
                if len(acknowledged) >= KILL_AFTER:
                    enough.set()
                break

    async def killer() -> None:
        await enough.wait()
        server.kill()
        killed.set()

    async with httpx.AsyncClient(timeout=10.0, limits=httpx.Limits(max_connections=CLIENTS)) as http:
        kill_task = asyncio.create_task(killer())
        clients = [asyncio.create_task(client(http)) for _ in range(CLIENTS)]
        await killed.wait()
        kill_time = time.time()
        await asyncio.to_thread(server.start)
        restarted.set()
        await asyncio.gather(kill_task, *clients)
        assert len(acknowledged) == TOTAL
        # Idempotency keys survived the crash: a retry answers with the first message id.
        for key in random.sample(sorted(acknowledged), 50):
            i = int(key.split("-")[1])
            body = order_ready(i)
            again = await http.post(url, json=body, headers={**headers, "Idempotency-Key": key})
            assert again.json()["messages"][0]["id"] == acknowledged[key]
    # Past the reconciliation window: sends in doubt either got their status or are sent again.
    offset.write_text("120")

    async def outbox_empty() -> bool:
        return outbox_rows(home) == 0

    await eventually(outbox_empty, within=60, interval=0.1)
    assert server.terminate() == 0  # SIGTERM: a clean stop

    sends: dict[str, list[float]] = defaultdict(list)
    for record in read_journal(home / "simulator" / "journal.jsonl"):
        if record.get("k") == "send" and isinstance(record.get("cb"), str):
            sends[record["cb"]].append(float(record["at"]))
    lost = [wamid for wamid in acknowledged.values() if wamid not in sends]
    duplicates = {wamid: times for wamid, times in sends.items() if len(times) > 1}
    copies = Counter(len(times) for times in sends.values())
    print(
        f"\ncrash test: {TOTAL} acknowledged ({errors_during_outage} requests failed during the outage "
        f"and were retried), {len(sends)} in the simulator's journal, {len(lost)} lost, "
        f"{len(duplicates)} sent twice after reconciliation; copies per message: {dict(copies)}"
    )
    assert not lost
    for times in duplicates.values():
        # In doubt at the crash: one copy before it, one after the reconciliation window.
        assert len(times) == 2 and times[0] <= kill_time + 1 and times[1] >= kill_time + 60
    assert set(sends) <= set(acknowledged.values()), "the journal holds a message nobody was told about"
    assert json.loads(json.dumps(copies))  # printed above
