"""Operations: health, Prometheus metrics, and the API reference at `/docs`."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from wagate.services.runtime import Runtime
from wagate.web.errors import json_response
from wagate.web.openapi import OPENAPI


async def healthz(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    await rt.db.read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar())
    return json_response({"status": "ok"})


async def metrics(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    return Response(rt.metrics.render(), media_type="text/plain; version=0.0.4")


async def openapi(request: Request) -> Response:
    return json_response(OPENAPI)


async def docs(request: Request) -> Response:
    rows = []
    for path, operations in OPENAPI["paths"].items():
        for method, op in operations.items():
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                f"<td>{html.escape(op.get('summary', ''))}</td></tr>"
            )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>wagate API</title>"
        "<style>body{font-family:sans-serif;margin:2em}td{padding:.3em 1em;border-bottom:1px solid #ddd}"
        "</style></head><body><h1>wagate API</h1>"
        f"<p>{html.escape(OPENAPI['info']['description'])}</p>"
        "<p>Machine-readable: <a href='/openapi.json'>/openapi.json</a></p>"
        f"<table>{''.join(rows)}</table></body></html>"
    )
    return HTMLResponse(page)


def routes() -> list[Route]:
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]
