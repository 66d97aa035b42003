"""A Graph call's parameters, taken as Meta takes them: a JSON body, a form, or the query string."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from wagate.errors import invalid_parameter


async def graph_params(request: Request) -> dict[str, Any]:
    """The query string's parameters, overridden by the body's (a form or a JSON object)."""
    params: dict[str, Any] = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        async with request.form() as form:
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params
    raw = await request.body()
    if raw.strip():
        try:
            body = json.loads(raw)
        except ValueError:
            raise invalid_parameter("body: not valid JSON") from None
        if not isinstance(body, dict):
            raise invalid_parameter("body: must be a JSON object")
        params.update(body)
    return params
