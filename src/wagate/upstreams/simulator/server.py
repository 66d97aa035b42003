"""The simulator alone, as a fake Meta over HTTP (`wagate simulator`).

Meta's Graph surface for messages, media and templates (`fake_templates.py`), signed webhooks to one
URL (receipts and customer messages, retried until answered with 200, as Meta does), and a control API
to create numbers and to act as customers. This is how the `cloud` upstream is tested without Meta.

Numbers are created through the control API (`POST /api/v1/simulator/numbers`), which answers with the
ids and the access token a business would get from Meta; they are kept in `numbers.json` in the
simulator's folder, and the journal beside it, so a restart keeps both.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.clock import Clock
from wagate.cloudapi.send import parse_send_request
from wagate.cloudapi.signatures import hub_signature
from wagate.domain.numbers import tier_of_limit
from wagate.domain.phone import to_wa_id
from wagate.errors import ApiError, GraphError, WagateError, fbtrace_id
from wagate.ids import new_graph_id
from wagate.services.simulated_customers import CustomerAction, build_inbound
from wagate.settings import SimulatorSettings
from wagate.upstreams.base import NumberRef, TemplateCopy, UpstreamError
from wagate.upstreams.simulator import fake_lifecycle
from wagate.upstreams.simulator.fake_templates import FakeTemplates, check_account_token
from wagate.upstreams.simulator.policy import NEW_PORTFOLIO_LIMIT
from wagate.upstreams.simulator.upstream import SimulatorUpstream

log = logging.getLogger(__name__)
FAKE_APP_ID = "100000000000001"
_encoder = msgspec.json.Encoder()


def _json(body: object, status: int = 200) -> Response:
    return Response(_encoder.encode(body), status_code=status, media_type="application/json")


@dataclass
class FakeNumber:
    id: int
    waba_id: int
    display_phone_number: str
    rate: int
    access_token: str

    @property
    def ref(self) -> NumberRef:
        return NumberRef(self.id, self.display_phone_number, self.waba_id, self.rate)


class FakeMeta:
    def __init__(
        self,
        home: Path,
        webhook_url: str,
        app_secret: str,
        clock: Clock,
        settings: SimulatorSettings,
        *,
        allow_private: bool = False,
    ) -> None:
        self.home = home
        self.webhook_url = webhook_url
        self.app_secret = app_secret
        self.numbers: dict[int, FakeNumber] = {}
        # Media links of sends are fetched as Meta fetches them, private addresses only if allowed.
        self.simulator = SimulatorUpstream(
            clock, settings, home / "journal.jsonl", allow_private=allow_private
        )
        self.templates = FakeTemplates(home, self._template_changed, self.simulator.forget_template)
        self._session: aiohttp.ClientSession | None = None
        self.webhooks_sent = 0
        # Business accounts the (one) app is subscribed to, by `POST /{waba_id}/subscribed_apps`.
        self.subscribed: set[int] = set()

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        path = self.home / "numbers.json"
        if path.is_file():
            for raw in json.loads(path.read_text()):
                number = FakeNumber(**raw)
                self.numbers[number.id] = number
        self.templates.load()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        await self.simulator.start(self._post_webhook)

    async def close(self) -> None:
        await self.simulator.close()
        if self._session is not None:
            await self._session.close()

    async def _post_webhook(self, body: bytes) -> None:
        """Deliver one envelope; anything but 200 raises, and the simulator tries again later."""
        assert self._session is not None
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": hub_signature(self.app_secret, body),
        }
        async with self._session.post(self.webhook_url, data=body, headers=headers) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"webhook answered {response.status}")
        self.webhooks_sent += 1

    def _template_changed(self, waba_id: int, template: dict[str, Any]) -> None:
        self.simulator.sync_template(
            TemplateCopy(
                waba_id,
                int(template["id"]),
                template["name"],
                template["language"],
                template["status"],
                template["category"],
                str(template.get("parameter_format", "POSITIONAL")).lower(),
                template["components"],
            )
        )

    # -- numbers ---------------------------------------------------------------------------------
    def create_number(self, display_phone_number: str | None, rate: int, waba_id: int | None) -> FakeNumber:
        number_id = new_graph_id()
        display = display_phone_number or f"+1 555 01{number_id % 100000:05d}"
        waba = waba_id or next((n.waba_id for n in self.numbers.values()), None) or new_graph_id()
        token = next((n.access_token for n in self.numbers.values() if n.waba_id == waba), None)
        number = FakeNumber(number_id, waba, display, rate, token or "EAAG" + secrets.token_urlsafe(32))
        self.numbers[number_id] = number
        self._save()
        self.templates.seed_sample(waba)
        return number

    def _save(self) -> None:
        path = self.home / "numbers.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([dataclasses.asdict(n) for n in self.numbers.values()]))
        os.replace(tmp, path)

    def access(self, request: Request, number_id: str) -> FakeNumber:
        """The number named in the path, if the bearer token is its business account's; Meta's errors else."""
        auth = request.headers.get("authorization", "")
        token = auth.partition(" ")[2].strip()
        if not token:
            raise GraphError(190, None, message="An active access token must be used.", http_status=401)
        try:
            number = self.numbers.get(int(number_id))
        except ValueError:
            number = None
        if number is None or not secrets.compare_digest(number.access_token, token):
            if any(secrets.compare_digest(n.access_token, token) for n in self.numbers.values()):
                raise GraphError(
                    100,
                    None,
                    http_status=400,
                    error_type="GraphMethodException",
                    message=f"Unsupported post request. Object with ID '{number_id}' does not exist",
                )
            raise GraphError(
                190, None, message="Invalid OAuth access token - Cannot parse access token", http_status=401
            )
        return number

    def number_of_token(self, request: Request) -> FakeNumber:
        token = request.headers.get("authorization", "").partition(" ")[2].strip()
        for number in self.numbers.values():
            if token and secrets.compare_digest(number.access_token, token):
                return number
        raise GraphError(
            190, None, message="Invalid OAuth access token - Cannot parse access token", http_status=401
        )


# -- Graph surface ---------------------------------------------------------------------------------
async def messages(request: Request) -> Response:
    meta: FakeMeta = request.app.state.meta
    number = meta.access(request, request.path_params["number"])
    send = parse_send_request(await request.body())
    if send.kind != "message":
        await meta.simulator.mark_read(number.ref, send.read_message_id or "", send.kind == "typing")
        return _json({"success": True})
    meta.simulator.lifecycles.check_can_send(number.id)
    wa_id = to_wa_id(send.to or "", "US")
    payload = msgspec.json.decode(await request.body())
    payload["to"] = wa_id
    try:
        sim_id = await meta.simulator.send(number.ref, payload)
    except UpstreamError as exc:
        raise GraphError(exc.code, exc.details) from exc
    return _json(
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": send.to, "wa_id": wa_id}],
            "messages": [{"id": sim_id}],
        }
    )


async def upload(request: Request) -> Response:
    meta: FakeMeta = request.app.state.meta
    number = meta.access(request, request.path_params["number"])
    async with request.form() as form:
        file = form.get("file")
        if file is None or isinstance(file, str):
            raise GraphError(131008, "The parameter file is required.")
        data = await file.read()
        mime = str(form.get("type") or file.content_type or "application/octet-stream")
    media_id = await meta.simulator.upload_media(number.ref, data, mime, file.filename)
    return _json({"id": media_id})


async def media_object(request: Request) -> Response:
    meta: FakeMeta = request.app.state.meta
    owner = meta.number_of_token(request)
    media_id = request.path_params["number"]
    found = meta.simulator.media.get(media_id)
    if found is None or meta.numbers[found[2]].waba_id != owner.waba_id:
        raise GraphError(
            100,
            None,
            http_status=400,
            error_type="GraphMethodException",
            message=f"Unsupported get request. Object with ID '{media_id}' does not exist",
        )
    if request.method == "DELETE":
        del meta.simulator.media[media_id]
        return _json({"success": True})
    data, mime, _ = found
    url = f"{request.base_url}media-download/{media_id}"
    return _json(
        {
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": mime,
            "sha256": hashlib.sha256(data).hexdigest(),
            "file_size": str(len(data)),
            "id": media_id,
        }
    )


async def media_download(request: Request) -> Response:
    meta: FakeMeta = request.app.state.meta
    owner = meta.number_of_token(request)
    found = meta.simulator.media.get(request.path_params["media_id"])
    if found is None or meta.numbers[found[2]].waba_id != owner.waba_id:
        return Response(status_code=404)
    return Response(found[0], media_type=found[1])


async def graph_object(request: Request) -> Response:
    """`GET /{version}/{id}`: a phone number or a media object, as on Meta."""
    meta: FakeMeta = request.app.state.meta
    raw = request.path_params["number"]
    if raw.isdigit() and int(raw) not in meta.numbers:
        return await media_object(request)
    number = meta.access(request, raw)
    return _json(
        {
            "id": str(number.id),
            "display_phone_number": number.display_phone_number,
            "verified_name": "Simulated business",
            "quality_rating": "GREEN",
            "name_status": "APPROVED",
            "platform_type": "CLOUD_API",
            "throughput": {"level": "HIGH" if number.rate >= 1000 else "STANDARD"},
            "whatsapp_business_manager_messaging_limit": tier_of_limit(
                meta.simulator.policy.messaging_limit(number.waba_id)
            ),
            **meta.simulator.lifecycles.describe(number.id),
        }
    )


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError:
        raise GraphError(100, "body: not valid JSON") from None


async def message_templates(request: Request) -> Response:
    """`GET` (paged), `POST` (create) or `DELETE` a business account's templates, as on Meta."""
    meta: FakeMeta = request.app.state.meta
    tokens = {n.waba_id: n.access_token for n in meta.numbers.values()}
    waba_id = check_account_token(request, request.path_params["waba_id"], tokens)
    params = request.query_params
    if request.method == "POST":
        return _json(meta.templates.create(waba_id, await _json_body(request)))
    if request.method == "DELETE":
        return _json(meta.templates.delete(waba_id, params.get("name"), params.get("hsm_id")))
    return _json(meta.templates.page(waba_id, str(request.url), dict(params)))


