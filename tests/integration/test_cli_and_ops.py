"""The command line and the operations endpoints, as an operator uses them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from tests import databases
from tests.conftest import Wagate
from tests.helpers import Server, bootstrap, run_cli


def test_bootstrap_once_then_new_tokens_and_number_management(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = bootstrap(home)
    second = bootstrap(home)
    assert first["phone_number_id"] == second["phone_number_id"] and first["waba_id"] == second["waba_id"]
    assert first["token"] != second["token"]
    numbers = json.loads(run_cli(home, "numbers", "list", "--json"))
    assert [(n["id"], n["upstream"], n["rate"]) for n in numbers] == [
        (first["phone_number_id"], "simulator", 80)
    ]
    run_cli(home, "numbers", "update", first["phone_number_id"], "--rate", "1000")
    assert json.loads(run_cli(home, "numbers", "list", "--json"))[0]["rate"] == 1000
    tokens = run_cli(home, "tokens", "list")
    assert first["token"] not in tokens and first["token"][:12] in tokens  # only the first characters


def test_rate_out_of_range_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ids = bootstrap(home)
    for bad in ("0", "1001"):
        try:
            run_cli(home, "numbers", "update", ids["phone_number_id"], "--rate", bad)
        except AssertionError as exc:
            assert "between 1 and 1000" in str(exc) or "rate" in str(exc)
        else:
            raise AssertionError(f"rate {bad} was accepted")


def test_serve_health_metrics_docs_and_a_revoked_token(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ids = bootstrap(home)
    with Server(home) as server:
        headers = {"Authorization": f"Bearer {ids['token']}"}
        assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
        sent = httpx.post(
            f"{server.url}/v23.0/{ids['phone_number_id']}/messages",
            headers=headers,
            json={
                "messaging_product": "whatsapp",
                "to": "+16505551234",
                "type": "template",
                "template": {"name": "hello_world", "language": {"code": "en_US"}},
            },
        )
        assert sent.status_code == 200
        metrics = httpx.get(f"{server.url}/metrics").text
        for name in (
            "wagate_messages_accepted_total 1.0",
            "wagate_queue_depth",
            "wagate_dispatch_latency_seconds",
            "wagate_messages_failed",
            "wagate_messages_sent",
        ):
            assert name in metrics
        docs = httpx.get(f"{server.url}/docs")
        assert docs.status_code == 200 and "/openapi.json" in httpx.get(f"{server.url}/docs/docs.js").text
        described = httpx.get(f"{server.url}/openapi.json").json()
        assert (
            described["openapi"].startswith("3.")
            and "/{version}/{phone_number_id}/messages" in described["paths"]
        )
        tokens = json.loads(run_cli(home, "tokens", "list", "--json"))
        token_id = next(t["id"] for t in tokens if ids["token"].startswith(t["prefix"]))
        run_cli(home, "tokens", "revoke", str(token_id))
        deadline = time.monotonic() + 10  # the server's token cache forgets within 5 s
        status = 200
        while time.monotonic() < deadline and status != 401:
            status = httpx.get(f"{server.url}/v23.0/{ids['phone_number_id']}", headers=headers).status_code
            time.sleep(0.1)
        assert status == 401


async def test_metrics_count_accepted_and_failed(wagate: Wagate) -> None:
    # A template to a number that is not on WhatsApp: accepted, then failed by the network.
    await wagate.send(
        {
            "messaging_product": "whatsapp",
            "to": "+79161230000",
            "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        }
    )
    # Free-form to a customer who never wrote: refused before any upstream sees it.
    refused = await wagate.send(
        {"messaging_product": "whatsapp", "to": "+79161230001", "type": "text", "text": {"body": "x"}}
    )
    assert refused.json()["error"]["code"] == 131047
    body = (await wagate.client.get("/metrics")).text
    assert 'wagate_policy_refusals_total{code="131047",stage="request"} 1.0' in body
    assert "wagate_messages_accepted_total 1.0" in body


def test_a_refusal_goes_to_standard_error_and_bootstrap_shell_prints_five_assignments(tmp_path: Path) -> None:
    from tests.management import cli

    home = tmp_path / "home"
    unreachable = cli(home, "bootstrap", WAGATE_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    assert unreachable.returncode == 1 and unreachable.stdout == ""
    assert unreachable.stderr.startswith(
        "error: cannot reach the database postgresql://nobody@127.0.0.1:1/none"
    )
    assert "Traceback" not in unreachable.stderr
    if databases.postgresql_unreachable() is None:
        url = databases.create_database()
        refused = cli(home, "bootstrap", WAGATE_DATABASE_URL=url, WAGATE_ENCRYPTION_KEYS="")
        assert refused.returncode == 1 and refused.stdout == ""
        assert "WAGATE_ENCRYPTION_KEYS is not set" in refused.stderr

    shell = cli(home, "bootstrap", "--shell")
    assert shell.returncode == 0, shell.stderr
    assigned = dict(line.split("=", 1) for line in shell.stdout.splitlines())
    assert set(assigned) == {"TOKEN", "NUMBER", "WABA", "APP_SECRET", "VERIFY_TOKEN"}
    assert assigned["TOKEN"].startswith("wgt_") and assigned["NUMBER"].isdigit()
    assert len(json.loads(cli(home, "bootstrap", "--json").stdout)) == 5
