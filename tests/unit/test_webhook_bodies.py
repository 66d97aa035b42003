"""What a webhook carries and when it is tried again: bodies, signatures, backoff, dead letters."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from wagate.cloudapi.signatures import new_standard_secret, verify_hub_signature, verify_standard_signature
from wagate.errors import ApiError
from wagate.services.webhooks import build_webhook, check_event_types, check_format, check_secret, outcome_of
from wagate.settings import Settings
from wagate.store.webhooks import ClaimedDelivery

NOW = 1_800_000_000.0
STATUS_VALUE = {
    "messaging_product": "whatsapp",
    "metadata": {"display_phone_number": "74955550100", "phone_number_id": "106540352242922"},
    "statuses": [{"id": "wamid.X", "status": "read", "timestamp": "1800000000", "recipient_id": "7916"}],
}


def claimed(**changes: object) -> ClaimedDelivery:
    item = ClaimedDelivery(
        delivery_id=7,
        subscription_id=3,
        url="https://hooks.example/wa",
        format="wagate",
        secret=new_standard_secret(),
        attempts=1,
        event_id="evt_abc",
        event_type="message.status",
        event_created_at=NOW - 2.5,
        org_id=1,
        phone_number_id=106540352242922,
        waba_id=102290129340398,
        field="messages",
        payload=json.dumps({"message_id": "wamid.X", "status": "read", "pricing": {"billable": True}}),
        meta_value=json.dumps(STATUS_VALUE),
    )
    return replace(item, **changes)  # type: ignore[arg-type]


def test_meta_messages_envelope_has_no_time_and_is_signed_with_the_app_secret() -> None:
    item = claimed(format="meta", secret="0123456789abcdef0123456789abcdef")
    outgoing = build_webhook([item], NOW)
    assert json.loads(outgoing.body) == {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": STATUS_VALUE}]}],
    }
    assert verify_hub_signature(item.secret, outgoing.body, outgoing.headers["X-Hub-Signature-256"])
    assert not verify_hub_signature("another secret", outgoing.body, outgoing.headers["X-Hub-Signature-256"])
    assert outgoing.headers["Content-Type"] == "application/json"
    assert "webhook-id" not in outgoing.headers


def test_meta_envelopes_of_other_fields_carry_the_time() -> None:
    value = {"event": "APPROVED", "message_template_id": 12, "message_template_name": "hello_world"}
    item = claimed(
        format="meta",
        secret="s" * 32,
        event_type="template.status",
        field="message_template_status_update",
        phone_number_id=None,
        meta_value=json.dumps(value),
    )
    (entry,) = json.loads(build_webhook([item], NOW).body)["entry"]
    assert entry == {
        "id": "102290129340398",
        "time": int(NOW - 2.5),
        "changes": [{"field": "message_template_status_update", "value": value}],
    }


def test_wagate_event_is_signed_as_standard_webhooks() -> None:
    item = claimed()
    outgoing = build_webhook([item], NOW)
    body = json.loads(outgoing.body)
    assert body == {
        "id": "evt_abc",
        "type": "message.status",
        "version": 1,
        "created_at": NOW - 2.5,
        "organization_id": 1,
        "phone_number_id": "106540352242922",
        "data": json.loads(item.payload),
    }
    headers = outgoing.headers
    assert headers["webhook-id"] == "evt_abc" and headers["webhook-timestamp"] == str(int(NOW))
    assert headers["webhook-signature"].startswith("v1,")
    assert verify_standard_signature(
        item.secret, "evt_abc", int(NOW), outgoing.body, headers["webhook-signature"]
    )
    # The timestamp is part of what is signed: a replayed request with another one does not verify.
    assert not verify_standard_signature(
        item.secret, "evt_abc", int(NOW) + 1, outgoing.body, headers["webhook-signature"]
    )


def test_wagate_event_without_a_number() -> None:
    body = json.loads(build_webhook([claimed(phone_number_id=None, event_type="account.update")], NOW).body)
    assert body["phone_number_id"] is None and body["type"] == "account.update"


SETTINGS = Settings(webhook_retry_base=5.0, webhook_retry_max=3600.0, webhook_max_age=7 * 24 * 3600.0)


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_any_2xx_is_a_delivery(status: int) -> None:
    outcome = outcome_of(claimed(), NOW, SETTINGS, status_code=status, error=None)
    assert outcome.state == "delivered" and outcome.delivered_at == NOW and outcome.status_code == status


@pytest.mark.parametrize(
    ("attempts", "ceiling"), [(1, 5.0), (2, 10.0), (3, 20.0), (8, 640.0), (11, 3600.0), (40, 3600.0)]
)
def test_backoff_is_exponential_with_full_jitter_and_capped(attempts: int, ceiling: float) -> None:
    item = claimed(attempts=attempts)
    top = outcome_of(item, NOW, SETTINGS, status_code=500, error=None, rnd=1.0)
    assert top.state == "pending" and top.next_attempt_at == pytest.approx(NOW + ceiling)
    assert top.error == "HTTP 500" and top.status_code == 500 and top.delivered_at is None
    bottom = outcome_of(item, NOW, SETTINGS, status_code=500, error=None, rnd=0.0)
    assert bottom.next_attempt_at == NOW


@pytest.mark.parametrize(("status", "error"), [(301, None), (404, None), (None, "timed out after 10 s")])
def test_redirects_errors_and_timeouts_are_failures(status: int | None, error: str | None) -> None:
    outcome = outcome_of(claimed(), NOW, SETTINGS, status_code=status, error=error)
    assert outcome.state == "pending" and outcome.next_attempt_at > NOW - 1
    assert outcome.error == (error or f"HTTP {status}")


def test_a_failure_after_the_maximum_age_is_dead() -> None:
    young = claimed(event_created_at=NOW - SETTINGS.webhook_max_age + 1)
    assert outcome_of(young, NOW, SETTINGS, status_code=503, error=None).state == "pending"
    old = claimed(event_created_at=NOW - SETTINGS.webhook_max_age)
    dead = outcome_of(old, NOW, SETTINGS, status_code=503, error=None)
    assert dead.state == "dead" and dead.error == "HTTP 503"
    # A 2xx is a delivery whatever the age (a replay of an old event).
    assert outcome_of(old, NOW, SETTINGS, status_code=200, error=None).state == "delivered"


def test_secrets_are_generated_per_format_and_checked_when_given() -> None:
    meta = check_secret("meta", None)
    assert len(meta) == 32 and int(meta, 16) >= 0
    assert check_secret("wagate", None).startswith("whsec_")
    given = new_standard_secret()
    assert check_secret("wagate", given) == given
    for bad in ("whsec_###", "whsec_" + "QQ==", "bm90IHByZWZpeGVkIGJ1dCBsb25nIGVub3VnaCB0byBwYXNz"):
        with pytest.raises(ApiError) as caught:
            check_secret("wagate", bad)
        assert caught.value.code == "invalid_secret"
    with pytest.raises(ApiError):
        check_secret("meta", "short")


def test_event_types_and_formats_come_from_the_catalogue() -> None:
    assert check_event_types(["message.status", "message.status", "template.status"]) == [
        "message.status",
        "template.status",
    ]
    assert check_event_types(None) is None
    with pytest.raises(ApiError) as caught:
        check_event_types(["message.deleted"])
    assert caught.value.code == "unknown_event_type" and caught.value.data == {
        "event_type": "message.deleted"
    }
    assert check_format("meta") == "meta"
    with pytest.raises(ApiError) as caught:
        check_format("xml")
    assert caught.value.code == "invalid_format"
