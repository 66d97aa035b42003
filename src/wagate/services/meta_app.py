"""The Meta app's credentials: the app secret (signatures both ways) and the webhook verify token.

From settings (`WAGATE_META_APP_SECRET`, `WAGATE_META_VERIFY_TOKEN`) when given; otherwise from
`meta-app.json` in the data folder, which `wagate bootstrap` creates for the demo.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from wagate.settings import Settings

FILE_NAME = "meta-app.json"


@dataclass(frozen=True, slots=True)
class MetaApp:
    app_secret: str
    verify_token: str


def _path(settings: Settings) -> Path:
    return settings.home / FILE_NAME


def load_meta_app(settings: Settings) -> MetaApp:
    stored: dict[str, str] = {}
    path = _path(settings)
    if path.is_file():
        stored = json.loads(path.read_text())
    return MetaApp(
        settings.meta_app_secret or stored.get("app_secret", ""),
        settings.meta_verify_token or stored.get("verify_token", ""),
    )


def ensure_demo_meta_app(settings: Settings) -> MetaApp:
    """Create the demo's app secret and verify token once (readable by the owner only)."""
    path = _path(settings)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"app_secret": secrets.token_hex(16), "verify_token": secrets.token_urlsafe(18)}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle)
    return load_meta_app(settings)
