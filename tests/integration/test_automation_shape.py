"""The shape later automation takes (rules, dialogs, campaigns): an event consumer of its own that
follows the event stream through one subclass, and queues messages through the one send call."""

from __future__ import annotations

import hashlib

from tests.conftest import Wagate
from tests.helpers import eventually
from wagate.domain.access import Scope
from wagate.domain.sending import OutgoingMessage, Sender, SendOptions
from wagate.services import sending, tenancy
from wagate.store.event_consumers import Event
from wagate.workers.consumer import EventConsumer


class AutoReply(EventConsumer):
    """Answers every customer message once, as a rule would: the idempotency key is the event's id, so
    an event handed over again (a worker died before its cursor moved) sends nothing twice."""

    name = "test-auto-reply"
    start_at_end = True  # only what customers write from now on

    def __init__(self, wagate: Wagate) -> None:
        super().__init__(wagate.rt)
        self.wagate = wagate
        self.sent: list[str] = []

    async def handle(self, event: Event) -> None:
        if event.type != "message.received" or event.payload is None:
            return
        caller = await tenancy.authenticate(self.rt, f"Bearer {self.wagate.token}", Scope.SEND)
        number = await tenancy.access_phone_number(self.rt, caller.org, str(event.phone_number_id))
        key = f"auto-reply:{event.event_id}"
        message = OutgoingMessage.text(event.payload["from"], "Thanks, we will answer shortly")
        options = SendOptions(idempotency_key=key, fingerprint=hashlib.sha256(key.encode()).hexdigest())
        sender = Sender.rule("auto-reply")
        accepted = await sending.send_message(self.rt, caller.org, number, message, sender, options)
        self.sent.append(accepted.wamid)
        # Handled twice, the same event answers with the same message and queues nothing more.
        again = await sending.send_message(self.rt, caller.org, number, message, sender, options)
        assert again.replayed and again.wamid == accepted.wamid


async def test_a_consumer_answers_each_customer_message_through_the_one_send_call(wagate: Wagate) -> None:
    bot = AutoReply(wagate)
    await bot.step()  # takes its place at the end of the stream
    bot.start()
    try:
        await wagate.customer_writes("79161234567", "Is my order ready?")
        await wagate.customer_writes("79031112233", "Do you deliver on Sundays?")

        async def both_answered_and_delivered() -> bool:
            if len(bot.sent) < 2:
                return False
            statuses = [(await wagate.message(wamid))["status"] for wamid in bot.sent]
            return all(s in ("delivered", "read") for s in statuses)

        await eventually(both_answered_and_delivered)
        assert len(bot.sent) == 2
        recipients = {(await wagate.message(wamid))["wa_id"] for wamid in bot.sent}
        assert recipients == {"79161234567", "79031112233"}
    finally:
        await bot.stop()
