"""The template creation and edit rules, without HTTP or a database."""

from __future__ import annotations

from typing import Any

import pytest

from wagate.domain import template_rules as rules
from wagate.errors import GraphError

BODY: dict[str, Any] = {
    "type": "BODY",
    "text": "Hi {{1}}, your order {{2}} has shipped today.",
    "example": {"body_text": [["Anna", "A-1"]]},
}


def _create(components: list[dict[str, Any]], **fields: Any) -> rules.TemplateDraft:
    payload: dict[str, Any] = {"name": "order_update", "language": "en_US", "category": "UTILITY"}
    payload.update(fields)
    payload["components"] = components
    return rules.check_template_create(payload)


def _refused(code: int, field: str, components: list[dict[str, Any]], **fields: Any) -> None:
    with pytest.raises(GraphError) as caught:
        _create(components, **fields)
    assert caught.value.code == code
    assert caught.value.details is not None and caught.value.details.startswith(field + ":"), (
        caught.value.details
    )


def _buttons(*buttons: dict[str, Any]) -> dict[str, Any]:
    return {"type": "BUTTONS", "buttons": list(buttons)}


def test_types_and_keys_are_accepted_in_any_case_and_stored_upper() -> None:
    draft = _create(
        [
            {"TYPE": "header", "Format": "text", "text": "Order {{1}}", "example": {"header_text": ["A-1"]}},
            {**BODY, "type": "body"},
            _buttons({"type": "quick_reply", "text": "Stop"}),
        ],
        category="utility",
        parameter_format="POSITIONAL",
    )
    assert [c["type"] for c in draft.components] == ["HEADER", "BODY", "BUTTONS"]
    assert draft.components[0]["format"] == "TEXT"
    assert draft.components[2]["buttons"][0]["type"] == "QUICK_REPLY"
    assert (draft.category, draft.parameter_format) == ("UTILITY", "positional")


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"name": "Order"}, 100, "name"),
        ({"name": "a" * 513}, 2388040, "name"),
        ({"category": "TRANSACTIONAL"}, 100, "category"),
        ({"language": "english"}, 100, "language"),
        ({"parameter_format": "numbered"}, 100, "parameter_format"),
        ({"message_send_ttl_seconds": 10}, 100, "message_send_ttl_seconds"),
    ],
)
def test_template_fields(fields: dict[str, Any], code: int, field: str) -> None:
    _refused(code, field, [BODY], **fields)


def test_every_language_of_the_list_is_accepted() -> None:
    assert {"en_US", "ru", "pt_BR", "zh_TW", "zu"} <= rules.LANGUAGES
    assert _create([BODY], language="ru").language == "ru"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{{1}} is your order, {{2}} arrives soon", 2388299),
        ("Your order {{1}} arrives on {{2}}", 2388299),
        ("Hello {{1}}{{2}} and welcome back home", 2388072),
        ("Hello {{1}} and {{3}} welcome back home", 2388072),
        ("Hello {{name}} and {{2}} welcome back home", 2388072),
        ("Hi {{1}} a {{2}} b", 2388293),
        ("x" * 1025, 2388040),
    ],
)
def test_body_rules(text: str, code: int) -> None:
    _refused(
        code, "components[0].text", [{"type": "BODY", "text": text, "example": {"body_text": [["a", "b"]]}}]
    )


def test_body_examples_match_the_variables() -> None:
    _refused(100, "components[0].example", [{"type": "BODY", "text": "Hi {{1}}, thanks for your order."}])
    wrong = {"type": "BODY", "text": BODY["text"], "example": {"body_text": [["only one"]]}}
    _refused(100, "components[0].example.body_text", [wrong])


def test_named_parameters() -> None:
    params: list[dict[str, str]] = [{"param_name": "first_name", "example": "Pablo"}]
    body: dict[str, Any] = {
        "type": "BODY",
        "text": "Hello {{first_name}}, your code {{code}} is ready now.",
        "example": {"body_text_named_params": params},
    }
    _refused(100, "components[0].example.body_text_named_params", [body], parameter_format="named")
    params.append({"param_name": "code", "example": "X1"})
    assert _create([body], parameter_format="named").parameter_format == "named"
    upper = {**body, "text": "Hello {{First}}, your code is ready now."}
    _refused(2388072, "components[0].text", [upper], parameter_format="named")


def test_header_rules() -> None:
    long = {"type": "HEADER", "format": "TEXT", "text": "h" * 61}
    _refused(2388040, "components[0].text", [long, BODY])
    two = {"type": "HEADER", "format": "TEXT", "text": "{{1}} and {{2}}"}
    _refused(2388047, "components[0].text", [two, BODY])
    _refused(2388047, "components[0].format", [{"type": "HEADER", "format": "AUDIO"}, BODY])
    _refused(2388047, "components[0].example.header_handle", [{"type": "HEADER", "format": "VIDEO"}, BODY])
    image = {"type": "HEADER", "format": "image", "example": {"header_handle": ["4::aW1hZ2U="]}}
    assert _create([image, BODY]).components[0]["format"] == "IMAGE"
    assert _create([{"type": "HEADER", "format": "LOCATION"}, BODY])
    _refused(100, "components[2].type", [{"type": "HEADER", "format": "LOCATION"}, BODY, {"type": "HEADER"}])


def test_footer_rules() -> None:
    _refused(2388073, "components[1].text", [BODY, {"type": "FOOTER", "text": "Code {{1}}"}])
    _refused(2388040, "components[1].text", [BODY, {"type": "FOOTER", "text": "f" * 61}])


