"""`/api/v1/contacts`: the people an organization talks to, searched, tagged and erased on request."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wagate.domain.access import Scope, scope_of
from wagate.services import contacts as service
from wagate.services import tenancy
from wagate.services.conversations import check_page
from wagate.services.runtime import Runtime
from wagate.web.api_v1 import LIMIT, OFFSET, OffsetPaging
from wagate.web.callers import actor_of
from wagate.web.errors import json_response
from wagate.web.operations import Answer, Body, Operation, Surface, path_param, query


class ContactView(msgspec.Struct, forbid_unknown_fields=True):
    """A contact as `services.contacts.present` shows it."""

    id: int
    wa_id: str
    name: str | None
    attributes: dict[str, str | int | float | bool]
    tags: list[str]
    created_at: float
    updated_at: float


class ContactPage(msgspec.Struct, forbid_unknown_fields=True):
    data: list[ContactView]
    paging: OffsetPaging


class ErasedContact(msgspec.Struct, forbid_unknown_fields=True):
    """What erasing a contact removed, by kind of row."""

    erased: bool
    messages: int
    statuses: int
    service_windows: int
    conversations: int
    media: int
    events: int
    deliveries: int


async def contacts(request: Request) -> Response:
    """List contacts, newest first (`q` searches name, wa_id and attribute values; `tag`), or create one."""
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(
        rt, request.headers.get("authorization"), scope_of(request.method, Scope.MANAGE)
    )
    org = caller.org
    if request.method == "POST":
        return json_response(
            await service.do_create_contact(rt, org, await request.body(), actor_of(request, caller)), 201
        )
    params = request.query_params
    limit, offset = check_page(params.get("limit"), params.get("offset"))
    data = await service.list_contacts(rt, org, params.get("q"), params.get("tag"), limit, offset)
    return json_response({"data": data, "paging": {"limit": limit, "offset": offset}})


async def contact(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    caller = await tenancy.authenticate(
        rt, request.headers.get("authorization"), scope_of(request.method, Scope.MANAGE)
    )
    org = caller.org
    raw_id = request.path_params["id"]
    if request.method == "PATCH":
        return json_response(
            await service.do_change_contact(rt, org, raw_id, await request.body(), actor_of(request, caller))
        )
    if request.method == "DELETE":
        return json_response(await service.do_erase_contact(rt, org, raw_id, actor_of(request, caller)))
    return json_response(service.present(await service.access_contact(rt, org, raw_id)))


def routes() -> list[Route]:
    return [
        Route("/api/v1/contacts", contacts, methods=["GET", "POST"]),
        Route("/api/v1/contacts/{id}", contact, methods=["GET", "PATCH", "DELETE"]),
    ]


CONTACT_ID = path_param("id", "The contact's id")
_ANNA = {
    "id": 12,
    "wa_id": "79161112233",
    "name": "Anna",
    "attributes": {"city": "Moscow", "vip": True, "orders": 3},
    "tags": ["customer"],
    "created_at": 1733580000.0,
    "updated_at": 1733580000.0,
}


def operations() -> list[Operation]:
    return [
        Operation(
            "GET",
            "/api/v1/contacts",
            "listContacts",
            "Contacts, newest first",
            "Contacts",
            (Answer(200, "A page of contacts", ContactPage),),
            Surface.API,
            scope=Scope.READ,
            params=(
                query("q", "Search name, wa_id and attribute values (any case, any script)", example="Anna"),
                query("tag", "Only contacts with this tag"),
                LIMIT,
                OFFSET,
            ),
        ),
        Operation(
            "POST",
            "/api/v1/contacts",
            "createContact",
            "Create a contact",
            "Contacts",
            (Answer(201, "Created", ContactView, example=_ANNA),),
            Surface.API,
            description="`phone` is read in the region of the organization's first number.",
            scope=Scope.MANAGE,
            body=Body(
                service.NewContact,
                examples={
                    "anna": {"phone": "+7 916 111-22-33", "name": "Anna", "attributes": {"city": "Moscow"}}
                },
            ),
            errors=((409, "The organization has a contact with this number"),),
        ),
        Operation(
            "GET",
            "/api/v1/contacts/{id}",
            "getContact",
            "A contact",
            "Contacts",
            (Answer(200, "The contact", ContactView, example=_ANNA),),
            Surface.API,
            scope=Scope.READ,
            params=(CONTACT_ID,),
            errors=(404,),
        ),
        Operation(
            "PATCH",
            "/api/v1/contacts/{id}",
            "changeContact",
            "Change a contact",
            "Contacts",
            (Answer(200, "The contact changed", ContactView, example=_ANNA),),
            Surface.API,
            description=(
                "`attributes` are merged (null removes a key); `tags` replaces them, or `add_tags` and "
                "`remove_tags` change them (not both ways at once)."
            ),
            scope=Scope.MANAGE,
            params=(CONTACT_ID,),
            body=Body(
                service.ContactChange, examples={"tags": {"add_tags": ["vip"], "attributes": {"orders": 4}}}
            ),
            errors=(404,),
        ),
        Operation(
            "DELETE",
            "/api/v1/contacts/{id}",
            "eraseContact",
            "Erase a contact on request",
            "Contacts",
            (Answer(200, "Erased: what went", ErasedContact),),
            Surface.API,
            description=(
                "Erases the contact with its messages, statuses, service windows, conversations, events and "
                "media (files too); its consent history stays, and the erasure is recorded."
            ),
            scope=Scope.MANAGE,
            params=(CONTACT_ID,),
            errors=(404,),
        ),
    ]
