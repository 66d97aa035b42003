"""The small interface every upstream implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from wagate.cloudapi.error_codes import lookup

# How an upstream hands an event (a Meta webhook envelope, as bytes) to wagate's one ingest path.
IngestFn = Callable[[bytes], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class NumberRef:
    """What an upstream needs to know about the business number it sends from."""

    id: int
    display_phone_number: str
    waba_id: int
    rate: int


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


class Upstream(Protocol):
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
