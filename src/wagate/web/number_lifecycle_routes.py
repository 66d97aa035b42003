"""Meta's phone-number lifecycle on the Cloud API surface: `request_code`, `verify_code`, `register`,
`deregister`, `whatsapp_business_profile`, and `POST /{version}/{phone_number_id}` (two-step PIN, new
display name). Reading the number is the Graph resolver's (`cloud_routes.get_object`).

Parameters come as Meta takes them: a JSON body, a form, or the query string (`graph_params`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.cloudapi import number_lifecycle as rules
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
from wagate.web.cloud_routes import FIELDS, OBJECT_ID, PHONE_NUMBER_ID, _check_version
from wagate.web.errors import json_response
from wagate.web.graph_objects import BusinessProfiles, Success
from wagate.web.operations import VERSION, Answer, Body, Operation, Surface, path_param


class SentCode(msgspec.Struct, forbid_unknown_fields=True):
    phone_number_id: str
    code: str


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
    return json_response(SentCode(str(number.id), code))


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


# -- the API reference --------------------------------------------------------------------------------
# The bodies as `cloudapi/number_lifecycle.py` checks them (a JSON object, a form or the query string).
_SixDigits = (
    Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$")] | Annotated[int, msgspec.Meta(ge=100000, le=999999)]
)
_Region = Annotated[str, msgspec.Meta(extra_json_schema={"enum": sorted(rules.DATA_LOCALIZATION_REGIONS)})]


class CodeRequestBody(msgspec.Struct):
    code_method: Annotated[str, msgspec.Meta(description="SMS or VOICE (any case)")]
    language: Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$", examples=["en_US"])]


class VerifyCodeBody(msgspec.Struct):
    code: _SixDigits


class RegisterBody(msgspec.Struct):
    messaging_product: Literal["whatsapp"]
    pin: _SixDigits
    data_localization_region: _Region | msgspec.UnsetType = msgspec.UNSET


class NumberChangeBody(msgspec.Struct):
    """A phone number's `POST /{version}/{phone_number_id}`: `pin` and/or `new_display_name`."""

    pin: _SixDigits | msgspec.UnsetType = msgspec.UNSET
    new_display_name: Annotated[str, msgspec.Meta(min_length=2, max_length=75)] | msgspec.UnsetType = (
        msgspec.UNSET
    )


_LIMITS = rules.PROFILE_LIMITS
_About = Annotated[str, msgspec.Meta(min_length=1, max_length=_LIMITS["about"])]
_Address = Annotated[str, msgspec.Meta(max_length=_LIMITS["address"])]
_Description = Annotated[str, msgspec.Meta(max_length=_LIMITS["description"])]
_Email = Annotated[str, msgspec.Meta(max_length=_LIMITS["email"])]
_Website = Annotated[str, msgspec.Meta(pattern="^https?://", max_length=rules.MAX_WEBSITE_LENGTH)]
_Vertical = Annotated[str, msgspec.Meta(extra_json_schema={"enum": sorted(rules.VERTICALS)})]


