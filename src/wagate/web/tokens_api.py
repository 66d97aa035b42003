"""`/api/v1/tokens`: the organization's API tokens, listed, issued (with scopes and expiry) and revoked."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope, ScopeError, parse_duration, parse_scopes
from wagate.errors import ApiError
from wagate.ids import parse_id
from wagate.services import access as service
from wagate.services import tenancy
from wagate.services.runtime import Runtime
from wagate.web.callers import actor_of
from wagate.web.errors import json_response
from wagate.web.operations import Answer, Body, Operation, Surface, path_param


class TokenRequest(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    scopes: list[str] = []
    # Seconds, or a duration such as "30d"; none: the token lasts until revoked.
    expires_in: int | str | None = None


class TokenView(msgspec.Struct, forbid_unknown_fields=True):
    """A token as listed: never the token itself, only its first characters."""

    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None
    slug: str  # the organization's
    state: str  # active | expired | revoked


class TokenList(msgspec.Struct, forbid_unknown_fields=True):
    data: list[TokenView]


class IssuedTokenView(msgspec.Struct, forbid_unknown_fields=True):
    id: int
    token: str  # shown once
    name: str
    scopes: list[str]
    expires_at: float | None


def _expires_in(raw: int | str | None) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, int):
        if raw <= 0:
            raise ApiError("invalid_parameter", "expires_in must be positive", parameter="expires_in")
        return float(raw)
    try:
        return parse_duration(raw)
    except ScopeError as exc:
        raise ApiError("invalid_parameter", str(exc), parameter="expires_in") from exc


async def tokens(request: Request) -> Response:
    """List the organization's tokens (GET) or issue one (POST; the token is in the answer, once)."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    now = rt.clock.now()
    if request.method == "GET":
        return json_response({"data": await service.list_tokens(rt.db, caller.org, now)})
    try:
        req = msgspec.json.decode(await request.body(), type=TokenRequest)
        scopes = parse_scopes(req.scopes)
    except (msgspec.DecodeError, ScopeError) as exc:
        raise ApiError("invalid_request", str(exc)) from exc
    expires_in = _expires_in(req.expires_in)
    by = actor_of(request, caller)
    issued = await service.do_issue_token(rt.db, caller.org, req.name, scopes, expires_in, now, by, caller)
    return json_response(issued.to_json(), 201)


async def token(request: Request) -> Response:
    """Revoke one of the organization's tokens (another organization's answers as not found)."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    raw_id = request.path_params["token_id"]
    token_id = parse_id(raw_id)
    if token_id is None:
        raise ApiError("not_found", f"no active token {raw_id}", http_status=404)
    await service.do_revoke_token(rt.db, caller.org, token_id, rt.clock.now(), actor_of(request, caller))
    rt.tokens.clear()  # this process refuses the token at once; others within the cache's 5 s
    return Response(status_code=204)


def routes() -> list[Route]:
    return [
        Route("/api/v1/tokens", tokens, methods=["GET", "POST"]),
        Route("/api/v1/tokens/{token_id}", token, methods=["DELETE"]),
    ]


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/tokens",
            "listTokens",
            "The organization's API tokens: scopes, state, expiry",
            "Tokens",
            (Answer(200, "The tokens", TokenList),),
            Surface.API,
            scope=Scope.MANAGE,
        ),
        Operation(
            "POST",
            "/api/v1/tokens",
            "issueToken",
            "Issue a token",
            "Tokens",
            (Answer(201, "Issued: the token is in this answer, once", IssuedTokenView),),
            Surface.API,
            description=(
                "`scopes` from send, read, manage (none: all); only scopes the caller has. `expires_in`: "
                "seconds or a duration such as 30d; none: until revoked."
            ),
            scope=Scope.MANAGE,
            body=Body(
                TokenRequest,
                examples={"reader": {"name": "dashboard", "scopes": ["read"], "expires_in": "30d"}},
            ),
        ),
        Operation(
            "DELETE",
            "/api/v1/tokens/{token_id}",
            "revokeToken",
            "Revoke one of the organization's tokens",
            "Tokens",
            (Answer(204, "Revoked (other processes refuse it within 5 seconds)"),),
            Surface.API,
            scope=Scope.MANAGE,
            params=(path_param("token_id", "The token's id"),),
            errors=(404,),
        ),
    ]
