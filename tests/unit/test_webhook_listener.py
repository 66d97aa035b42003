"""The local webhook receiver's checks: each format's signature, replayed timestamps, summaries."""

from __future__ import annotations

import json

from wagate.cloudapi.signatures import hub_signature, new_standard_secret, standard_signature
from wagate.commands.listen import check_delivery, summarize

BODY = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
NOW = 1_800_000_000.0


def test_a_meta_delivery_is_checked_with_the_app_secret() -> None:
    good = {"X-Hub-Signature-256": hub_signature("s" * 20, BODY)}
    assert check_delivery(good, BODY, "s" * 20, NOW).ok
    assert not check_delivery(good, BODY, "t" * 20, NOW).ok
    assert not check_delivery(good, BODY + b" ", "s" * 20, NOW).ok


def test_a_standard_webhook_is_checked_with_its_secret_and_a_fresh_timestamp() -> None:
    secret = new_standard_secret()
    at = int(NOW)
    headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(at),
        "webhook-signature": standard_signature(secret, "evt_1", at, BODY),
    }
    assert check_delivery(headers, BODY, secret, NOW).ok
    assert not check_delivery(headers, BODY, new_standard_secret(), NOW).ok
    stale = check_delivery(headers, BODY, secret, NOW + 301)
    assert not stale.ok and "5 minutes" in stale.what
    assert not check_delivery(headers, BODY, "plain-meta-secret", NOW).ok


def test_unsigned_deliveries_pass_only_when_no_secret_was_given() -> None:
    assert check_delivery({}, BODY, None, NOW).ok
    assert not check_delivery({}, BODY, "s" * 20, NOW).ok


def test_summaries_name_the_event_or_metas_fields() -> None:
    assert summarize({"type": "message.status"}) == "message.status"
    meta = {
        "entry": [
            {"changes": [{"field": "messages", "value": {"statuses": [{"status": "read"}]}}]},
            {"changes": [{"field": "messages", "value": {"messages": [{"type": "text"}]}}]},
        ]
    }
    assert summarize(meta) == "messages status read; messages message text"
    assert summarize([1]) == "not a JSON object"
