"""A real client: pywa, unmodified, sends through wagate after its base URL is pointed at wagate."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pywa import WhatsApp
from pywa.types import Button
from pywa.types.templates import TemplateLanguage

from tests.helpers import Server, bootstrap


@pytest.fixture
def server_and_ids(tmp_path: Path) -> Iterator[tuple[Server, dict[str, str]]]:
    env = {
        "WAGATE_SIMULATOR_SENT_DELAY": "0.01",
        "WAGATE_SIMULATOR_DELIVERED_DELAY": "0.02",
        "WAGATE_SIMULATOR_READ_DELAY": "0.03",
    }
    home = tmp_path / "home"
    ids = bootstrap(home, **env)
    with Server(home, **env) as server:
        yield server, ids


def status(server: Server, token: str, wamid: str) -> str:
    response = httpx.get(
        f"{server.url}/api/v1/messages/{wamid}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def test_pywa_sends_text_buttons_and_the_seeded_template(
    server_and_ids: tuple[Server, dict[str, str]],
) -> None:
    server, ids = server_and_ids
    session = httpx.Client()
    wa = WhatsApp(phone_id=ids["phone_number_id"], token=ids["token"], session=session)
    session.base_url = f"{server.url}/v23.0"  # pywa sets Meta's URL in its constructor; point it at wagate

    # The customer asked first (through the simulated network), so free-form answers may follow.
    asked = httpx.post(
        f"{server.url}/api/v1/simulator/messages",
        json={"phone_number_id": ids["phone_number_id"], "from": "79161234567", "text": "Is my order ready?"},
        headers={"Authorization": f"Bearer {ids['token']}"},
    )
    assert asked.status_code == 201, asked.text
    text = wa.send_message(to="+79161234567", text="Your order #1042 is ready for pickup")
    buttons = wa.send_message(
        to="+79161234567",
        text="Will you come today?",
        buttons=[Button(title="Yes", callback_data="yes"), Button(title="No", callback_data="no")],
    )
    template = wa.send_template(to="+16505551234", name="hello_world", language=TemplateLanguage.ENGLISH_US)
    sent = [text.id, buttons.id, template.id]
    assert all(wamid.startswith("wamid.") for wamid in sent)
    assert len(set(sent)) == 3
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(status(server, ids["token"], w) != "read" for w in sent):
        time.sleep(0.05)
    assert [status(server, ids["token"], w) for w in sent] == ["read"] * 3
    session.close()
