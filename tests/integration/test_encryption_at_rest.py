"""Encryption at rest: what wagate stores is sealed, a wrong key stops it, and keys rotate while it serves.

The database is read here as an attacker with a copy of it would: raw rows of every table, and the
media files on disk, searched for what customers and the business said and for every secret.
"""

from __future__ import annotations

import base64
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests import databases
from tests.conftest import Wagate, make_settings, serving
from tests.factories import make_cloud_organization
from tests.helpers import Server, bootstrap, eventually, run_cli, wagate_env
from tests.receiver import Receiver
from wagate.clock import SettableClock
from wagate.settings import Settings
from wagate.store.db import engine_url
from wagate.store.rotation import CLEAR, values_by_key
from wagate.store.tenancy import access_token_of

INBOUND = "Zanzibar-parcel-inbound"
OUTBOUND = "Marzipan-reply-outbound"
CUSTOMER = "Quixote Zoltanovich"
CONTACT = "Ysolde Brightwater"
CITY = "Xanaduville"
ACCESS_TOKEN = "EAAG-secret-meta-token-4711"
MEDIA = b"Platypus-confidential-scan"
PROOF = "Signed paper form Quagga-7734"

KEY_1 = "k1:" + base64.b64encode(b"1" * 32).decode()
KEY_2 = "k2:" + base64.b64encode(b"2" * 32).decode()
WRONG_1 = "k1:" + base64.b64encode(b"w" * 32).decode()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home", allow_private_targets=True)


