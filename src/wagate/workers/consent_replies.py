"""Confirms consent keywords: a consumer of `contact.consent` events (`services/consent_replies.py`)."""

from __future__ import annotations

from wagate.services.consent_replies import confirm_keyword
from wagate.store.event_consumers import Event
from wagate.workers.consumer import EventConsumer


class ConsentReplies(EventConsumer):
    name = "consent_replies"
    payload_types = frozenset({"contact.consent"})

    async def handle(self, event: Event) -> None:
        if event.type == "contact.consent" and event.payload is not None:
            await confirm_keyword(self.rt, event.org_id, event.event_id, event.payload)
