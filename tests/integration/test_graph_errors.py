"""Every answer on a Cloud API path is Meta's error object, also for a path or method no route serves,
and the version in the path must be one Meta released."""

from __future__ import annotations

import pytest

from tests.conftest import Wagate


def _is_meta_error(body: dict[str, object]) -> dict[str, object]:
    error = body["error"]
    assert isinstance(error, dict)
    assert {"message", "type", "code", "fbtrace_id"} <= set(error)
    return error


async def test_a_method_the_messages_path_does_not_take_answers_metas_error_object(wagate: Wagate) -> None:
    response = await wagate.client.get(f"/v23.0/{wagate.phone_number_id}/messages")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"
    assert "POST" in response.headers["allow"]
    error = _is_meta_error(response.json())
    assert error["code"] == 100 and error["message"] == "(#100) Unsupported get request"


async def test_a_path_no_route_serves_answers_metas_error_object(wagate: Wagate) -> None:
    response = await wagate.client.get(f"/v23.0/{wagate.phone_number_id}/messages/extra/parts")
    assert response.status_code == 404
    error = _is_meta_error(response.json())
    assert error["message"] == "(#100) Unknown path components"


async def test_api_v1_answers_its_own_model_for_unknown_paths_and_methods(wagate: Wagate) -> None:
    missing = await wagate.client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = await wagate.client.put("/api/v1/contacts")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert "GET" in wrong.json()["error"]["message"]


@pytest.mark.parametrize("version", ["v1.0", "v99.0", "v23.1", "23.0", "V23.0", "v2.13", "v3.4"])
async def test_a_version_meta_never_released_is_refused(wagate: Wagate, version: str) -> None:
    response = await wagate.client.post(
        f"/{version}/{wagate.phone_number_id}/messages",
        json={"messaging_product": "whatsapp", "to": "+16505551234", "type": "text", "text": {"body": "hi"}},
    )
    assert response.status_code in (400, 404), response.text
    error = _is_meta_error(response.json())
    assert error["code"] == 100


@pytest.mark.parametrize("version", ["v2.12", "v3.3", "v17.0", "v23.0", "v27.0"])
async def test_each_released_version_is_served(wagate: Wagate, version: str) -> None:
    response = await wagate.client.get(f"/{version}/{wagate.phone_number_id}")
    assert response.status_code == 200, response.text