def clear_values(home: Path, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every value of every table holding one of `needles` in clear."""
    engine = sa.create_engine(engine_url(databases.database_url(home)))
    found = []
    try:
        reflected = sa.MetaData()
        reflected.reflect(engine)
        with engine.connect() as conn:
            for table in reflected.sorted_tables:
                for row in conn.execute(sa.select(table)).mappings():
                    for column, value in row.items():
                        if isinstance(value, memoryview | bytes):
                            text = bytes(value).decode("utf-8", errors="replace")
                        elif isinstance(value, str):
                            text = value
                        else:
                            continue
                        found += [(table.name, column, n) for n in needles if n.casefold() in text.casefold()]
    finally:
        engine.dispose()
    return found


def clear_files(folder: Path, needles: list[bytes]) -> list[str]:
    if not folder.exists():
        return []
    return [p.name for p in folder.iterdir() if any(n in p.read_bytes() for n in needles)]


async def test_messages_contacts_secrets_and_media_are_stored_sealed(wagate: Wagate, tmp_path: Path) -> None:
    receiver = await Receiver().start()
    try:
        hooks = await wagate.client.post(
            "/api/v1/webhooks/subscriptions", json={"url": receiver.url("/hooks"), "format": "wagate"}
        )
        assert hooks.status_code == 201, hooks.text
        webhook_secret = hooks.json()["secret"]
        await wagate.customer_writes("79161234567", INBOUND, CUSTOMER)
        sent = await wagate.send(
            {"messaging_product": "whatsapp", "to": "79161234567", "type": "text", "text": {"body": OUTBOUND}}
        )
        assert sent.status_code == 200, sent.text
        wamid = sent.json()["messages"][0]["id"]
        contact = await wagate.client.post(
            "/api/v1/contacts",
            json={"phone": "+1 650 555 1234", "name": CONTACT, "attributes": {"city": CITY}},
        )
        assert contact.status_code == 201, contact.text
        consent = await wagate.client.post(
            "/api/v1/consents/import",
            json={
                "records": [
                    {"phone": "+1 650 555 1234", "purpose": "marketing", "action": "opt_in", "proof": PROOF}
                ]
            },
        )
        assert consent.status_code == 200, consent.text
        upload = await wagate.client.post(
            f"/v23.0/{wagate.phone_number_id}/media",
            data={"messaging_product": "whatsapp", "type": "text/plain"},
            files={"file": ("scan.txt", MEDIA, "text/plain")},
        )
        assert upload.status_code == 200, upload.text
        make_cloud_organization(
            wagate.rt.db,
            wagate.rt.clock.now(),
            waba_id=880001,
            number_id=880002,
            display="+1 555 0100",
            access_token=ACCESS_TOKEN,
        )

        async def delivered_with_its_events() -> bool:
            # The webhooks carry what the database holds sealed: the text, opened for the business.
            bodies = b" ".join(p.body for p in receiver.posts("/hooks"))
            delivered = (await wagate.message(wamid))["status"] in ("delivered", "read")
            return delivered and INBOUND.encode() in bodies and b'"delivered"' in bodies

        await eventually(delivered_with_its_events)
    finally:
        await receiver.stop()

    # Everything reads back in clear through wagate...
    conversations = (await wagate.client.get("/api/v1/conversations")).json()["data"]
    thread = await wagate.client.get(f"/api/v1/conversations/{conversations[0]['id']}/messages")
    assert {m["id"]: m["content"] for m in thread.json()["data"]}[wamid] == {"body": OUTBOUND}
    found = (await wagate.client.get("/api/v1/contacts", params={"q": "ysol"})).json()["data"]
    assert [(c["name"], c["attributes"]) for c in found] == [(CONTACT, {"city": CITY})]
    by_city = (await wagate.client.get("/api/v1/contacts", params={"q": CITY.upper()})).json()["data"]
    assert [c["name"] for c in by_city] == [CONTACT]
    customer = (await wagate.client.get("/api/v1/contacts", params={"q": "zoltanovich"})).json()["data"]
    assert [c["name"] for c in customer] == [CUSTOMER]
    media = await wagate.client.get(f"/v23.0/{upload.json()['id']}")
    download = await wagate.client.get(media.json()["url"])
    assert download.content == MEDIA
    assert wagate.rt.db.read_now(lambda c: access_token_of(c, 880001)) == ACCESS_TOKEN

    # ...and nothing of it is in the database or the media folder.
    history = (await wagate.client.get(f"/api/v1/contacts/{contact.json()['id']}/consent")).json()
    assert PROOF in str(history)
    secrets = [
        INBOUND,
        OUTBOUND,
        CUSTOMER,
        CONTACT,
        CITY,
        ACCESS_TOKEN,
        webhook_secret,
        PROOF,
        MEDIA.decode(),
    ]
    assert clear_values(wagate.rt.settings.home, secrets) == []
    assert clear_files(wagate.rt.settings.home / "media", [s.encode() for s in secrets]) == []
    assert len(list((wagate.rt.settings.home / "media").iterdir())) == 1


def contents(client: httpx.Client) -> dict[str, Any]:
    """What the business sees of each message of the (one) conversation, by message id."""
    (conversation,) = client.get("/api/v1/conversations").json()["data"]
    thread = client.get(f"/api/v1/conversations/{conversation['id']}/messages", params={"limit": 100})
    return {m["id"]: m["content"] for m in thread.json()["data"]}


def cli(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wagate", *args],
        env=wagate_env(home, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def stored_rows(home: Path) -> dict[str, list[Any]]:
    engine = sa.create_engine(engine_url(databases.database_url(home)))
    try:
        reflected = sa.MetaData()
        reflected.reflect(engine)
        with engine.connect() as conn:
            return {t.name: [tuple(r) for r in conn.execute(sa.select(t))] for t in reflected.sorted_tables}
    finally:
        engine.dispose()


def test_a_missing_or_wrong_key_stops_wagate_with_a_clear_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bootstrap(home, WAGATE_ENCRYPTION_KEYS=KEY_1)
    before = stored_rows(home)

    wrong = cli(home, "serve", WAGATE_ENCRYPTION_KEYS=WRONG_1)
    assert wrong.returncode == 1
    assert "encryption key 'k1' in WAGATE_ENCRYPTION_KEYS is wrong" in " ".join(wrong.stderr.split())

    replaced = cli(home, "bootstrap", WAGATE_ENCRYPTION_KEYS=KEY_2)
    assert replaced.returncode == 1
    assert "sealed with encryption key 'k1', which WAGATE_ENCRYPTION_KEYS does not list" in " ".join(
        replaced.stderr.split()
    )

    malformed = cli(home, "keys", "status", WAGATE_ENCRYPTION_KEYS="k1:tooshort")
    assert malformed.returncode == 1 and "encryption key 'k1'" in malformed.stderr
    assert stored_rows(home) == before


def test_sqlite_creates_its_key_on_first_run_and_postgresql_requires_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    if databases.on_postgresql():
        result = cli(home, "bootstrap", "--json", WAGATE_ENCRYPTION_KEYS="")
        assert result.returncode == 1
        assert "every wagate process needs the same encryption key" in " ".join(result.stdout.split())
        return
    result = cli(home, "bootstrap", "--json")
    assert result.returncode == 0, result.stderr
    assert "created encryption key" in result.stderr
    assert (home / "keys").stat().st_mode & 0o777 == 0o600
    again = cli(home, "bootstrap", "--json")
    assert again.returncode == 0 and "created encryption key" not in again.stderr


def key_counts(home: Path, **env: str) -> dict[str, int]:
    """Values per key id over every sealed column, from `wagate keys status`."""
    out = run_cli(home, "keys", "status", **env)
    lines = [line for line in out.splitlines() if "│" in line]
    header = [cell.strip() for cell in out.splitlines()[1].split("┃")[2:-1]]
    totals = dict.fromkeys(header, 0)
    for line in lines:
        cells = [cell.strip() for cell in line.split("│")[2:-1]]
        for key_id, cell in zip(header, cells, strict=True):
            totals[key_id] += int(cell)
    return totals


def send_texts(server: Server, token: str, number: str, count: int, label: str) -> list[str]:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
        wrote = client.post(
            "/api/v1/simulator/messages",
            json={"phone_number_id": number, "from": "79161234567", "text": "hi", "name": "Rotating Rita"},
        )
        assert wrote.status_code == 201, wrote.text
        wamids = []
        for i in range(count):
            body = {"messaging_product": "whatsapp", "to": "79161234567", "type": "text"}
            response = client.post(
                f"/v23.0/{number}/messages", json={**body, "text": {"body": f"{label} {i}"}}
            )
            assert response.status_code == 200, response.text
            wamids.append(response.json()["messages"][0]["id"])
    return wamids


def test_keys_rotate_while_serving_and_resume_after_a_kill(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ids = bootstrap(home, WAGATE_ENCRYPTION_KEYS=KEY_1)
    token, number = ids["token"], ids["phone_number_id"]
    with Server(home, WAGATE_ENCRYPTION_KEYS=KEY_1) as server:
        before = send_texts(server, token, number, 30, "before")
    # At least the 30 messages sent and the customer's one (their events follow as receipts arrive).
    assert key_counts(home, WAGATE_ENCRYPTION_KEYS=KEY_1)["k1"] >= 31

    rotated_keys = f"{KEY_2},{KEY_1}"
    # A rotation killed once it has moved the messages (no server yet: a server with the new key first
    # moves the values by itself too): the rest still waits under k1.
    env = wagate_env(home, WAGATE_ENCRYPTION_KEYS=rotated_keys, PYTHONUNBUFFERED="1")
    with subprocess.Popen(
        [sys.executable, "-m", "wagate", "keys", "rotate", "--batch", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as killed:
        assert killed.stdout is not None
        first = killed.stdout.readline()
        killed.send_signal(signal.SIGKILL)
    assert first.startswith("messages.content:"), first
    halfway = key_counts(home, WAGATE_ENCRYPTION_KEYS=rotated_keys)
    assert halfway["k1"] > 0 and halfway["k2"] > 0

    with Server(home, WAGATE_ENCRYPTION_KEYS=rotated_keys) as server:
        during = send_texts(server, token, number, 5, "during")
        out = run_cli(home, "keys", "rotate", WAGATE_ENCRYPTION_KEYS=rotated_keys)
        assert "key k1 holds no value any more" in " ".join(out.split())
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as client:
            seen = contents(client)
            assert [seen[wamid] for wamid in before] == [{"body": f"before {i}"} for i in range(len(before))]
            assert [seen[wamid] for wamid in during] == [{"body": f"during {i}"} for i in range(len(during))]
            found = client.get("/api/v1/contacts", params={"q": "rita"}).json()["data"]
            assert [c["name"] for c in found] == ["Rotating Rita"]
    after = key_counts(home, WAGATE_ENCRYPTION_KEYS=rotated_keys)
    # Nothing left under k1: every value counted halfway is under k2 now, with the 5 sent meanwhile.
    assert after.get("k1", 0) == 0 and after["k2"] >= halfway["k1"] + halfway["k2"] + len(during)

    # k1 may now leave the configuration.
    with (
        Server(home, WAGATE_ENCRYPTION_KEYS=KEY_2) as server,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as client,
    ):
        assert contents(client)[before[0]] == {"body": "before 0"}
        # The messages' blind index moved with their content: found under k2 alone.
        found = client.get("/api/v1/messages", params={"q": "before", "limit": 100}).json()["data"]
        assert sorted(m["id"] for m in found) == sorted(before)


async def test_a_server_with_a_new_key_first_moves_the_values_to_it_by_itself(tmp_path: Path) -> None:
    clock = SettableClock(ticking=True)
    home = tmp_path / "home"
    async with serving(make_settings(home, encryption_keys=KEY_1), clock) as w:
        await w.customer_writes("79161234567", "Written under the old key", "Olga Oldkey")
        assert set(w.rt.db.read_now(values_by_key)["messages.content"]) == {"k1"}

    async with serving(make_settings(home, encryption_keys=f"{KEY_2},{KEY_1}"), clock) as w:

        async def everything_under_k2() -> bool:
            counts = w.rt.db.read_now(values_by_key)
            return all(set(by_key) <= {"k2"} for by_key in counts.values())

        await eventually(everything_under_k2)
        found = (await w.client.get("/api/v1/contacts", params={"q": "oldkey"})).json()["data"]
        assert [c["name"] for c in found] == ["Olga Oldkey"]
        (conversation,) = (await w.client.get("/api/v1/conversations")).json()["data"]
        thread = await w.client.get(f"/api/v1/conversations/{conversation['id']}/messages")
        assert [m["content"]["text"]["body"] for m in thread.json()["data"]] == ["Written under the old key"]


async def test_contacts_made_by_a_customers_message_or_an_import_keep_nothing_in_clear(
    wagate: Wagate,
) -> None:
    await wagate.customer_writes("79161234567", "Hello", "Anna")
    await wagate.opt_in("79167654321")
    counts = wagate.rt.db.read_now(values_by_key)
    assert CLEAR not in counts["contacts.attributes"], counts["contacts.attributes"]
    assert sum(counts["contacts.attributes"].values()) == 2
    # And they still read as contacts without attributes.
    for contact in (await wagate.client.get("/api/v1/contacts")).json()["data"]:
        assert contact["attributes"] == {}