async def subscribed_apps(request: Request) -> Response:
    """`GET`, `POST` (subscribe) or `DELETE` (unsubscribe) the app's subscription to an account's
    webhooks, as on Meta. This fake Meta has one app: the one whose secret signs its webhooks."""
    meta: FakeMeta = request.app.state.meta
    tokens = {n.waba_id: n.access_token for n in meta.numbers.values()}
    waba_id = check_account_token(request, request.path_params["waba_id"], tokens)
    if request.method == "POST":
        meta.subscribed.add(waba_id)
        return _json({"success": True})
    if request.method == "DELETE":
        meta.subscribed.discard(waba_id)
        return _json({"success": True})
    app = {
        "id": FAKE_APP_ID,
        "name": "wagate simulator",
        "link": f"https://www.facebook.com/games/?app_id={FAKE_APP_ID}",
    }
    return _json({"data": [{"whatsapp_business_api_data": app}] if waba_id in meta.subscribed else []})


async def edit_template(request: Request) -> Response:
    """`POST /{version}/{template_id}`: edit a template of the token's business account (or, for a
    phone number's id, its two-step PIN or display name)."""
    meta: FakeMeta = request.app.state.meta
    if request.path_params["number"].isdigit() and int(request.path_params["number"]) in meta.numbers:
        return await fake_lifecycle.update_number(request)
    owner = meta.number_of_token(request)
    body = await _json_body(request)
    return _json(meta.templates.edit(owner.waba_id, request.path_params["number"], body))


