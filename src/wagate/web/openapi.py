"""The OpenAPI 3.1 document of wagate's HTTP surface, assembled from the route modules' operations.

Every schema comes from `msgspec.json.schema_components` over the types the code decodes and encodes
with, so the reference and the validation are one definition. Each operation gets the error responses
of its surface (Meta's error object on Graph paths, wagate's under `/api/v1`) besides its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from wagate.web.errors import ApiErrorBody, MetaErrorBody
from wagate.web.operations import Answer, Operation, Surface

TAGS = (
    (
        "Cloud API",
        "Meta's WhatsApp Cloud API: the same paths, bodies and errors as Meta's Graph API, and "
        "Meta's webhooks to wagate.",
    ),
    ("Messages", "A message's status and history, and search over message text."),
    ("Contacts", "The people an organization talks to."),
    ("Consent", "The consent ledger: a contact's consents explained, recorded, imported."),
    ("Conversations", "Threads per contact and number, and the queue waiting for a person."),
    ("Policy", "The organization's policy settings: keywords, replies, marketing caps."),
    ("Webhooks", "wagate's webhooks to the business: subscriptions and deliveries."),
    ("Organization", "The token's organization and its business accounts."),
    ("Numbers", "The organization's business numbers, their rate, upstream and standing at Meta."),
    ("Tokens", "API tokens: issued with scopes and expiry, listed, revoked."),
    ("Audit", "The organization's audit log."),
    ("Operators", "People who log in, with two-factor login, and their sessions."),
    ("Retention", "How long messages and media are kept, what retention deleted, erased contacts."),
    ("Going live", "What the organization still lacks to send from a real number."),
    ("Simulator", "The simulated network's controls (only while the in-process simulator runs)."),
    ("Ops", "Health, metrics and this reference."),
)
_TAG_NAMES = frozenset(name for name, _ in TAGS)

_WHY = {
    400: "The request is invalid: the error names the parameter",
    401: "No token, or one that is unknown, revoked or expired",
    403: "The token lacks the scope this operation needs",
    404: "Not found",
    405: "The path does not take this method",
    409: "A conflict with the current state",
    413: "The request body is too large",
    415: "The body is not of a media type this operation takes",
    429: "Too many attempts: try again later",
    502: "Meta refused the call or did not answer",
    503: "The database (or an upstream) is unavailable for a moment: retry later",
}
_TRACE = "AZ8y0kLq3mBQvV2cRtXnD1e"
_GRAPH_EXAMPLES = {
    400: (100, "OAuthException", "(#100) Invalid parameter", "to: the parameter to is required"),
    401: (190, "OAuthException", "Invalid OAuth access token - Cannot parse access token", None),
    403: (
        200,
        "OAuthException",
        "(#200) Requires the manage scope, which this access token was not granted",
        None,
    ),
    404: (100, "GraphMethodException", "(#100) Unknown path components", "GET /v23.0/1065403522/unknown"),
    405: (100, "GraphMethodException", "(#100) Unsupported put request", "PUT /v23.0/106540352242922"),
    409: (100, "OAuthException", "(#100) Idempotency-Key reused", "the key was used with another body"),
    413: (100, "OAuthException", "(#100) Request body too large", "The request body is larger than the cap"),
    503: (2, "OAuthException", "(#2) API Service", "Service temporarily unavailable, retry later"),
}
_API_EXAMPLES = {
    400: ("invalid_request", "Object missing required field `phone`"),
    401: ("unauthorized", "Invalid OAuth access token - Cannot parse access token"),
    403: ("forbidden", "This token does not have the `manage` scope"),
    404: ("not_found", "contact 12 not found"),
    409: ("conflict", "the object is in another state"),
    413: ("payload_too_large", "The request body is larger than 1048576 bytes, the most /api/v1 takes."),
    415: ("unsupported_media_type", "send text/csv or application/json"),
    429: ("too_many_attempts", "too many failed logins: try again later"),
    502: ("meta_error", "Meta answered: (#100) Invalid parameter"),
}


def surface_errors(op: Operation) -> list[int]:
    """The statuses every operation of `op`'s surface may answer, besides `op.errors`."""
    statuses = []
    if op.surface is Surface.GRAPH:
        statuses += [400, 404, 405]  # a bad version or id; a path or method Meta does not have
    if op.surface is Surface.API and (op.body is not None or any(p.where == "query" for p in op.params)):
        statuses.append(400)
    if op.scope is not None:
        statuses += [401, 403]
    if op.body is not None:
        statuses.append(413)
    if op.scope is not None or op.surface is not Surface.PLAIN:
        statuses.append(503)
    return statuses