class ProfileChangeBody(msgspec.Struct, forbid_unknown_fields=True):
    messaging_product: Literal["whatsapp"]
    about: _About | msgspec.UnsetType = msgspec.UNSET
    address: _Address | msgspec.UnsetType = msgspec.UNSET
    description: _Description | msgspec.UnsetType = msgspec.UNSET
    email: _Email | msgspec.UnsetType = msgspec.UNSET
    websites: Annotated[list[_Website], msgspec.Meta(max_length=rules.MAX_WEBSITES)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    vertical: _Vertical | msgspec.UnsetType = msgspec.UNSET
    profile_picture_handle: Annotated[str, msgspec.Meta(min_length=1)] | msgspec.UnsetType = msgspec.UNSET


_PARAMS_TOO = (
    " The parameters may also come as a form (application/x-www-form-urlencoded) or in the query string."
)
_DONE = Answer(200, "Meta accepted it", Success, example={"success": True})
_META_REFUSED = (400, "Meta refused it (Meta's error object, passed on whole)")


def _lifecycle(path: str, operation_id: str, summary: str, body: Any, description: str) -> Operation:
    return Operation(
        "POST",
        "/{version}/{phone_number_id}/" + path,
        operation_id,
        summary,
        "Cloud API",
        (_DONE,),
        Surface.GRAPH,
        description=description + (_PARAMS_TOO if body is not None else ""),
        scope=Scope.MANAGE,
        params=(VERSION, PHONE_NUMBER_ID),
        body=None if body is None else Body(body),
        errors=(_META_REFUSED,),
    )


def operations() -> list[Operation]:
    return [
        _lifecycle(
            "request_code",
            "requestVerificationCode",
            "Ask Meta to send the number a verification code",
            CodeRequestBody,
            "By SMS or voice call, in `language`.",
        ),
        _lifecycle(
            "verify_code",
            "verifyCode",
            "Give Meta the code the number received",
            VerifyCodeBody,
            "Six digits.",
        ),
        _lifecycle(
            "register",
            "registerNumber",
            "Register the verified number, with its two-step PIN",
            RegisterBody,
            "An unregistered number's sends are refused (133010).",
        ),
        _lifecycle(
            "deregister",
            "deregisterNumber",
            "Deregister the number: it cannot send until registered",
            None,
            "",
        ),
        Operation(
            "GET",
            "/{version}/{phone_number_id}/whatsapp_business_profile",
            "getBusinessProfile",
            "The number's business profile, which Meta keeps",
            "Cloud API",
            (
                Answer(
                    200,
                    "The profile",
                    BusinessProfiles,
                    example={"data": [{"about": "Open 9 to 18", "messaging_product": "whatsapp"}]},
                ),
            ),
            Surface.GRAPH,
            scope=Scope.READ,
            params=(VERSION, PHONE_NUMBER_ID, FIELDS),
            errors=(_META_REFUSED,),
        ),
        Operation(
            "POST",
            "/{version}/{phone_number_id}/whatsapp_business_profile",
            "changeBusinessProfile",
            "Change the number's business profile",
            "Cloud API",
            (_DONE,),
            Surface.GRAPH,
            description="Only the fields given change." + _PARAMS_TOO,
            scope=Scope.MANAGE,
            params=(VERSION, PHONE_NUMBER_ID),
            body=Body(
                ProfileChangeBody,
                examples={"about": {"messaging_product": "whatsapp", "about": "Open 9 to 18"}},
            ),
            errors=(_META_REFUSED,),
        ),
        Operation(
            "POST",
            "/{version}/{object_id}",
            "changeGraphObject",
            "Change a phone number (two-step PIN, new display name) or edit a template",
            "Cloud API",
            (_DONE,),
            Surface.GRAPH,
            description=(
                "The id says which. A phone number takes `pin` (sets the two-step verification PIN) and/or "
                "`new_display_name` (asks Meta to review a new name); a template takes `category`, "
                "`components` and/or `message_send_ttl_seconds` (only an APPROVED, REJECTED or PAUSED one)."
                + _PARAMS_TOO
            ),
            scope=Scope.MANAGE,
            params=(VERSION, OBJECT_ID),
            body=Body(
                (NumberChangeBody, templates_routes.TemplateEditBody),
                examples={
                    "pin": {"pin": "123456"},
                    "template": {
                        "components": [
                            {"type": "BODY", "text": "Hello {{1}}", "example": {"body_text": [["Anna"]]}}
                        ]
                    },
                },
            ),
            errors=(_META_REFUSED,),
        ),
    ]


def simulator_operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/simulator/numbers/{number_id}/verification-code",
            "getSimulatorVerificationCode",
            "The code the simulator sent a simulator number after request_code",
            "Simulator",
            (
                Answer(
                    200,
                    "The code",
                    SentCode,
                    example={"phone_number_id": "106540352242922", "code": "123456"},
                ),
            ),
            Surface.API,
            scope=Scope.MANAGE,
            params=(path_param("number_id", "The business number's id"),),
            errors=((404, "No code was requested for the number"),),
        )
    ]
