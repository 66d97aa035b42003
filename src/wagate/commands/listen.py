"""`wagate webhooks listen`: a receiver on this machine that prints and checks every webhook it gets.

It answers Meta's verification handshake (when the verify token matches), checks the signature of
each delivery in either format (Meta's `X-Hub-Signature-256`, Standard Webhooks' `webhook-signature`)
against the secret it was given, prints a one-line summary and the body, and answers 200 to a good
delivery and 401 to a badly signed one, as a real receiver should.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from wagate.cloudapi.signatures import verify_hub_signature, verify_standard_signature

# Standard Webhooks: a timestamp further than this from now is refused (replay protection).
TIMESTAMP_TOLERANCE = 5 * 60


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    what: str  # "meta signature ok", "no signature", …


def check_delivery(headers: Any, body: bytes, secret: str | None, now: float) -> Verdict:
    """Whether a delivery is signed by the holder of `secret`, in the format its headers show."""
    hub = headers.get("X-Hub-Signature-256")
    standard = headers.get("webhook-signature")
    if hub is None and standard is None:
        return Verdict(secret is None, "unsigned")
    if secret is None:
        return Verdict(True, "signature not checked (no --secret)")
    if hub is not None:
        good = verify_hub_signature(secret, body, hub)
        return Verdict(good, "meta signature ok" if good else "meta signature WRONG")
    event_id, raw_timestamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not raw_timestamp.isdigit():
        return Verdict(False, "webhook-timestamp missing")
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > TIMESTAMP_TOLERANCE:
        return Verdict(False, f"webhook-timestamp {timestamp} is more than 5 minutes away")
    try:
        good = verify_standard_signature(secret, event_id, timestamp, body, standard or "")
    except ValueError:
        return Verdict(False, "the secret is not a Standard Webhooks secret (whsec_…)")
    return Verdict(good, "standard signature ok" if good else "standard signature WRONG")


def summarize(body: Any) -> str:
    """One line on what a delivery carries: the event type, or Meta's fields, statuses and messages."""
    if not isinstance(body, dict):
        return "not a JSON object"
    if isinstance(body.get("type"), str):
        return str(body["type"])
    parts: list[str] = []
    for entry in body.get("entry") or []:
        for change in entry.get("changes") or [] if isinstance(entry, dict) else []:
            value = change.get("value") or {}
            statuses = [s.get("status", "?") for s in value.get("statuses") or []]
            messages = [m.get("type", "?") for m in value.get("messages") or []]
            line = str(change.get("field", "?"))
            if statuses:
                line += " status " + ",".join(statuses)
            if messages:
                line += " message " + ",".join(messages)
            parts.append(line)
    return "; ".join(parts) or "no entries"


class Listener:
    def __init__(self, secret: str | None, verify_token: str | None, quiet: bool) -> None:
        self.secret = secret
        self.verify_token = verify_token
        self.quiet = quiet
        self.received = 0

    def app(self) -> web.Application:
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_route("GET", "/{tail:.*}", self.handshake)
        app.router.add_route("POST", "/{tail:.*}", self.delivery)
        return app

    async def handshake(self, request: web.Request) -> web.Response:
        params = request.query
        if params.get("hub.mode") != "subscribe":
            return web.Response(text="wagate webhooks listen: POST deliveries here\n")
        token = params.get("hub.verify_token")
        if self.verify_token is not None and token != self.verify_token:
            _say(f"GET {request.path} verification refused: verify token {token!r} does not match")
            return web.Response(status=403, text="verify token does not match")
        _say(f"GET {request.path} verification answered")
        return web.Response(text=params.get("hub.challenge", ""))

    async def delivery(self, request: web.Request) -> web.Response:
        body = await request.read()
        verdict = check_delivery(request.headers, body, self.secret, time.time())
        try:
            parsed: Any = json.loads(body)
        except ValueError:
            parsed = None
        self.received += 1
        _say(f"POST {request.path} #{self.received} {verdict.what}: {summarize(parsed)}")
        if not self.quiet:
            shown = (
                body[:2000].decode(errors="replace")
                if parsed is None
                else json.dumps(parsed, ensure_ascii=False, indent=2)
            )
            print(shown, flush=True)
        return web.Response(status=200 if verdict.ok else 401, text="OK" if verdict.ok else "bad signature")


def _say(line: str) -> None:
    print(time.strftime("%H:%M:%S"), line, flush=True)


def listen(host: str, port: int, secret: str | None, verify_token: str | None, quiet: bool) -> None:
    listener = Listener(secret, verify_token, quiet)
    checking = "checking signatures" if secret else "not checking signatures (no --secret)"
    _say(f"listening on http://{host}:{port}/, {checking}; Ctrl+C stops")
    web.run_app(listener.app(), host=host, port=port, print=None, handle_signals=True)
