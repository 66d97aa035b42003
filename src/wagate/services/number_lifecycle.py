"""A business number's life at Meta: request and verify a code, register with the two-step PIN,
deregister, set the PIN, ask for a new display name, read and change the business profile.

Each call is Meta's to answer: for a `cloud` number it is relayed to Meta with the account's token, for
a `simulator` number the in-process simulator answers as Meta would. The call is checked here first by
Meta's rules (`cloudapi/number_lifecycle.py`); a refusal is Meta's error object and changes nothing.
wagate records only what it needs of the outcome (verification, registration, name review: shown by
`GET /{phone_number_id}`, and an unregistered number's sends are refused); the PIN and the business
profile stay Meta's.
"""

from __future__ import annotations

from typing import Any

from wagate.cloudapi import number_lifecycle as rules
from wagate.domain.access import Actor
from wagate.domain.tenancy import Organization, PhoneNumber
from wagate.errors import GraphError, MetaError
from wagate.services.runtime import Runtime
from wagate.services.upstreams import running_upstream, upstream_for
from wagate.store import number_lifecycle as sql
from wagate.store.audit import Entry, RecordAudit, WithAudit
from wagate.store.db import Job
from wagate.store.number_lifecycle import NumberLifecycle
from wagate.store.quality import rating_of
from wagate.upstreams.base import NumberAdmin, UpstreamError
from wagate.upstreams.cloud import MetaRefusal

_IN_DOUBT = "Meta may have made the change; GET /{version}/{phone_number_id} shows the number as Meta sees it"


async def lifecycle_of(rt: Runtime, number: PhoneNumber) -> NumberLifecycle:
    found = await rt.db.read(lambda conn: sql.lifecycle_of(conn, number.id))
    if found is None:
        raise GraphError(100, f"no phone number {number.id}")
    return found


async def _admin(rt: Runtime, number: PhoneNumber) -> NumberAdmin:
    upstream = upstream_for(rt, number)
    if not upstream.at_meta:
        # An imitation of Meta follows the number from the state wagate has recorded for it.
        state = await lifecycle_of(rt, number)
        await upstream.follow(number.ref, verified=state.verified, registered=state.registered)
    return upstream


def _refused(exc: UpstreamError) -> GraphError:
    """Meta's error object as Meta sent it; without one (no answer), Meta's code and a hint."""
    if isinstance(exc, MetaRefusal):
        return MetaError(exc.error, exc.http_status)
    if exc.outcome_unknown:
        return GraphError(exc.code, f"{exc.details}; {_IN_DOUBT}")
    return GraphError(exc.code, exc.details)


async def _record(
    rt: Runtime, number: PhoneNumber, by: Actor, action: str, detail: dict[str, Any], job: Job[bool] | None
) -> None:
    """What Meta accepted, with its audit row (`number.<verb>`), in one transaction; never the PIN."""
    now = rt.clock.now()
    entry = Entry(f"number.{action}", "phone_number", number.id, detail)
    if job is None:
        audit = RecordAudit(
            number.org_id, by.name, entry.action, "phone_number", number.id, now, detail, by.ip
        )
        await rt.db.write(audit)
        return
    await rt.db.write(WithAudit(job, number.org_id, by, now, lambda _: entry))
    rt.numbers.clear()


async def do_request_code(
    rt: Runtime, number: PhoneNumber, params: dict[str, Any], by: Actor
) -> dict[str, Any]:
    request = rules.check_code_request(params)
    admin = await _admin(rt, number)
    try:
        answer = await admin.request_code(number.ref, params)
    except UpstreamError as exc:
        raise _refused(exc) from exc
    await _record(rt, number, by, "request_code", {"code_method": request.method}, None)
    return answer


async def do_verify_code(
    rt: Runtime, number: PhoneNumber, params: dict[str, Any], by: Actor
) -> dict[str, Any]:
    rules.check_verification_code(params)
    admin = await _admin(rt, number)
    try:
        answer = await admin.verify_code(number.ref, params)
    except UpstreamError as exc:
        raise _refused(exc) from exc
    await _record(rt, number, by, "verify", {}, sql.RecordVerification(number.id))
    return answer


