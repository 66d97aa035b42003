"""Phone numbers as WhatsApp sees them, parsed with `phonenumbers`."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from wagate.errors import GraphError

_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def digits_of(text: str) -> str:
    """The digits of a phone number as written (`+1 555-0100` → `15550100`): how Meta gives a number."""
    return "".join(ch for ch in text if ch.isdigit())


@lru_cache(maxsize=65536)
def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    text = raw.strip()
    digits = digits_of(text)
    if not digits:
        return None
    # Meta treats a number without "+" as international when it carries a country code; one without a
    # country code takes the business number's country. Try international first, as Meta does.
    candidates = [text] if text.startswith("+") else ["+" + digits, text]
    for index, candidate in enumerate(candidates):
        try:
            number = phonenumbers.parse(candidate, None if candidate.startswith("+") else region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return number
        if index == len(candidates) - 1:
            return None
    return None


def to_wa_id(raw: str, region: str) -> str:
    """The `wa_id` (digits with country code, no `+`) of a recipient; GraphError 131009 if invalid."""
    number = _parse(raw, region)
    if number is None:
        raise GraphError(131009, f"to: {raw!r} is not a valid phone number")
    return f"{number.country_code}{number.national_number}"


def region_of(e164: str) -> str:
    """ISO region of a number in E.164 form, e.g. "RU" for +7 916 ..."""
    number = phonenumbers.parse(e164 if e164.startswith("+") else "+" + e164, None)
    region = phonenumbers.region_code_for_number(number)
    return region or "ZZ"


def is_mobile(wa_id: str) -> bool:
    try:
        number = phonenumbers.parse("+" + wa_id, None)
    except NumberParseException:
        return False
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _MOBILE_TYPES


@lru_cache(maxsize=65536)
def is_us_number(wa_id: str) -> bool:
    """A number Meta treats as American: +1 with a US area code (not Canada or the Caribbean)."""
    if not wa_id.startswith("1"):
        return False
    try:
        number = phonenumbers.parse("+" + wa_id, None)
    except NumberParseException:
        return False
    return phonenumbers.region_code_for_number(number) == "US"
