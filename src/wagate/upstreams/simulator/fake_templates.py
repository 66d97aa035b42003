"""The fake Meta's message templates: create, list and delete (`/{version}/{waba_id}/message_templates`)
and edit (`POST /{version}/{template_id}`).

Templates are checked by the same rules as wagate's own surface and decided at once by the simulator's
reviewer, after creation and after an edit; the list pages with Graph cursors (`limit`, `after`,
`paging.next`) and honours `fields`. They are kept in `templates.json` in the simulator's folder, so a
restart keeps them.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from wagate.domain.template_rules import check_template_create, check_template_edit, review
from wagate.errors import GraphError, MetaError, fbtrace_id, invalid_parameter, unknown_object
from wagate.ids import new_graph_id

_encoder = msgspec.json.Encoder()
DEFAULT_PAGE = 25
MAX_PAGE = 1000


def _json(body: object, status: int = 200) -> Response:
    return Response(_encoder.encode(body), status_code=status, media_type="application/json")


def _cursor(template_id: str) -> str:
    return base64.urlsafe_b64encode(template_id.encode()).decode().rstrip("=")


def _uncursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError:
        raise invalid_parameter("after: not a cursor of this list") from None


class FakeTemplates:
    """Every business account's templates, as Meta shows them, in creation order."""

    def __init__(
        self,
        home: Path,
        on_change: Callable[[int, dict[str, Any]], None] | None = None,
        on_delete: Callable[[int, int], None] | None = None,
    ) -> None:
        self.path = home / "templates.json"
        self.by_account: dict[int, list[dict[str, Any]]] = {}
        # The simulated network sends by these templates: it is told of each one loaded, created or
        # edited (`on_change`) and of each one deleted (`on_delete`, by id).
        self.on_change = on_change
        self.on_delete = on_delete

    def _told(self, waba_id: int, template: dict[str, Any]) -> None:
        if self.on_change is not None:
            self.on_change(waba_id, template)

    def seed_sample(self, waba_id: int) -> None:
        """Every new business account comes with Meta's approved `hello_world` sample template."""
        account = self.by_account.setdefault(waba_id, [])
        if any(t["name"] == "hello_world" for t in account):
            return
        template: dict[str, Any] = {
            "id": str(new_graph_id()),
            "name": "hello_world",
            "language": "en_US",
            "status": "APPROVED",
            "category": "UTILITY",
            "parameter_format": "POSITIONAL",
            "components": [{"type": "BODY", "text": "Hello from the simulated WhatsApp network."}],
            "quality_score": {"score": "UNKNOWN"},
        }
        account.append(template)
        self._save()
        self._told(waba_id, template)

    def load(self) -> None:
        if self.path.is_file():
            self.by_account = {int(k): v for k, v in json.loads(self.path.read_text()).items()}
        for waba_id, account in self.by_account.items():
            for template in account:
                self._told(waba_id, template)

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({str(k): v for k, v in self.by_account.items()}))
        os.replace(tmp, self.path)

    def create(self, waba_id: int, body: Any) -> dict[str, Any]:
        draft = check_template_create(body)
        account = self.by_account.setdefault(waba_id, [])
        if any(t["name"] == draft.name and t["language"] == draft.language for t in account):
            raise _already_exists(draft.name, draft.language)
        outcome = review(draft.category, draft.components)
        template: dict[str, Any] = {
            "id": str(new_graph_id()),
            "name": draft.name,
            "language": draft.language,
            "status": outcome.status,
            "category": outcome.category,
            "parameter_format": draft.parameter_format.upper(),
            "components": draft.components,
            "quality_score": {"score": "UNKNOWN"},
        }
        if draft.message_send_ttl_seconds is not None:
            template["message_send_ttl_seconds"] = draft.message_send_ttl_seconds
        account.append(template)
        self._save()
        self._told(waba_id, template)
        return {"id": template["id"], "status": template["status"], "category": template["category"]}

    def edit(self, waba_id: int, template_id: str, body: Any) -> dict[str, Any]:
        """Edit a template of `waba_id`; a new category or new components are reviewed again at once."""
        template = next((t for t in self.by_account.get(waba_id, []) if t["id"] == template_id), None)
        if template is None:
            raise unknown_object(template_id)
        status, category = template["status"], template["category"]
        edit = check_template_edit(body, status, category, template["parameter_format"].lower())
        if edit.message_send_ttl_seconds is not None:
            template["message_send_ttl_seconds"] = edit.message_send_ttl_seconds
        if edit.components is not None or edit.category not in (None, category):
            template["components"] = edit.components or template["components"]
            outcome = review(edit.category or category, template["components"])
            template.update(status=outcome.status, category=outcome.category)
        self._save()
        self._told(waba_id, template)
        return {"success": True}

    def delete(self, waba_id: int, name: str | None, hsm_id: str | None) -> dict[str, Any]:
        """Delete every language of the template `name`, or the one whose id is `hsm_id`."""
        if not name:
            raise GraphError(100, "name: the template name is required")
        account = self.by_account.get(waba_id, [])
        gone = [t for t in account if t["name"] == name and hsm_id in (None, t["id"])]
        if not gone:
            raise GraphError(100, f"name: no template named {name} to delete")
        self.by_account[waba_id] = [t for t in account if t not in gone]
        self._save()
        for template in gone:
            if self.on_delete is not None:
                self.on_delete(waba_id, int(template["id"]))
        return {"success": True}

    def page(self, waba_id: int, url: str, params: dict[str, str]) -> dict[str, Any]:
        limit = DEFAULT_PAGE
        if "limit" in params:
            if not params["limit"].isdigit() or not 0 < int(params["limit"]) <= MAX_PAGE:
                raise invalid_parameter(f"limit: must be 1 to {MAX_PAGE}")
            limit = int(params["limit"])
        rows = self.by_account.get(waba_id, [])
        if "after" in params:
            after = _uncursor(params["after"])
            ids = [t["id"] for t in rows]
            rows = rows[ids.index(after) + 1 :] if after in ids else []
        chosen, more = rows[:limit], len(rows) > limit
        wanted = None
        if params.get("fields"):
            wanted = {f.strip() for f in params["fields"].split(",")} | {"id"}
        data = [{k: v for k, v in t.items() if wanted is None or k in wanted} for t in chosen]
        if not chosen:
            return {"data": [], "paging": {"cursors": {}}}
        paging: dict[str, Any] = {
            "cursors": {"before": _cursor(chosen[0]["id"]), "after": _cursor(chosen[-1]["id"])}
        }
        if more:
            query = "&".join(f"{k}={v}" for k, v in params.items() if k != "after")
            paging["next"] = f"{url.split('?', 1)[0]}?{query}&after={paging['cursors']['after']}"
        return {"data": data, "paging": paging}


