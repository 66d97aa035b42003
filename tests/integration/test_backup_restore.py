"""The backup and restore of docs/deployment.md, performed with the guide's own commands.

A wagate on PostgreSQL sends a message and stores a media file; its database is dumped with
`pg_dump -Fc` and its data folder archived with `tar`; the original database is dropped; the dump is
restored with `createdb` and `pg_restore --no-owner`, `wagate migrate` runs, and a wagate started on
the restored database and folder, with the old token, shows the message as it was, serves the media and
delivers a new message. Skipped, with the reason, when PostgreSQL or its client programs are missing.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests import databases
from tests.helpers import Server, bootstrap, run_cli
from wagate.media import samples

PG_PROGRAMS = ("pg_dump", "pg_restore", "createdb")
POSTGRESQL_LIBRARY = Path("/usr/lib/postgresql")
COMMAND_TIMEOUT = 60.0


def find_program(name: str) -> str | None:
    """A PostgreSQL client program: on the PATH, else in the newest /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found is not None:
        return found
    folders = sorted(
        POSTGRESQL_LIBRARY.glob("*/bin"),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else -1,
        reverse=True,
    )
    for folder in folders:
        candidate = folder / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


@dataclass(frozen=True)
class PgClient:
    """The client programs, and how they reach the test server (the guide's `-h -p -U`)."""

    programs: dict[str, str]
    host: str
    port: int
    user: str
    password: str | None

    def run(self, program: str, *args: str) -> None:
        env = {**os.environ, "PGCONNECT_TIMEOUT": str(databases.CONNECT_TIMEOUT)}
        if self.password:
            env["PGPASSWORD"] = self.password
        connection = ("-h", self.host, "-p", str(self.port), "-U", self.user)
        result = subprocess.run(
            [self.programs[program], *connection, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"{program} {' '.join(args)} failed ({result.returncode}): {result.stderr}")


@pytest.fixture
def pg_client() -> PgClient:
    programs = {name: find_program(name) for name in PG_PROGRAMS}
    missing = [name for name, path in programs.items() if path is None]
    if missing:
        pytest.skip(f"PostgreSQL client programs not found on PATH or in {POSTGRESQL_LIBRARY}: {missing}")
    if shutil.which("tar") is None:
        pytest.skip("tar, which the guide archives the data folder with, is not on PATH")
    reason = databases.postgresql_unreachable()
    if reason is not None:
        pytest.skip(reason)
    url = sa.make_url(databases.server_url())
    return PgClient(
        programs={name: path for name, path in programs.items() if path is not None},
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
    )


@pytest.fixture
def two_databases() -> Iterator[tuple[str, str]]:
    """A new database holding nothing yet, and the URL of one to restore into (made by `createdb`)."""
    original = databases.create_database()
    restored = str(
        sa.make_url(original)
        .set(database=f"wagate_test_restored_{secrets.token_hex(6)}")
        .render_as_string(hide_password=False)
    )
    try:
        yield original, restored
    finally:
        databases.drop_database(original)
        databases.drop_database(restored)


def serving(home: Path, database_url: str) -> Server:
    """`wagate serve` on this data folder and database, with the simulator's receipts quick."""
    return Server(
        home,
        WAGATE_DATABASE_URL=database_url,
        WAGATE_SIMULATOR_SENT_DELAY="0.01",
        WAGATE_SIMULATOR_DELIVERED_DELAY="0.02",
        WAGATE_SIMULATOR_READ_DELAY="0.03",
    )


def hello_world(to: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }


def send(server: Server, ids: dict[str, str], body: dict[str, Any]) -> str:
    response = httpx.post(
        f"{server.url}/v23.0/{ids['phone_number_id']}/messages",
        headers={"Authorization": f"Bearer {ids['token']}"},
        json=body,
        timeout=10.0,
    )
    assert response.status_code == 200, response.text
    wamid: str = response.json()["messages"][0]["id"]
    return wamid


def message(server: Server, token: str, wamid: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server.url}/api/v1/messages/{wamid}", headers={"Authorization": f"Bearer {token}"}, timeout=10.0
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def read_by_customer(server: Server, token: str, wamid: str, within: float = 15.0) -> dict[str, Any]:
    """The message once its last receipt (`read`) is in, so nothing about it is still on its way."""
    deadline = time.monotonic() + within
    found = message(server, token, wamid)
    while found["status"] != "read" and time.monotonic() < deadline:
        time.sleep(0.05)
        found = message(server, token, wamid)
    assert found["status"] == "read", found
    return found


def upload_png(server: Server, ids: dict[str, str]) -> str:
    response = httpx.post(
        f"{server.url}/v23.0/{ids['phone_number_id']}/media",
        headers={"Authorization": f"Bearer {ids['token']}"},
        data={"messaging_product": "whatsapp", "type": "image/png"},
        files={"file": ("pixel.png", samples.png(), "image/png")},
        timeout=10.0,
    )
    assert response.status_code == 200, response.text
    media_id: str = response.json()["id"]
    return media_id


def download(server: Server, token: str, media_id: str) -> bytes:
    headers = {"Authorization": f"Bearer {token}"}
    described = httpx.get(f"{server.url}/v23.0/{media_id}", headers=headers, timeout=10.0)
    assert described.status_code == 200, described.text
    fetched = httpx.get(described.json()["url"], headers=headers, timeout=10.0)
    assert fetched.status_code == 200, fetched.text
    return fetched.content


def tar(*args: str) -> None:
    subprocess.run(["tar", *args], check=True, capture_output=True, timeout=COMMAND_TIMEOUT)


def test_a_restored_backup_serves_the_old_messages_and_sends_new_ones(
    tmp_path: Path, pg_client: PgClient, two_databases: tuple[str, str]
) -> None:
    original_url, restored_url = two_databases
    home = tmp_path / "wagate"
    ids = bootstrap(home, WAGATE_DATABASE_URL=original_url)
    with serving(home, original_url) as server:
        wamid = send(server, ids, hello_world("+16505551234"))
        before = read_by_customer(server, ids["token"], wamid)
        media_id = upload_png(server, ids)
        assert download(server, ids["token"], media_id) == samples.png()
        assert server.terminate() == 0
    assert [h["status"] for h in before["history"]] == ["accepted", "sent", "delivered", "read"]

    # Back up, as the guide says: the database first, then the data folder.
    dump = tmp_path / "backups" / "wagate.dump"
    archive = tmp_path / "backups" / "wagate-home.tar.gz"
    dump.parent.mkdir()
    pg_client.run("pg_dump", "-Fc", "-d", sa.make_url(original_url).database or "", "-f", str(dump))
    tar("-C", str(home), "-czf", str(archive), ".")
    # The original is gone: whatever the restored wagate shows comes from the backup.
    databases.drop_database(original_url)

    # Restore into a new database and a new data folder, bring the schema up to date, start.
    restored_name = sa.make_url(restored_url).database or ""
    pg_client.run("createdb", "-O", pg_client.user, restored_name)
    pg_client.run("pg_restore", "--no-owner", "--exit-on-error", "-d", restored_name, str(dump))
    restored_home = tmp_path / "restored"
    restored_home.mkdir()
    tar("-C", str(restored_home), "-xzf", str(archive))
    assert "up to date" in run_cli(restored_home, "migrate", WAGATE_DATABASE_URL=restored_url)
    with serving(restored_home, restored_url) as restored:
        assert message(restored, ids["token"], wamid) == before
        assert download(restored, ids["token"], media_id) == samples.png()
        new_wamid = send(restored, ids, hello_world("+16505551235"))
        after = read_by_customer(restored, ids["token"], new_wamid)
        assert [h["status"] for h in after["history"]] == ["accepted", "sent", "delivered", "read"]
        assert restored.terminate() == 0