# -- control ---------------------------------------------------------------------------------------
class NewNumber(msgspec.Struct, forbid_unknown_fields=True):
    display_phone_number: str | None = None
    rate: int = 80
    waba_id: int | None = None
    # Unique customers a day outside windows (null: unlimited); a new portfolio's limit by default.
    messaging_limit: int | None = NEW_PORTFOLIO_LIMIT
    # False: a number just added at Meta, to verify and register before it can send.
    registered: bool = True


async def control_numbers(request: Request) -> Response:
    meta: FakeMeta = request.app.state.meta
    if request.method == "GET":
        return _json([dataclasses.asdict(n) for n in meta.numbers.values()])
    try:
        new = msgspec.json.decode(await request.body() or b"{}", type=NewNumber)
    except msgspec.DecodeError as exc:
        raise ApiError("invalid_request", str(exc)) from exc
    number = meta.create_number(new.display_phone_number, new.rate, new.waba_id)
    meta.simulator.sync_account(number.waba_id, new.messaging_limit)
    if not new.registered:
        meta.simulator.lifecycles.adopt(number.id, verified=False, registered=False)
    return _json(
        {
            "phone_number_id": str(number.id),
            "waba_id": str(number.waba_id),
            "display_phone_number": number.display_phone_number,
            "access_token": number.access_token,
        },
        201,
    )


