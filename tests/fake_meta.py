"""The fake Meta (`wagate simulator` alone, over HTTP) for tests of `cloud` business accounts, and the
accounts tests make at it and here."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx

from tests.factories import CloudAccount, make_cloud_organization
from tests.helpers import free_port, wagate_env
from wagate.store.db import Database


@contextlib.contextmanager
def fake_meta_server(tmp_path: Path) -> Iterator[str]:
    """`wagate simulator` on a free port, answering at the URL yielded; its webhooks go nowhere."""
    port = free_port()
    log_path = tmp_path / "fake-meta.log"
    log = log_path.open("wb")
    webhooks = f"http://127.0.0.1:{free_port()}/webhooks/meta"
    command = [sys.executable, "-m", "wagate", "simulator", "--port", str(port), "--app-secret", "s"]
    process = subprocess.Popen(
        [*command, "--webhook-url", webhooks, "--home", str(tmp_path / "sim")],
        env=wagate_env(tmp_path / "unused"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not _healthy(url):
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError(
                    f"the fake Meta did not start: {(tmp_path / 'fake-meta.log').read_text()}"
                )
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz").status_code == 200
    except httpx.HTTPError:
        return False


def meta_account(meta_url: str, templates: Sequence[dict[str, Any]] = (), **number: Any) -> dict[str, str]:
    """A number (and business account) at the fake Meta, with `templates` created there; `number` holds
    the control API's other fields (`rate`, `messaging_limit`)."""
    account: dict[str, str] = httpx.post(f"{meta_url}/api/v1/simulator/numbers", json=number).json()
    for template in templates:
        created = httpx.post(
            f"{meta_url}/v23.0/{account['waba_id']}/message_templates",
            json=template,
            headers=meta_headers(account),
        )
        assert created.status_code == 200, created.text
    return account


def meta_headers(account: dict[str, str]) -> dict[str, str]:
    """The account's own token at the fake Meta."""
    return {"Authorization": f"Bearer {account['access_token']}"}


def cloud_account(db: Database, now: float, meta: dict[str, str], rate: int = 80) -> CloudAccount:
    """An organization here whose number is the fake Meta's `meta` account, with Meta's ids and token."""
    return make_cloud_organization(
        db,
        now,
        waba_id=int(meta["waba_id"]),
        number_id=int(meta["phone_number_id"]),
        display=meta["display_phone_number"],
        access_token=meta["access_token"],
        rate=rate,
    )
