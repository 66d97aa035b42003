"""Who owns what: organizations, their business accounts and phone numbers."""

from __future__ import annotations

from dataclasses import dataclass

from wagate.domain.phone import digits_of

MIN_RATE = 1
MAX_RATE = 1000
DEFAULT_RATE = 80


@dataclass(frozen=True, slots=True)
class Organization:
    id: int
    name: str
    slug: str
    messaging_tier: str


@dataclass(frozen=True, slots=True)
class NumberRef:
    """What an upstream needs to know about the business number it sends from."""

    id: int
    display_phone_number: str
    waba_id: int
    rate: int

    @property
    def digits(self) -> str:
        return digits_of(self.display_phone_number)


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    id: int
    org_id: int
    waba_id: int
    display_phone_number: str
    region: str
    verified_name: str
    upstream: str
    rate: int
    # False once Meta has deregistered the number (or before it is first registered): sends are refused.
    registered: bool = True

    @property
    def ref(self) -> NumberRef:
        return NumberRef(self.id, self.display_phone_number, self.waba_id, self.rate)

    @property
    def digits(self) -> str:
        """The number as Meta gives it in webhooks and as a customer's `to`: digits only."""
        return digits_of(self.display_phone_number)

    @property
    def metadata(self) -> dict[str, str]:
        """The `metadata` of Meta's webhook `value` for this number."""
        return {"display_phone_number": self.digits, "phone_number_id": str(self.id)}


def check_rate(rate: int) -> int:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise ValueError(f"rate must be between {MIN_RATE} and {MAX_RATE} messages per second, not {rate}")
    return rate
