"""A message to send, built in code or parsed from the wire; its class, its time-to-live, its row."""

from __future__ import annotations

import json

import pytest

from wagate.cloudapi.send import parse_send_request
from wagate.domain.sending import (
    PRIORITY_MARKETING,
    PRIORITY_REPLY,
    PRIORITY_UTILITY,
    OutgoingMessage,
    Sender,
    SenderKind,
    TemplateFacts,
    plan_message,
    priority_of,
    time_to_live,
)

DAY = 24 * 3600.0
MONTH = 30 * DAY


def wire(body: dict[str, object]) -> OutgoingMessage:
    return OutgoingMessage.from_request(parse_send_request(json.dumps(body).encode()))


def test_a_text_built_in_code_is_the_message_the_wire_makes_of_the_same_request() -> None:
    built = OutgoingMessage.text("+7 916 123-45-67", "Your order is ready", reply_to="wamid.X")
    parsed = wire(
        {
            "messaging_product": "whatsapp",
            "to": "+7 916 123-45-67",
            "type": "text",
            "text": {"body": "Your order is ready"},
            "context": {"message_id": "wamid.X"},
        }
    )
    assert built == parsed


def test_a_template_built_in_code_is_the_message_the_wire_makes_of_the_same_request() -> None:
    components = [{"type": "body", "parameters": [{"type": "text", "text": "42"}]}]
    built = OutgoingMessage.template_message("79161234567", "order_ready", "en_US", components)
    parsed = wire(
        {
            "messaging_product": "whatsapp",
            "to": "79161234567",
            "type": "template",
            "template": {"name": "order_ready", "language": {"code": "en_US"}, "components": components},
        }
    )
    assert built == parsed
    assert built.template is not None and built.template.components == components


@pytest.mark.parametrize(
    ("template", "options", "expected"),
    [
        (None, {}, PRIORITY_REPLY),
        (TemplateFacts("AUTHENTICATION", "code", 300), {}, PRIORITY_REPLY),
        (TemplateFacts("UTILITY", "order_ready", None), {}, PRIORITY_UTILITY),
        (TemplateFacts("MARKETING", "offer", None), {}, PRIORITY_MARKETING),
        (TemplateFacts("SOMETHING_NEW", "x", None), {}, PRIORITY_UTILITY),
        (TemplateFacts("UTILITY", "order_ready", None), {"campaign_id": 7}, PRIORITY_MARKETING),
        (None, {"campaign_id": 7}, PRIORITY_MARKETING),
        (TemplateFacts("MARKETING", "offer", None), {"override": 2, "campaign_id": 7}, 2),
    ],
)
def test_priority_class(template: TemplateFacts | None, options: dict[str, int], expected: int) -> None:
    assert priority_of(template, **options) == expected


@pytest.mark.parametrize(
    ("class_ttl", "template", "override", "expected"),
    [
        (DAY, None, None, DAY),
        (MONTH, TemplateFacts("UTILITY", "t", None), None, MONTH),
        (MONTH, TemplateFacts("UTILITY", "t", 3600), None, 3600.0),  # the template's own is shorter
        (600.0, TemplateFacts("UTILITY", "t", 3600), None, 600.0),
        (DAY, TemplateFacts("AUTHENTICATION", "code", 0), None, DAY),  # 0: none of its own
        (DAY, None, 120.0, 120.0),
        (DAY, None, 2 * DAY, 2 * DAY),  # an override replaces the class's
        (DAY, TemplateFacts("AUTHENTICATION", "code", 300), 3600.0, 300.0),  # never past the code's expiry
    ],
)
def test_time_to_live(
    class_ttl: float, template: TemplateFacts | None, override: float | None, expected: float
) -> None:
    assert time_to_live(class_ttl, template, override=override) == expected


def test_the_plan_of_a_template_send() -> None:
    message = OutgoingMessage.template_message("+7 916 123-45-67", "offer", "ru")
    template = TemplateFacts("MARKETING", "offer", None)
    new = plan_message(
        message,
        wamid="wamid.A",
        org_id=1,
        number_id=2,
        wa_id="79161234567",
        template=template,
        priority=priority_of(template),
        ttl=MONTH,
        now=1000.0,
    )
    assert (new.wamid, new.org_id, new.phone_number_id, new.wa_id) == ("wamid.A", 1, 2, "79161234567")
    assert (new.type, new.category, new.template_name, new.priority) == ("template", "MARKETING", "offer", 3)
    assert json.loads(new.content) == {"name": "offer", "language": {"code": "ru"}}
    assert new.recipient_input == "+7 916 123-45-67"
    assert (new.created_at, new.expires_at) == (1000.0, 1000.0 + MONTH)
    assert new.context_wamid is None and new.callback_data is None


def test_the_plan_points_at_the_message_reacted_to() -> None:
    message = wire(
        {
            "messaging_product": "whatsapp",
            "to": "79161234567",
            "type": "reaction",
            "reaction": {"message_id": "wamid.R", "emoji": "👍"},
            "biz_opaque_callback_data": "order-42",
        }
    )
    new = plan_message(
        message,
        wamid="wamid.B",
        org_id=1,
        number_id=2,
        wa_id="79161234567",
        template=None,
        priority=PRIORITY_REPLY,
        ttl=DAY,
        now=0.0,
    )
    assert (new.context_wamid, new.callback_data, new.category) == ("wamid.R", "order-42", None)


def test_a_recipient_given_as_a_long_input_is_kept_to_its_column() -> None:
    message = OutgoingMessage("text", {"body": "hi"}, recipient="US." + "a" * 100)
    assert message.recipient_input == "US." + "a" * 100
    new = plan_message(
        message,
        wamid="w",
        org_id=1,
        number_id=1,
        wa_id="1",
        template=None,
        priority=1,
        ttl=1.0,
        now=0.0,
    )
    assert new.recipient_input == ("US." + "a" * 100)[:64]


def test_senders_name_who_sends() -> None:
    assert str(Sender.api_token(12)) == "api_token:12"
    assert Sender.rule(3) == Sender(SenderKind.RULE, "3")
    assert Sender.system("consent-keywords").kind is SenderKind.SYSTEM
    assert {Sender.dialog(1).kind, Sender.campaign(1).kind, Sender.operator(1).kind} == {
        SenderKind.DIALOG,
        SenderKind.CAMPAIGN,
        SenderKind.OPERATOR,
    }
