"""How a route module describes its operations for the API reference (`web/openapi.py` assembles them).

Types are the ones the code validates with (msgspec structs, or plain types with `msgspec.Meta`), so the
schemas in the reference are made by `msgspec.json.schema_components` from the same definitions.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from msgspec import Meta

from wagate.domain.access import Scope


class Surface(enum.Enum):
    """Which error object a path answers: Meta's on the Cloud API (Graph) paths, wagate's under
    `/api/v1`; plain paths (operations, Meta's webhooks) answer text of their own."""

    GRAPH = "graph"
    API = "api"
    PLAIN = "plain"


# Graph paths begin with the API version Meta's clients put there.
Version = Annotated[str, Meta(pattern=r"^v[0-9]+\.[0-9]+$", examples=["v23.0"])]
# Ids in paths: ASCII digits that fit a BIGINT (`wagate.ids.parse_id`).
NumericId = Annotated[str, Meta(pattern=r"^[0-9]{1,19}$", examples=["106540352242922"])]


@dataclass(frozen=True, slots=True)
class Param:
    """A path, query or header parameter; `type` is a Python type msgspec can describe."""

    name: str
    where: str  # path | query | header
    description: str
    type: Any = str
    required: bool = False
    example: Any = None


@dataclass(frozen=True, slots=True)
class Body:
    """A request body: a type msgspec describes (a tuple of types: one of them), or a `schema` written
    out (multipart, CSV)."""

    type: Any = None
    media_types: tuple[str, ...] = ("application/json",)
    description: str = ""
    schema: Mapping[str, Any] | None = None
    examples: Mapping[str, Any] = field(default_factory=dict)  # name -> example body
    required: bool = True
    also: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # other media type -> its schema


@dataclass(frozen=True, slots=True)
class Answer:
    """A response: `type` for a JSON body (a tuple of types: one of them), `schema` for another media
    type, neither for no body."""

    status: int
    description: str
    type: Any = None
    media_type: str = "application/json"
    schema: Mapping[str, Any] | None = None
    example: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)  # name -> description
    also: tuple[str, ...] = ()  # other media types answered with the same schema


@dataclass(frozen=True, slots=True)
class Operation:
    """One method on one path. `errors` are the statuses this operation refuses with besides those
    every operation of its surface may answer (see `web/openapi.py`): a status, or (status, why)."""

    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    answers: tuple[Answer, ...]
    surface: Surface
    description: str = ""
    scope: Scope | None = None  # the token's scope needed; None: no token
    params: tuple[Param, ...] = ()
    body: Body | None = None
    errors: tuple[int | tuple[int, str], ...] = ()


def path_param(name: str, description: str, kind: Any = NumericId, example: Any = None) -> Param:
    return Param(name, "path", description, kind, required=True, example=example)


def query(name: str, description: str, kind: Any = str, example: Any = None) -> Param:
    return Param(name, "query", description, kind, example=example)


VERSION = path_param(
    "version",
    "A Graph API version Meta released (v2.0 to v2.12, v3.0 to v3.3, v4.0 to v27.0); another answers 400",
    Version,
    "v23.0",
)
