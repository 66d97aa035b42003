"""A cap on every request body, per surface, enforced before the body is read whole.

A declared `Content-Length` over the cap is answered 413 at once, without reading a byte of the body.
A body that streams in without one (chunked) is counted as it arrives: the chunk that would cross the
cap is refused, so no handler ever holds more than the cap. The answer is in the surface's error model
(`BodyTooLarge`, rendered in `web/errors.py`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wagate.errors import BodySurface, BodyTooLarge
from wagate.media import rules
from wagate.settings import Settings
from wagate.web.errors import render_error

# Meta's notifications are at most 3 MB (reference, webhooks).
META_NOTIFICATION_MAX = 3 * 1024 * 1024
# Room for the form's other fields and the multipart framing around the largest file WhatsApp takes.
MEDIA_UPLOAD_MAX = rules.MAX_UPLOAD + 64 * 1024


class BodyLimits:
    """ASGI middleware: each request's body bounded by the cap of the surface its path belongs to."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.cloud = BodySurface("the Cloud API", settings.body_limit_cloud, "WAGATE_BODY_LIMIT_CLOUD")
        self.api = BodySurface("/api/v1", settings.body_limit_api, "WAGATE_BODY_LIMIT_API")
        self.imports = BodySurface("an import", settings.body_limit_import, "WAGATE_BODY_LIMIT_IMPORT")
        self.media = BodySurface("a media upload", MEDIA_UPLOAD_MAX)
        self.notifications = BodySurface("a notification from Meta", META_NOTIFICATION_MAX)

    def surface_for(self, path: str) -> BodySurface:
        if path.startswith("/api/"):
            return self.imports if path == "/api/v1/consents/import" else self.api
        if path == "/webhooks/meta":
            return self.notifications
        if path.endswith("/media"):
            return self.media
        return self.cloud

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        surface = self.surface_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > surface.limit:
            await render_error(Request(scope), BodyTooLarge(surface))(scope, receive, send)
            return
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > surface.limit:
                    raise BodyTooLarge(surface)
            return message

        await self.app(scope, bounded, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            raw = value.decode("latin-1").strip()
            return int(raw) if raw.isascii() and raw.isdigit() else None
    return None
