"""Organizations, numbers and tokens: authenticating a request, loading what it names, the demo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wagate.domain.access import ALL_SCOPES, CLI, Caller, Scope
from wagate.domain.tenancy import DEFAULT_RATE, Organization, PhoneNumber
from wagate.errors import GraphError, auth_error, token_expired, unknown_object
from wagate.ids import new_api_token, parse_id
from wagate.services.runtime import Runtime
from wagate.store import access as access_sql
from wagate.store import templates as templates_sql
from wagate.store import tenancy as sql
from wagate.store.db import Database

DEMO_SLUG = "demo"
DEMO_NUMBER = "+7 495 555-01-00"
DEMO_REGION = "RU"

HELLO_WORLD = [
    {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
    {"type": "BODY", "text": "Your WhatsApp Business number is connected to wagate and can send messages."},
    {"type": "FOOTER", "text": "wagate sample message"},
]


def _auth_template(button_text: str) -> list[dict[str, Any]]:
    return [
        {"type": "BODY", "add_security_recommendation": True},
        {"type": "FOOTER", "code_expiration_minutes": 10},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": button_text}]},
    ]


SEED_TEMPLATES: list[tuple[str, str, str, list[dict[str, Any]]]] = [
    ("hello_world", "en_US", "UTILITY", HELLO_WORLD),
    ("verification_code", "en_US", "AUTHENTICATION", _auth_template("Copy code")),
    ("verification_code", "ru", "AUTHENTICATION", _auth_template("Копировать код")),
]


async def authenticate(rt: Runtime, authorization: str | None, scope: Scope) -> Caller:
    """The caller of a bearer token that grants `scope`: Meta's error 190 when the token is missing,
    unknown, revoked or expired, Meta's permission error 200 (HTTP 403) when it lacks the scope."""
    if not authorization:
        raise GraphError(
            190,
            None,
            message="An active access token must be used to query information about the current user.",
            http_status=401,
        )
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise auth_error()
    caller = rt.tokens.get(token)
    if caller is None:
        caller = await rt.db.read(lambda conn: access_sql.caller_by_token(conn, token))
        if caller is None:
            raise auth_error()
        rt.tokens.put(token, caller)
        # Once per cache period, not per request: "last used" to the minute is what an owner needs.
        await rt.db.write(access_sql.TouchToken(caller.token_id, rt.clock.now()))
    now = rt.clock.now()
    if caller.expired(now):
        raise token_expired(caller.expires_at or now, now)
    if not caller.may(scope):
        raise GraphError(
            200,
            f"This token does not have the `{scope.value}` scope",
            message=f"(#200) Requires the {scope.value} scope, which this access token was not granted",
            http_status=403,
        )
    return caller


async def access_phone_number(rt: Runtime, org: Organization, raw_id: str) -> PhoneNumber:
    """A phone number of `org`; another organization's number answers as an unknown object, as on Meta."""
    number_id = parse_id(raw_id)
    if number_id is None:
        raise unknown_object(raw_id)
    number = rt.numbers.get(number_id)
    if number is None:
        number = await rt.db.read(lambda conn: sql.number_by_id(conn, number_id))
        if number is not None:
            rt.numbers.put(number_id, number)
    if number is None or number.org_id != org.id:
        raise unknown_object(raw_id)
    return number


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    token: str
    phone_number_id: int
    waba_id: int
    created: bool


@dataclass(frozen=True, slots=True)
class MetaNumber:
    """A number that exists at Meta (or at the fake Meta), with Meta's ids and the account's token."""

    waba_id: int
    phone_number_id: int
    display_phone_number: str
    access_token: str


def demo_exists(db: Database) -> bool:
    return db.read_now(lambda conn: sql.org_by_slug(conn, DEMO_SLUG)) is not None


def do_bootstrap(db: Database, now: float, at_meta: MetaNumber | None = None) -> BootstrapResult:
    """Create the demo organization once (unlimited tier, one simulator number, seeded templates);
    issue a new token on every call.

    With `at_meta`, the demo number is that `cloud` number instead, and its templates are Meta's
    (imported by `templates sync`)."""
    org = db.read_now(lambda conn: sql.org_by_slug(conn, DEMO_SLUG))
    created = org is None
    if org is None:
        org = db.write_now(sql.CreateOrganization("Demo", DEMO_SLUG, now, messaging_tier="TIER_UNLIMITED"))
        if at_meta is None:
            waba_id = db.write_now(sql.CreateBusinessAccount(org.id, "Demo business", now))
            db.write_now(
                sql.CreatePhoneNumber(
                    org.id, waba_id, DEMO_NUMBER, DEMO_REGION, "Demo", "simulator", DEFAULT_RATE, now
                )
            )
            for name, language, category, components in SEED_TEMPLATES:
                db.write_now(
                    templates_sql.CreateTemplate(
                        org.id, waba_id, name, language, category, "APPROVED", components, now
                    )
                )
        else:
            token = at_meta.access_token
            db.write_now(
                sql.CreateBusinessAccount(
                    org.id, "Demo business", now, graph_id=at_meta.waba_id, access_token=token
                )
            )
            db.write_now(
                sql.CreatePhoneNumber(
                    org.id,
                    at_meta.waba_id,
                    at_meta.display_phone_number,
                    DEMO_REGION,
                    "Demo",
                    "cloud",
                    DEFAULT_RATE,
                    now,
                    graph_id=at_meta.phone_number_id,
                )
            )
    org_id = org.id
    number = db.read_now(lambda conn: sql.numbers_of(conn, org_id))[0]
    token = new_api_token()
    # Issued by whoever runs the command, and audited as any other token.
    db.write_now(access_sql.IssueScopedToken(org.id, "bootstrap", token, ALL_SCOPES, None, now, CLI))
    return BootstrapResult(token, number.id, number.waba_id, created)


def list_numbers(db: Database) -> list[PhoneNumber]:
    return db.read_now(sql.all_numbers)
