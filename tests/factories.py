"""Named factories for what tests need beyond the demo organization."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert

from wagate.domain.tenancy import PhoneNumber
from wagate.ids import new_api_token
from wagate.store import access as access_sql
from wagate.store import templates as templates_sql
from wagate.store import tenancy as sql
from wagate.store.db import Database, Job
from wagate.store.schema import message_statuses, messages

MARKETING_OFFER = [
    {
        "type": "BODY",
        "text": "Hello {{1}}, this week only: {{2}} off everything in our shop.",
        "example": {"body_text": [["Anna", "20%"]]},
    },
    {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Stop promotions"}]},
]


def weekly_offer(to: str) -> dict[str, Any]:
    """A send of the MARKETING_OFFER template (as `weekly_offer`) to `to`, with its two parameters."""
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "template",
        "template": {
            "name": "weekly_offer",
            "language": {"code": "en_US"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": "Anna"}, {"type": "text", "text": "20%"}],
                }
            ],
        },
    }


ORDER_UPDATE = [
    {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["A-1001"]}},
    {
        "type": "BODY",
        "text": "Hi {{1}}, your order {{2}} has shipped. Tracking number: {{3}}.",
        "example": {"body_text": [["Anna", "A-1001", "RB123456789RU"]]},
    },
    {
        "type": "BUTTONS",
        "buttons": [
            {
                "type": "URL",
                "text": "Track",
                "url": "https://shop.example/track/{{1}}",
                "example": ["RB123456789RU"],
            },
        ],
    },
]


@dataclass(frozen=True)
class OtherOrganization:
    token: str
    number: PhoneNumber


def make_organization(
    db: Database, now: float, slug: str = "other", display: str = "+7 812 555-02-00"
) -> OtherOrganization:
    org = db.write_now(sql.CreateOrganization(slug.title(), slug, now))
    waba_id = db.write_now(sql.CreateBusinessAccount(org.id, f"{slug} account", now))
    number = db.write_now(sql.CreatePhoneNumber(org.id, waba_id, display, "RU", slug, "simulator", 80, now))
    token = new_api_token()
    db.write_now(access_sql.IssueToken(org.id, "test", token, now))
    return OtherOrganization(token, number)


def make_template(
    db: Database,
    org_id: int,
    waba_id: int,
    name: str,
    components: list[dict[str, Any]],
    *,
    category: str = "UTILITY",
    language: str = "en_US",
    status: str = "APPROVED",
    now: float = 0.0,
) -> int:
    return db.write_now(
        templates_sql.CreateTemplate(org_id, waba_id, name, language, category, status, components, now)
    )


@dataclass(frozen=True)
class CloudAccount:
    token: str
    number: PhoneNumber


def make_cloud_organization(
    db: Database, now: float, *, waba_id: int, number_id: int, display: str, access_token: str, rate: int = 80
) -> CloudAccount:
    """An organization whose number is at Meta (here: the fake Meta), keeping Meta's ids."""
    org = db.write_now(
        sql.CreateOrganization("Cloud shop", "cloud-shop", now, messaging_tier="TIER_UNLIMITED")
    )
    db.write_now(
        sql.CreateBusinessAccount(org.id, "Cloud shop", now, graph_id=waba_id, access_token=access_token)
    )
    number = db.write_now(
        sql.CreatePhoneNumber(
            org.id, waba_id, display, "US", "Cloud shop", "cloud", rate, now, graph_id=number_id
        )
    )
    token = new_api_token()
    db.write_now(access_sql.IssueToken(org.id, "test", token, now))
    db.write_now(
        templates_sql.CreateTemplate(
            org.id,
            waba_id,
            "hello_world",
            "en_US",
            "UTILITY",
            "APPROVED",
            [{"type": "BODY", "text": "Hello from the cloud"}],
            now,
        )
    )
    return CloudAccount(token, number)


@dataclass(slots=True)
class _SentMessages(Job[list[str]]):
    org_id: int
    number_id: int
    count: int
    now: float

    def run(self, conn: Connection) -> list[str]:
        rows = [
            {
                "wamid": f"wamid.test-{i}",
                "org_id": self.org_id,
                "phone_number_id": self.number_id,
                "direction": "out",
                "wa_id": f"7916{i:07d}",
                "recipient_input": None,
                "type": "text",
                "content": '{"body":"x"}',
                "status": "accepted",
                "priority": 1,
                "category": None,
                "template_name": None,
                "callback_data": None,
                "context_wamid": None,
                "upstream_id": f"wamid.upstream-{i}",
                "created_at": self.now,
                "updated_at": self.now,
            }
            for i in range(self.count)
        ]
        ids = (
            conn.execute(insert(messages).returning(messages.c.id, sort_by_parameter_order=True), rows)
            .scalars()
            .all()
        )
        conn.execute(
            insert(message_statuses),
            [{"message_id": mid, "status": "accepted", "at": self.now} for mid in ids],
        )
        return [str(r["upstream_id"]) for r in rows]


def make_sent_messages(db: Database, org_id: int, number_id: int, count: int, now: float) -> list[str]:
    """Messages already handed to the upstream (so no dispatch happens), by their upstream ids."""
    return db.write_now(_SentMessages(org_id, number_id, count, now))