def _already_exists(name: str, language: str) -> MetaError:
    """Meta's answer to a second template of the same name and language, with its texts for people."""
    error = {
        "message": "(#100) Invalid parameter",
        "type": "OAuthException",
        "code": 100,
        "error_data": {
            "messaging_product": "whatsapp",
            "details": f"name: a template named {name} already exists in {language}",
        },
        "is_transient": False,
        "error_user_title": "Message template already exists",
        "error_user_msg": f"There is already {language} content for this template. Choose another name.",
        "fbtrace_id": fbtrace_id(),
    }
    return MetaError(error, 400)


def check_account_token(request: Request, waba_id: str, tokens: dict[int, str]) -> int:
    """The business account named in the path, if the bearer token is its own; Meta's errors else."""
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    if not token:
        raise GraphError(190, None, message="An active access token must be used.", http_status=401)
    known = waba_id.isdigit() and int(waba_id) in tokens
    if not known or not secrets.compare_digest(tokens[int(waba_id)], token):
        if any(secrets.compare_digest(t, token) for t in tokens.values()):
            raise GraphError(
                100,
                None,
                http_status=400,
                error_type="GraphMethodException",
                message=f"Unsupported request. Object with ID '{waba_id}' does not exist",
            )
        raise GraphError(
            190, None, message="Invalid OAuth access token - Cannot parse access token", http_status=401
        )
    return int(waba_id)