async def do_register(rt: Runtime, number: PhoneNumber, params: dict[str, Any], by: Actor) -> dict[str, Any]:
    registration = rules.check_registration(params)
    admin = await _admin(rt, number)
    try:
        answer = await admin.register(number.ref, params)
    except UpstreamError as exc:
        raise _refused(exc) from exc
    detail = {"data_localization_region": registration.data_localization_region}
    await _record(rt, number, by, "register", detail, sql.RecordRegistration(number.id, rt.clock.now()))
    return answer


async def do_deregister(rt: Runtime, number: PhoneNumber, by: Actor) -> dict[str, Any]:
    admin = await _admin(rt, number)
    try:
        answer = await admin.deregister(number.ref)
    except UpstreamError as exc:
        raise _refused(exc) from exc
    await _record(rt, number, by, "deregister", {}, sql.RecordRegistration(number.id, None))
    return answer


async def do_update_number(
    rt: Runtime, number: PhoneNumber, params: dict[str, Any], by: Actor
) -> dict[str, Any]:
    """`POST /{phone_number_id}`: set the two-step `pin`, or ask for a `new_display_name`."""
    if "pin" not in params and "new_display_name" not in params:
        raise GraphError(100, "Give pin or new_display_name.", message="(#100) Invalid parameter")
    if "pin" in params:
        rules.check_pin(params)
    name = rules.check_display_name(params) if "new_display_name" in params else None
    admin = await _admin(rt, number)
    try:
        answer = await admin.update_number(number.ref, params)
    except UpstreamError as exc:
        raise _refused(exc) from exc
    if "pin" in params:
        await _record(rt, number, by, "set_pin", {}, None)
    if name is not None:
        await _record(rt, number, by, "request_display_name", {"new_display_name": name}, None)
    return answer


async def business_profile(rt: Runtime, number: PhoneNumber, fields: str | None) -> dict[str, Any]:
    rules.check_profile_fields(fields)
    admin = await _admin(rt, number)
    try:
        return await admin.business_profile(number.ref, fields)
    except UpstreamError as exc:
        raise _refused(exc) from exc


async def do_update_business_profile(
    rt: Runtime, number: PhoneNumber, params: dict[str, Any], by: Actor
) -> dict[str, Any]:
    changes = rules.check_profile_update(params)
    admin = await _admin(rt, number)
    try:
        answer = await admin.update_business_profile(number.ref, params)
    except UpstreamError as exc:
        raise _refused(exc) from exc
    await _record(rt, number, by, "profile_update", {"fields": sorted(changes)}, None)
    return answer


async def describe_number(
    rt: Runtime, org: Organization, number: PhoneNumber, fields: str | None
) -> dict[str, Any]:
    """`GET /{phone_number_id}`: a number at Meta as Meta describes it; a `simulator` number from what
    wagate recorded, with the simulator's display-name review when it runs in this process."""
    upstream = running_upstream(rt, number)
    if upstream is not None and upstream.at_meta:
        try:
            answer = await upstream.number_fields(number.ref, fields)
        except UpstreamError as exc:
            raise _refused(exc) from exc
        await _follow(rt, number, answer)
        return answer
    state = await lifecycle_of(rt, number)
    quality = await rt.db.read(lambda conn: rating_of(conn, org.id))
    body: dict[str, Any] = {
        "verified_name": number.verified_name,
        "display_phone_number": number.display_phone_number,
        "id": str(number.id),
        "quality_rating": quality,
        "code_verification_status": "VERIFIED" if state.verified else state.code_verification_status,
        "name_status": state.name_status or "APPROVED",
        "status": "CONNECTED" if state.registered else "DISCONNECTED",
        "platform_type": state.platform_type or "CLOUD_API",
        "throughput": {"level": "HIGH" if number.rate >= 1000 else "STANDARD"},
        "messaging_limit_tier": org.messaging_tier,
        "whatsapp_business_manager_messaging_limit": org.messaging_tier,
    }
    if upstream is not None:
        described = await upstream.number_fields(number.ref, None)
        body["new_name_status"] = described["new_name_status"]
        if "new_display_name" in described:
            body["new_display_name"] = described["new_display_name"]
    return body


async def _follow(rt: Runtime, number: PhoneNumber, answer: dict[str, Any]) -> None:
    """Keep what wagate records in step with what Meta just said of the number."""
    verification = answer.get("code_verification_status")
    if isinstance(verification, str) and verification:
        await rt.db.write(sql.RecordVerification(number.id, verification))
    name_status = answer.get("name_status")
    if isinstance(name_status, str) and name_status:
        await rt.db.write(sql.RecordNameStatus(number.id, name_status))
