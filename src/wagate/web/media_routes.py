"""Meta's media endpoints: upload, delete, and the download URL `GET /{version}/{media_id}` hands out.

(`GET /{version}/{media_id}` itself is the Graph object resolver's, in `cloud_routes.get_object`.)
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope
from wagate.errors import invalid_parameter, missing_parameter
from wagate.media import service
from wagate.media.urls import DOWNLOAD_PREFIX
from wagate.services import tenancy
from wagate.services.runtime import Runtime
from wagate.web.cloud_routes import _check_version
from wagate.web.errors import json_response


async def upload_media(request: Request) -> Response:
    """Upload a file (Meta's `POST /{version}/{phone_number_id}/media`, multipart/form-data)."""
    rt: Runtime = request.app.state.rt
    _check_version(request.path_params["version"])
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.SEND)
    org = caller.org
    number = await tenancy.access_phone_number(rt, org, request.path_params["object_id"])
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise invalid_parameter("The request body must be multipart/form-data.")
    # The body streams in bounded by the largest file WhatsApp takes (web/body_limits.py).
    parser = MultiPartParser(request.headers, request.stream(), max_files=1, max_fields=10)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise invalid_parameter(f"The multipart body could not be read: {exc.message}") from None
    try:
        product = form.get("messaging_product")
        if product is None:
            raise invalid_parameter("The parameter messaging_product is required.")
        if product != "whatsapp":
            raise invalid_parameter(f'Param messaging_product must be "whatsapp", got {product!r}.')
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise missing_parameter("file")
        declared_type = form.get("type")
        mime = declared_type if isinstance(declared_type, str) and declared_type else file.content_type
        data = await file.read()
        media_id = await service.do_upload(rt, org, number, data, mime, file.filename)
    finally:
        await form.close()
    return json_response({"id": str(media_id)})


async def delete_media(request: Request) -> Response:
    """Delete media (Meta's `DELETE /{version}/{media_id}[?phone_number_id=]`)."""
    rt: Runtime = request.app.state.rt
    _check_version(request.path_params["version"])
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.SEND)
    org = caller.org
    await service.do_delete(
        rt, org, request.path_params["object_id"], request.query_params.get("phone_number_id")
    )
    return json_response({"success": True})


async def download_media(request: Request) -> Response:
    """The bytes behind a URL from `GET /{version}/{media_id}`: signed, expiring, bearer token required."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.READ)
    org = caller.org
    data, mime = await service.download(
        rt,
        org,
        request.path_params["media_id"],
        request.query_params.get("expires"),
        request.query_params.get("sig"),
    )
    return Response(data, media_type=mime)


def routes() -> list[Route]:
    return [
        Route(DOWNLOAD_PREFIX + "{media_id}", download_media, methods=["GET"]),
        Route("/{version}/{object_id}/media", upload_media, methods=["POST"]),
        Route("/{version}/{object_id}", delete_media, methods=["DELETE"]),
    ]
