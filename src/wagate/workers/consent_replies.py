"""Confirms consent keywords: a consumer of `contact.consent` events (`services/consent_replies.py`)."""

from __future__ import annotations

from wagate.services.consent_replies import confirm_keyword
from wagate.store.event_consumers import Event
from wagate.workers.consumer import EventConsumer


class ConsentReplies(EventConsumer):
    name = "consent_replies"
    payload_types = frozenset({"contact.consent"})
    # Keywords are a sliver of the stream: big batches, read once a second, keep this consumer's claims
    # off the writer (a confirmation leaves within about a second of its keyword).
    batch = 5000
    poll_interval = 1.0

    async def handle(self, event: Event) -> None:
        if event.type == "contact.consent" and event.payload is not None:
            await confirm_keyword(self.rt, event.org_id, event.event_id, event.payload)
