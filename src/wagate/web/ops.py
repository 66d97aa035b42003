"""Operations: health and Prometheus metrics (the API reference is `docs_routes`)."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.services.runtime import Runtime
from wagate.web.errors import json_response
from wagate.web.operations import Answer, Operation, Surface


class Health(msgspec.Struct, forbid_unknown_fields=True):
    status: str


_HEALTHY = Health("ok")


async def healthz(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    await rt.db.read(lambda conn: conn.exec_driver_sql("SELECT 1").scalar())
    return json_response(_HEALTHY)


async def metrics(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    return Response(rt.metrics.render(), media_type="text/plain; version=0.0.4")


def routes() -> list[Route]:
    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/healthz",
            "getHealth",
            "Health: the process answers and its database does",
            "Ops",
            (Answer(200, "Healthy", Health, example={"status": "ok"}),),
            Surface.PLAIN,
            errors=((503, "The database does not answer"),),
        ),
        Operation(
            "GET",
            "/metrics",
            "getMetrics",
            "Prometheus metrics of this process",
            "Ops",
            (
                Answer(
                    200,
                    "Metrics in Prometheus' text format",
                    media_type="text/plain",
                    schema={"type": "string"},
                    example="wagate_messages_accepted_total 1.0\n",
                ),
            ),
            Surface.PLAIN,
        ),
    ]