class _Schemas:
    """The types of every operation, turned into schemas in one pass (shared structs become components)."""

    def __init__(self, operations: Sequence[Operation]) -> None:
        types: list[Any] = [MetaErrorBody, ApiErrorBody]
        for op in operations:
            types += [p.type for p in op.params]
            kinds = [answer.type for answer in op.answers]
            if op.body is not None:
                kinds.append(op.body.type)
            for kind in kinds:
                if kind is not None:
                    types += kind if isinstance(kind, tuple) else [kind]
        self._index: dict[Any, int] = {}
        unique: list[Any] = []
        for kind in types:
            if kind not in self._index:
                self._index[kind] = len(unique)
                unique.append(kind)
        schemas, components = msgspec.json.schema_components(
            unique, ref_template="#/components/schemas/{name}"
        )
        renames = {name: _short_name(name) for name in components if "." in name}
        self._schemas = [_renamed(s, renames) for s in schemas]
        self.components = {renames.get(k, k): _renamed(v, renames) for k, v in sorted(components.items())}

    def of(self, kind: Any) -> Any:
        """The schema of a type; of a tuple of types, one of theirs."""
        if isinstance(kind, tuple):
            return {"anyOf": [self.of(one) for one in kind]}
        return self._schemas[self._index[kind]]


def _short_name(qualified: str) -> str:
    """`wagate.cloudapi.send.Envelope` -> `SendEnvelope`: msgspec qualifies names two structs share."""
    *modules, name = qualified.split(".")
    return "".join(part.title() for part in modules[-1].split("_")) + name


