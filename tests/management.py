"""Helpers for the organization setup tests: the command line with its exit status and standard input,
and what the audit log holds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Wagate
from tests.helpers import wagate_env
from wagate.services.audit import check_query, list_audit


def cli(home: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """`wagate ARGS` as an operator runs it, whatever its exit status."""
    return subprocess.run(
        [sys.executable, "-m", "wagate", *args],
        env=wagate_env(home, **env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def org_id(wagate: Wagate, token: str | None = None) -> int:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = await wagate.client.get("/api/v1/organization", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


async def audited(wagate: Wagate, organization: int, action: str) -> list[dict[str, Any]]:
    """The organization's audit entries of `action`, oldest first."""
    page = await list_audit(wagate.rt.db, organization, check_query(action=action, order="oldest"))
    entries: list[dict[str, Any]] = page["data"]
    return entries


def api_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """wagate's /api/v1 error object, checked for its status and code."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error
