"""Meta's phone-number lifecycle on the Cloud API surface: `request_code`, `verify_code`, `register`,
`deregister`, `whatsapp_business_profile`, and `POST /{version}/{phone_number_id}` (two-step PIN, new
display name). Reading the number is the Graph resolver's (`cloud_routes.get_object`).

Parameters come as Meta takes them: a JSON body, a form, or the query string (`graph_params`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.cloudapi.graph_params import graph_params
from wagate.domain.access import Actor, Scope
from wagate.domain.tenancy import PhoneNumber
from wagate.errors import not_found
from wagate.ids import parse_id
from wagate.services import number_lifecycle, tenancy
from wagate.services.runtime import Runtime
from wagate.services.upstreams import running_upstream
from wagate.store import tenancy as tenancy_sql
from wagate.web import templates_routes
from wagate.web.callers import actor_of
from wagate.web.cloud_routes import _check_version
from wagate.web.errors import json_response


async def _number(request: Request) -> tuple[Runtime, PhoneNumber, Actor]:
    rt: Runtime = request.app.state.rt
    _check_version(request.path_params["version"])
    # Reading the profile needs `read`; every change to the number at Meta needs `manage`.
    scope = Scope.READ if request.method == "GET" else Scope.MANAGE
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), scope)
    number = await tenancy.access_phone_number(rt, caller.org, request.path_params["object_id"])
    return rt, number, actor_of(request, caller)


async def request_code(request: Request) -> Response:
    """Ask Meta to send the number a verification code by SMS or voice call."""
    rt, number, by = await _number(request)
    params = await graph_params(request)
    return json_response(await number_lifecycle.do_request_code(rt, number, params, by))


async def verify_code(request: Request) -> Response:
    """Give Meta the code the number received."""
    rt, number, by = await _number(request)
    params = await graph_params(request)
    return json_response(await number_lifecycle.do_verify_code(rt, number, params, by))


async def register(request: Request) -> Response:
    """Register the verified number for the Cloud API, with its two-step verification PIN."""
    rt, number, by = await _number(request)
    params = await graph_params(request)
    return json_response(await number_lifecycle.do_register(rt, number, params, by))


async def deregister(request: Request) -> Response:
    """Deregister the number: it can no longer send until registered again."""
    rt, number, by = await _number(request)
    return json_response(await number_lifecycle.do_deregister(rt, number, by))


async def business_profile(request: Request) -> Response:
    """Read (GET) or change (POST) the number's business profile, which Meta keeps."""
    rt, number, by = await _number(request)
    if request.method == "GET":
        fields = request.query_params.get("fields")
        return json_response(await number_lifecycle.business_profile(rt, number, fields))
    params = await graph_params(request)
    return json_response(await number_lifecycle.do_update_business_profile(rt, number, params, by))


async def post_object(request: Request) -> Response:
    """`POST /{version}/{id}`: a phone number's PIN or display name, or else a template edit."""
    rt: Runtime = request.app.state.rt
    raw_id = request.path_params["object_id"]
    found, object_id = None, parse_id(raw_id)
    if object_id is not None:
        found = await rt.db.read(lambda conn: tenancy_sql.graph_object(conn, object_id))
    if found is None or found[0] != "phone_number":
        return await templates_routes.edit_template(request)
    rt, number, by = await _number(request)
    params = await graph_params(request)
    return json_response(await number_lifecycle.do_update_number(rt, number, params, by))


async def simulator_verification_code(request: Request) -> Response:
    """The code the simulator "sent" to one of the organization's `simulator` numbers (tests, demos)."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    number = await tenancy.access_phone_number(rt, caller.org, request.path_params["number_id"])
    upstream = running_upstream(rt, number)
    code = None if upstream is None else upstream.sent_code(number.ref)
    if code is None:
        raise not_found(f"a verification code for number {number.id} (request one first)")
    return json_response({"phone_number_id": str(number.id), "code": code})


def simulator_routes() -> list[Route]:
    return [
        Route(
            "/api/v1/simulator/numbers/{number_id}/verification-code",
            simulator_verification_code,
            methods=["GET"],
        )
    ]


def routes() -> list[Route]:
    return [
        Route("/{version}/{object_id}/request_code", request_code, methods=["POST"]),
        Route("/{version}/{object_id}/verify_code", verify_code, methods=["POST"]),
        Route("/{version}/{object_id}/register", register, methods=["POST"]),
        Route("/{version}/{object_id}/deregister", deregister, methods=["POST"]),
        Route("/{version}/{object_id}/whatsapp_business_profile", business_profile, methods=["GET", "POST"]),
        Route("/{version}/{object_id}", post_object, methods=["POST"]),
    ]
