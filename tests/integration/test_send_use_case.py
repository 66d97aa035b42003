"""The one send use case, called from code as a rule, a dialog or a campaign will call it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection

from tests.conftest import Wagate
from tests.helpers import eventually
from wagate.domain.access import Scope
from wagate.domain.sending import OutgoingMessage, Sender, SendOptions
from wagate.domain.tenancy import Organization, PhoneNumber
from wagate.errors import GraphError, IdempotencyConflict
from wagate.services import messages, sending, tenancy
from wagate.store.db import Job
from wagate.store.schema import idempotency_keys


async def demo(w: Wagate) -> tuple[Organization, PhoneNumber]:
    caller = await tenancy.authenticate(w.rt, f"Bearer {w.token}", Scope.SEND)
    return caller.org, await tenancy.access_phone_number(w.rt, caller.org, w.phone_number_id)


async def status_of(w: Wagate, wamid: str) -> str:
    return str((await w.message(wamid))["status"])


async def stored(w: Wagate, org: Organization, wamid: str) -> dict[str, Any]:
    found = await messages.access_message(w.rt, org, wamid)
    row: dict[str, Any] = found["message"]
    return row


@dataclass
class StoreKey(Job[None]):
    row: dict[str, Any]

    def run(self, conn: Connection) -> None:
        conn.execute(idempotency_keys.insert(), [self.row])


async def test_a_message_built_in_code_reaches_the_network_in_one_call(wagate: Wagate) -> None:
    org, number = await demo(wagate)
    await wagate.customer_writes("79161234567", "Is my order ready?")
    assert wagate.rt.simulator is not None
    before = wagate.rt.simulator.accepted

    accepted = await sending.send_message(
        wagate.rt, org, number, OutgoingMessage.text("79161234567", "Yes, it is ready"), Sender.rule(7)
    )

    assert accepted.wamid.startswith("wamid.") and accepted.wa_id == "79161234567"
    assert not accepted.replayed

    async def delivered() -> bool:
        return await status_of(wagate, accepted.wamid) in ("delivered", "read")

    await eventually(delivered)
    assert wagate.rt.simulator.accepted == before + 1
    row = await stored(wagate, org, accepted.wamid)
    assert (row["direction"], row["priority"], row["recipient_input"]) == ("out", 1, "79161234567")
    assert row["content"] == '{"body":"Yes, it is ready"}'


async def test_a_campaigns_template_goes_in_the_marketing_class(wagate: Wagate) -> None:
    org, number = await demo(wagate)
    message = OutgoingMessage.template_message("+16505551234", "hello_world", "en_US")
    accepted = await sending.send_message(
        wagate.rt, org, number, message, Sender.campaign(3), SendOptions(campaign_id=3)
    )
    row = await stored(wagate, org, accepted.wamid)
    assert (row["category"], row["template_name"], row["priority"]) == ("UTILITY", "hello_world", 3)

    async def delivered() -> bool:
        return await status_of(wagate, accepted.wamid) in ("delivered", "read")

    await eventually(delivered)


async def test_the_policy_refuses_code_as_it_refuses_the_api(wagate: Wagate) -> None:
    org, number = await demo(wagate)
    with pytest.raises(GraphError) as refused:
        await sending.send_message(
            wagate.rt, org, number, OutgoingMessage.text("79160000001", "Hello"), Sender.dialog(1)
        )
    assert refused.value.code == 131047  # no window: free-form is not allowed
    with pytest.raises(GraphError) as unknown:
        message = OutgoingMessage.template_message("79160000001", "no_such_template", "en_US")
        await sending.send_message(wagate.rt, org, number, message, Sender.dialog(1))
    assert unknown.value.code == 132001


async def test_an_idempotency_key_replays_for_code_too(wagate: Wagate) -> None:
    org, number = await demo(wagate)
    await wagate.customer_writes("79161234567")
    message = OutgoingMessage.text("+7 916 123-45-67", "Your code is on its way")
    options = SendOptions(idempotency_key="rule-7:order-1", fingerprint="a")
    first = await sending.send_message(wagate.rt, org, number, message, Sender.rule(7), options)
    again = await sending.send_message(wagate.rt, org, number, message, Sender.rule(7), options)
    assert again.replayed and not first.replayed
    assert (again.wamid, again.wa_id, again.recipient_input, again.type) == (
        first.wamid,
        first.wa_id,
        "+7 916 123-45-67",
        "text",
    )
    with pytest.raises(IdempotencyConflict):
        other = SendOptions(idempotency_key="rule-7:order-1", fingerprint="b")
        await sending.send_message(wagate.rt, org, number, message, Sender.rule(7), other)


async def test_the_api_replays_the_first_answer_byte_for_byte(wagate: Wagate) -> None:
    hello = {
        "messaging_product": "whatsapp",
        "to": "+1 (650) 555-1234",
        "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}},
    }
    first = await wagate.send(hello, **{"Idempotency-Key": "k-bytes"})
    again = await wagate.send(hello, **{"Idempotency-Key": "k-bytes"})
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert first.json()["messages"][0]["message_status"] == "accepted"


async def test_a_key_stored_with_its_answer_by_an_earlier_version_replays_that_answer(wagate: Wagate) -> None:
    body = (
        b'{"messaging_product":"whatsapp","contacts":[{"input":"+79161234567","wa_id":"79161234567"}],'
        b'"messages":[{"id":"wamid.EARLIER"}]}'
    )
    request = (
        b'{"messaging_product":"whatsapp","to":"+79161234567","type":"text","text":{"body":"Your order"}}'
    )
    org, _ = await demo(wagate)
    row = {
        "org_id": org.id,
        "key": "k-earlier",
        "request_hash": hashlib.sha256(request).hexdigest(),
        "status_code": 200,
        "response": body,
        "created_at": wagate.rt.clock.now(),
    }
    await wagate.rt.db.write(StoreKey(row))
    replayed = await wagate.client.post(
        f"/v23.0/{wagate.phone_number_id}/messages",
        content=request,
        headers={"Idempotency-Key": "k-earlier", "Content-Type": "application/json"},
    )
    assert replayed.status_code == 200 and replayed.content == body
