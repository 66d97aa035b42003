"""`/api/v1/operators` (people who log in, with two-factor login) and `/api/v1/login` (their session)."""

from __future__ import annotations

from typing import TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope
from wagate.errors import ApiError
from wagate.services import operators as service
from wagate.services import tenancy
from wagate.services.runtime import Runtime
from wagate.web.callers import actor_of, client_ip
from wagate.web.errors import json_response
from wagate.web.operations import Answer, Body, Operation, Surface, path_param

T = TypeVar("T")


class NewOperator(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    password: str


class TotpCode(msgspec.Struct, forbid_unknown_fields=True):
    code: str


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    org: str
    email: str
    password: str
    code: str | None = None


class OperatorView(msgspec.Struct, forbid_unknown_fields=True):
    id: int
    email: str
    totp_enabled: bool
    created_at: float


class OperatorList(msgspec.Struct, forbid_unknown_fields=True):
    data: list[OperatorView]


class TotpEnrolment(msgspec.Struct, forbid_unknown_fields=True):
    secret: str
    otpauth_uri: str


class SessionView(msgspec.Struct, forbid_unknown_fields=True):
    token: str
    token_id: int
    operator_id: int
    scopes: list[str]
    expires_at: float


def _decode(body: bytes, kind: type[T]) -> T:
    try:
        return msgspec.json.decode(body, type=kind)
    except msgspec.DecodeError as exc:
        raise ApiError("invalid_request", str(exc)) from exc


async def operators(request: Request) -> Response:
    """The organization's operators (GET) or a new one with a password (POST)."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    if request.method == "GET":
        return json_response({"data": await service.list_operators(rt.db, caller.org)})
    new = _decode(await request.body(), NewOperator)
    operator = await service.do_create_operator(
        rt.db, caller.org, new.email, new.password, rt.clock.now(), actor_of(request, caller)
    )
    return json_response(operator.to_json(), 201)


async def begin_totp(request: Request) -> Response:
    """A new TOTP secret and its `otpauth://` URI, for the operator's authenticator app."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    raw_id = request.path_params["operator_id"]
    answer = await service.do_begin_totp(rt.db, caller.org, raw_id, rt.clock.now(), actor_of(request, caller))
    return json_response(answer)


async def confirm_totp(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    code = _decode(await request.body(), TotpCode).code
    raw_id = request.path_params["operator_id"]
    answer = await service.do_confirm_totp(
        rt.db, caller.org, raw_id, code, rt.clock.now(), actor_of(request, caller)
    )
    return json_response(answer)


async def login(request: Request) -> Response:
    """An operator's e-mail, password (and code, with two-factor login on) for a 12-hour session token."""
    rt: Runtime = request.app.state.rt
    req = _decode(await request.body(), LoginRequest)
    session = await service.do_login(
        rt.db, req.org, req.email, req.password, req.code, rt.clock.now(), client_ip(request)
    )
    return json_response(session.to_json(), 201)


def routes() -> list[Route]:
    return [
        Route("/api/v1/operators", operators, methods=["GET", "POST"]),
        Route("/api/v1/operators/{operator_id}/totp", begin_totp, methods=["POST"]),
        Route("/api/v1/operators/{operator_id}/totp/confirm", confirm_totp, methods=["POST"]),
        Route("/api/v1/login", login, methods=["POST"]),
    ]


_OPERATOR = path_param("operator_id", "The operator's id")


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/operators",
            "listOperators",
            "The organization's operators",
            "Operators",
            (Answer(200, "The operators", OperatorList),),
            Surface.API,
            scope=Scope.MANAGE,
        ),
        Operation(
            "POST",
            "/api/v1/operators",
            "createOperator",
            "Create an operator, who logs in with an e-mail and a password",
            "Operators",
            (Answer(201, "Created", OperatorView),),
            Surface.API,
            scope=Scope.MANAGE,
            body=Body(
                NewOperator,
                examples={"anna": {"email": "anna@shop.example", "password": "a long passphrase"}},
            ),
            errors=((409, "The organization has an operator with this e-mail"),),
        ),
        Operation(
            "POST",
            "/api/v1/operators/{operator_id}/totp",
            "beginTotp",
            "Begin two-factor enrolment: a new TOTP secret and its otpauth:// URI",
            "Operators",
            (Answer(200, "The secret, for the operator's authenticator app", TotpEnrolment),),
            Surface.API,
            scope=Scope.MANAGE,
            params=(_OPERATOR,),
            errors=(404, (409, "Two-factor login is on for this operator already")),
        ),
        Operation(
            "POST",
            "/api/v1/operators/{operator_id}/totp/confirm",
            "confirmTotp",
            "Turn two-factor login on with a code the authenticator app shows",
            "Operators",
            (Answer(200, "Two-factor login is on", OperatorView),),
            Surface.API,
            scope=Scope.MANAGE,
            params=(_OPERATOR,),
            body=Body(TotpCode, examples={"code": {"code": "123456"}}),
            errors=(404, (409, "Two-factor login is on already, or enrolment was not begun")),
        ),
        Operation(
            "POST",
            "/api/v1/login",
            "login",
            "An operator's session token (read and send scopes, 12 hours)",
            "Operators",
            (Answer(201, "Logged in", SessionView),),
            Surface.API,
            description=(
                "Any failure (organization, e-mail, password, code) answers the same 401; after repeated "
                "failures the operator is locked out for a while (429)."
            ),
            body=Body(
                LoginRequest,
                examples={
                    "login": {"org": "demo", "email": "anna@shop.example", "password": "a long passphrase"}
                },
            ),
            errors=(
                (401, "The e-mail, password or code is wrong"),
                (429, "Too many failed logins: try later"),
                503,
            ),
        ),
    ]
