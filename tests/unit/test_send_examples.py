"""The API reference's example sends are sends wagate accepts, each of the kind it is named for."""

from __future__ import annotations

import msgspec
import pytest

from wagate.cloudapi.send import parse_send_request
from wagate.web.send_examples import SEND_EXAMPLES


@pytest.mark.parametrize("name", sorted(SEND_EXAMPLES))
def test_each_example_is_a_valid_send(name: str) -> None:
    request = parse_send_request(msgspec.json.encode(SEND_EXAMPLES[name]))
    if name == "mark_read":
        assert request.kind == "read"
    elif name == "typing_indicator":
        assert request.kind == "typing"
    else:
        assert request.kind == "message"
        assert (request.type is not None and name.startswith(request.type)) or name == "reply"
