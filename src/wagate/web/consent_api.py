"""`/api/v1/contacts/{id}/consent` and `/api/v1/consents/import`: the consent ledger of an organization."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope, scope_of
from wagate.services import consent as service
from wagate.services import tenancy
from wagate.services.consent_import import do_import_consents
from wagate.services.runtime import Runtime
from wagate.web.callers import actor_of
from wagate.web.errors import json_response


async def contact_consent(request: Request) -> Response:
    """A contact's consent per purpose, explained, with every record (GET), or a new record (POST)."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(
        rt, request.headers.get("authorization"), scope_of(request.method, Scope.MANAGE)
    )
    org = caller.org
    raw_id = request.path_params["id"]
    if request.method == "POST":
        return json_response(
            await service.do_record_consent(rt, org, raw_id, await request.body(), actor_of(request, caller)),
            201,
        )
    return json_response(await service.contact_consent(rt, org, raw_id))


async def import_consents(request: Request) -> Response:
    """Consents collected elsewhere, as CSV or JSON: all rows written, or none."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    org = caller.org
    content_type = request.headers.get("content-type", "")
    return json_response(
        await do_import_consents(rt, org, content_type, await request.body(), actor_of(request, caller))
    )


def routes() -> list[Route]:
    return [
        Route("/api/v1/contacts/{id}/consent", contact_consent, methods=["GET", "POST"]),
        Route("/api/v1/consents/import", import_consents, methods=["POST"]),
    ]
