"""Wire validation of Meta's phone-number lifecycle calls: request and verify a code, register with the
two-step PIN, set the PIN, request a new display name, and the business profile.

The rules are Meta's (reference digest, section 8, and the OpenAPI file): shared by wagate, which checks a
call before relaying it, and by the simulator, which plays Meta. Every refusal is Meta's error 100 with
the parameter named in `details`; nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from wagate.errors import GraphError

CODE_METHODS = ("SMS", "VOICE")
DATA_LOCALIZATION_REGIONS = frozenset(
    ["AE", "AU", "BH", "BR", "CA", "CH", "DE", "GB", "ID", "IN", "JP", "KR", "SG", "ZA"]
)
VERTICALS = frozenset(
    [
        "ALCOHOL", "APPAREL", "AUTO", "BEAUTY", "EDU", "ENTERTAIN", "EVENT_PLAN", "FINANCE", "GOVT",
        "GROCERY", "HEALTH", "HOTEL", "NONPROFIT", "ONLINE_GAMBLING", "OTC_DRUGS", "OTHER",
        "PHYSICAL_GAMBLING", "PROF_SERVICES", "RESTAURANT", "RETAIL", "TRAVEL",
    ]
)  # fmt: skip
PROFILE_FIELDS = (
    "about",
    "address",
    "description",
    "email",
    "profile_picture_url",
    "websites",
    "vertical",
    "messaging_product",
)
# Longest text of each profile field (Meta's current limits; `about` is also at least 1 character).
PROFILE_LIMITS = {"about": 139, "address": 256, "description": 512, "email": 128}
MAX_WEBSITES = 2
MAX_WEBSITE_LENGTH = 256
DISPLAY_NAME_LENGTH = (2, 75)

_SIX_DIGITS = re.compile(r"\d{6}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(_[A-Z]{2})?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True, slots=True)
class CodeRequest:
    method: str
    language: str


@dataclass(frozen=True, slots=True)
class Registration:
    pin: str
    data_localization_region: str | None


def _invalid(field: str, why: str) -> GraphError:
    return GraphError(100, f"{field}: {why}", message=f"(#100) Invalid parameter: {field}")


def _required(params: dict[str, Any], field: str) -> Any:
    value = params.get(field)
    if value is None or value == "":
        raise GraphError(100, f"The parameter {field} is required.", message="(#100) Invalid parameter")
    return value


def _six_digits(params: dict[str, Any], field: str) -> str:
    value = _required(params, field)
    if not isinstance(value, str | int) or not _SIX_DIGITS.fullmatch(str(value)):
        raise _invalid(field, "must be exactly 6 digits")
    return str(value)


def _messaging_product(params: dict[str, Any]) -> None:
    if _required(params, "messaging_product") != "whatsapp":
        raise _invalid("messaging_product", "must be whatsapp")


def check_code_request(params: dict[str, Any]) -> CodeRequest:
    """`POST /{phone_number_id}/request_code`: `code_method` SMS or VOICE, and a `language` like en_US."""
    method = _required(params, "code_method")
    if not isinstance(method, str) or method.upper() not in CODE_METHODS:
        raise _invalid("code_method", "must be SMS or VOICE")
    language = _required(params, "language")
    if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):
        raise _invalid("language", "must be a language code such as en_US")
    return CodeRequest(method.upper(), language)


def check_verification_code(params: dict[str, Any]) -> str:
    """`POST /{phone_number_id}/verify_code`: the 6-digit `code` sent by SMS or voice."""
    return _six_digits(params, "code")


def check_registration(params: dict[str, Any]) -> Registration:
    """`POST /{phone_number_id}/register`: `messaging_product` whatsapp and the 6-digit two-step `pin`."""
    _messaging_product(params)
    pin = _six_digits(params, "pin")
    region = params.get("data_localization_region")
    if region is not None and region not in DATA_LOCALIZATION_REGIONS:
        raise _invalid("data_localization_region", f"must be one of {sorted(DATA_LOCALIZATION_REGIONS)}")
    return Registration(pin, region)


def check_pin(params: dict[str, Any]) -> str:
    """`POST /{phone_number_id}` with `pin`: set or change the two-step verification PIN."""
    return _six_digits(params, "pin")


def check_display_name(params: dict[str, Any]) -> str:
    """`POST /{phone_number_id}` with `new_display_name`: the name Meta is asked to review."""
    name = _required(params, "new_display_name")
    shortest, longest = DISPLAY_NAME_LENGTH
    if not isinstance(name, str) or not shortest <= len(name.strip()) <= longest:
        raise _invalid("new_display_name", f"must be {shortest} to {longest} characters")
    return name.strip()


def check_profile_fields(fields: str | None) -> list[str]:
    """The `fields` of a business-profile read; all of them when none are named."""
    if not fields:
        return list(PROFILE_FIELDS)
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in PROFILE_FIELDS]
    if unknown:
        raise _invalid("fields", f"unknown field {unknown[0]!r}; fields are {', '.join(PROFILE_FIELDS)}")
    return wanted


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid(field, "must be a string")
    longest = PROFILE_LIMITS[field]
    if len(value) > longest:
        raise _invalid(field, f"must be at most {longest} characters")
    if field == "about" and not value.strip():
        raise _invalid(field, "must be 1 to 139 characters")
    if field == "email" and value and not _EMAIL.fullmatch(value):
        raise _invalid(field, "must be a valid email address")
    return value


def _websites(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_WEBSITES:
        raise _invalid("websites", f"must be a list of at most {MAX_WEBSITES} URLs")
    for url in value:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _invalid("websites", "each website must start with http:// or https://")
        if len(url) > MAX_WEBSITE_LENGTH:
            raise _invalid("websites", f"each website must be at most {MAX_WEBSITE_LENGTH} characters")
    return list(value)


def check_profile_update(params: dict[str, Any]) -> dict[str, Any]:
    """`POST /{phone_number_id}/whatsapp_business_profile`: the fields to change, all valid, or Meta's
    error for the first invalid one (and nothing changes)."""
    _messaging_product(params)
    changes: dict[str, Any] = {}
    for field, value in params.items():
        if field == "messaging_product":
            continue
        if field in PROFILE_LIMITS:
            changes[field] = _text(field, value)
        elif field == "websites":
            changes[field] = _websites(value)
        elif field == "vertical":
            if value not in VERTICALS:
                raise _invalid("vertical", f"must be one of {', '.join(sorted(VERTICALS))}")
            changes[field] = value
        elif field == "profile_picture_handle":
            if not isinstance(value, str) or not value:
                raise _invalid(field, "must be a handle from the Resumable Upload API")
            changes[field] = value
        else:
            raise _invalid(field, "is not a business profile field")
    return changes
