"""Business numbers and accounts as an organization manages them: which upstream a number uses, its
number as written, and how it stands at Meta (messaging limit, quality, display-name review)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException

from wagate.domain.policy import TIER_LIMITS

UPSTREAMS = ("simulator", "cloud")
MAX_NAME = 200
MAX_SECRET = 1024

# What `numbers refresh` asks of Meta. The messaging limit is `whatsapp_business_manager_messaging_limit`
# since Meta deprecated `messaging_limit_tier`; an answer with only the old field is read too.
REFRESH_FIELDS = (
    "verified_name,display_phone_number,quality_rating,whatsapp_business_manager_messaging_limit,"
    "name_status,code_verification_status,platform_type,status"
)


def check_upstream(upstream: str) -> str:
    if upstream not in UPSTREAMS:
        raise ValueError(f"upstream must be one of {', '.join(UPSTREAMS)}, not {upstream!r}")
    return upstream


def default_upstream(account_at_meta: bool) -> str:
    """A new number's upstream when none is given: Meta for an account at Meta, else the simulator."""
    return "cloud" if account_at_meta else "simulator"


def needs_meta(upstream: str) -> bool:
    """Whether a number on `upstream` needs its account at Meta (a Meta id and token)."""
    return upstream == "cloud"


def check_display_number(raw: str) -> tuple[str, str]:
    """The number in international format and its region, e.g. ("+1 650-555-0100", "US").

    Only possible numbers are taken (the right length for their country): Meta's test numbers, such as
    +1 555 …, are possible but not assigned, and are accepted."""
    text = raw.strip()
    if not text.startswith("+"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, None)
    except NumberParseException as exc:
        raise ValueError(f"{raw!r} is not a phone number in international form (+country code)") from exc
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"{raw!r} is not a possible phone number")
    region = phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
        number.country_code or 0
    )
    if not region or len(region) != 2 or region == "ZZ":
        raise ValueError(f"{raw!r} belongs to no country")
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return formatted, region


def check_name(name: str, field: str = "name") -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise ValueError(f"{field} must be 1 to {MAX_NAME} characters")
    return name


def check_secret(value: str, field: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_SECRET:
        raise ValueError(f"{field} must be 1 to {MAX_SECRET} characters")
    return value


def tier_of_limit(limit: int | None) -> str:
    """The tier name of a messaging limit (unique customers a day; None: unlimited)."""
    for tier, tier_limit in TIER_LIMITS.items():
        if tier_limit == limit:
            return tier
    return "TIER_NOT_SET"


@dataclass(frozen=True, slots=True)
class NumberStanding:
    """How Meta (or the simulator) describes a number; None where it said nothing usable."""

    verified_name: str | None = None
    messaging_tier: str | None = None
    quality_rating: str | None = None
    name_status: str | None = None
    code_verification_status: str | None = None
    platform_type: str | None = None
    # Registered at Meta (`status` CONNECTED), not (any other status), or not said (None).
    connected: bool | None = None

    def changes(self) -> dict[str, str]:
        """The stored fields it gives (not `connected`: the registration time is the store's to keep)."""
        return {
            f.name: value
            for f in fields(self)
            if f.name != "connected" and (value := getattr(self, f.name)) is not None
        }


# The width of each stored field: a longer value from Meta is not a value wagate knows, and is dropped.
_WIDTHS = {
    "verified_name": MAX_NAME,
    "messaging_tier": 20,
    "quality_rating": 10,
    "name_status": 30,
    "code_verification_status": 30,
    "platform_type": 20,
}


def _text(answer: dict[str, Any], key: str, width: int) -> str | None:
    value = answer.get(key)
    if isinstance(value, str) and value and len(value) <= width:
        return value
    return None


def standing_from_meta(answer: dict[str, Any]) -> NumberStanding:
    """Read Meta's `GET /{phone_number_id}` answer."""
    tier = _text(answer, "whatsapp_business_manager_messaging_limit", _WIDTHS["messaging_tier"])
    return NumberStanding(
        verified_name=_text(answer, "verified_name", _WIDTHS["verified_name"]),
        messaging_tier=tier or _text(answer, "messaging_limit_tier", _WIDTHS["messaging_tier"]),
        quality_rating=_text(answer, "quality_rating", _WIDTHS["quality_rating"]),
        name_status=_text(answer, "name_status", _WIDTHS["name_status"]),
        code_verification_status=_text(
            answer, "code_verification_status", _WIDTHS["code_verification_status"]
        ),
        platform_type=_text(answer, "platform_type", _WIDTHS["platform_type"]),
        connected=connected_from_status(answer.get("status")),
    )


def connected_from_status(status: object) -> bool | None:
    """Meta's number `status`: CONNECTED is registered; another known word is not; nothing says nothing."""
    if not isinstance(status, str) or not status:
        return None
    return status == "CONNECTED"
