"""Wire parsing of send bodies: every type, every limit, Meta's own request examples."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests import meta_examples
from wagate.cloudapi.send import MediaRef, SendRequest, parse_send_request
from wagate.errors import GraphError

PHONE = meta_examples.PHONE
URL = meta_examples.URL


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def message(mtype: str | None, obj: Any = None, **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"messaging_product": "whatsapp", "to": PHONE}
    if mtype is not None:
        payload["type"] = mtype
        payload[mtype] = obj
    payload.update(extra)
    return payload


def parse(payload: dict[str, Any]) -> SendRequest:
    return parse_send_request(encode(payload))


def fails(payload: dict[str, Any] | bytes, code: int, field: str) -> GraphError:
    with pytest.raises(GraphError) as info:
        parse_send_request(payload if isinstance(payload, bytes) else encode(payload))
    error = info.value
    assert error.code == code, error.details
    assert error.details is not None and field in error.details, error.details
    return error


def interactive(
    itype: str, action: dict[str, Any], body: str | None = "Pick one", **parts: Any
) -> dict[str, Any]:
    obj: dict[str, Any] = {"type": itype, "action": action, **parts}
    if body is not None:
        obj["body"] = {"text": body}
    return message("interactive", obj)


def buttons(*titles: str) -> dict[str, Any]:
    return {
        "buttons": [{"type": "reply", "reply": {"id": f"id-{i}", "title": t}} for i, t in enumerate(titles)]
    }


def list_action(*row_counts: int, button: str = "Options") -> dict[str, Any]:
    sections = []
    row_id = itertools.count()
    for s, count in enumerate(row_counts):
        rows = [{"id": f"row-{next(row_id)}", "title": "Row"} for _ in range(count)]
        sections.append({"title": f"Section {s}", "rows": rows})
    return {"button": button, "sections": sections}


def product_list(*item_counts: int) -> dict[str, Any]:
    sections = [
        {"title": f"S{s}", "product_items": [{"product_retailer_id": f"sku-{s}-{i}"} for i in range(count)]}
        for s, count in enumerate(item_counts)
    ]
    return interactive(
        "product_list",
        {"catalog_id": "1234", "sections": sections},
        header={"type": "text", "text": "Our picks"},
    )


def flow_parameters(**overrides: Any) -> dict[str, Any]:
    parameters: dict[str, Any] = {
        "flow_message_version": "3",
        "flow_token": "token-1",
        "flow_id": "1234567890",
        "flow_cta": "Book!",
        "flow_action": "navigate",
        "flow_action_payload": {"screen": "WELCOME", "data": {"name": "Ana"}},
    }
    parameters.update(overrides)
    return {k: v for k, v in parameters.items() if v is not None}


def card(index: int, header: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "card_index": index,
        "type": "cta_url",
        "header": header or {"type": "image", "image": {"link": f"https://example.com/{index}.jpg"}},
        "body": {"text": f"Card {index}"},
        "action": {"name": "cta_url", "parameters": {"display_text": "Buy", "url": "https://example.com"}},
    }


def template(
    components: list[dict[str, Any]] | None = None, name: str = "order_update", **language: Any
) -> dict:
    obj: dict[str, Any] = {"name": name, "language": {"code": "en_US", **language}}
    if components is not None:
        obj["components"] = components
    return message("template", obj)


def body_params(*texts: Any) -> dict[str, Any]:
    return {"type": "body", "parameters": [{"type": "text", "text": t} for t in texts]}


def contact(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "name": {"formatted_name": "John Smith", "first_name": "John"},
        "phones": [{"phone": "+1 (650) 555-1234", "type": "CELL", "wa_id": "16505551234"}],
    }
    value.update(overrides)
    return value


# --- every type accepted ------------------------------------------------------------------------------------

VALID: dict[str, dict[str, Any]] = {
    "text": message("text", {"body": "Visit https://example.com", "preview_url": True}),
    "image-id": message("image", {"id": "1037543291543636", "caption": "A caption"}),
    "image-link": message("image", {"link": URL}),
    "audio-voice": message("audio", {"id": "123", "voice": True}),
    "video": message("video", {"link": "http://example.com/a.mp4", "caption": "clip"}),
    "document": message(
        "document", {"link": "https://example.com/inv.pdf", "caption": "c", "filename": "inv.pdf"}
    ),
    "sticker": message("sticker", {"id": "456"}),
    "location": message(
        "location", {"latitude": 37.758056, "longitude": -122.425332, "name": "HQ", "address": "1"}
    ),
    "location-int": message("location", {"latitude": 0, "longitude": 180}),
    "contacts": message(
        "contacts",
        [
            contact(
                birthday="2012-02-29",
                addresses=[
                    {"street": "1 Hacker Way", "city": "Menlo Park", "country_code": "us", "type": "HOME"}
                ],
                emails=[{"email": "a@b.com", "type": "WORK"}],
                org={"company": "WhatsApp", "title": "Manager"},
                urls=[{"url": "https://www.whatsapp.com", "type": "HOME"}],
            )
        ],
    ),
    "reaction": message("reaction", {"message_id": "wamid.ABC", "emoji": "😀"}),
    "reaction-remove": message("reaction", {"message_id": "wamid.ABC", "emoji": ""}),
    "button": interactive("button", buttons("Yes", "No"), header={"type": "image", "image": {"id": "9"}}),
    "list": interactive(
        "list", list_action(2, 3), header={"type": "text", "text": "Shipping"}, footer={"text": "f"}
    ),
    "cta_url": interactive(
        "cta_url",
        {"name": "cta_url", "parameters": {"display_text": "See Dates", "url": "https://example.com/d"}},
        header={"type": "video", "video": {"link": "https://example.com/v.mp4"}},
    ),
    "location_request": interactive("location_request_message", {"name": "send_location"}),
    "flow-id": interactive("flow", {"name": "flow", "parameters": flow_parameters(mode="draft")}),
    "flow-name": interactive(
        "flow",
        {"name": "flow", "parameters": flow_parameters(flow_id=None, flow_name="signup", mode="published")},
    ),
    "flow-data-exchange": interactive(
        "flow",
        {
            "name": "flow",
            "parameters": flow_parameters(flow_action="data_exchange", flow_action_payload=None),
        },
    ),
    "product": interactive("product", {"catalog_id": "1", "product_retailer_id": "sku"}, body=None),
    "product-body": interactive("product", {"catalog_id": "1", "product_retailer_id": "sku"}),
    "product_list": product_list(2, 3),
    "catalog": interactive(
        "catalog_message", {"name": "catalog_message", "parameters": {"thumbnail_product_retailer_id": "sku"}}
    ),
    "order_details": interactive(
        "order_details", {"name": "review_and_pay", "parameters": {"reference_id": "r1"}}
    ),
    "order_status": interactive(
        "order_status", {"name": "review_order", "parameters": {"reference_id": "r1"}}
    ),
    "address": interactive("address_message", {"name": "address_message", "parameters": {"country": "IN"}}),
    "call_permission": interactive("call_permission_request", {"name": "call_permission_request"}),
    "carousel": interactive("carousel", {"cards": [card(0), card(1)]}),
    "template-hello": template(name="hello_world"),
    "template-full": template(
        [
            {"type": "header", "parameters": [{"type": "image", "image": {"link": URL}}]},
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Pablo"},
                    {
                        "type": "currency",
                        "currency": {"fallback_value": "$1", "code": "USD", "amount_1000": 1000},
                    },
                    {"type": "date_time", "date_time": {"fallback_value": "Feb 25", "day_of_month": 25}},
                ],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "0",
                "parameters": [{"type": "payload", "payload": "p"}],
            },
            {
                "type": "button",
                "sub_type": "url",
                "index": 1,
                "parameters": [{"type": "text", "text": "suffix"}],
            },
            {
                "type": "button",
                "sub_type": "copy_code",
                "index": 2,
                "parameters": [{"type": "coupon_code", "coupon_code": "C25"}],
            },
            {
                "type": "button",
                "sub_type": "flow",
                "index": 3,
                "parameters": [{"type": "action", "action": {"flow_token": "t"}}],
            },
        ],
        policy="deterministic",
    ),
    "template-named": template(
        [{"type": "BODY", "parameters": [{"type": "text", "parameter_name": "first_name", "text": "Ana"}]}]
    ),
    "template-location-header": template(
        [
            {
                "type": "header",
                "parameters": [{"type": "location", "location": {"latitude": 1.5, "longitude": 2.5}}],
            }
        ]
    ),
    "template-lto": template(
        [
            {
                "type": "limited_time_offer",
                "parameters": [
                    {"type": "limited_time_offer", "limited_time_offer": {"expiration_time_ms": 1}}
                ],
            }
        ]
    ),
    "template-carousel": template(
        [
            body_params("hi"),
            {
                "type": "carousel",
                "cards": [
                    {
                        "card_index": i,
                        "components": [
                            {"type": "header", "parameters": [{"type": "video", "video": {"id": str(i)}}]}
                        ],
                    }
                    for i in range(2)
                ],
            },
        ]
    ),
    "recipient-only": {
        "messaging_product": "whatsapp",
        "recipient": "US.13491208655302741918",
        "type": "text",
        "text": {"body": "hi"},
    },
    "group": message(
        "text", {"body": "hi"}, recipient_type="group", to="Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAz"
    ),
    "context-and-callback": message(
        "text", {"body": "hi"}, context={"message_id": "wamid.PREV"}, biz_opaque_callback_data="x" * 512
    ),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_messages_parse(name: str) -> None:
    payload = VALID[name]
    request = parse(payload)
    assert request.kind == "message"
    assert request.type == payload["type"]
    expected = {"contacts": payload["contacts"]} if request.type == "contacts" else payload[payload["type"]]
    assert request.content == expected  # every field given is known, so it survives re-encoding unchanged
    json.dumps(request.content)  # plain values only


def test_envelope_fields() -> None:
    request = parse(VALID["context-and-callback"])
    assert request.to == PHONE and request.recipient is None
    assert request.context_message_id == "wamid.PREV"
    assert request.biz_opaque_callback_data == "x" * 512
    assert request.read_message_id is None and request.typing_type is None and request.template is None


def test_recipient_only() -> None:
    request = parse(VALID["recipient-only"])
    assert request.to is None and request.recipient == "US.13491208655302741918"


def test_to_and_recipient_together() -> None:
    request = parse(message("text", {"body": "hi"}, recipient="BR.abc123"))
    assert (request.to, request.recipient) == (PHONE, "BR.abc123")


def test_unknown_fields_are_ignored_and_not_kept() -> None:
    payload = message(
        "text", {"body": "hi", "future": 1}, something_new={"a": 1}, recipient_identity_key_hash="x"
    )
    assert parse(payload).content == {"body": "hi"}


def test_media_refs_top_level() -> None:
    request = parse(VALID["image-id"])
    assert request.media == (MediaRef(path="image", kind="image", id="1037543291543636", link=None),)
    assert parse(VALID["document"]).media == (
        MediaRef(path="document", kind="document", id=None, link="https://example.com/inv.pdf"),
    )


def test_media_refs_interactive_header_and_carousel() -> None:
    assert parse(VALID["button"]).media == (MediaRef("interactive.header.image", "image", "9", None),)
    assert [m.path for m in parse(VALID["carousel"]).media] == [
        "interactive.action.cards[0].header.image",
        "interactive.action.cards[1].header.image",
    ]


def test_template_send_and_media_refs() -> None:
    request = parse(VALID["template-full"])
    assert request.template is not None
    assert request.template.name == "order_update"
    assert request.template.language == "en_US"
    assert request.template.components == VALID["template-full"]["template"]["components"]
    assert request.media == (MediaRef("template.components[0].parameters[0].image", "image", None, URL),)
    carousel = parse(VALID["template-carousel"])
    assert [m.path for m in carousel.media] == [
        f"template.components[1].cards[{i}].components[0].parameters[0].video" for i in range(2)
    ]
    hello = parse(VALID["template-hello"])
    assert hello.template is not None and hello.template.components == []


def test_reaction_and_interactive_fields() -> None:
    assert parse(VALID["reaction"]).reaction_message_id == "wamid.ABC"
    assert parse(VALID["list"]).interactive_type == "list"
    assert parse(VALID["text"]).interactive_type is None


def test_type_defaults_to_text() -> None:
    payload = message(None, text={"body": "hi"})
    assert parse(payload).type == "text"
    fails(message(None), 131008, "text")


def test_missing_type_takes_the_only_content_object() -> None:
    # Meta's own "Send Reply to List Message" example has no `type`.
    payload = message(None, interactive=VALID["list"]["interactive"])
    assert parse(payload).type == "interactive"


# --- read receipts and typing indicators --------------------------------------------------------------------


def test_read_receipt() -> None:
    request = parse_send_request(b'{"messaging_product":"whatsapp","status":"read","message_id":"wamid.IN"}')
    assert request.kind == "read"
    assert request.read_message_id == "wamid.IN"
    assert request.to is None and request.type is None and request.typing_type is None
    assert request.content == {} and request.media == ()


def test_typing_indicator() -> None:
    payload = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": "wamid.IN",
        "typing_indicator": {"type": "text"},
    }
    request = parse(payload)
    assert (request.kind, request.typing_type, request.read_message_id) == ("typing", "text", "wamid.IN")


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"status": "delivered", "message_id": "wamid.IN"}, 131009, "status"),
        ({"status": "read"}, 131008, "message_id"),
        ({"status": "read", "message_id": ""}, 131009, "message_id"),
        (
            {"status": "read", "message_id": "w", "typing_indicator": {"type": "audio"}},
            131009,
            "typing_indicator.type",
        ),
        ({"status": "read", "message_id": "w", "typing_indicator": {}}, 131008, "typing_indicator.type"),
        ({"message_id": "w", "typing_indicator": {"type": "text"}}, 131008, "status"),
    ],
)
def test_read_errors(payload: dict[str, Any], code: int, field: str) -> None:
    fails({"messaging_product": "whatsapp", **payload}, code, field)


# --- envelope errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"{", "JSON"),
        (b"", "JSON"),
        (b"\xff\xfe", "JSON"),
        (b"[1, 2]", "object"),
        (b'"text"', "object"),
        (b'{"to": "1", "type": "text", "text": {"body": "x"}}', "messaging_product"),
        (b'{"messaging_product": "sms", "to": "1", "text": {"body": "x"}}', "messaging_product"),
        (b'{"messaging_product": 1, "to": "1", "text": {"body": "x"}}', "messaging_product"),
    ],
)
def test_malformed_body_is_code_100(raw: bytes, field: str) -> None:
    fails(raw, 100, field)


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        (message("carrier_pigeon", {"body": "x"}), 131051, "type"),
        (message("text", {"body": "x"}, type="image"), 131008, "image"),
        ({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, 131008, "to"),
        (message("text", {"body": "x"}, to="hello"), 131009, "to"),
        (message("text", {"body": "x"}, to="+()- "), 131009, "to"),
        (message("text", {"body": "x"}, to="1650555123a"), 131009, "to"),
        (message("text", {"body": "x"}, to=16505551234), 131009, "to"),
        (message("text", {"body": "x"}, recipient_type="broadcast"), 131009, "recipient_type"),
        (message("text", {"body": "x"}, recipient_type="group", to=""), 131009, "to"),
        (message("text", {"body": "x"}, recipient="13491208655302741918"), 131009, "recipient"),
        (message("text", {"body": "x"}, recipient="us.1349"), 131009, "recipient"),
        (message("text", {"body": "x"}, recipient="US."), 131009, "recipient"),
        (message("text", {"body": "x"}, recipient="US.12-34"), 131009, "recipient"),
        (message("text", {"body": "x"}, context={}), 131008, "context.message_id"),
        (message("text", {"body": "x"}, context={"message_id": 5}), 131009, "context.message_id"),
        (message("text", {"body": "x"}, biz_opaque_callback_data=5), 131009, "biz_opaque_callback_data"),
        (message("text", "hello"), 131009, "text"),
    ],
)
def test_envelope_errors(payload: dict[str, Any], code: int, field: str) -> None:
    fails(payload, code, field)


@pytest.mark.parametrize("to", ["+16505551234", "16505551234", "+1 (650) 555-1234", "1-650-555-1234", "7"])
def test_phone_formats_accepted(to: str) -> None:
    assert parse(message("text", {"body": "x"}, to=to)).to == to


def test_group_to_is_opaque() -> None:
    assert parse(VALID["group"]).to == "Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAz"


# --- type errors --------------------------------------------------------------------------------------------

TYPE_ERRORS: list[tuple[str, dict[str, Any], int, str]] = [
    ("text-missing-body", message("text", {"preview_url": True}), 131008, "text.body"),
    ("text-body-type", message("text", {"body": 5}), 131009, "text.body"),
    ("text-body-empty", message("text", {"body": ""}), 131009, "text.body"),
    ("text-preview-type", message("text", {"body": "x", "preview_url": "yes"}), 131009, "text.preview_url"),
    ("media-both", message("image", {"id": "1", "link": URL}), 131009, "image"),
    ("media-neither", message("image", {"caption": "c"}), 131008, "image.id"),
    ("media-ftp", message("image", {"link": "ftp://example.com/x.jpg"}), 131009, "image.link"),
    ("media-no-host", message("video", {"link": "https:///x.mp4"}), 131009, "video.link"),
    ("media-not-url", message("document", {"link": "example.com/x.pdf"}), 131009, "document.link"),
    ("audio-caption", message("audio", {"id": "1", "caption": "c"}), 131009, "audio.caption"),
    ("sticker-caption", message("sticker", {"id": "1", "caption": "c"}), 131009, "sticker.caption"),
    ("image-filename", message("image", {"id": "1", "filename": "a.jpg"}), 131009, "image.filename"),
    ("video-voice", message("video", {"id": "1", "voice": True}), 131009, "video.voice"),
    ("audio-voice-type", message("audio", {"id": "1", "voice": "true"}), 131009, "audio.voice"),
    ("media-empty-id", message("image", {"id": ""}), 131009, "image.id"),
    ("location-missing-lat", message("location", {"longitude": 1.0}), 131008, "location.latitude"),
    ("location-missing-long", message("location", {"latitude": 1.0}), 131008, "location.longitude"),
    (
        "location-string",
        message("location", {"latitude": "1.0", "longitude": 1.0}),
        131009,
        "location.latitude",
    ),
    (
        "location-name-type",
        message("location", {"latitude": 1, "longitude": 1, "name": 5}),
        131009,
        "location.name",
    ),
    ("contacts-empty", message("contacts", []), 131009, "contacts"),
    ("contacts-not-list", message("contacts", contact()), 131009, "contacts"),
    ("contacts-no-name", message("contacts", [{"phones": [{"phone": "1"}]}]), 131008, "contacts[0].name"),
    (
        "contacts-no-formatted",
        message("contacts", [{"name": {"first_name": "J"}}]),
        131008,
        "contacts[0].name.formatted_name",
    ),
    (
        "contacts-only-formatted",
        message("contacts", [contact(name={"formatted_name": "J"})]),
        131008,
        "contacts[0].name",
    ),
    (
        "contacts-birthday-month",
        message("contacts", [contact(birthday="2012-13-01")]),
        131009,
        "contacts[0].birthday",
    ),
    (
        "contacts-birthday-day",
        message("contacts", [contact(birthday="2013-02-29")]),
        131009,
        "contacts[0].birthday",
    ),
    (
        "contacts-birthday-format",
        message("contacts", [contact(birthday="18-08-2012")]),
        131009,
        "contacts[0].birthday",
    ),
    (
        "contacts-email-missing",
        message("contacts", [contact(emails=[{"type": "HOME"}])]),
        131008,
        "contacts[0].emails[0].email",
    ),
    (
        "contacts-phone-missing",
        message("contacts", [contact(phones=[{"type": "HOME"}])]),
        131008,
        "contacts[0].phones[0].phone",
    ),
    (
        "contacts-url-missing",
        message("contacts", [contact(urls=[{"type": "HOME"}])]),
        131008,
        "contacts[0].urls[0].url",
    ),
    (
        "contacts-second",
        message("contacts", [contact(), {"name": {}}]),
        131008,
        "contacts[1].name.formatted_name",
    ),
    ("reaction-no-id", message("reaction", {"emoji": "😀"}), 131008, "reaction.message_id"),
    ("reaction-no-emoji", message("reaction", {"message_id": "w"}), 131008, "reaction.emoji"),
    (
        "reaction-context",
        message("reaction", {"message_id": "w", "emoji": "😀"}, context={"message_id": "w"}),
        131009,
        "context",
    ),
]


@pytest.mark.parametrize(
    ("payload", "code", "field"), [case[1:] for case in TYPE_ERRORS], ids=[c[0] for c in TYPE_ERRORS]
)
def test_type_errors(payload: dict[str, Any], code: int, field: str) -> None:
    fails(payload, code, field)


@pytest.mark.parametrize(
    "emoji", ["😀", "👍🏽", "❤️", "🇺🇸", "👨‍👩‍👧‍👦", "🏳️‍🌈", "1️⃣", "#⃣", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "☕", "©️", "🫠"]
)
def test_single_emoji_accepted(emoji: str) -> None:
    assert parse(message("reaction", {"message_id": "w", "emoji": emoji})).content["emoji"] == emoji


@pytest.mark.parametrize(
    "emoji", ["ok", "a", "1", "😀😀", "🇺🇸🇬🇧", "😀 ", " ", "😀a", "🏽", "\u200d😀", "😀\u200d", ":)"]
)
def test_not_a_single_emoji_rejected(emoji: str) -> None:
    fails(message("reaction", {"message_id": "w", "emoji": emoji}), 131009, "reaction.emoji")


# --- interactive errors -------------------------------------------------------------------------------------

INTERACTIVE_ERRORS: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown-type", interactive("poll", {}), 131009, "interactive.type"),
    (
        "missing-type",
        message("interactive", {"body": {"text": "x"}, "action": {}}),
        131008,
        "interactive.type",
    ),
    (
        "missing-action",
        message("interactive", {"type": "button", "body": {"text": "x"}}),
        131008,
        "interactive.action",
    ),
    ("missing-body", interactive("button", buttons("A"), body=None), 131008, "interactive.body"),
    ("empty-body", interactive("button", buttons("A"), body=""), 131009, "interactive.body.text"),
    (
        "catalog-missing-body",
        interactive("catalog_message", {"name": "catalog_message"}, body=None),
        131008,
        "interactive.body",
    ),
    (
        "flow-missing-body",
        interactive("flow", {"name": "flow", "parameters": flow_parameters()}, body=None),
        131008,
        "interactive.body",
    ),
    (
        "header-type",
        interactive("button", buttons("A"), header={"type": "sticker"}),
        131009,
        "interactive.header.type",
    ),
    (
        "header-text-missing",
        interactive("button", buttons("A"), header={"type": "text"}),
        131008,
        "interactive.header.text",
    ),
    (
        "header-image-missing",
        interactive("button", buttons("A"), header={"type": "image"}),
        131008,
        "interactive.header.image",
    ),
    (
        "header-image-both",
        interactive("button", buttons("A"), header={"type": "image", "image": {"id": "1", "link": URL}}),
        131009,
        "interactive.header.image",
    ),
    (
        "footer-empty",
        interactive("button", buttons("A"), footer={"text": ""}),
        131009,
        "interactive.footer.text",
    ),
    ("buttons-empty", interactive("button", {"buttons": []}), 131009, "interactive.action.buttons"),
    (
        "button-type",
        interactive("button", {"buttons": [{"type": "url", "reply": {"id": "a", "title": "A"}}]}),
        131009,
        "interactive.action.buttons[0].type",
    ),
    (
        "button-dup-title",
        interactive("button", buttons("Same", "Same")),
        131009,
        "interactive.action.buttons[1].reply.title",
    ),
    (
        "button-dup-id",
        interactive(
            "button",
            {"buttons": [{"type": "reply", "reply": {"id": "x", "title": t}} for t in ("A", "B")]},
        ),
        131009,
        "interactive.action.buttons[1].reply.id",
    ),
    (
        "button-id-spaces",
        interactive("button", {"buttons": [{"type": "reply", "reply": {"id": " x", "title": "A"}}]}),
        131009,
        "interactive.action.buttons[0].reply.id",
    ),
    (
        "button-title-missing",
        interactive("button", {"buttons": [{"type": "reply", "reply": {"id": "x"}}]}),
        131008,
        "interactive.action.buttons[0].reply.title",
    ),
    (
        "list-image-header",
        interactive("list", list_action(1), header={"type": "image", "image": {"id": "1"}}),
        131009,
        "interactive.header.type",
    ),
    (
        "list-section-title-required",
        interactive(
            "list",
            {
                "button": "b",
                "sections": [
                    {"title": "A", "rows": [{"id": "1", "title": "t"}]},
                    {"rows": [{"id": "2", "title": "t"}]},
                ],
            },
        ),
        131008,
        "interactive.action.sections[1].title",
    ),
    (
        "list-dup-row",
        interactive(
            "list",
            {
                "button": "b",
                "sections": [
                    {"title": "A", "rows": [{"id": "1", "title": "t"}]},
                    {"title": "B", "rows": [{"id": "1", "title": "u"}]},
                ],
            },
        ),
        131009,
        "interactive.action.sections[1].rows[0].id",
    ),
    (
        "list-no-sections",
        interactive("list", {"button": "b", "sections": []}),
        131009,
        "interactive.action.sections",
    ),
    (
        "list-no-rows",
        interactive("list", {"button": "b", "sections": [{"rows": []}]}),
        131009,
        "interactive.action.sections[0].rows",
    ),
    (
        "list-no-button",
        interactive("list", {"sections": [{"rows": [{"id": "1", "title": "t"}]}]}),
        131008,
        "interactive.action.button",
    ),
    (
        "cta-url-scheme",
        interactive(
            "cta_url", {"name": "cta_url", "parameters": {"display_text": "Go", "url": "javascript:alert(1)"}}
        ),
        131009,
        "interactive.action.parameters.url",
    ),
    (
        "cta-name",
        interactive(
            "cta_url", {"name": "open", "parameters": {"display_text": "Go", "url": "https://e.com"}}
        ),
        131009,
        "interactive.action.name",
    ),
    (
        "location-request-name",
        interactive("location_request_message", {"name": "location"}),
        131009,
        "interactive.action.name",
    ),
    (
        "flow-both-ids",
        interactive("flow", {"name": "flow", "parameters": flow_parameters(flow_name="n")}),
        131009,
        "flow_name",
    ),
    (
        "flow-no-id",
        interactive("flow", {"name": "flow", "parameters": flow_parameters(flow_id=None)}),
        131008,
        "interactive.action.parameters.flow_id",
    ),
    (
        "flow-version",
        interactive("flow", {"name": "flow", "parameters": flow_parameters(flow_message_version="2")}),
        131009,
        "flow_message_version",
    ),
    (
        "flow-version-int",
        interactive("flow", {"name": "flow", "parameters": flow_parameters(flow_message_version=3)}),
        131009,
        "flow_message_version",
    ),
    (
        "flow-action",
        interactive("flow", {"name": "flow", "parameters": flow_parameters(flow_action="open")}),
        131009,
        "flow_action",
    ),
    (
        "flow-mode",
        interactive("flow", {"name": "flow", "parameters": flow_parameters(mode="live")}),
        131009,
        "interactive.action.parameters.mode",
    ),
    (
        "flow-cta-missing",
        interactive("flow", {"name": "flow", "parameters": flow_parameters(flow_cta=None)}),
        131008,
        "flow_cta",
    ),
    (
        "flow-empty-data",
        interactive(
            "flow",
            {"name": "flow", "parameters": flow_parameters(flow_action_payload={"screen": "A", "data": {}})},
        ),
        131009,
        "interactive.action.parameters.flow_action_payload.data",
    ),
    (
        "product-header",
        interactive(
            "product", {"catalog_id": "1", "product_retailer_id": "s"}, header={"type": "text", "text": "h"}
        ),
        131009,
        "interactive.header",
    ),
    (
        "product-no-retailer-id",
        interactive("product", {"catalog_id": "1"}),
        131008,
        "interactive.action.product_retailer_id",
    ),
    (
        "product-list-no-header",
        interactive(
            "product_list",
            {"catalog_id": "1", "sections": [{"product_items": [{"product_retailer_id": "a"}]}]},
        ),
        131008,
        "interactive.header",
    ),
    (
        "product-list-media-header",
        interactive(
            "product_list",
            {"catalog_id": "1", "sections": [{"product_items": [{"product_retailer_id": "a"}]}]},
            header={"type": "image", "image": {"id": "1"}},
        ),
        131009,
        "interactive.header.type",
    ),
    (
        "product-list-title-required",
        interactive(
            "product_list",
            {"catalog_id": "1", "sections": [{"product_items": [{"product_retailer_id": "a"}]}] * 2},
            header={"type": "text", "text": "h"},
        ),
        131008,
        "interactive.action.sections[0].title",
    ),
    ("catalog-name", interactive("catalog_message", {"name": "catalog"}), 131009, "interactive.action.name"),
    (
        "order-details-name",
        interactive("order_details", {"name": "pay", "parameters": {}}),
        131009,
        "interactive.action.name",
    ),
    (
        "order-details-parameters",
        interactive("order_details", {"name": "review_and_pay"}),
        131008,
        "interactive.action.parameters",
    ),
    (
        "order-status-name",
        interactive("order_status", {"name": "review_and_pay", "parameters": {}}),
        131009,
        "interactive.action.name",
    ),
    ("carousel-one-card", interactive("carousel", {"cards": [card(0)]}), 131009, "interactive.action.cards"),
    (
        "carousel-text-header",
        interactive("carousel", {"cards": [card(0), card(1, {"type": "text", "text": "t"})]}),
        131009,
        "interactive.action.cards[1].header.type",
    ),
    (
        "carousel-main-header",
        interactive("carousel", {"cards": [card(0), card(1)]}, header={"type": "text", "text": "t"}),
        131009,
        "interactive.header",
    ),
    (
        "carousel-card-media",
        interactive("carousel", {"cards": [card(0), card(1, {"type": "image", "image": {}})]}),
        131008,
        "interactive.action.cards[1].header.image",
    ),
]


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [case[1:] for case in INTERACTIVE_ERRORS],
    ids=[c[0] for c in INTERACTIVE_ERRORS],
)
def test_interactive_errors(payload: dict[str, Any], code: int, field: str) -> None:
    fails(payload, code, field)


# --- template errors ----------------------------------------------------------------------------------------

TEMPLATE_ERRORS: list[tuple[str, dict[str, Any], int, str]] = [
    ("no-name", message("template", {"language": {"code": "en"}}), 131008, "template.name"),
    ("no-language", message("template", {"name": "a"}), 131008, "template.language"),
    (
        "no-language-code",
        message("template", {"name": "a", "language": {"policy": "deterministic"}}),
        131008,
        "template.language.code",
    ),
    ("policy", template(policy="fallback"), 131009, "template.language.policy"),
    ("name-upper", template(name="Order_Update"), 131009, "template.name"),
    ("name-dash", template(name="order-update"), 131009, "template.name"),
    ("name-empty", template(name=""), 131009, "template.name"),
    (
        "component-type",
        template([{"type": "footer", "parameters": []}]),
        131009,
        "template.components[0].type",
    ),
    ("component-no-type", template([{"parameters": []}]), 131008, "template.components[0].type"),
    (
        "button-no-sub-type",
        template([{"type": "button", "index": 0}]),
        131008,
        "template.components[0].sub_type",
    ),
    (
        "button-sub-type",
        template([{"type": "button", "sub_type": "reply", "index": 0}]),
        131009,
        "template.components[0].sub_type",
    ),
    (
        "button-no-index",
        template([{"type": "button", "sub_type": "url"}]),
        131008,
        "template.components[0].index",
    ),
    (
        "button-index-text",
        template([{"type": "button", "sub_type": "url", "index": "a"}]),
        131009,
        "template.components[0].index",
    ),
    (
        "button-index-negative",
        template([{"type": "button", "sub_type": "url", "index": -1}]),
        131009,
        "template.components[0].index",
    ),
    (
        "button-index-float",
        template([{"type": "button", "sub_type": "url", "index": 1.0}]),
        131009,
        "template.components[0].index",
    ),
    (
        "param-type",
        template([{"type": "body", "parameters": [{"type": "emoji", "emoji": "x"}]}]),
        131009,
        "template.components[0].parameters[0].type",
    ),
    (
        "param-no-type",
        template([{"type": "body", "parameters": [{"text": "x"}]}]),
        131008,
        "template.components[0].parameters[0].type",
    ),
    (
        "param-text-missing",
        template([{"type": "body", "parameters": [{"type": "text"}]}]),
        131008,
        "template.components[0].parameters[0].text",
    ),
    ("param-text-empty", template([body_params("")]), 131009, "template.components[0].parameters[0].text"),
    (
        "param-text-bool-body",
        template([body_params(True)]),
        131009,
        "template.components[0].parameters[0].text",
    ),
    ("param-text-list", template([body_params(["a"])]), 131009, "template.components[0].parameters[0].text"),
    (
        "param-currency-missing",
        template([{"type": "body", "parameters": [{"type": "currency"}]}]),
        131008,
        "template.components[0].parameters[0].currency",
    ),
    (
        "param-currency-code",
        template(
            [
                {
                    "type": "body",
                    "parameters": [
                        {
                            "type": "currency",
                            "currency": {"fallback_value": "1", "code": "usd", "amount_1000": 1},
                        }
                    ],
                }
            ]
        ),
        131009,
        "template.components[0].parameters[0].currency.code",
    ),
    (
        "param-currency-amount",
        template(
            [
                {
                    "type": "body",
                    "parameters": [
                        {
                            "type": "currency",
                            "currency": {"fallback_value": "1", "code": "USD", "amount_1000": "1"},
                        }
                    ],
                }
            ]
        ),
        131009,
        "template.components[0].parameters[0].currency.amount_1000",
    ),
    (
        "param-date-time-fallback",
        template([{"type": "body", "parameters": [{"type": "date_time", "date_time": {}}]}]),
        131008,
        "template.components[0].parameters[0].date_time.fallback_value",
    ),
    (
        "param-media-both",
        template([{"type": "header", "parameters": [{"type": "image", "image": {"id": "1", "link": URL}}]}]),
        131009,
        "template.components[0].parameters[0].image",
    ),
    (
        "param-media-link",
        template(
            [
                {
                    "type": "header",
                    "parameters": [{"type": "document", "document": {"link": "file:///etc/passwd"}}],
                }
            ]
        ),
        131009,
        "template.components[0].parameters[0].document.link",
    ),
    (
        "param-location-range",
        template(
            [
                {
                    "type": "header",
                    "parameters": [{"type": "location", "location": {"latitude": 91, "longitude": 0}}],
                }
            ]
        ),
        131009,
        "template.components[0].parameters[0].location.latitude",
    ),
    (
        "param-lto",
        template(
            [
                {
                    "type": "limited_time_offer",
                    "parameters": [{"type": "limited_time_offer", "limited_time_offer": {}}],
                }
            ]
        ),
        131008,
        "template.components[0].parameters[0].limited_time_offer.expiration_time_ms",
    ),
    ("carousel-no-cards", template([{"type": "carousel"}]), 131008, "template.components[0].cards"),
    (
        "carousel-card-media",
        template(
            [
                {
                    "type": "carousel",
                    "cards": [
                        {
                            "card_index": 0,
                            "components": [
                                {"type": "header", "parameters": [{"type": "image", "image": {}}]}
                            ],
                        }
                    ],
                }
            ]
        ),
        131008,
        "template.components[0].cards[0].components[0].parameters[0].image",
    ),
]


@pytest.mark.parametrize(
    ("payload", "code", "field"), [case[1:] for case in TEMPLATE_ERRORS], ids=[c[0] for c in TEMPLATE_ERRORS]
)
def test_template_errors(payload: dict[str, Any], code: int, field: str) -> None:
    fails(payload, code, field)


@pytest.mark.parametrize("index", [0, 9, "0", "9"])
def test_template_button_index_accepted(index: int | str) -> None:
    parse(template([{"type": "button", "sub_type": "QUICK_REPLY", "index": index}]))


def test_template_button_text_may_be_a_scalar() -> None:
    # As in Meta's "Send Sample Issue Resolution Template" example.
    component = {
        "type": "button",
        "sub_type": "quick_reply",
        "index": 0,
        "parameters": [{"type": "text", "text": True}],
    }
    assert parse(template([component])).content["components"][0]["parameters"][0]["text"] is True


# --- limits: accepted at the limit, rejected just past it ---------------------------------------------------


def _long(n: int) -> str:
    return "a" * n


def _rows_split(n: int) -> dict[str, Any]:
    return interactive("list", list_action(n // 2, n - n // 2))


LIMITS: list[tuple[str, Callable[[int], dict[str, Any]], int, str]] = [
    ("text.body", lambda n: message("text", {"body": _long(n)}), 4096, "text.body"),
    ("image.caption", lambda n: message("image", {"id": "1", "caption": _long(n)}), 1024, "image.caption"),
    ("video.caption", lambda n: message("video", {"id": "1", "caption": _long(n)}), 1024, "video.caption"),
    (
        "document.caption",
        lambda n: message("document", {"id": "1", "caption": _long(n)}),
        1024,
        "document.caption",
    ),
    (
        "biz_opaque",
        lambda n: message("text", {"body": "x"}, biz_opaque_callback_data=_long(n)),
        512,
        "biz_opaque_callback_data",
    ),
    ("recipient", lambda n: message("text", {"body": "x"}, recipient="US." + "1" * n), 128, "recipient"),
    (
        "header.text",
        lambda n: interactive("button", buttons("A"), header={"type": "text", "text": _long(n)}),
        60,
        "interactive.header.text",
    ),
    (
        "header.sub_text",
        lambda n: interactive(
            "button", buttons("A"), header={"type": "text", "text": "t", "sub_text": _long(n)}
        ),
        60,
        "interactive.header.sub_text",
    ),
    (
        "button.body",
        lambda n: interactive("button", buttons("A"), body=_long(n)),
        1024,
        "interactive.body.text",
    ),
    (
        "cta.body",
        lambda n: interactive(
            "cta_url", {"name": "cta_url", "parameters": {"display_text": "a", "url": URL}}, body=_long(n)
        ),
        1024,
        "interactive.body.text",
    ),
    (
        "location_request.body",
        lambda n: interactive("location_request_message", {"name": "send_location"}, body=_long(n)),
        1024,
        "interactive.body.text",
    ),
    (
        "list.body",
        lambda n: interactive("list", list_action(1), body=_long(n)),
        4096,
        "interactive.body.text",
    ),
    (
        "footer",
        lambda n: interactive("button", buttons("A"), footer={"text": _long(n)}),
        60,
        "interactive.footer.text",
    ),
    (
        "buttons.count",
        lambda n: interactive("button", buttons(*(f"T{i}" for i in range(n)))),
        3,
        "interactive.action.buttons",
    ),
    (
        "reply.id",
        lambda n: interactive(
            "button", {"buttons": [{"type": "reply", "reply": {"id": _long(n), "title": "A"}}]}
        ),
        256,
        "interactive.action.buttons[0].reply.id",
    ),
    (
        "reply.title",
        lambda n: interactive("button", buttons(_long(n))),
        20,
        "interactive.action.buttons[0].reply.title",
    ),
    (
        "list.button",
        lambda n: interactive("list", list_action(1, button=_long(n))),
        20,
        "interactive.action.button",
    ),
    (
        "list.sections",
        lambda n: interactive("list", list_action(*[1] * n)),
        10,
        "interactive.action.sections",
    ),
    (
        "list.rows-in-section",
        lambda n: interactive("list", list_action(n)),
        10,
        "interactive.action.sections[0].rows",
    ),
    ("list.rows-total", _rows_split, 10, "interactive.action.sections"),
    (
        "list.section.title",
        lambda n: interactive(
            "list", {"button": "b", "sections": [{"title": _long(n), "rows": [{"id": "1", "title": "t"}]}]}
        ),
        24,
        "interactive.action.sections[0].title",
    ),
    (
        "list.row.id",
        lambda n: interactive(
            "list", {"button": "b", "sections": [{"rows": [{"id": _long(n), "title": "t"}]}]}
        ),
        200,
        "interactive.action.sections[0].rows[0].id",
    ),
    (
        "list.row.title",
        lambda n: interactive(
            "list", {"button": "b", "sections": [{"rows": [{"id": "1", "title": _long(n)}]}]}
        ),
        24,
        "interactive.action.sections[0].rows[0].title",
    ),
    (
        "list.row.description",
        lambda n: interactive(
            "list",
            {"button": "b", "sections": [{"rows": [{"id": "1", "title": "t", "description": _long(n)}]}]},
        ),
        72,
        "interactive.action.sections[0].rows[0].description",
    ),
    (
        "cta.display_text",
        lambda n: interactive(
            "cta_url", {"name": "cta_url", "parameters": {"display_text": _long(n), "url": URL}}
        ),
        20,
        "interactive.action.parameters.display_text",
    ),
    (
        "flow.flow_cta",
        lambda n: interactive("flow", {"name": "flow", "parameters": flow_parameters(flow_cta=_long(n))}),
        30,
        "interactive.action.parameters.flow_cta",
    ),
    ("product_list.sections", lambda n: product_list(*[1] * n), 10, "interactive.action.sections"),
    (
        "product_list.items-in-section",
        lambda n: product_list(n),
        30,
        "interactive.action.sections[0].product_items",
    ),
    (
        "product_list.items-total",
        lambda n: product_list(n // 2, n - n // 2),
        30,
        "interactive.action.sections",
    ),
    (
        "product_list.section.title",
        lambda n: interactive(
            "product_list",
            {
                "catalog_id": "1",
                "sections": [{"title": _long(n), "product_items": [{"product_retailer_id": "a"}]}],
            },
            header={"type": "text", "text": "h"},
        ),
        24,
        "interactive.action.sections[0].title",
    ),
    (
        "carousel.cards",
        lambda n: interactive("carousel", {"cards": [card(i % 10) for i in range(n)]}),
        10,
        "interactive.action.cards",
    ),
    ("template.name", lambda n: template(name=_long(n)), 512, "template.name"),
    (
        "template.body-param",
        lambda n: template([body_params(_long(n))]),
        1024,
        "template.components[0].parameters[0].text",
    ),
    (
        "template.header-param",
        lambda n: template([{"type": "header", "parameters": [{"type": "text", "text": _long(n)}]}]),
        60,
        "template.components[0].parameters[0].text",
    ),
    (
        "template.button-index",
        lambda n: template([{"type": "button", "sub_type": "url", "index": n}]),
        9,
        "template.components[0].index",
    ),
]


@pytest.mark.parametrize(("build", "limit", "field"), [c[1:] for c in LIMITS], ids=[c[0] for c in LIMITS])
def test_limit_accepted_at_limit(build: Callable[[int], dict[str, Any]], limit: int, field: str) -> None:
    parse(build(limit))


@pytest.mark.parametrize(("build", "limit", "field"), [c[1:] for c in LIMITS], ids=[c[0] for c in LIMITS])
def test_limit_rejected_past_limit(build: Callable[[int], dict[str, Any]], limit: int, field: str) -> None:
    error = fails(build(limit + 1), 131009, field)
    assert str(limit) in (error.details or "")


@pytest.mark.parametrize(("field", "limit"), [("latitude", 90.0), ("longitude", 180.0)])
@pytest.mark.parametrize("sign", [1, -1])
def test_coordinate_limits(field: str, limit: float, sign: int) -> None:
    other = "longitude" if field == "latitude" else "latitude"
    parse(message("location", {field: sign * limit, other: 0}))
    error = fails(
        message("location", {field: sign * (limit + 0.000001), other: 0}), 131009, f"location.{field}"
    )
    assert str(int(limit)) in (error.details or "")


# --- Meta's own request examples ----------------------------------------------------------------------------


EXAMPLES = meta_examples.load()
fill_placeholders = meta_examples.fill_placeholders


def test_the_spec_has_fifty_examples() -> None:
    if not EXAMPLES:
        pytest.skip("Meta's OpenAPI file is not available")
    assert len(EXAMPLES) == 50


@pytest.mark.parametrize("name", sorted(EXAMPLES) or ["(spec file missing)"])
def test_meta_example_parses(name: str) -> None:
    if name not in EXAMPLES:
        pytest.skip("Meta's OpenAPI file is not available")
    payload = fill_placeholders(EXAMPLES[name])
    request = parse(payload)
    if "status" in payload:
        assert request.kind == ("typing" if "typing_indicator" in payload else "read")
        assert request.read_message_id == payload["message_id"]
        return
    assert request.kind == "message"
    assert request.to == PHONE or request.to == payload["to"]
    assert request.type is not None
    expected = {"contacts": payload["contacts"]} if request.type == "contacts" else payload[request.type]
    assert request.content == expected
    if request.type == "template":
        assert request.template is not None and request.template.name == payload["template"]["name"]
    if "context" in payload:
        assert request.context_message_id == payload["context"]["message_id"]
