"""Meta's error codes: title, HTTP status, and whether a send failing with it may be retried.

Facts from Meta's error-code table (reference digest, section 7). One table shared by the API surface,
the upstreams and the simulator, so the same code always carries the same title and status.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: int
    title: str
    http_status: int
    retryable: bool = False


_CODES = [
    ErrorCode(0, "AuthException", 401),
    ErrorCode(1, "API Unknown", 400, retryable=True),
    ErrorCode(2, "API Service", 503, retryable=True),
    ErrorCode(3, "API Method", 500),
    ErrorCode(4, "Too many calls", 400, retryable=True),
    ErrorCode(10, "Permission denied", 403),
    ErrorCode(33, "Parameter value is not valid", 400),
    ErrorCode(100, "Invalid parameter", 400),
    ErrorCode(190, "Access token has expired", 401),
    ErrorCode(200, "Permission error", 403),
    ErrorCode(368, "Temporarily blocked for policies violations", 403),
    ErrorCode(80007, "Rate limit issues", 400, retryable=True),
    ErrorCode(130429, "Rate limit hit", 400, retryable=True),
    ErrorCode(130472, "User's number is part of an experiment", 400),
    ErrorCode(130497, "Business account is restricted from messaging users in this country", 403),
    ErrorCode(131000, "Something went wrong", 500, retryable=True),
    ErrorCode(131005, "Access denied", 403),
    ErrorCode(131008, "Required parameter is missing", 400),
    ErrorCode(131009, "Parameter value is not valid", 400),
    ErrorCode(131016, "Service unavailable", 500, retryable=True),
    ErrorCode(131021, "Recipient cannot be sender", 400),
    ErrorCode(131026, "Message undeliverable", 400),
    ErrorCode(131031, "Account has been locked", 403),
    ErrorCode(131042, "Business eligibility payment issue", 400),
    ErrorCode(131047, "Re-engagement message", 400),
    ErrorCode(131048, "Spam rate limit hit", 400),
    ErrorCode(131049, "This message was not delivered to maintain healthy ecosystem engagement", 400),
    ErrorCode(131050, "User has stopped marketing messages", 400),
    ErrorCode(131051, "Unsupported message type", 400),
    ErrorCode(131052, "Media download error", 400),
    ErrorCode(131053, "Media upload error", 400),
    ErrorCode(131056, "(Business Account, Consumer Account) pair rate limit hit", 400, retryable=True),
    ErrorCode(131057, "Account in maintenance mode", 500, retryable=True),
    ErrorCode(132000, "Number of parameters does not match the expected number of params", 400),
    ErrorCode(132001, "Template does not exist", 404),
    ErrorCode(132005, "Translated text too long", 400),
    ErrorCode(132007, "Template Format Character Policy Violated", 400),
    ErrorCode(132012, "Parameter format does not match format in the created template", 400),
    ErrorCode(132015, "Template is Paused", 400),
    ErrorCode(132016, "Template is Disabled", 400),
    ErrorCode(133004, "Server temporarily unavailable", 503, retryable=True),
    ErrorCode(133005, "Two step verification PIN Mismatch", 400),
    ErrorCode(133006, "Phone number re-verification needed", 400),
    ErrorCode(133010, "Phone number not registered", 400),
    ErrorCode(136025, "Code couldn't be verified", 400),
    ErrorCode(135000, "Generic user error", 400),
    # wagate's own policy errors (docs/policy.md), where Meta has no code: 139xxx, never used by Meta.
    ErrorCode(139001, "Marketing consent missing", 400),
    ErrorCode(139002, "Marketing frequency cap reached", 400),
    ErrorCode(139003, "Messaging limit reached", 400),
    ErrorCode(139004, "Consent missing for a business-initiated message", 400),
]

ERROR_CODES: dict[int, ErrorCode] = {entry.code: entry for entry in _CODES}

UNKNOWN = ErrorCode(131000, "Something went wrong", 500, retryable=True)


def lookup(code: int) -> ErrorCode:
    """The table's entry for `code`; an unknown code keeps its number and is treated as permanent."""
    entry = ERROR_CODES.get(code)
    if entry is None:
        return ErrorCode(code, "Unknown error", 400)
    return entry
