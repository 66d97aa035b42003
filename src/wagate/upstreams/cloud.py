"""The `cloud` upstream: Meta's Graph API over HTTP (base URL configurable; Meta's by default).

Each business account has its own access token (Meta's system-user token), stored with the account.
Meta's error objects become `UpstreamError`s with Meta's code, retried or not per the error table;
a request that may have reached Meta but got no answer is reported as in doubt, so the dispatcher waits
for a status before sending again. Webhooks from Meta arrive at `/webhooks/meta`, not here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import msgspec

from wagate.net.addresses import UnsafeTarget, check_url, safe_session
from wagate.net.failures import describe
from wagate.settings import Settings
from wagate.upstreams.base import IngestFn, MetaRefusal, NumberRef, TemplateCopy, UpstreamError

log = logging.getLogger(__name__)
_decoder = msgspec.json.Decoder(dict[str, Any])

__all__ = ["CloudUpstream", "MetaRefusal", "TokenLookup"]

TokenLookup = Callable[[int], Awaitable[str | None]]


class CloudUpstream:
    name = "cloud"
    # Meta holds the accounts' templates, limits and numbers' standing; wagate follows what it says.
    at_meta = True

    def __init__(self, settings: Settings, token_for: TokenLookup) -> None:
        self.base = f"{settings.graph_base_url.rstrip('/')}/{settings.graph_version}"
        self.allow_private = settings.allow_private_targets
        self.timeout = settings.send_timeout
        self.token_for = token_for
        self._session: aiohttp.ClientSession | None = None

    async def start(self, ingest: IngestFn) -> None:
        check_url(self.base, allow_private=self.allow_private)
        self._session = safe_session(allow_private=self.allow_private, timeout=self.timeout, limit=1000)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _headers(self, waba_id: int) -> dict[str, str]:
        token = await self.token_for(waba_id)
        if not token:
            raise UpstreamError(190, f"no access token for business account {waba_id}")
        return {"Authorization": f"Bearer {token}"}

    async def _call(self, method: str, url: str, number: NumberRef, **kwargs: Any) -> dict[str, Any]:
        return await self._request(method, url, number.waba_id, **kwargs)

    async def _request(self, method: str, url: str, waba_id: int, **kwargs: Any) -> dict[str, Any]:
        """A Graph API call with the business account's token; Meta's error object raises."""
        if self._session is None:
            raise UpstreamError(131016, "the cloud upstream is not running")
        headers = await self._headers(waba_id)
        try:
            async with self._session.request(
                method, url, headers=headers, allow_redirects=False, **kwargs
            ) as resp:
                body = await resp.read()
                retry_after = _retry_after(resp.headers.get("Retry-After"))
                status = resp.status
        except UnsafeTarget as exc:
            # A configuration fault, not an outage: say so where the operator looks (the outbox keeps
            # only the error's title). Nothing was sent: safe to try again once the name is fixed.
            log.error("the Graph API base URL is refused: %s", exc)
            raise UpstreamError(131016, f"could not connect to the Graph API: {exc}") from exc
        except aiohttp.ClientConnectorError as exc:
            # Nothing reached Meta: safe to try again.
            raise UpstreamError(131016, f"could not connect to the Graph API: {describe(exc)}") from exc
        except (TimeoutError, aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
            raise UpstreamError(
                131000, f"no answer from the Graph API: {describe(exc)}", outcome_unknown=True
            ) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamError(
                131000, f"Graph API call failed: {describe(exc)}", outcome_unknown=True
            ) from exc
        try:
            data = _decoder.decode(body) if body else {}
        except msgspec.DecodeError:
            data = {}
        if 200 <= status < 300:
            return data
        raise _graph_error(status, data, retry_after)

    async def send(self, number: NumberRef, payload: dict[str, Any]) -> str:
        data = await self._call("POST", f"{self.base}/{number.id}/messages", number, json=payload)
        try:
            return str(data["messages"][0]["id"])
        except (KeyError, IndexError, TypeError) as exc:
            raise UpstreamError(
                131000, f"unexpected answer from the Graph API: {data!r}", outcome_unknown=True
            ) from exc

    async def mark_read(self, number: NumberRef, upstream_message_id: str, typing: bool) -> None:
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": upstream_message_id,
        }
        if typing:
            body["typing_indicator"] = {"type": "text"}
        await self._call("POST", f"{self.base}/{number.id}/messages", number, json=body)

    async def upload_media(self, number: NumberRef, data: bytes, mime_type: str, filename: str | None) -> str:
        form = aiohttp.FormData()
        form.add_field("messaging_product", "whatsapp")
        form.add_field("type", mime_type)
        form.add_field("file", data, content_type=mime_type, filename=filename or "file")
        answer = await self._call("POST", f"{self.base}/{number.id}/media", number, data=form)
        return str(answer["id"])

    async def download_media(self, number: NumberRef, upstream_media_id: str) -> tuple[bytes, str]:
        info = await self._call(
            "GET", f"{self.base}/{upstream_media_id}", number, params={"phone_number_id": str(number.id)}
        )
        url = str(info.get("url", ""))
        if not url or self._session is None:
            raise UpstreamError(131052, f"no download URL for media {upstream_media_id}")
        check_url(url, allow_private=self.allow_private)
        try:
            async with self._session.get(
                url, headers=await self._headers(number.waba_id), allow_redirects=False
            ) as resp:
                if resp.status != 200:
                    raise UpstreamError(131052, f"media download answered {resp.status}")
                return await resp.read(), str(info.get("mime_type") or resp.content_type)
        except aiohttp.ClientError as exc:
            raise UpstreamError(131016, f"media download failed: {describe(exc)}") from exc

    async def template_page(self, waba_id: int, params: dict[str, str]) -> dict[str, Any]:
        """One page of the account's templates at Meta (`GET /{waba_id}/message_templates`)."""
        return await self._request("GET", f"{self.base}/{waba_id}/message_templates", waba_id, params=params)

    async def create_template(self, waba_id: int, body: Any) -> dict[str, Any]:
        """`POST /{waba_id}/message_templates`: Meta answers the new template's id, status and category."""
        return await self._request("POST", f"{self.base}/{waba_id}/message_templates", waba_id, json=body)

    async def edit_template(self, waba_id: int, template_id: int, body: Any) -> dict[str, Any]:
        """`POST /{template_id}` with category, components and/or TTL."""
        return await self._request("POST", f"{self.base}/{template_id}", waba_id, json=body)

    async def delete_templates(self, waba_id: int, params: dict[str, str]) -> dict[str, Any]:
        """`DELETE /{waba_id}/message_templates?name=...[&hsm_id=...]`."""
        return await self._request(
            "DELETE", f"{self.base}/{waba_id}/message_templates", waba_id, params=params
        )

    async def subscribe_app(self, waba_id: int) -> dict[str, Any]:
        """`POST /{waba_id}/subscribed_apps`: the token's Meta app gets the account's webhooks."""
        return await self._request("POST", f"{self.base}/{waba_id}/subscribed_apps", waba_id)

    async def unsubscribe_app(self, waba_id: int) -> dict[str, Any]:
        """`DELETE /{waba_id}/subscribed_apps`."""
        return await self._request("DELETE", f"{self.base}/{waba_id}/subscribed_apps", waba_id)

    # -- a number's lifecycle at Meta (relayed as the caller sent it; Meta's answer comes back) ----------
    async def follow(self, number: NumberRef, *, verified: bool, registered: bool) -> None:
        return None

    def sent_code(self, number: NumberRef) -> str | None:
        return None

    async def request_code(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", f"{self.base}/{number.id}/request_code", number, json=params)

    async def verify_code(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", f"{self.base}/{number.id}/verify_code", number, json=params)

    async def register(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]:
        return await self._call("POST", f"{self.base}/{number.id}/register", number, json=params)

    async def deregister(self, number: NumberRef) -> dict[str, Any]:
        return await self._call("POST", f"{self.base}/{number.id}/deregister", number)

    async def update_number(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]:
        """`POST /{phone_number_id}` with `pin` and/or `new_display_name`."""
        return await self._call("POST", f"{self.base}/{number.id}", number, json=params)

    async def business_profile(self, number: NumberRef, fields: str | None) -> dict[str, Any]:
        params = {"fields": fields} if fields else {}
        url = f"{self.base}/{number.id}/whatsapp_business_profile"
        return await self._call("GET", url, number, params=params)

    async def update_business_profile(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base}/{number.id}/whatsapp_business_profile"
        return await self._call("POST", url, number, json=params)

    async def number_fields(self, number: NumberRef, fields: str | None) -> dict[str, Any]:
        """`GET /{phone_number_id}[?fields=...]`: the number as Meta describes it."""
        params = {"fields": fields} if fields else {}
        return await self._call("GET", f"{self.base}/{number.id}", number, params=params)

    # -- Meta keeps its own accounts and templates: nothing to tell it ------------------------------------
    def sync_account(self, waba_id: int, messaging_limit: int | None) -> None:
        return None

    def sync_template(self, template: TemplateCopy) -> None:
        return None

    def drop_template(self, template_id: int) -> None:
        return None


def _retry_after(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


def _graph_error(status: int, data: dict[str, Any], retry_after: float | None) -> UpstreamError:
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), int):
        details = ""
        error_data = error.get("error_data")
        if isinstance(error_data, dict):
            details = str(error_data.get("details", ""))
        elif isinstance(error_data, str):
            details = error_data
        return MetaRefusal(error, status, details or str(error.get("message", "")), retry_after)
    if status >= 500:
        return UpstreamError(131000, f"the Graph API answered {status}", retry_after=retry_after)
    if status == 429:
        return UpstreamError(130429, "the Graph API answered 429", retry_after=retry_after)
    return UpstreamError(135000, f"the Graph API answered {status} without an error object")
