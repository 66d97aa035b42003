"""Meta's own request examples for `/messages`, from the OpenAPI file of the reference, as a corpus.

The file lives in the shared reference folder beside the repository (`../shared/reference/`), or where
`WAGATE_META_OPENAPI` points. Where it is missing, the tests that use it skip and say so.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

PHONE = "+16505551234"
URL = "https://example.com/x.jpg"
SPEC_NAME = "meta-business-messaging-api_v23.0.yaml"
MISSING = f"Meta's OpenAPI file ({SPEC_NAME}) is not beside the repository; set WAGATE_META_OPENAPI"


def spec_path() -> Path | None:
    root = Path(__file__).resolve().parents[1]
    candidates = [
        os.environ.get("WAGATE_META_OPENAPI", ""),
        str(root.parent / "shared" / "reference" / SPEC_NAME),
    ]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def load() -> dict[str, Any]:
    """The named request examples of `POST /{Version}/{Phone-Number-ID}/messages` ({} if unavailable)."""
    path = spec_path()
    if path is None:
        return {}
    spec = yaml.safe_load(path.read_text())
    request = spec["paths"]["/{Version}/{Phone-Number-ID}/messages"]["post"]["requestBody"]
    return {
        name: example["value"] for name, example in request["content"]["application/json"]["examples"].items()
    }


_PLACEHOLDER = re.compile(r"\{\{.*\}\}|<.*>")
# Placeholders Meta wrote without brackets.
_BARE_PLACEHOLDERS = {"template-name": "template_name"}


def fill_placeholders(value: Any, key: str = "", ids: Iterator[int] | None = None) -> Any:
    """Meta's example with its placeholders replaced by plausible values (ids stay unique per example)."""
    ids = ids if ids is not None else itertools.count(1234567890)
    if isinstance(value, dict):
        return {k: fill_placeholders(v, k, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_placeholders(v, key, ids) for v in value]
    if not isinstance(value, str):
        return value
    if "http(s)://" in value:
        return URL
    if value in _BARE_PLACEHOLDERS:
        return _BARE_PLACEHOLDERS[value]
    if _PLACEHOLDER.fullmatch(value):
        if key == "to":
            return PHONE
        if key == "type":
            return "text"  # the only one is the product_list header type, which must be text
        return str(next(ids))
    return value
