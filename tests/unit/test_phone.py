"""Recipients become wa_ids as Meta does it: country code from the number, else the business's country."""

from __future__ import annotations

import pytest

from wagate.domain.phone import is_mobile, region_of, to_wa_id
from wagate.errors import GraphError


@pytest.mark.parametrize(
    ("raw", "region", "wa_id"),
    [
        ("+1 (650) 555-1234", "RU", "16505551234"),
        ("16505551234", "RU", "16505551234"),
        ("+7 916 123-45-67", "US", "79161234567"),
        ("8 916 123 45 67", "RU", "79161234567"),
        ("916 123 45 67", "RU", "79161234567"),
        ("(650) 555-1234", "US", "16505551234"),
        ("+44 7911 123456", "RU", "447911123456"),
    ],
)
def test_to_wa_id(raw: str, region: str, wa_id: str) -> None:
    assert to_wa_id(raw, region) == wa_id


@pytest.mark.parametrize("raw", ["", "abc", "+1 000", "12"])
def test_invalid_numbers_are_refused_with_131009(raw: str) -> None:
    with pytest.raises(GraphError) as caught:
        to_wa_id(raw, "RU")
    assert caught.value.code == 131009


def test_regions_and_mobiles() -> None:
    assert region_of("+74955550100") == "RU"
    assert is_mobile("79161234567")
    assert not is_mobile("74955550100")  # a Moscow landline
