"""One place renders every error: Meta's error object on the Cloud API, wagate's under `/api/v1`."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from wagate.errors import ApiError, BodyTooLarge, GraphError, IdempotencyConflict, WagateError

log = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder()


def json_response(body: object, status: int = 200) -> Response:
    return Response(_encoder.encode(body), status_code=status, media_type="application/json")


# Graph errors that /api/v1 names in its own words: a refused token, a missing scope.
_API_CODES = {190: "unauthorized", 200: "forbidden"}


def _is_api_v1(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _too_large(request: Request, exc: BodyTooLarge) -> Response:
    path = request.url.path
    if _is_api_v1(request):
        api = ApiError("payload_too_large", str(exc), http_status=413, limit=exc.surface.limit)
        return json_response(api.to_body(), 413)
    if path == "/webhooks/meta":
        return PlainTextResponse("payload too large", status_code=413)
    # Meta's own words: an upload is a media error, any other body an invalid request.
    if path.endswith("/media"):
        return json_response(GraphError(131053, str(exc), http_status=413).to_body(), 413)
    graph = GraphError(100, str(exc), http_status=413, message="(#100) Request body too large")
    return json_response(graph.to_body(), 413)


def _http_error(request: Request, exc: HTTPException) -> Response:
    """A path no route serves (404) or a method its route does not take (405), in the surface's model."""
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    method, path = request.method, request.url.path
    if _is_api_v1(request):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        text = f"{method} {path} is not a route of /api/v1" if exc.status_code == 404 else exc.detail
        if exc.status_code == 405:
            text = f"{path} does not take {method}; it takes {headers.get('allow', '')}"
        api = ApiError(code, text, http_status=exc.status_code)
        response = json_response(api.to_body(), exc.status_code)
    elif path in ("/healthz", "/metrics", "/openapi.json", "/docs") or path.startswith("/docs/"):
        response = PlainTextResponse(exc.detail, status_code=exc.status_code)
    else:
        # Meta answers a path or method its Graph API does not have with error 100.
        kind = (
            "Unknown path components" if exc.status_code == 404 else f"Unsupported {method.lower()} request"
        )
        graph = GraphError(
            100,
            f"{method} {path}",
            message=f"(#100) {kind}",
            error_type="GraphMethodException",
            http_status=exc.status_code,
        )
        response = json_response(graph.to_body(), exc.status_code)
    if "allow" in headers:
        response.headers["allow"] = headers["allow"]
    return response


def render_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, BodyTooLarge):
        return _too_large(request, exc)
    if isinstance(exc, HTTPException):
        return _http_error(request, exc)
    if isinstance(exc, IdempotencyConflict):
        if _is_api_v1(request):
            return json_response(ApiError("idempotency_conflict", str(exc), http_status=409).to_body(), 409)
        graph = GraphError(100, str(exc), http_status=409, message="(#100) Idempotency-Key reused")
        return json_response(graph.to_body(), 409)
    if isinstance(exc, GraphError):
        if _is_api_v1(request):
            code = _API_CODES.get(exc.code, f"graph_{exc.code}")
            api = ApiError(code, exc.details or exc.message, http_status=exc.http_status)
            return json_response(api.to_body(), exc.http_status)
        return json_response(exc.to_body(), exc.http_status)
    if isinstance(exc, ApiError):
        return json_response(exc.to_body(), exc.http_status)
    if isinstance(exc, WagateError):
        return json_response(
            ApiError("error", str(exc), http_status=exc.http_status).to_body(), exc.http_status
        )
    if isinstance(exc, OperationalError):
        log.error("database unavailable: %s", exc)
        unavailable = GraphError(2, "Service temporarily unavailable, retry later", http_status=503)
        return json_response(unavailable.to_body(), 503)
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return json_response(GraphError(131000, "Internal error").to_body(), 500)


async def handle_error(request: Request, exc: Exception) -> Response:
    return render_error(request, exc)


# -- the two error objects, as the API reference describes them ---------------------------------------
class MetaErrorData(msgspec.Struct):
    messaging_product: str
    details: str


class MetaErrorObject(msgspec.Struct):
    """Meta's error object (`GraphError.to_body`); one Meta answered is passed on whole, with the fields
    Meta adds (`error_user_title`, `error_user_msg`, `is_transient`), and on template management an
    `error_data` that is a plain string."""

    message: str
    type: str
    code: int
    fbtrace_id: str
    error_subcode: int | msgspec.UnsetType = msgspec.UNSET
    error_data: MetaErrorData | str | msgspec.UnsetType = msgspec.UNSET


class MetaErrorBody(msgspec.Struct, forbid_unknown_fields=True):
    error: MetaErrorObject


class ApiErrorObject(msgspec.Struct, forbid_unknown_fields=True):
    """wagate's error object (`ApiError.to_body`): a stable code, a message, and structured data."""

    code: str
    message: str
    data: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET


class ApiErrorBody(msgspec.Struct, forbid_unknown_fields=True):
    error: ApiErrorObject
