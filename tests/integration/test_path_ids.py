"""An id in a path that is no id (too large for the database, a sign, a Unicode digit) answers as an
object that does not exist, in the surface's own error model, and never reaches the database."""

from __future__ import annotations

import pytest

from tests.conftest import Wagate

NOT_IDS = ["99999999999999999999", "9223372036854775808", "+5", "5_0", "²", "٣"]


@pytest.mark.parametrize("raw", NOT_IDS)
async def test_wagate_api_paths_answer_not_found(wagate: Wagate, raw: str) -> None:
    for path in (f"/api/v1/conversations/{raw}", f"/api/v1/numbers/{raw}", f"/api/v1/contacts/{raw}"):
        response = await wagate.client.get(path)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("raw", NOT_IDS)
async def test_cloud_api_paths_answer_as_an_unknown_object(wagate: Wagate, raw: str) -> None:
    response = await wagate.client.get(f"/v23.0/{raw}")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == 100
