"""The fake Meta's Graph paths for a number's life (`request_code`, `verify_code`, `register`,
`deregister`, `whatsapp_business_profile`, `POST /{phone_number_id}`), answered by the same rules as the
in-process simulator (`lifecycle.py`), and the control API's view of the code it "sent"."""

from __future__ import annotations

from typing import Protocol

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.cloudapi.graph_params import graph_params
from wagate.errors import ApiError
from wagate.upstreams.simulator.lifecycle import Lifecycles


class _Number(Protocol):
    id: int


class _Simulator(Protocol):
    lifecycles: Lifecycles


class FakeMetaNumbers(Protocol):
    """What these routes need of the fake Meta (`server.FakeMeta`), which mounts them."""

    @property
    def simulator(self) -> _Simulator: ...

    def access(self, request: Request, raw: str) -> _Number: ...


_encoder = msgspec.json.Encoder()


def _meta(request: Request) -> FakeMetaNumbers:
    meta: FakeMetaNumbers = request.app.state.meta
    return meta


def _number(request: Request) -> tuple[Lifecycles, int]:
    meta = _meta(request)
    number = meta.access(request, request.path_params["number"])
    return meta.simulator.lifecycles, number.id


def _json(body: object, status: int = 200) -> Response:
    return Response(_encoder.encode(body), status_code=status, media_type="application/json")


async def request_code(request: Request) -> Response:
    lifecycles, number_id = _number(request)
    return _json(lifecycles.request_code(number_id, await graph_params(request)))


async def verify_code(request: Request) -> Response:
    lifecycles, number_id = _number(request)
    return _json(lifecycles.verify_code(number_id, await graph_params(request)))


async def register(request: Request) -> Response:
    lifecycles, number_id = _number(request)
    return _json(lifecycles.register(number_id, await graph_params(request)))


async def deregister(request: Request) -> Response:
    lifecycles, number_id = _number(request)
    return _json(lifecycles.deregister(number_id))


async def update_number(request: Request) -> Response:
    """`POST /{phone_number_id}` with `pin` and/or `new_display_name`."""
    lifecycles, number_id = _number(request)
    return _json(lifecycles.update_number(number_id, await graph_params(request)))


async def business_profile(request: Request) -> Response:
    lifecycles, number_id = _number(request)
    if request.method == "GET":
        return _json(lifecycles.profile(number_id, request.query_params.get("fields")))
    return _json(lifecycles.update_profile(number_id, await graph_params(request)))


async def control_verification_code(request: Request) -> Response:
    """The code the fake Meta "sent" to a number (no SMS leaves it)."""
    meta = _meta(request)
    raw = request.path_params["number_id"]
    code = meta.simulator.lifecycles.current_code(int(raw)) if raw.isdigit() else None
    if code is None:
        raise ApiError("not_found", f"no verification code for number {raw}", http_status=404)
    return _json({"phone_number_id": raw, "code": code})


def routes() -> list[Route]:
    return [
        Route(
            "/api/v1/simulator/numbers/{number_id}/verification-code",
            control_verification_code,
            methods=["GET"],
        ),
        Route("/{version}/{number}/request_code", request_code, methods=["POST"]),
        Route("/{version}/{number}/verify_code", verify_code, methods=["POST"]),
        Route("/{version}/{number}/register", register, methods=["POST"]),
        Route("/{version}/{number}/deregister", deregister, methods=["POST"]),
        Route("/{version}/{number}/whatsapp_business_profile", business_profile, methods=["GET", "POST"]),
    ]
