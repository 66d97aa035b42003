"""`/api/v1/contacts/{id}/consent` and `/api/v1/consents/import`: the consent ledger of an organization."""

from __future__ import annotations

from typing import Literal

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope, scope_of
from wagate.services import consent as service
from wagate.services import tenancy
from wagate.services.consent_import import COLUMNS, MAX_ROWS, do_import_consents
from wagate.services.runtime import Runtime
from wagate.web.callers import actor_of
from wagate.web.contacts_api import CONTACT_ID
from wagate.web.errors import json_response
from wagate.web.operations import Answer, Body, Operation, Surface


class ConsentRecordView(msgspec.Struct, forbid_unknown_fields=True):
    """A record of the ledger (`store.consent.present_record`)."""

    id: int
    purpose: str
    action: Literal["opt_in", "opt_out"]
    source: str
    proof: str | None
    message_id: str | None  # the customer's message that recorded it (a keyword)
    at: float
    recorded_at: float


class PurposeConsent(msgspec.Struct, forbid_unknown_fields=True):
    """Whether consent (and the policy) allows a business-initiated message of a purpose now, and why."""

    state: Literal["none", "opted_in", "opted_out"]
    since: float | None
    record: ConsentRecordView | None
    allowed: bool
    reasons: list[str]
    refusal_code: int | None


class ContactRef(msgspec.Struct, forbid_unknown_fields=True):
    id: int
    wa_id: str


class Window(msgspec.Struct, forbid_unknown_fields=True):
    phone_number_id: str
    open: bool
    until: float


class MarketingFrequency(msgspec.Struct, forbid_unknown_fields=True):
    last_24_hours: int
    last_7_days: int
    per_day: int
    per_week: int


class TierUse(msgspec.Struct, forbid_unknown_fields=True):
    tier: str
    limit: int | None
    used: int
    holds_a_place: bool


class PolicyFacts(msgspec.Struct, forbid_unknown_fields=True):
    windows: list[Window]
    marketing_frequency: MarketingFrequency
    messaging_tier: TierUse
    us_number: bool


class ContactConsent(msgspec.Struct, forbid_unknown_fields=True):
    contact: ContactRef
    purposes: dict[str, PurposeConsent]
    policy: PolicyFacts
    history: list[ConsentRecordView]


class ConsentImportRow(msgspec.Struct, forbid_unknown_fields=True):
    """A row of an import (a JSON record, or a CSV line under a header naming the columns)."""

    phone: str
    purpose: str
    action: Literal["opt_in", "opt_out"]
    source: str | msgspec.UnsetType = msgspec.UNSET  # "api" for JSON, "csv" for CSV, when absent
    proof: str | msgspec.UnsetType = msgspec.UNSET
    at: float | str | msgspec.UnsetType = msgspec.UNSET  # unix seconds or an ISO 8601 time; now when absent


class ConsentImport(msgspec.Struct, forbid_unknown_fields=True):
    records: list[ConsentImportRow]


class ImportedConsents(msgspec.Struct, forbid_unknown_fields=True):
    imported: int
    contacts_created: int


async def contact_consent(request: Request) -> Response:
    """A contact's consent per purpose, explained, with every record (GET), or a new record (POST)."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(
        rt, request.headers.get("authorization"), scope_of(request.method, Scope.MANAGE)
    )
    org = caller.org
    raw_id = request.path_params["id"]
    if request.method == "POST":
        return json_response(
            await service.do_record_consent(rt, org, raw_id, await request.body(), actor_of(request, caller)),
            201,
        )
    return json_response(await service.contact_consent(rt, org, raw_id))


async def import_consents(request: Request) -> Response:
    """Consents collected elsewhere, as CSV or JSON: all rows written, or none."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(rt, request.headers.get("authorization"), Scope.MANAGE)
    org = caller.org
    content_type = request.headers.get("content-type", "")
    return json_response(
        await do_import_consents(rt, org, content_type, await request.body(), actor_of(request, caller))
    )


def routes() -> list[Route]:
    return [
        Route("/api/v1/contacts/{id}/consent", contact_consent, methods=["GET", "POST"]),
        Route("/api/v1/consents/import", import_consents, methods=["POST"]),
    ]


_CSV = {
    "type": "string",
    "description": f"A header row naming the columns ({', '.join(COLUMNS)}; source, proof and at optional), "
    "then one row per consent",
    "example": "phone,purpose,action,source,proof\n+7 916 111-22-33,marketing,opt_in,web,signup form\n",
}


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/contacts/{id}/consent",
            "getContactConsent",
            "A contact's consent per purpose, explained, with every record",
            "Consent",
            (
                Answer(
                    200,
                    "Per purpose: state, whether a business-initiated send is allowed and why",
                    ContactConsent,
                ),
            ),
            Surface.API,
            description="With the checks beyond consent: windows, the marketing cap, the messaging tier.",
            scope=Scope.READ,
            params=(CONTACT_ID,),
            errors=(404,),
        ),
        Operation(
            "POST",
            "/api/v1/contacts/{id}/consent",
            "recordConsent",
            "Record a consent the business collected",
            "Consent",
            (Answer(201, "Recorded", ConsentRecordView),),
            Surface.API,
            scope=Scope.MANAGE,
            params=(CONTACT_ID,),
            body=Body(
                service.ConsentInput,
                examples={
                    "opt_in": {"purpose": "marketing", "action": "opt_in", "source": "web", "proof": "form 7"}
                },
            ),
            errors=(404,),
        ),
        Operation(
            "POST",
            "/api/v1/consents/import",
            "importConsents",
            "Import consents collected elsewhere, as JSON or CSV: all rows, or none",
            "Consent",
            (Answer(200, "Imported", ImportedConsents, example={"imported": 2, "contacts_created": 1}),),
            Surface.API,
            description=f"At most {MAX_ROWS} rows; an invalid row names its problems and nothing is written.",
            scope=Scope.MANAGE,
            body=Body(
                ConsentImport,
                examples={
                    "records": {
                        "records": [{"phone": "+7 916 111-22-33", "purpose": "marketing", "action": "opt_in"}]
                    }
                },
                also={"text/csv": _CSV},
            ),
            errors=(415,),
        ),
    ]
