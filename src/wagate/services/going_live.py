"""What a business still lacks to go live: the checks `docs/going-live.md` ends with, run against the
organization's accounts and numbers (and, for accounts at Meta, against Meta itself: is the token
accepted, is the number registered there).

Each check says what it looked at, whether it passed, and what to do when it did not.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from wagate.domain.tenancy import Organization
from wagate.errors import GraphError
from wagate.services import number_lifecycle
from wagate.services.runtime import Runtime
from wagate.services.upstreams import running_upstream
from wagate.store import accounts as account_sql
from wagate.store import numbers as number_sql
from wagate.store.number_lifecycle import is_registered
from wagate.store.schema import templates


@dataclass(frozen=True, slots=True)
class Check:
    check: str
    subject: str  # what was looked at: "deployment", "account 123", "number 456"
    ok: bool
    detail: str
    fix: str | None = None


def _approved_templates(conn: Connection, waba_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).where(templates.c.waba_id == waba_id, templates.c.status == "APPROVED")
        ).scalar_one()
    )


async def _meta_number(rt: Runtime, org: Organization, row: number_sql.NumberRow) -> list[Check]:
    """Ask Meta about a number at Meta: the token is accepted and the number registered."""
    subject = f"number {row.number.id}"
    try:
        answer = await number_lifecycle.describe_number(
            rt, org, row.number, "status,code_verification_status,quality_rating"
        )
    except GraphError as exc:
        token_refused = exc.code in (190, 10, 200)
        return [
            Check(
                "meta_accepts_token" if token_refused else "meta_answers",
                subject,
                False,
                f"Meta refused with error {exc.code}: {exc.message}",
                "store a permanent system-user token with whatsapp_business_management and "
                "whatsapp_business_messaging (docs/going-live.md, step 1)"
                if token_refused
                else "check WAGATE_GRAPH_BASE_URL and the number's Meta id",
            )
        ]
    registered = answer.get("status") == "CONNECTED" or answer.get("code_verification_status") == "VERIFIED"
    return [
        Check("meta_accepts_token", subject, True, "Meta answered with the account's token"),
        Check(
            "registered",
            subject,
            registered,
            f"status {answer.get('status')}, code verification {answer.get('code_verification_status')}",
            None if registered else "request_code, verify_code, then register (docs/going-live.md, step 5)",
        ),
    ]


async def check_going_live(rt: Runtime, org: Organization) -> dict[str, Any]:
    """Every check, and `ready` when all passed."""
    accounts = await rt.db.read(lambda conn: account_sql.accounts_of(conn, org.id))
    numbers = await rt.db.read(lambda conn: number_sql.number_rows_of(conn, org.id))
    checks: list[Check] = []
    at_meta = [a for a in accounts if a.at_meta]
    if at_meta:
        settings = rt.settings
        checks.append(
            Check(
                "webhook_verify_token",
                "deployment",
                bool(settings.meta_verify_token),
                "WAGATE_META_VERIFY_TOKEN answers Meta's webhook handshake",
                None
                if settings.meta_verify_token
                else "set WAGATE_META_VERIFY_TOKEN, the same as in Meta's dashboard",
            )
        )
        checks.append(
            Check(
                "webhook_app_secret",
                "deployment",
                bool(settings.meta_app_secret),
                "WAGATE_META_APP_SECRET checks the signature of Meta's webhooks",
                None if settings.meta_app_secret else "set WAGATE_META_APP_SECRET to the Meta app's secret",
            )
        )
    for account in at_meta:
        subscribed = account.subscribed_at is not None
        checks.append(
            Check(
                "app_subscribed",
                f"account {account.id}",
                subscribed,
                "the app receives the account's webhooks (subscribed_apps)",
                None if subscribed else f"POST /api/v1/business-accounts/{account.id}/subscribe",
            )
        )
    if not numbers:
        checks.append(
            Check("has_number", "organization", False, "no phone number", "add one: POST /api/v1/numbers")
        )
    for row in numbers:
        number = row.number
        subject = f"number {number.id}"
        upstream = running_upstream(rt, number)
        if upstream is not None and upstream.at_meta:
            checks += await _meta_number(rt, org, row)
        else:
            registered = is_registered(row.registered_at, row.code_verification_status)
            checks.append(
                Check(
                    "registered",
                    subject,
                    registered,
                    f"simulator number, code verification {row.code_verification_status or 'not needed'}",
                    None if registered else "request_code, verify_code, then register",
                )
            )
        waba_id = number.waba_id
        approved = await rt.db.read(lambda conn: _approved_templates(conn, waba_id))  # noqa: B023
        checks.append(
            Check(
                "approved_template",
                subject,
                approved > 0,
                f"{approved} approved template(s) on its account: the first message to a customer is one",
                None
                if approved
                else "create a template (POST /{version}/{waba_id}/message_templates) and wait for APPROVED",
            )
        )
    return {"ready": all(c.ok for c in checks), "checks": [asdict(c) for c in checks]}
