"""One place renders every error: Meta's error object on the Cloud API, wagate's under `/api/v1`."""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import Response

from wagate.errors import ApiError, GraphError, IdempotencyConflict, WagateError

log = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder()


def json_response(body: object, status: int = 200) -> Response:
    return Response(_encoder.encode(body), status_code=status, media_type="application/json")


# Graph errors that /api/v1 names in its own words: a refused token, a missing scope.
_API_CODES = {190: "unauthorized", 200: "forbidden"}


def _is_api_v1(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def render_error(request: Request, exc: Exception) -> Response:
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