def test_button_rules() -> None:
    def qr(text: str = "Yes") -> dict[str, Any]:
        return {"type": "QUICK_REPLY", "text": text}

    url = {"type": "URL", "text": "Open", "url": "https://shop.example/o/{{1}}", "example": ["A-1"]}
    assert _create([BODY, _buttons(qr(), qr(), url)])
    _refused(100, "components[1].buttons", [BODY, _buttons(qr(), url, qr())])
    _refused(100, "components[1].buttons", [BODY, _buttons(*[qr() for _ in range(11)])])
    _refused(2388040, "components[1].buttons[0].text", [BODY, _buttons(qr("q" * 26))])
    _refused(100, "components[1].buttons[2].type", [BODY, _buttons(url, url, url)])
    middle = {**url, "url": "https://shop.example/{{1}}/track"}
    _refused(100, "components[1].buttons[0].url", [BODY, _buttons(middle)])
    _refused(100, "components[1].buttons[0].example", [BODY, _buttons({**url, "example": None})])
    _refused(
        2388040, "components[1].buttons[0].url", [BODY, _buttons({**url, "url": "https://e.x/" + "a" * 2000})]
    )
    phone = {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "1" * 21}
    _refused(2388040, "components[1].buttons[0].phone_number", [BODY, _buttons(phone)])
    copy = {"type": "COPY_CODE", "example": "SAVE10"}
    _refused(100, "components[1].buttons[1].type", [BODY, _buttons(copy, copy)])
    otp = {"type": "OTP", "otp_type": "COPY_CODE"}
    _refused(100, "components[1].buttons[0].type", [BODY, _buttons(otp)])
    _refused(100, "components[1].buttons[0].flow_id", [BODY, _buttons({"type": "FLOW", "text": "Book"})])
    assert _create([BODY, _buttons({"type": "FLOW", "text": "Book", "flow_id": "123"})])
    assert _create([BODY, _buttons({"type": "CATALOG", "text": "View catalog"})])


def test_authentication_templates() -> None:
    otp = _buttons({"type": "otp", "otp_type": "copy_code", "text": "Copy code"})
    draft = _create(
        [
            {"type": "BODY", "add_security_recommendation": True},
            {"type": "FOOTER", "code_expiration_minutes": 5},
            otp,
        ],
        category="AUTHENTICATION",
    )
    assert draft.components[2]["buttons"][0] == {"type": "OTP", "otp_type": "COPY_CODE", "text": "Copy code"}
    auth = {"category": "AUTHENTICATION"}
    _refused(2388072, "components[0].text", [{"type": "BODY", "text": "Your code"}, otp], **auth)
    _refused(
        2388073, "components[1].text", [{"type": "BODY"}, {"type": "FOOTER", "text": "bye"}, otp], **auth
    )
    late = {"type": "FOOTER", "code_expiration_minutes": 0}
    _refused(100, "components[1].code_expiration_minutes", [{"type": "BODY"}, late, otp], **auth)
    _refused(
        100,
        "components[1].buttons[0].type",
        [{"type": "BODY"}, _buttons({"type": "QUICK_REPLY", "text": "x"})],
        **auth,
    )
    _refused(
        100,
        "components[1].buttons[0].otp_type",
        [{"type": "BODY"}, _buttons({"type": "OTP", "otp_type": "SMS"})],
        **auth,
    )
    _refused(100, "components", [{"type": "BODY"}], **auth)
    _refused(
        2388047,
        "components[0].type",
        [{"type": "HEADER", "format": "TEXT", "text": "x"}, {"type": "BODY"}, otp],
        **auth,
    )


def test_edit_rules() -> None:
    with pytest.raises(GraphError) as caught:
        rules.check_template_edit({"message_send_ttl_seconds": 60}, "PENDING", "UTILITY", "positional")
    assert caught.value.details is not None and caught.value.details.startswith("status:")
    with pytest.raises(GraphError) as caught:
        rules.check_template_edit({"category": "MARKETING"}, "APPROVED", "UTILITY", "positional")
    assert caught.value.details is not None and caught.value.details.startswith("category:")
    edit = rules.check_template_edit({"category": "MARKETING"}, "REJECTED", "UTILITY", "positional")
    assert edit.category == "MARKETING" and edit.components is None
    edit = rules.check_template_edit({"components": [BODY]}, "PAUSED", "UTILITY", "positional")
    assert edit.components is not None and edit.components[0]["type"] == "BODY"


@pytest.mark.parametrize(
    ("category", "text", "expected"),
    [
        ("UTILITY", "Your order {{1}} has shipped.", ("APPROVED", "NONE", "UTILITY")),
        ("UTILITY", "Big SALE this week, order {{1}} now.", ("APPROVED", "NONE", "MARKETING")),
        ("AUTHENTICATION", "Get 20% off with code {{1}} today.", ("APPROVED", "NONE", "MARKETING")),
        ("UTILITY", "Ваша скидка по заказу {{1}} готова.", ("APPROVED", "NONE", "MARKETING")),
        ("UTILITY", "Wholesale order {{1}} is ready.", ("APPROVED", "NONE", "UTILITY")),
        ("MARKETING", "Our sale starts {{1}} at noon.", ("APPROVED", "NONE", "MARKETING")),
        ("UTILITY", "{{1}} is your order.", ("REJECTED", "INVALID_FORMAT", "UTILITY")),
        ("MARKETING", "Your discount: {{1}}", ("REJECTED", "INVALID_FORMAT", "MARKETING")),
    ],
)
def test_simulator_review(category: str, text: str, expected: tuple[str, str, str]) -> None:
    outcome = rules.review(category, [{"type": "BODY", "text": text}])
    assert (outcome.status, outcome.reason, outcome.category) == expected
