"""The API reference: the OpenAPI document at `/openapi.json`, and Swagger UI reading it at `/docs`.

Swagger UI is vendored in the package (`static/swagger-ui/`, `scripts/vendor-swagger-ui`): the page loads
nothing from another host, and runs no inline script (its start-up is `static/docs.js`).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.web.openapi import ApiReference
from wagate.web.operations import Answer, Operation, Surface

# path -> (file under static/, media type, operation id)
_ASSETS = {
    "/docs/swagger-ui-bundle.js": (
        "swagger-ui/swagger-ui-bundle.js",
        "text/javascript",
        "getSwaggerUiBundle",
    ),
    "/docs/swagger-ui.css": ("swagger-ui/swagger-ui.css", "text/css", "getSwaggerUiCss"),
    "/docs/docs.js": ("docs.js", "text/javascript", "getDocsScript"),
}
_CACHED = {"Cache-Control": "public, max-age=3600"}


@cache
def _static(name: str) -> bytes:
    return (resources.files("wagate.web") / "static" / name).read_bytes()


async def openapi(request: Request) -> Response:
    reference: ApiReference = request.app.state.reference
    return Response(reference.json(), media_type="application/json")


async def docs(request: Request) -> Response:
    return Response(_static("docs.html"), media_type="text/html; charset=utf-8")


async def asset(request: Request) -> Response:
    name, media_type, _ = _ASSETS[request.url.path]
    return Response(_static(name), media_type=f"{media_type}; charset=utf-8", headers=_CACHED)


def routes() -> list[Route]:
    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        *(Route(path, asset, methods=["GET"]) for path in _ASSETS),
    ]


_TEXT = {"type": "string"}


def operations() -> list[Operation]:
    ops = [
        Operation(
            "GET",
            "/openapi.json",
            "getOpenApi",
            "This document",
            "Ops",
            (Answer(200, "The OpenAPI 3.1 document", schema={"type": "object"}),),
            Surface.PLAIN,
        ),
        Operation(
            "GET",
            "/docs",
            "getDocs",
            "The interactive API reference (Swagger UI over /openapi.json)",
            "Ops",
            (Answer(200, "The reference's page", media_type="text/html", schema=_TEXT),),
            Surface.PLAIN,
        ),
    ]
    for path, (name, media_type, operation_id) in _ASSETS.items():
        ops.append(
            Operation(
                "GET",
                path,
                operation_id,
                f"A file of the reference's page ({name.rpartition('/')[2]})",
                "Ops",
                (Answer(200, "The file", media_type=media_type, schema=_TEXT),),
                Surface.PLAIN,
            )
        )
    return ops
