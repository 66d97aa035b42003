"""The `cloud` upstream end to end against the simulator running alone as a fake Meta over HTTP."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import databases
from tests.factories import make_cloud_organization
from tests.helpers import Server, free_port, wagate_env
from wagate.store.db import Database
from wagate.store.migrate import upgrade

SECRET = "fake-meta-app-secret"
FAST = {
    "WAGATE_SIMULATOR_SENT_DELAY": "0.02",
    "WAGATE_SIMULATOR_DELIVERED_DELAY": "0.04",
    "WAGATE_SIMULATOR_READ_DELAY": "0.06",
}


@pytest.fixture
def fake_meta(tmp_path: Path) -> Iterator[tuple[str, int]]:
    """`wagate simulator` on a free port, sending webhooks to a wagate port chosen in advance."""
    port, wagate_port = free_port(), free_port()
    log = (tmp_path / "fake-meta.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wagate",
            "simulator",
            "--port",
            str(port),
            "--app-secret",
            SECRET,
            "--webhook-url",
            f"http://127.0.0.1:{wagate_port}/webhooks/meta",
            "--home",
            str(tmp_path / "sim"),
        ],
        env=wagate_env(tmp_path / "unused", **FAST),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    try:
        yield url, wagate_port
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def wait_for(check: object, within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_send_comes_back_read_and_a_customer_message_arrives(
    tmp_path: Path, fake_meta: tuple[str, int]
) -> None:
    meta_url, wagate_port = fake_meta
    created = httpx.post(
        f"{meta_url}/api/v1/simulator/numbers", json={"display_phone_number": "+1 555 010 2030"}
    )
    assert created.status_code == 201
    meta_number = created.json()
    home = tmp_path / "wagate"
    home.mkdir()
    db = Database(databases.database_url(home), databases.key_ring(home))
    upgrade(db)
    account = make_cloud_organization(
        db,
        time.time(),
        waba_id=int(meta_number["waba_id"]),
        number_id=int(meta_number["phone_number_id"]),
        display=meta_number["display_phone_number"],
        access_token=meta_number["access_token"],
    )
    db.stop()
    env = {
        "WAGATE_GRAPH_BASE_URL": meta_url,
        "WAGATE_META_APP_SECRET": SECRET,
        "WAGATE_ALLOW_PRIVATE_TARGETS": "1",
    }
    with Server(home, port=wagate_port, **env) as server:
        headers = {"Authorization": f"Bearer {account.token}"}
        number_id = meta_number["phone_number_id"]
        sent = httpx.post(
            f"{server.url}/v23.0/{number_id}/messages",
            headers=headers,
            json={
                "messaging_product": "whatsapp",
                "to": "+16505551234",
                "type": "template",
                "template": {"name": "hello_world", "language": {"code": "en_US"}},
                "biz_opaque_callback_data": "o-1",
            },
        )
        assert sent.status_code == 200, sent.text
        wamid = sent.json()["messages"][0]["id"]

        def status() -> str:
            return str(httpx.get(f"{server.url}/api/v1/messages/{wamid}", headers=headers).json()["status"])

        wait_for(lambda: status() == "read")
        history = httpx.get(f"{server.url}/api/v1/messages/{wamid}", headers=headers).json()["history"]
        assert [h["status"] for h in history] == ["accepted", "sent", "delivered", "read"]

        said = httpx.post(
            f"{meta_url}/api/v1/simulator/messages",
            json={
                "phone_number_id": number_id,
                "from": "+16505551234",
                "name": "Jo",
                "text": "Where is my parcel?",
            },
        )
        assert said.status_code == 201

        def queue() -> list[dict[str, object]]:
            data: list[dict[str, object]] = httpx.get(
                f"{server.url}/api/v1/conversations", headers=headers, params={"state": "pending"}
            ).json()["data"]
            return data

        wait_for(lambda: len(queue()) == 1)
        conversation = queue()[0]["id"]
        thread = httpx.get(
            f"{server.url}/api/v1/conversations/{conversation}/messages", headers=headers
        ).json()
        inbound = next(m for m in thread["data"] if m["direction"] == "inbound")
        assert inbound["content"]["text"]["body"] == "Where is my parcel?"
        read = httpx.post(
            f"{server.url}/v23.0/{number_id}/messages",
            headers=headers,
            json={"messaging_product": "whatsapp", "status": "read", "message_id": inbound["id"]},
        )
        assert read.json() == {"success": True}
        stats = httpx.get(f"{meta_url}/api/v1/simulator/stats").json()
        assert stats["accepted"] == 1 and stats["webhooks_sent"] >= 2
