"""The interface every upstream implements, in four small parts: sending (`Sender`), a number's life at
Meta (`NumberAdmin`), templates at Meta (`TemplateAdmin`) and the upstream's copy of what wagate knows
(`UpstreamSync`). `Upstream` is all four; services resolve a number's with `services/upstreams.py` and
never ask which upstream it is.

`at_meta` says where the state of accounts lives: at Meta for the `cloud` upstream (the number's
standing, the templates and their review are Meta's, and wagate follows them), in wagate for the
simulator (which keeps a copy, told through `UpstreamSync`, and follows wagate's records of each
number).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from wagate.cloudapi.error_codes import lookup
from wagate.domain.tenancy import NumberRef

# How an upstream hands an event (a Meta webhook envelope, as bytes) to wagate's one ingest path.
IngestFn = Callable[[bytes], Awaitable[None]]


__all__ = [
    "IngestFn",
    "MetaRefusal",
    "NumberAdmin",
    "NumberRef",
    "Sender",
    "TemplateAdmin",
    "Upstream",
    "UpstreamError",
    "UpstreamSync",
]


class UpstreamError(Exception):
    """A send the upstream refused or that failed on the way, with Meta's code."""

    def __init__(
        self,
        code: int,
        details: str = "",
        *,
        retry_after: float | None = None,
        title: str | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        entry = lookup(code)
        self.code = code
        self.title = title or entry.title
        self.details = details
        self.retryable = entry.retryable
        self.retry_after = retry_after
        # True when the upstream may have taken the message (a timeout): resending could duplicate it.
        self.outcome_unknown = outcome_unknown
        super().__init__(f"({code}) {self.title}: {details}")


class MetaRefusal(UpstreamError):
    """Meta answered with its error object, kept whole for a caller that passes it on as it came."""

    def __init__(
        self, error: dict[str, Any], http_status: int, details: str, retry_after: float | None
    ) -> None:
        super().__init__(error["code"], details, retry_after=retry_after)
        self.error = error
        self.http_status = http_status


class Sender(Protocol):
    name: str

    async def start(self, ingest: IngestFn) -> None: ...

    async def close(self) -> None: ...

    async def send(self, number: NumberRef, payload: dict[str, Any]) -> str:
        """Hand one message (Meta's send body) to WhatsApp; returns the upstream's message id."""
        ...

    async def mark_read(self, number: NumberRef, upstream_message_id: str, typing: bool) -> None:
        """Forward a read receipt (and a typing indicator) for a message the customer sent."""
        ...

    async def upload_media(self, number: NumberRef, data: bytes, mime_type: str, filename: str | None) -> str:
        """Upload a file for `number`; returns the upstream's media id."""
        ...

    async def download_media(self, number: NumberRef, upstream_media_id: str) -> tuple[bytes, str]:
        """The bytes and MIME type of a media object the upstream holds (inbound media)."""
        ...


class NumberAdmin(Protocol):
    """Meta's lifecycle calls for one number, answered as Meta answers them (Meta's error object in an
    `UpstreamError` when refused). The parameters are the caller's, checked by Meta's rules already."""

    at_meta: bool

    async def follow(self, number: NumberRef, *, verified: bool, registered: bool) -> None:
        """Start following the number from what wagate recorded of it, unless followed already (Meta
        follows its numbers itself)."""
        ...

    async def request_code(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]: ...

    async def verify_code(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]: ...

    async def register(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]: ...

    async def deregister(self, number: NumberRef) -> dict[str, Any]: ...

    async def update_number(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]:
        """`POST /{phone_number_id}` with `pin` and/or `new_display_name`."""
        ...

    async def business_profile(self, number: NumberRef, fields: str | None) -> dict[str, Any]: ...

    async def update_business_profile(self, number: NumberRef, params: dict[str, Any]) -> dict[str, Any]: ...

    async def number_fields(self, number: NumberRef, fields: str | None) -> dict[str, Any]:
        """`GET /{phone_number_id}[?fields=...]`: the number as the upstream describes it."""
        ...

    def sent_code(self, number: NumberRef) -> str | None:
        """The verification code last "sent" for the number, when the upstream can show it (only an
        imitation can: Meta sends it by SMS or voice)."""
        ...


class TemplateAdmin(Protocol):
    """An account's templates at the upstream, for an upstream `at_meta` (where Meta reviews them).
    Elsewhere the templates are wagate's own, reviewed here and told to the upstream by sync."""

    async def template_page(self, waba_id: int, params: dict[str, str]) -> dict[str, Any]:
        """One page of the account's templates (`GET /{waba_id}/message_templates`)."""
        ...

    async def create_template(self, waba_id: int, body: Any) -> dict[str, Any]:
        """`POST /{waba_id}/message_templates`: the new template's id, status and category."""
        ...

    async def edit_template(self, waba_id: int, template_id: int, body: Any) -> dict[str, Any]: ...

    async def delete_templates(self, waba_id: int, params: dict[str, str]) -> dict[str, Any]:
        """`DELETE /{waba_id}/message_templates?name=...[&hsm_id=...]`."""
        ...

    async def subscribe_app(self, waba_id: int) -> dict[str, Any]:
        """`POST /{waba_id}/subscribed_apps`: the token's Meta app gets the account's webhooks."""
        ...

    async def unsubscribe_app(self, waba_id: int) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class TemplateCopy:
    """A template as an upstream that keeps its own copy needs it (`UpstreamSync.sync_template`)."""

    waba_id: int
    template_id: int
    name: str
    language: str
    status: str
    category: str
    parameter_format: str  # positional | named
    components: list[dict[str, Any]]


class UpstreamSync(Protocol):
    """The upstream's own copy of accounts' messaging limits and templates, which it enforces on every
    send independently of wagate's checks. An upstream `at_meta` holds its own: these do nothing."""

    def sync_account(self, waba_id: int, messaging_limit: int | None) -> None:
        """The account's messaging limit: unique customers per 24 hours outside windows (None: unlimited)."""
        ...

    def sync_template(self, template: TemplateCopy) -> None:
        """The upstream's copy of a template as wagate holds it: what a send of it is checked against."""
        ...

    def drop_template(self, template_id: int) -> None:
        """The template is gone from wagate: the copy forgets it."""
        ...


class Upstream(Sender, NumberAdmin, TemplateAdmin, UpstreamSync, Protocol):
    """Everything wagate asks of WhatsApp, for the numbers on one upstream."""
