"""Operators: created with a password, enrolled in TOTP, logging in for a session token; every login in
the audit log; failures that say nothing about which part failed; the brake on guessing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import Wagate
from tests.factories import make_organization
from tests.helpers import opened, wagate_env
from wagate.clock import SettableClock
from wagate.domain import totp
from wagate.settings import Settings
from wagate.store.schema import operators

EMAIL = "anna@example.com"
PASSWORD = "correct horse battery"


@pytest.fixture
def clock() -> SettableClock:
    """Standing still: a TOTP code depends on the time, and the test decides which."""
    return SettableClock(1_800_000_000.0)


async def create_operator(w: Wagate, email: str = EMAIL, password: str = PASSWORD) -> dict[str, Any]:
    response = await w.client.post("/api/v1/operators", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def enrol(w: Wagate, operator_id: int, clock: SettableClock) -> str:
    begun = await w.client.post(f"/api/v1/operators/{operator_id}/totp")
    assert begun.status_code == 200, begun.text
    secret: str = begun.json()["secret"]
    assert begun.json()["otpauth_uri"].startswith("otpauth://totp/wagate:demo%2Fanna@example.com?")
    confirmed = await w.client.post(
        f"/api/v1/operators/{operator_id}/totp/confirm", json={"code": totp.code_at(secret, clock.now())}
    )
    assert confirmed.status_code == 200 and confirmed.json()["totp_enabled"] is True, confirmed.text
    return secret


async def login(w: Wagate, **changes: Any) -> httpx.Response:
    body = {"org": "demo", "email": EMAIL, "password": PASSWORD, **changes}
    return await w.client.post("/api/v1/login", json=body, headers={"Authorization": ""})


def refused(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == {
        "code": "invalid_credentials",
        "message": "the e-mail, password or code is wrong",
    }


async def logins(w: Wagate) -> list[tuple[str, str | None]]:
    rows = (await w.client.get("/api/v1/audit", params={"order": "oldest", "limit": 1000})).json()["data"]
    return [(r["action"], r["detail"].get("reason")) for r in rows if r["action"].startswith("login.")]


async def test_password_login_gives_a_12_hour_read_and_send_session(
    wagate: Wagate, clock: SettableClock
) -> None:
    operator = await create_operator(wagate)
    assert operator["email"] == EMAIL and operator["totp_enabled"] is False
    response = await login(wagate, email="  Anna@Example.com ")
    assert response.status_code == 201, response.text
    session = response.json()
    assert session["scopes"] == ["send", "read"] and session["expires_at"] == clock.now() + 12 * 3600
    assert session["operator_id"] == operator["id"]

    headers = {"Authorization": f"Bearer {session['token']}"}
    assert (await wagate.client.get("/api/v1/conversations", headers=headers)).status_code == 200
    assert (await wagate.client.get("/api/v1/audit", headers=headers)).status_code == 403
    tokens = (await wagate.client.get("/api/v1/tokens")).json()["data"]
    assert [t["name"] for t in tokens if t["id"] == session["token_id"]] == [f"session:{EMAIL}"]

    clock.advance(12 * 3600)
    expired = await wagate.client.get("/api/v1/conversations", headers=headers)
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]
    rows = (await wagate.client.get("/api/v1/audit", params={"action": "login.success"})).json()["data"]
    assert [(r["actor"], r["target_id"]) for r in rows] == [
        (f"operator:{operator['id']}", str(operator["id"]))
    ]


async def test_wrong_credentials_all_answer_the_same(wagate: Wagate) -> None:
    await create_operator(wagate)
    refused(await login(wagate, password="wrong password"))
    refused(await login(wagate, email="nobody@example.com"))
    refused(await login(wagate, org="no-such-org"))
    assert await logins(wagate) == [
        ("login.failure", "wrong_password"),
        ("login.failure", "unknown_operator"),
    ]


async def test_two_factor_login_needs_a_fresh_code_once(wagate: Wagate, clock: SettableClock) -> None:
    operator = await create_operator(wagate)
    secret = await enrol(wagate, operator["id"], clock)

    refused(await login(wagate))  # no code
    clock.advance(30)
    code = totp.code_at(secret, clock.now())
    refused(await login(wagate, password="wrong password", code=code))
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    refused(await login(wagate, code=wrong))
    assert (await login(wagate, code=code)).status_code == 201
    refused(await login(wagate, code=code))  # the same code again, within its 30 seconds
    clock.advance(30)
    assert (await login(wagate, code=totp.code_at(secret, clock.now()))).status_code == 201
    assert await logins(wagate) == [
        ("login.failure", "code_required"),
        ("login.failure", "wrong_password"),
        ("login.failure", "wrong_code"),
        ("login.success", None),
        ("login.failure", "replayed_code"),
        ("login.success", None),
    ]


async def test_enrolment_needs_a_valid_code_and_happens_once(wagate: Wagate, clock: SettableClock) -> None:
    operator = await create_operator(wagate)
    confirm = f"/api/v1/operators/{operator['id']}/totp/confirm"
    not_begun = await wagate.client.post(confirm, json={"code": "123456"})
    assert not_begun.status_code == 409 and not_begun.json()["error"]["code"] == "totp_not_begun"
    secret = (await wagate.client.post(f"/api/v1/operators/{operator['id']}/totp")).json()["secret"]
    bad = await wagate.client.post(confirm, json={"code": totp.code_at(secret, clock.now() + 120)})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_code"
    assert (await login(wagate)).status_code == 201  # not on until confirmed

    good = await wagate.client.post(confirm, json={"code": totp.code_at(secret, clock.now())})
    assert good.status_code == 200
    again = await wagate.client.post(f"/api/v1/operators/{operator['id']}/totp")
    assert again.status_code == 409 and again.json()["error"]["code"] == "totp_enabled"
    actions = (await wagate.client.get("/api/v1/audit", params={"order": "oldest"})).json()["data"]
    assert [r["action"] for r in actions if r["action"].startswith("operator.")] == [
        "operator.create",
        "operator.totp_begin",
        "operator.totp_enable",
    ]
    assert all(secret not in str(r) for r in actions)
    # At rest the secret is sealed: the column holds neither it nor its bytes in base32.
    stored = wagate.rt.db.read_now(
        lambda conn: conn.execute(
            sa.select(operators.c.totp_secret).where(operators.c.id == operator["id"])
        ).scalar_one()
    )
    assert secret not in stored and stored.startswith("wgs1:")
    assert opened(wagate.rt.db, operators.c.totp_secret, stored) == secret


async def test_five_failures_in_15_minutes_lock_the_operator_out_for_15(
    wagate: Wagate, clock: SettableClock
) -> None:
    await create_operator(wagate)
    for _ in range(5):
        refused(await login(wagate, password="guess guess guess"))
        clock.advance(60)
    locked = await login(wagate)  # even the right password
    assert locked.status_code == 429 and locked.json()["error"]["code"] == "too_many_attempts"
    clock.advance(15 * 60 - 61)  # a second short of 15 minutes after the fifth failure
    assert (await login(wagate)).status_code == 429
    clock.advance(1)
    assert (await login(wagate)).status_code == 201
    assert await logins(wagate) == [("login.failure", "wrong_password")] * 5 + [
        ("login.lockout", None),
        ("login.failure", "locked"),
        ("login.failure", "locked"),
        ("login.success", None),
    ]


async def test_operators_belong_to_one_organization(wagate: Wagate) -> None:
    other = make_organization(wagate.rt.db, wagate.rt.clock.now())
    theirs = {"Authorization": f"Bearer {other.token}"}
    created = await wagate.client.post(
        "/api/v1/operators", json={"email": EMAIL, "password": PASSWORD}, headers=theirs
    )
    assert created.status_code == 201
    assert (await wagate.client.post(f"/api/v1/operators/{created.json()['id']}/totp")).status_code == 404
    refused(await login(wagate))  # same e-mail, but not demo's operator
    assert (await login(wagate, org="other")).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": PASSWORD},
        {"email": EMAIL, "password": "short"},
        {"email": EMAIL},
    ],
)
async def test_bad_operator_requests_change_nothing(wagate: Wagate, body: dict[str, Any]) -> None:
    response = await wagate.client.post("/api/v1/operators", json=body)
    assert response.status_code == 400, response.text
    await create_operator(wagate)  # the e-mail is still free
    duplicate = await wagate.client.post("/api/v1/operators", json={"email": EMAIL, "password": PASSWORD})
    assert duplicate.status_code == 409


def add_operator_by_cli(home: Path, org: str, email: str, password: str) -> dict[str, Any]:
    """`wagate operators add --password-stdin`, the password piped in as a script would."""
    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "wagate",
            "operators",
            "add",
            "--org",
            org,
            "--email",
            email,
            "--password-stdin",
        ],
        env=wagate_env(home),
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    created: dict[str, Any] = json.loads(added.stdout)
    return created


async def test_cli_adds_an_operator_who_can_log_in(wagate: Wagate, settings: Settings) -> None:
    assert add_operator_by_cli(settings.home, "demo", EMAIL, PASSWORD)["email"] == EMAIL
    assert (await login(wagate)).status_code == 201
    rows = (await wagate.client.get("/api/v1/audit", params={"action": "operator.create"})).json()["data"]
    assert [r["actor"] for r in rows] == ["cli"]
