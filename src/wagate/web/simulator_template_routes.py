"""The simulator's control of templates: `POST /api/v1/simulator/templates/{template_id}/quality`
plays Meta rating a template (`{"score": "GREEN|YELLOW|RED"}`); RED pauses an approved template."""

from __future__ import annotations

import json

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from wagate.domain.access import Scope
from wagate.errors import ApiError
from wagate.services import template_lifecycle, tenancy
from wagate.services import templates as template_service
from wagate.services.runtime import Runtime
from wagate.web.errors import json_response


class QualityScoreBody(msgspec.Struct):
    score: str  # GREEN, YELLOW, RED or UNKNOWN (any case)


class TemplateQuality(msgspec.Struct, forbid_unknown_fields=True):
    id: str
    quality_score: str
    status: str
    paused_until: float | msgspec.UnsetType = msgspec.UNSET


async def template_quality(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    org = caller.org
    template = await template_service.access_template(rt, org, request.path_params["template_id"])
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise ApiError("invalid_request", "the body is not valid JSON") from exc
    score = body.get("score") if isinstance(body, dict) else None
    return json_response(await template_lifecycle.do_set_template_quality(rt, template, score))