def _renamed(schema: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(schema, dict):
        out = {}
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                prefix, _, name = value.rpartition("/")
                value = f"{prefix}/{renames.get(name, name)}"
            out[key] = _renamed(value, renames)
        return out
    if isinstance(schema, list):
        return [_renamed(item, renames) for item in schema]
    return schema


def _error_example(surface: Surface, status: int) -> Any:
    if surface is Surface.API and status in _API_EXAMPLES:
        code, message = _API_EXAMPLES[status]
        return {"error": {"code": code, "message": message}}
    code_, kind, text, details = _GRAPH_EXAMPLES.get(status, _GRAPH_EXAMPLES[400])
    error: dict[str, Any] = {"message": text, "type": kind, "code": code_}
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = _TRACE
    return {"error": error}


def _answer(schemas: _Schemas, answer: Answer) -> dict[str, Any]:
    out: dict[str, Any] = {"description": answer.description}
    if answer.headers:
        out["headers"] = {
            name: {"description": why, "schema": {"type": "string"}} for name, why in answer.headers.items()
        }
    schema = schemas.of(answer.type) if answer.type is not None else answer.schema
    if schema is not None:
        media: dict[str, Any] = {"schema": schema}
        if answer.example is not None:
            media["example"] = answer.example
        out["content"] = {answer.media_type: media, **{other: {"schema": schema} for other in answer.also}}
    return out


def _error(schemas: _Schemas, op: Operation, status: int, why: str) -> dict[str, Any]:
    # The database's unavailability is rendered as Meta's error object on every path (web/errors.py).
    api = op.surface is Surface.API and status != 503
    body = ApiErrorBody if api else MetaErrorBody
    example = _error_example(Surface.API if api else Surface.GRAPH, status)
    return {
        "description": why,
        "content": {"application/json": {"schema": schemas.of(body), "example": example}},
    }


def _operation(schemas: _Schemas, op: Operation) -> dict[str, Any]:
    if op.tag not in _TAG_NAMES:
        raise ValueError(f"{op.method} {op.path}: unknown tag {op.tag!r}")
    out: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary, "tags": [op.tag]}
    description = op.description
    if op.scope is not None:
        scope = f"Needs a token with the `{op.scope.value}` scope."
        description = f"{description}\n\n{scope}" if description else scope
        out["security"] = [{"bearer": []}]
    if description:
        out["description"] = description
    if op.params:
        params = []
        for p in op.params:
            param: dict[str, Any] = {
                "name": p.name,
                "in": p.where,
                "description": p.description,
                "required": p.required or p.where == "path",
                "schema": schemas.of(p.type),
            }
            if p.example is not None:
                param["example"] = p.example
            params.append(param)
        out["parameters"] = params
    if op.body is not None:
        body = op.body
        schema = schemas.of(body.type) if body.type is not None else body.schema
        content: dict[str, Any] = {}
        for media_type in body.media_types:
            media: dict[str, Any] = {"schema": schema}
            if body.examples and media_type == body.media_types[0]:
                media["examples"] = {name: {"value": value} for name, value in body.examples.items()}
            content[media_type] = media
        content.update((media_type, {"schema": dict(other)}) for media_type, other in body.also.items())
        out["requestBody"] = {"required": body.required, "content": content}
        if body.description:
            out["requestBody"]["description"] = body.description
    responses: dict[str, Any] = {str(a.status): _answer(schemas, a) for a in op.answers}
    errors = {status: _WHY[status] for status in surface_errors(op)}
    errors.update((e, _WHY[e]) if isinstance(e, int) else e for e in op.errors)
    for status, why in errors.items():
        responses.setdefault(str(status), _error(schemas, op, status, why))
    out["responses"] = dict(sorted(responses.items()))
    return out


def document(operations: Iterable[Operation], version: str) -> dict[str, Any]:
    """The OpenAPI document of `operations` (each a path and method of its own)."""
    ops = list(operations)
    schemas = _Schemas(ops)
    paths: dict[str, dict[str, Any]] = {}
    seen_ids: set[str] = set()
    for op in ops:
        entry = paths.setdefault(op.path, {})
        method = op.method.lower()
        if method in entry or op.operation_id in seen_ids:
            raise ValueError(f"{op.method} {op.path} ({op.operation_id}) is described twice")
        seen_ids.add(op.operation_id)
        for name in re.findall(r"{(\w+)}", op.path):
            if not any(p.where == "path" and p.name == name for p in op.params):
                raise ValueError(f"{op.method} {op.path}: path parameter {name} is not described")
        entry[method] = _operation(schemas, op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wagate",
            "version": version,
            "description": (
                "Meta's WhatsApp Cloud API surface (the same paths, bodies and errors), wagate's own API "
                "under `/api/v1`, and the simulator's controls.\n\n"
                "Authenticate with `Authorization: Bearer <token>`: `wagate bootstrap --json` prints the "
                "demo organization's first token, and `POST /api/v1/tokens` issues more. Graph paths "
                "answer Meta's error object; `/api/v1` answers wagate's."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": name, "description": why} for name, why in TAGS],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (`wagate bootstrap --json`, `POST /api/v1/tokens`) or an "
                    "operator's session token (`POST /api/v1/login`).",
                }
            },
        },
    }


class ApiReference:
    """The document of an app's operations, built on first use and kept as JSON."""

    def __init__(self, operations: Iterable[Operation], version: str) -> None:
        self._operations = tuple(operations)
        self._version = version
        self._json: bytes | None = None

    @property
    def operations(self) -> tuple[Operation, ...]:
        return self._operations

    def json(self) -> bytes:
        if self._json is None:
            self._json = msgspec.json.encode(document(self._operations, self._version))
        return self._json
