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
from wagate.media import rules, service
from wagate.media.urls import DOWNLOAD_PREFIX
from wagate.services import tenancy
from wagate.services.runtime import Runtime
from wagate.web.cloud_routes import OBJECT_ID, PHONE_NUMBER_ID, _check_version
from wagate.web.errors import json_response
from wagate.web.graph_objects import Success, UploadedMedia
from wagate.web.operations import VERSION, Answer, Body, Operation, Surface, path_param, query

_DELETED = Success(True)


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
    return json_response(UploadedMedia(str(media_id)))


async def delete_media(request: Request) -> Response:
    """Delete media (Meta's `DELETE /{version}/{media_id}[?phone_number_id=]`)."""
    rt: Runtime = request.app.state.rt
    _check_version(request.path_params["version"])
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.SEND)
    org = caller.org
    await service.do_delete(
        rt, org, request.path_params["object_id"], request.query_params.get("phone_number_id")
    )
    return json_response(_DELETED)


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


_UPLOAD = {
    "type": "object",
    "required": ["messaging_product", "file"],
    "properties": {
        "messaging_product": {"const": "whatsapp"},
        "file": {
            "type": "string",
            "format": "binary",
            "description": "The file (its part's type is its MIME type)",
        },
        "type": {
            "type": "string",
            "description": "The file's MIME type, if not its part's",
            "example": "image/png",
        },
    },
}
_FOR_NUMBER = query("phone_number_id", "The number the media belongs to (refused when it is another's)")


def operations() -> list[Operation]:
    return [
        Operation(
            "POST",
            "/{version}/{phone_number_id}/media",
            "uploadMedia",
            "Upload media to send by its id",
            "Cloud API",
            (Answer(200, "Stored: its media id", UploadedMedia, example={"id": "1234567890123456"}),),
            Surface.GRAPH,
            description=(
                "A multipart/form-data upload of one file with `messaging_product=whatsapp`, of a type and "
                f"size WhatsApp takes (at most {rules.MAX_UPLOAD} bytes; 131053 otherwise). The media id "
                "goes in a send's `image.id`, `document.id`..."
            ),
            scope=Scope.SEND,
            params=(VERSION, PHONE_NUMBER_ID),
            body=Body(media_types=("multipart/form-data",), schema=_UPLOAD),
        ),
        Operation(
            "DELETE",
            "/{version}/{object_id}",
            "deleteMedia",
            "Delete media (a media id; other objects are not deleted by this path)",
            "Cloud API",
            (Answer(200, "Deleted", Success, example={"success": True}),),
            Surface.GRAPH,
            scope=Scope.SEND,
            params=(VERSION, OBJECT_ID, _FOR_NUMBER),
        ),
        Operation(
            "GET",
            DOWNLOAD_PREFIX + "{media_id}",
            "downloadMedia",
            "Download media through the URL `GET /{version}/{media_id}` answered",
            "Cloud API",
            (
                Answer(
                    200,
                    "The file, with its MIME type",
                    media_type="*/*",
                    schema={"type": "string", "format": "binary"},
                ),
            ),
            Surface.GRAPH,
            description=(
                "The URL is signed and expires five minutes after it was handed out; it needs a token of "
                "the media's organization. Expired, forged, deleted and another organization's media all "
                "answer the same 404."
            ),
            scope=Scope.READ,
            params=(
                path_param("media_id", "The media id"),
                query("expires", "From the URL: when it expires (Unix seconds)"),
                query("sig", "From the URL: its signature"),
            ),
        ),
    ]
