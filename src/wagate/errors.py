"""One error model: every error carries a stable code, an HTTP status and structured data.

`GraphError` is rendered as Meta's error object on the Cloud API surface; `ApiError` as wagate's own
error object under `/api/v1`. One handler in `web/errors.py` renders both.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wagate.cloudapi.error_codes import lookup


def fbtrace_id() -> str:
    """A trace id in the shape Meta returns (opaque, 23 url-safe characters)."""
    return secrets.token_urlsafe(17)[:23]


class WagateError(Exception):
    """Base of every error wagate raises on purpose."""

    http_status: int = 400


class GraphError(WagateError):
    """An error on the Cloud API surface, shaped like Meta's error object."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        http_status: int | None = None,
        message: str | None = None,
        error_type: str = "OAuthException",
        error_subcode: int | None = None,
    ) -> None:
        entry = lookup(code)
        self.code = code
        self.title = entry.title
        self.details = details
        self.http_status = http_status if http_status is not None else entry.http_status
        self.message = message if message is not None else f"(#{code}) {entry.title}"
        self.error_type = error_type
        self.error_subcode = error_subcode
        super().__init__(self.message if details is None else f"{self.message}: {details}")

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": self.error_type, "code": self.code}
        if self.error_subcode is not None:
            error["error_subcode"] = self.error_subcode
        if self.details is not None:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}


class MetaError(GraphError):
    """An error object as Meta answered it, rendered unchanged: its `error_data` (an object or, on
    template management, a plain string), `error_user_title`, `error_user_msg` and `fbtrace_id`."""

    def __init__(self, error: dict[str, Any], http_status: int) -> None:
        code = error.get("code")
        error_data = error.get("error_data")
        details = error_data.get("details") if isinstance(error_data, dict) else error_data
        super().__init__(
            code if isinstance(code, int) else 131000,
            None if details is None else str(details),
            http_status=http_status,
            message=str(error.get("message", "")),
            error_type=str(error.get("type", "OAuthException")),
        )
        self.error = error

    def to_body(self) -> dict[str, Any]:
        return {"error": dict(self.error)}


def invalid_parameter(details: str) -> GraphError:
    return GraphError(100, details)


def missing_parameter(field: str) -> GraphError:
    return GraphError(131008, f"The parameter {field} is required.")


def invalid_value(field: str, why: str) -> GraphError:
    return GraphError(131009, f"{field}: {why}")


def auth_error(details: str = "Invalid OAuth access token - Cannot parse access token") -> GraphError:
    return GraphError(190, details, message="Invalid OAuth access token - Cannot parse access token")


def token_expired(expired_at: float, now: float) -> GraphError:
    """Meta's answer for an access token past its expiry: code 190, subcode 463."""

    def when(t: float) -> str:
        return datetime.fromtimestamp(t, UTC).strftime("%A, %d-%b-%y %H:%M:%S UTC")

    return GraphError(
        190,
        None,
        message=(
            f"Error validating access token: Session has expired on {when(expired_at)}. "
            f"The current time is {when(now)}."
        ),
        http_status=401,
        error_subcode=463,
    )


def unknown_object(object_id: str) -> GraphError:
    """Meta's answer for an id that does not exist or that the token may not see."""
    return GraphError(
        100,
        None,
        message=(
            f"Unsupported post request. Object with ID '{object_id}' does not exist, cannot be loaded "
            "due to missing permissions, or does not support this operation."
        ),
        error_type="GraphMethodException",
        http_status=400,
    )


class ApiError(WagateError):
    """An error on wagate's own `/api/v1`, with a stable string code."""

    def __init__(self, code: str, message: str, *, http_status: int = 400, **data: Any) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        self.data = data
        super().__init__(f"{code}: {message}")

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data:
            error["data"] = self.data
        return {"error": error}


@dataclass(frozen=True, slots=True)
class BodySurface:
    """A part of the HTTP surface with its own cap on request bodies."""

    name: str
    limit: int
    # The setting that changes the cap, named in the refusal; empty where the cap is Meta's.
    setting: str = ""


class BodyTooLarge(WagateError):
    """A request body over its surface's cap (413, in the surface's error model)."""

    http_status = 413

    def __init__(self, surface: BodySurface) -> None:
        self.surface = surface
        hint = f" ({surface.setting} sets it)" if surface.setting else ""
        super().__init__(
            f"The request body is larger than {surface.limit} bytes, the most {surface.name} takes{hint}."
        )


def not_found(what: str) -> ApiError:
    return ApiError("not_found", f"{what} not found", http_status=404)


class IdempotencyConflict(WagateError):
    """The same Idempotency-Key was used with another request body."""

    http_status = 409