async def control_customer(request: Request) -> Response:
    meta: FakeMeta = request.app.state.meta
    try:
        action = msgspec.json.decode(await request.body(), type=CustomerAction)
        number = meta.numbers[int(action.phone_number_id)]
    except (msgspec.DecodeError, ValueError, KeyError) as exc:
        raise ApiError("invalid_request", f"bad customer action: {exc}") from exc
    wa_id = to_wa_id(action.from_, "US")
    message = build_inbound(action, meta.simulator.resolve_message_id)
    if "context" in message:
        message["context"]["from"] = number.ref.digits
    sim_id = await meta.simulator.customer_message(number.ref, wa_id, action.name, message)
    return _json({"id": sim_id}, 201)


async def control_faults(request: Request) -> Response:
    meta: FakeMeta = request.app.state.meta
    if request.method == "PUT":
        try:
            meta.simulator.rules.faults.update(
                msgspec.json.decode(await request.body(), type=dict[str, float])
            )
        except (msgspec.DecodeError, ValueError) as exc:
            raise ApiError("invalid_request", str(exc)) from exc
    return _json(dataclasses.asdict(meta.simulator.rules.faults))


async def control_stats(request: Request) -> Response:
    meta: FakeMeta = request.app.state.meta
    sim = meta.simulator
    return _json(
        {
            "accepted": sim.accepted,
            "receipts_delivered": sim.receipts_delivered,
            "webhooks_sent": meta.webhooks_sent,
            "refused_throughput": sim.rules.refused_throughput,
            "refused_pair_rate": sim.rules.refused_pair_rate,
            "refusals": dict(sim.rules.refusals),
            "peak_per_second": {str(k): v for k, v in sim.rules.peak_per_second.items()},
            "peak_at": {str(k): v for k, v in sim.rules.peak_at.items()},
        }
    )


async def _error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, GraphError | ApiError):
        return _json(exc.to_body(), exc.http_status)
    log.exception("fake Meta: unexpected error", exc_info=exc)
    return _json(
        {
            "error": {
                "message": "(#131000) Something went wrong",
                "type": "OAuthException",
                "code": 131000,
                "fbtrace_id": fbtrace_id(),
            }
        },
        500,
    )


def create_fake_meta(meta: FakeMeta) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await meta.start()
        try:
            yield
        finally:
            await meta.close()

    app = Starlette(
        routes=[
            Route("/healthz", lambda request: _json({"status": "ok"}), methods=["GET"]),
            Route("/api/v1/simulator/numbers", control_numbers, methods=["GET", "POST"]),
            Route("/api/v1/simulator/messages", control_customer, methods=["POST"]),
            Route("/api/v1/simulator/faults", control_faults, methods=["GET", "PUT"]),
            Route("/api/v1/simulator/stats", control_stats, methods=["GET"]),
            Route("/media-download/{media_id}", media_download, methods=["GET"]),
            Route(
                "/{version}/{waba_id}/message_templates", message_templates, methods=["GET", "POST", "DELETE"]
            ),
            *fake_lifecycle.routes(),
            Route("/{version}/{waba_id}/subscribed_apps", subscribed_apps, methods=["GET", "POST", "DELETE"]),
            Route("/{version}/{number}/messages", messages, methods=["POST"]),
            Route("/{version}/{number}/media", upload, methods=["POST"]),
            Route("/{version}/{number}", graph_object, methods=["GET"]),
            Route("/{version}/{number}", media_object, methods=["DELETE"]),
            Route("/{version}/{number}", edit_template, methods=["POST"]),
        ],
        lifespan=lifespan,
        exception_handlers={WagateError: _error, Exception: _error},
    )
    app.state.meta = meta
    return app
