"""Checking template sends against stored templates, and rendering them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wagate.cloudapi.send import TemplateSend, parse_send_request
from wagate.domain.templates import RenderedTemplate, StoredTemplate, check_template_send
from wagate.errors import GraphError

IMAGE = {"type": "image", "image": {"link": "https://example.com/x.jpg"}}


def stored(
    components: list[dict[str, Any]],
    *,
    name: str = "order_update",
    category: str = "UTILITY",
    status: str = "APPROVED",
    parameter_format: str = "positional",
    ttl: int | None = None,
) -> StoredTemplate:
    return StoredTemplate(
        id=1,
        name=name,
        language="en_US",
        category=category,
        status=status,
        parameter_format=parameter_format,
        components=components,
        message_send_ttl_seconds=ttl,
    )


def send(*components: dict[str, Any], name: str = "order_update", language: str = "en_US") -> TemplateSend:
    return TemplateSend(name=name, language=language, components=list(components))


def text(value: str, name: str | None = None) -> dict[str, Any]:
    parameter: dict[str, Any] = {"type": "text", "text": value}
    if name is not None:
        parameter["parameter_name"] = name
    return parameter


def body(*parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "body", "parameters": list(parameters)}


def header(*parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "header", "parameters": list(parameters)}


def button(index: int | str, sub_type: str, *parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "button", "sub_type": sub_type, "index": index, "parameters": list(parameters)}


def fails(template: StoredTemplate, request: TemplateSend, code: int, *words: str) -> GraphError:
    with pytest.raises(GraphError) as info:
        check_template_send(template, request)
    error = info.value
    assert error.code == code, error.details
    for word in words:
        assert word in (error.details or ""), error.details
    return error


ORDER = stored(
    [
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["8601"]}},
        {"type": "BODY", "text": "Hi {{1}}, your total is {{2}}, delivery on {{3}}."},
        {"type": "FOOTER", "text": "Thanks for shopping"},
        {
            "type": "BUTTONS",
            "buttons": [
                {"type": "QUICK_REPLY", "text": "Stop"},
                {
                    "type": "URL",
                    "text": "Track",
                    "url": "https://example.com/track/{{1}}",
                    "example": ["abc"],
                },
                {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "15550051310"},
                {"type": "URL", "text": "Shop", "url": "https://example.com/shop"},
                {"type": "COPY_CODE", "example": "SAVE10"},
                {"type": "FLOW", "text": "Book", "flow_id": "123", "flow_action": "navigate"},
                {"type": "CATALOG", "text": "View catalog"},
            ],
        },
    ]
)
CURRENCY = {
    "type": "currency",
    "currency": {"fallback_value": "$100.99", "code": "USD", "amount_1000": 100990},
}
DATE = {"type": "date_time", "date_time": {"fallback_value": "February 25, 1977"}}
ORDER_BODY = body(text("Pablo"), CURRENCY, DATE)
TRACK = button(1, "url", text("A123"))
COUPON = button(4, "copy_code", {"type": "coupon_code", "coupon_code": "SAVE10"})


def order_send(*extra: dict[str, Any], skip: tuple[str, ...] = ()) -> TemplateSend:
    parts = {"header": header(text("8601")), "body": ORDER_BODY, "track": TRACK, "coupon": COUPON}
    return send(*(v for k, v in parts.items() if k not in skip), *extra)


# --- rendering ----------------------------------------------------------------------------------------------


def test_positional_render() -> None:
    rendered = check_template_send(ORDER, order_send())
    assert rendered == RenderedTemplate(
        body_text="Hi Pablo, your total is $100.99, delivery on February 25, 1977.",
        header_text="Order 8601",
        code=None,
        category="UTILITY",
        ttl_seconds=None,
    )


def test_all_button_kinds_accepted() -> None:
    extra = (
        button("0", "quick_reply", {"type": "payload", "payload": "stop"}),
        button(5, "flow", {"type": "action", "action": {"flow_token": "t"}}),
        button(6, "CATALOG", {"type": "action", "action": {"thumbnail_product_retailer_id": "sku"}}),
        button(3, "url"),
    )
    check_template_send(ORDER, order_send(*extra))


def test_repeated_variable_needs_one_value() -> None:
    template = stored([{"type": "BODY", "text": "{{1}} and {{1}} again, {{ 2 }}"}])
    assert check_template_send(template, send(body(text("a"), text("b")))).body_text == "a and a again, b"


def test_no_variables_no_components() -> None:
    template = stored([{"type": "BODY", "text": "Hello world"}], name="hello_world")
    rendered = check_template_send(template, send(name="hello_world"))
    assert (rendered.body_text, rendered.header_text) == ("Hello world", None)


def test_named_render() -> None:
    template = stored(
        [
            {"type": "header", "format": "text", "text": "For {{first_name}}"},
            {"type": "body", "text": "Hi {{first_name}}, order {{order_number}} is on its way."},
        ],
        parameter_format="named",
    )
    request = send(
        header(text("Ana", "first_name")),
        body(text("8601", "order_number"), text("Ana", "first_name")),
    )
    rendered = check_template_send(template, request)
    assert rendered.body_text == "Hi Ana, order 8601 is on its way."
    assert rendered.header_text == "For Ana"


@pytest.mark.parametrize("fmt", ["IMAGE", "VIDEO", "DOCUMENT", "LOCATION"])
def test_media_and_location_headers(fmt: str) -> None:
    template = stored([{"type": "HEADER", "format": fmt}, {"type": "BODY", "text": "Here it is"}])
    kind = fmt.lower()
    value = {"latitude": 1.0, "longitude": 2.0} if kind == "location" else {"id": "123"}
    rendered = check_template_send(template, send(header({"type": kind, kind: value})))
    assert rendered.header_text is None and rendered.body_text == "Here it is"


@pytest.mark.parametrize(("ttl", "expected"), [(None, None), (3600, 3600), (-1, 30 * 24 * 3600)])
def test_ttl(ttl: int | None, expected: int | None) -> None:
    template = stored([{"type": "BODY", "text": "x"}], category="MARKETING", ttl=ttl)
    rendered = check_template_send(template, send())
    assert (rendered.ttl_seconds, rendered.category) == (expected, "MARKETING")


def test_through_the_wire_parser() -> None:
    payload = {
        "messaging_product": "whatsapp",
        "to": "+16505551234",
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "en_US", "policy": "deterministic"},
            "components": [
                {"type": "HEADER", "parameters": [text("8601")]},
                {"type": "BODY", "parameters": ORDER_BODY["parameters"]},
                {"type": "button", "sub_type": "URL", "index": "1", "parameters": [text("A123")]},
                {"type": "button", "sub_type": "copy_code", "index": "4", "parameters": COUPON["parameters"]},
            ],
        },
    }
    request = parse_send_request(json.dumps(payload).encode())
    assert request.template is not None
    assert check_template_send(ORDER, request.template).header_text == "Order 8601"


# --- status gate --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        ("PAUSED", 132015),
        ("DISABLED", 132016),
        ("PENDING", 132001),
        ("REJECTED", 132001),
        ("IN_APPEAL", 132001),
        ("PENDING_DELETION", 132001),
        ("DELETED", 132001),
    ],
)
def test_status(status: str, code: int) -> None:
    template = stored([{"type": "BODY", "text": "x"}], status=status)
    fails(template, send(), code)


@pytest.mark.parametrize(("name", "language"), [("other_name", "en_US"), ("order_update", "pt_BR")])
def test_other_name_or_language_does_not_exist(name: str, language: str) -> None:
    fails(stored([{"type": "BODY", "text": "x"}]), send(name=name, language=language), 132001)


# --- 132000: parameter counts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "words"),
    [
        (order_send(skip=("body",)), ("body", "expected 3", "given 0")),
        (order_send(body(text("a"), text("b")), skip=("body",)), ("body", "expected 3", "given 2")),
        (
            order_send(body(text("a"), CURRENCY, DATE, text("d")), skip=("body",)),
            ("body", "expected 3", "given 4"),
        ),
        (order_send(skip=("header",)), ("header", "expected 1", "given 0")),
        (order_send(header(text("a"), text("b")), skip=("header",)), ("header", "expected 1", "given 2")),
        (order_send(skip=("track",)), ("button[1]", "expected 1", "given 0")),
        (order_send(button(1, "url"), skip=("track",)), ("button[1]", "expected 1", "given 0")),
        (order_send(skip=("coupon",)), ("button[4]", "expected 1", "given 0")),
        (order_send(body(text("x")), skip=()), ("body",)),
    ],
)
def test_parameter_count_mismatch(request_: TemplateSend, words: tuple[str, ...]) -> None:
    fails(ORDER, request_, 132000, *words)


def test_header_parameters_without_a_header() -> None:
    template = stored([{"type": "BODY", "text": "x"}])
    fails(template, send(header(text("a"))), 132000, "header", "expected 0", "given 1")


def test_body_parameters_without_variables() -> None:
    template = stored([{"type": "BODY", "text": "no variables"}])
    fails(template, send(body(text("a"))), 132000, "body", "expected 0", "given 1")


def test_named_count_mismatch() -> None:
    template = stored([{"type": "BODY", "text": "{{a}} {{b}}"}], parameter_format="named")
    fails(template, send(body(text("1", "a"))), 132000, "body", "expected 2", "given 1")


# --- 132012: parameters that do not fit ---------------------------------------------------------------------

NAMED = stored([{"type": "BODY", "text": "Hi {{first_name}}"}], parameter_format="named")


@pytest.mark.parametrize(
    ("template", "request_", "words"),
    [
        (NAMED, send(body(text("Ana"))), ("body", "parameter_name")),
        (NAMED, send(body(text("Ana", "last_name"))), ("body", "last_name")),
        (
            stored([{"type": "BODY", "text": "{{a}} {{b}}"}], parameter_format="named"),
            send(body(text("1", "a"), text("2", "a"))),
            ("body", "'a'"),
        ),
        (
            stored([{"type": "BODY", "text": "Hi {{1}}"}]),
            send(body(text("Ana", "first_name"))),
            ("body", "positional"),
        ),
        (ORDER, order_send(body(IMAGE, CURRENCY, DATE), skip=("body",)), ("body", "parameters[0]", "image")),
        (ORDER, order_send(header(IMAGE), skip=("header",)), ("header", "image")),
        (ORDER, order_send(button(9, "quick_reply")), ("button[9]", "index 9")),
        (ORDER, order_send(button(0, "url", text("x"))), ("button[0]", "'url'", "QUICK_REPLY")),
        (ORDER, order_send(button(1, "quick_reply"), skip=("track",)), ("button[1]", "URL")),
        (ORDER, order_send(button(2, "url")), ("button[2]", "PHONE_NUMBER")),
        (ORDER, order_send(button(3, "url", text("x"))), ("button[3]", "no variable")),
        (
            ORDER,
            order_send(button(1, "url", {"type": "payload", "payload": "x"}), skip=("track",)),
            ("button[1]",),
        ),
        (
            ORDER,
            order_send(button(4, "copy_code", text("SAVE10")), skip=("coupon",)),
            ("button[4]", "'text'"),
        ),
        (ORDER, order_send(button(5, "flow", text("x"))), ("button[5]", "FLOW")),
        (ORDER, order_send(button(1, "url", text("y"))), ("button at index 1",)),
    ],
)
def test_parameter_does_not_fit(
    template: StoredTemplate, request_: TemplateSend, words: tuple[str, ...]
) -> None:
    fails(template, request_, 132012, *words)


@pytest.mark.parametrize(
    ("fmt", "given"),
    [
        ("IMAGE", [text("not an image")]),
        ("IMAGE", [{"type": "video", "video": {"id": "1"}}]),
        ("DOCUMENT", [IMAGE]),
        ("LOCATION", [IMAGE]),
        ("VIDEO", None),
        ("IMAGE", []),
    ],
)
def test_media_header_does_not_fit(fmt: str, given: list[dict[str, Any]] | None) -> None:
    template = stored([{"type": "HEADER", "format": fmt}, {"type": "BODY", "text": "x"}])
    request = send() if given is None else send(header(*given))
    fails(template, request, 132012, "header", fmt)


def test_media_header_two_parameters() -> None:
    template = stored([{"type": "HEADER", "format": "IMAGE"}, {"type": "BODY", "text": "x"}])
    fails(template, send(header(IMAGE, IMAGE)), 132000, "header", "expected 1", "given 2")


# --- 132005: rendered text too long -------------------------------------------------------------------------


def test_header_render_limit() -> None:
    template = stored(
        [{"type": "HEADER", "format": "TEXT", "text": "Order {{1}}"}, {"type": "BODY", "text": "x"}]
    )
    check_template_send(template, send(header(text("a" * 54))))  # "Order " + 54 = 60
    fails(template, send(header(text("a" * 55))), 132005, "header", "61", "60")


def test_body_render_limit_with_other_components() -> None:
    template = stored([{"type": "BODY", "text": "Hi {{1}}"}, {"type": "FOOTER", "text": "f"}])
    check_template_send(template, send(body(text("a" * 1021))))
    fails(template, send(body(text("a" * 1022))), 132005, "body", "1025", "1024")


def test_body_only_render_limit() -> None:
    template = stored([{"type": "BODY", "text": " ".join(f"{{{{{i}}}}}" for i in range(1, 34))}])
    check_template_send(template, send(body(*[text("a" * 960)] * 33)))  # 31,680 + 32 spaces
    fails(template, send(body(*[text("a" * 1000)] * 33)), 132005, "body", "32768")


# --- AUTHENTICATION -----------------------------------------------------------------------------------------


def auth_template(
    *, security: bool = True, minutes: int | None = 10, button_type: str = "OTP", ttl: int | None = None
) -> StoredTemplate:
    components: list[dict[str, Any]] = [{"type": "BODY", "add_security_recommendation": security}]
    if minutes is not None:
        components.append({"type": "FOOTER", "code_expiration_minutes": minutes})
    otp: dict[str, Any] = {"type": button_type, "otp_type": "COPY_CODE", "text": "Copy Code"}
    if button_type == "URL":
        otp["url"] = (
            "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code_expiration_minutes=10&code=otp{{1}}"
        )
    components.append({"type": "BUTTONS", "buttons": [otp]})
    return stored(components, name="auth_code", category="AUTHENTICATION", ttl=ttl)


def auth_send(code: str = "123456", button_code: str | None = None, sub_type: str = "url") -> TemplateSend:
    otp = button("0", sub_type, text(code if button_code is None else button_code))
    return send(body(text(code)), otp, name="auth_code")


@pytest.mark.parametrize("button_type", ["OTP", "URL"])
def test_authentication_render(button_type: str) -> None:
    rendered = check_template_send(auth_template(button_type=button_type), auth_send())
    assert rendered == RenderedTemplate(
        body_text="123456 is your verification code. For your security, do not share this code.",
        header_text=None,
        code="123456",
        category="AUTHENTICATION",
        ttl_seconds=600,
    )


def test_authentication_without_security_sentence() -> None:
    rendered = check_template_send(auth_template(security=False), auth_send("A1"))
    assert (rendered.body_text, rendered.code) == ("A1 is your verification code.", "A1")


@pytest.mark.parametrize(
    ("minutes", "ttl", "expected"),
    [(5, None, 300), (90, None, 5400), (None, None, 600), (10, 120, 120), (10, -1, 30 * 24 * 3600)],
)
def test_authentication_ttl(minutes: int | None, ttl: int | None, expected: int) -> None:
    rendered = check_template_send(auth_template(minutes=minutes, ttl=ttl), auth_send())
    assert rendered.ttl_seconds == expected


def test_authentication_code_limit() -> None:
    assert check_template_send(auth_template(), auth_send("1" * 15)).code == "1" * 15
    fails(auth_template(), auth_send("1" * 16), 132005, "16", "15")


@pytest.mark.parametrize(
    ("request_", "code", "words"),
    [
        (send(name="auth_code"), 132000, ("body", "expected 1", "given 0")),
        (send(body(text("1"), text("2")), button(0, "url", text("1")), name="auth_code"), 132000, ("body",)),
        (send(body(text("123456")), name="auth_code"), 132000, ("button[0]",)),
        (send(body(text("1")), button(0, "url"), name="auth_code"), 132000, ("button[0]", "given 0")),
        (auth_send(button_code="654321"), 131009, ("button[0]", "code")),
        (auth_send(sub_type="quick_reply"), 132012, ("button[0]", "url")),
        (send(body(IMAGE), button(0, "url", text("1")), name="auth_code"), 132012, ("body",)),
        (
            send(header(text("x")), body(text("1")), button(0, "url", text("1")), name="auth_code"),
            132000,
            ("header",),
        ),
        (
            send(body(text("1")), button(0, "url", text("1")), button(1, "url", text("1")), name="auth_code"),
            132012,
            ("button[1]",),
        ),
        (
            send(body(text("1")), button(0, "url", {"type": "payload", "payload": "1"}), name="auth_code"),
            132012,
            ("button[0]",),
        ),
    ],
)
def test_authentication_errors(request_: TemplateSend, code: int, words: tuple[str, ...]) -> None:
    fails(auth_template(), request_, code, *words)


def test_authentication_status_gate_first() -> None:
    template = stored([{"type": "BODY"}], name="auth_code", category="AUTHENTICATION", status="PAUSED")
    fails(template, auth_send(), 132015)
